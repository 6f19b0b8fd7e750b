import Database from "better-sqlite3";
import crypto from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(crypto.scrypt) as (
  pw: string,
  salt: Buffer,
  len: number,
  opts: crypto.ScryptOptions,
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };

/** Why an account request was refused; the HTTP layer maps each to a status. */
export const AccountError = {
  InvalidInput: "invalid_input",
  UsernameTaken: "username_taken",
  BadCredentials: "bad_credentials",
  TooManyAttempts: "too_many_attempts",
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

async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const hash = await scrypt(password, salt, SCRYPT.keylen, {
    N: SCRYPT.N,
    r: SCRYPT.r,
    p: SCRYPT.p,
  });
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString("base64")}$${hash.toString("base64")}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return false;
  const expected = Buffer.from(hash, "base64");
  const actual = await scrypt(password, Buffer.from(salt, "base64"), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return crypto.timingSafeEqual(actual, expected);
}

/** Counts failed logins per key in a sliding window. */
class FailedLoginLimiter {
  private readonly failures = new Map<string, number[]>();
  constructor(
    private readonly max: number,
    private readonly windowMs: number,
  ) {}

  /** Seconds until another attempt is allowed, or 0. */
  blockedFor(key: string, now = Date.now()): number {
    const recent = (this.failures.get(key) ?? []).filter((t) => t > now - this.windowMs);
    if (recent.length === 0) this.failures.delete(key);
    else this.failures.set(key, recent);
    return recent.length >= this.max ? Math.ceil((recent[0]! + this.windowMs - now) / 1000) : 0;
  }

  fail(key: string, now = Date.now()): void {
    this.failures.set(key, [...(this.failures.get(key) ?? []), now]);
  }

  clear(key: string): void {
    this.failures.delete(key);
  }
}

/** Users and their password hashes, in `accounts.db` beside the user databases. */
export class AccountStore {
  private readonly db: Database.Database;
  private readonly limiter: FailedLoginLimiter;

  constructor(file: string, limits = { maxFailures: 5, windowMs: 15 * 60_000 }) {
    this.db = new Database(file);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000"); // several server processes may share it
    this.db.exec(`CREATE TABLE IF NOT EXISTS users (
      id TEXT PRIMARY KEY NOT NULL,
      username TEXT NOT NULL UNIQUE COLLATE NOCASE,
      password_hash TEXT NOT NULL,
      created_at INTEGER NOT NULL
    )`);
    this.limiter = new FailedLoginLimiter(limits.maxFailures, limits.windowMs);
  }

  static validate(body: unknown): { username: string; password: string } {
    const { username, password } = (body ?? {}) as Record<string, unknown>;
    if (typeof username !== "string" || !USERNAME.test(username)) {
      throw new AccountFailure(
        AccountError.InvalidInput,
        "username must be 3-64 letters, digits, '.', '_' or '-'",
      );
    }
    if (typeof password !== "string" || password.length < 8 || password.length > 1024) {
      throw new AccountFailure(AccountError.InvalidInput, "password must be 8-1024 characters");
    }
    return { username, password };
  }

  async signup(username: string, password: string): Promise<string> {
    const id = crypto.randomBytes(16).toString("hex");
    const hash = await hashPassword(password);
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

  /** The user id for valid credentials. `clientKey` (the caller's address) scopes the rate limit. */
  async login(username: string, password: string, clientKey: string): Promise<string> {
    const key = `${username.toLowerCase()}|${clientKey}`;
    const wait = this.limiter.blockedFor(key);
    if (wait > 0)
      throw new AccountFailure(
        AccountError.TooManyAttempts,
        `too many failed sign-ins; try again in ${wait} s`,
        wait,
      );
    const row = this.db
      .prepare("SELECT id, password_hash FROM users WHERE username = ?")
      .get(username) as { id: string; password_hash: string } | undefined;
    // Hash even for unknown users so timing does not reveal which usernames exist.
    const ok = await verifyPassword(
      password,
      row?.password_hash ??
        "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    );
    if (!row || !ok) {
      this.limiter.fail(key);
      throw new AccountFailure(AccountError.BadCredentials, "wrong username or password");
    }
    this.limiter.clear(key);
    return row.id;
  }

  close(): void {
    this.db.close();
  }
}
