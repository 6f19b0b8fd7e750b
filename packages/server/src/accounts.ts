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

/** A user's account as stored. */
export interface AccountRecord {
  readonly id: string;
  readonly username: string;
  readonly passwordHash: string;
}

/**
 * Where accounts are kept: `accounts.db` beside the user databases (one node), or etcd
 * (several nodes: `EtcdAccountRecords`). Everything else about accounts (hashing, throttling,
 * validation) is `AccountStore`'s, the same for both.
 */
export interface AccountRecords {
  /** Throws `AccountFailure(UsernameTaken)` when the name (case-insensitive) is in use. */
  insert(record: AccountRecord, createdAt: number): Promise<void>;
  byUsername(username: string): Promise<AccountRecord | undefined>;
  byId(userId: string): Promise<AccountRecord | undefined>;
  /** Sets a new password hash and ends every session of the user. */
  setPassword(userId: string, passwordHash: string): Promise<void>;
  /** Removes the user and every record of their sessions. */
  remove(userId: string): Promise<void>;
  signOut(sessionId: string, userId: string, expiresAt: number): Promise<void>;
  signOutEverywhere(userId: string): Promise<void>;
  sessionGeneration(userId: string): Promise<number | null>;
  isSignedOut(sessionId: string): Promise<boolean>;
  close(): void;
}

/** Users, their password hashes and which of their sessions were ended, in `accounts.db`. */
export class SqliteAccountRecords implements AccountRecords {
  private readonly db: Database.Database;

  constructor(file: string) {
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

  insert(record: AccountRecord, createdAt: number): Promise<void> {
    try {
      this.db
        .prepare("INSERT INTO users (id, username, password_hash, created_at) VALUES (?, ?, ?, ?)")
        .run(record.id, record.username, record.passwordHash, createdAt);
    } catch (err) {
      if ((err as { code?: string }).code === "SQLITE_CONSTRAINT_UNIQUE")
        return Promise.reject(
          new AccountFailure(AccountError.UsernameTaken, "that username is taken"),
        );
      throw err;
    }
    return Promise.resolve();
  }

  byUsername(username: string): Promise<AccountRecord | undefined> {
    return Promise.resolve(this.row("username = ?", username));
  }

  byId(userId: string): Promise<AccountRecord | undefined> {
    return Promise.resolve(this.row("id = ?", userId));
  }

  private row(where: string, value: string): AccountRecord | undefined {
    return this.db
      .prepare(`SELECT id, username, password_hash AS passwordHash FROM users WHERE ${where}`)
      .get(value) as AccountRecord | undefined;
  }

  setPassword(userId: string, passwordHash: string): Promise<void> {
    this.db
      .prepare(
        "UPDATE users SET password_hash = ?, session_generation = session_generation + 1 WHERE id = ?",
      )
      .run(passwordHash, userId);
    return Promise.resolve();
  }

  remove(userId: string): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM signed_out_sessions WHERE user_id = ?").run(userId);
      this.db.prepare("DELETE FROM users WHERE id = ?").run(userId);
    })();
    // The write-ahead log still holds the pages as they were: copy the zeroed pages back into
    // the database and empty it, so the user's name and hash are nowhere on disk.
    this.db.pragma("wal_checkpoint(TRUNCATE)");
    return Promise.resolve();
  }

  signOut(sessionId: string, userId: string, expiresAt: number): Promise<void> {
    this.db.prepare("DELETE FROM signed_out_sessions WHERE expires_at < ?").run(Date.now());
    this.db
      .prepare(
        "INSERT OR IGNORE INTO signed_out_sessions (id, user_id, expires_at) VALUES (?, ?, ?)",
      )
      .run(sessionId, userId, expiresAt);
    return Promise.resolve();
  }

  signOutEverywhere(userId: string): Promise<void> {
    this.db
      .prepare("UPDATE users SET session_generation = session_generation + 1 WHERE id = ?")
      .run(userId);
    return Promise.resolve();
  }

  sessionGeneration(userId: string): Promise<number | null> {
    const row = this.db.prepare("SELECT session_generation FROM users WHERE id = ?").get(userId) as
      { session_generation: number } | undefined;
    return Promise.resolve(row?.session_generation ?? null);
  }

  isSignedOut(sessionId: string): Promise<boolean> {
    return Promise.resolve(
      this.db.prepare("SELECT 1 FROM signed_out_sessions WHERE id = ?").get(sessionId) !==
        undefined,
    );
  }

  /** A consistent copy of `accounts.db` in a new file (`VACUUM INTO`), for backups. */
  snapshotTo(file: string): void {
    this.db.prepare("VACUUM INTO ?").run(file);
  }

  close(): void {
    this.db.close();
  }
}

/** Sign-up, sign-in, passwords and sessions, over any `AccountRecords`. */
export class AccountStore implements SessionRegistry {
  private readonly throttle: LoginThrottle;
  private readonly passwords: PasswordHasher;
  private readonly now: () => number;

  constructor(
    readonly records: AccountRecords,
    options: AccountStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.throttle = new LoginThrottle(options.loginThrottle);
    this.passwords = new PasswordHasher(options.hashConcurrency);
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
    const passwordHash = await this.passwords.hash(password);
    await this.records.insert({ id, username, passwordHash }, Date.now());
    return id;
  }

  /** The user id for valid credentials. `address` (the caller's) is one of the throttle's keys. */
  async login(username: string, password: string, address: string): Promise<string> {
    const row = await this.records.byUsername(username);
    await this.checkPassword(
      username,
      password,
      row?.passwordHash,
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
    const row = await this.existing(userId);
    await this.checkPassword(
      row.username,
      oldPassword,
      row.passwordHash,
      address,
      "wrong password",
    );
    await this.records.setPassword(userId, await this.passwords.hash(newPassword));
  }

  /**
   * Needs the password; removes the user and every record of their sessions, so no token of
   * theirs is valid any more. Their database file is the caller's to delete.
   */
  async deleteAccount(userId: string, password: string, address: string): Promise<void> {
    const row = await this.existing(userId);
    await this.checkPassword(row.username, password, row.passwordHash, address, "wrong password");
    await this.records.remove(userId);
  }

  private async existing(userId: string): Promise<AccountRecord> {
    const row = await this.records.byId(userId);
    if (!row) throw new AccountFailure(AccountError.Unauthorized, "the account does not exist");
    return row;
  }

  /** Ends one session; a token without a session id can only be ended with all the others. */
  signOut(session: Session): Promise<void> {
    if (session.sessionId === null) return this.signOutEverywhere(session.userId);
    return this.records.signOut(
      session.sessionId,
      session.userId,
      Math.max(session.expiresAt, Date.now()),
    );
  }

  signOutEverywhere(userId: string): Promise<void> {
    return this.records.signOutEverywhere(userId);
  }

  sessionGeneration(userId: string): Promise<number | null> {
    return this.records.sessionGeneration(userId);
  }

  isSignedOut(sessionId: string): Promise<boolean> {
    return this.records.isSignedOut(sessionId);
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

  close(): void {
    this.records.close();
  }
}
