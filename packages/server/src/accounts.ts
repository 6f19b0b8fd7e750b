import Database from "better-sqlite3";
import crypto from "node:crypto";
import { LoginThrottle, type LoginThrottleOptions } from "./login-throttle.js";
import { PasswordHasher } from "./passwords.js";
import type { Session, SessionRegistry } from "./tokens.js";

/** Why an account request was refused; the HTTP layer maps each to a status. */
export const AccountError = {
  InvalidInput: "invalid_input",
  UsernameTaken: "username_taken",
  BadCredentials: "bad_credentials",
  TooManyAttempts: "too_many_attempts",
  Unauthorized: "unauthorized",
  UnsupportedMediaType: "unsupported_media_type",
} as const;
export type AccountErrorCode = (typeof AccountError)[keyof typeof AccountError];

export class AccountFailure extends Error {
  constructor(
    readonly code: AccountErrorCode,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const USERNAME = /^[a-zA-Z0-9_.-]{3,64}$/;

function validPassword(value: unknown, name: string): string {
  if (typeof value !== "string" || value.length < 8 || value.length > 1024)
    throw new AccountFailure(AccountError.InvalidInput, `${name} must be 8-1024 characters`);
  return value;
}

export interface AccountStoreOptions {
  /** scrypt computations at once; the rest queue. */
  readonly hashConcurrency?: number;
  readonly loginThrottle?: Partial<LoginThrottleOptions>;
  /** Milliseconds since the epoch, for the sign-in backoff (tests pass a fake clock's). */
  readonly now?: () => number;
}

/**
 * Users, their password hashes and which of their sessions were ended, in `accounts.db` beside
 * the user databases.
 */
export class AccountStore implements SessionRegistry {
  private readonly db: Database.Database;
  private readonly throttle: LoginThrottle;
  private readonly passwords: PasswordHasher;

  private readonly now: () => number;

  constructor(file: string, options: AccountStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000"); // several server processes may share it
    // A deleted account's rows are overwritten with zeros, not left in free pages.
    this.db.pragma("secure_delete = ON");
    this.db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY NOT NULL,
      username TEXT NOT NULL UNIQUE COLLATE NOCASE,
      password_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    this.db.exec(`CREATE TABLE IF NOT EXISTS signed_out_sessions (
      id TEXT PRIMARY KEY NOT NULL,
      user_id TEXT NOT NULL,
      expires_at INTEGER NOT NULL
    )`);
    this.addSessionGeneration();
    this.throttle = new LoginThrottle(options.loginThrottle);
    this.passwords = new PasswordHasher(options.hashConcurrency);
  }

  /** `users.session_generation`, added to databases from before sessions could be ended. */
  private addSessionGeneration(): void {
    // Immediate: another server process may be adding it at the same moment.
    this.db
      .transaction(() => {
        const columns = this.db.pragma("table_info(users)") as { name: string }[];
        if (columns.some((c) => c.name === "session_generation")) return;
        this.db.exec("ALTER TABLE users ADD COLUMN session_generation INTEGER NOT NULL DEFAULT 0");
      })
      .immediate();
  }

  static validate(body: unknown): { username: string; password: string } {
    const { username, password } = (body ?? {}) as Record<string, unknown>;
    if (typeof username !== "string" || !USERNAME.test(username)) {
      throw new AccountFailure(
        AccountError.InvalidInput,
        "username must be 3-64 letters, digits, '.', '_' or '-'",
      );
    }
    return { username, password: validPassword(password, "password") };
  }

  static validateDeletion(body: unknown): { password: string } {
    const { password } = (body ?? {}) as Record<string, unknown>;
    if (typeof password !== "string")
      throw new AccountFailure(AccountError.InvalidInput, "password is required");
    return { password };
  }

  static validatePasswordChange(body: unknown): { oldPassword: string; newPassword: string } {
    const { oldPassword, newPassword } = (body ?? {}) as Record<string, unknown>;
    if (typeof oldPassword !== "string")
      throw new AccountFailure(AccountError.InvalidInput, "oldPassword is required");
    return { oldPassword, newPassword: validPassword(newPassword, "newPassword") };
  }

  async signup(username: string, password: string): Promise<string> {
    const id = crypto.randomBytes(16).toString("hex");
    const hash = await this.passwords.hash(password);
    try {
      this.db
        .prepare("INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)")
        .run(id, username, hash, Date.now());
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE") {
        throw new AccountFailure(AccountError.UsernameTaken, "that username is taken");
      }
      throw err;
    }
    return id;
  }

  /** The id of the account named `username` (any case), or null when there is none. */
  userIdOf(username: string): string | null {
    const row = this.db.prepare("SELECT id FROM users WHERE username = ?").get(username) as
      { id: string } | undefined;
    return row?.id ?? null;
  }

  /** The user id for valid credentials. `address` (the caller's) is one of the throttle's keys. */
  async login(username: string, password: string, address: string): Promise<string> {
    const row = this.db
      .prepare("SELECT id, password_hash FROM users WHERE username = ?")
      .get(username) as { id: string; password_hash: string } | undefined;
    await this.checkPassword(
      username,
      password,
      row?.password_hash,
      address,
      "wrong username or password",
    );
    return row!.id;
  }

  /** Needs the old password; ends every session of the user (the caller signs the new token). */
  async changePassword(
    userId: string,
    oldPassword: string,
    newPassword: string,
    address: string,
  ): Promise<void> {
    const row = this.db
      .prepare("SELECT username, password_hash FROM users WHERE id = ?")
      .get(userId) as { username: string; password_hash: string } | undefined;
    if (!row) throw new AccountFailure(AccountError.Unauthorized, "the account does not exist");
    await this.checkPassword(
      row.username,
      oldPassword,
      row.password_hash,
      address,
      "wrong password",
    );
    const hash = await this.passwords.hash(newPassword);
    this.db
      .prepare(
        "UPDATE users SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?",
      )
      .run(hash, userId);
  }

  /**
   * Needs the password; removes the user and every record of their sessions, so no token of
   * theirs is valid any more. Their database file is the caller's to delete.
   */
  async deleteAccount(userId: string, password: string, address: string): Promise<void> {
    const row = this.db
      .prepare("SELECT username, password_hash FROM users WHERE id = ?")
      .get(userId) as { username: string; password_hash: string } | undefined;
    if (!row) throw new AccountFailure(AccountError.Unauthorized, "the account does not exist");
    await this.checkPassword(row.username, password, row.password_hash, address, "wrong password");
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM signed_out_sessions WHERE user_id = ?").run(userId);
      this.db.prepare("DELETE FROM users WHERE id = ?").run(userId);
    })();
    // The write-ahead log still holds the pages as they were: copy the zeroed pages back into
    // the database and empty it, so the user's name and hash are nowhere on disk.
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  /** Ends one session; a token without a session id can only be ended with all the others. */
  signOut(session: Session): void {
    if (session.sessionId === null) return this.signOutEverywhere(session.userId);
    const now = Date.now();
    this.db.prepare("DELETE FROM signed_out_sessions WHERE expires_at < ?").run(now);
    this.db
      .prepare(
        "INSERT OR IGNORE INTO signed_out_sessions (id, user_id, expires_at) VALUES (?, ?, ?)",
      )
      .run(session.sessionId, session.userId, Math.max(session.expiresAt, now));
  }

  signOutEverywhere(userId: string): void {
    this.db
      .prepare("UPDATE users SET session_generation = session_generation + 1 WHERE id = ?")
      .run(userId);
  }

  sessionGeneration(userId: string): number | null {
    const row = this.db.prepare("SELECT session_generation FROM users WHERE id = ?").get(userId) as
      { session_generation: number } | undefined;
    return row?.session_generation ?? null;
  }

  isSignedOut(sessionId: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM signed_out_sessions WHERE id = ?").get(sessionId) !== undefined
    );
  }

  /** Throttled, queued scrypt; throws unless `password` matches `stored`. */
  private async checkPassword(
    username: string,
    password: string,
    stored: string | undefined,
    address: string,
    wrong: string,
  ): Promise<void> {
    const waitMs = this.throttle.begin(username, address, this.now());
    if (waitMs > 0) {
      const seconds = Math.ceil(waitMs / 1000);
      throw new AccountFailure(
        AccountError.TooManyAttempts,
        `too many failed sign-ins; try again in ${seconds} s`,
        seconds,
      );
    }
    if (!(await this.passwords.verify(password, stored)))
      throw new AccountFailure(AccountError.BadCredentials, wrong);
    this.throttle.succeeded(username, address, this.now());
  }

  /** A consistent copy of `accounts.db` in a new file (`VACUUM INTO`), for backups. */
  snapshotTo(file: string): void {
    this.db.prepare("VACUUM INTO ?").run(file);
  }

  close(): void {
    this.db.close();
  }
}
