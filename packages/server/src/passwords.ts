import crypto from "node:crypto";
import { promisify } from "node:util";

const scrypt = promisify(crypto.scrypt) as (
  pw: string,
  salt: Buffer,
  len: number,
  opts: crypto.ScryptOptions,
) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1, keylen: 32 };
/** Compared against for unknown usernames, so timing does not reveal which usernames exist. */
const UNKNOWN_USER_HASH =
  "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

export const DEFAULT_HASH_CONCURRENCY = 2;

/** Runs at most `limit` tasks at once; the others wait in arrival order. */
export class WorkQueue {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new Error(`the password hashing concurrency must be a whole number >= 1, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve)); // handed a slot
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/**
 * scrypt through a small queue: each hash takes tens of milliseconds of a libuv thread and
 * 16 MiB, and the thread pool is shared with file reads, so unbounded parallel logins would
 * make everything else in the process wait behind them.
 */
export class PasswordHasher {
  private readonly queue: WorkQueue;

  constructor(concurrency = DEFAULT_HASH_CONCURRENCY) {
    this.queue = new WorkQueue(concurrency);
  }

  async hash(password: string): Promise<string> {
    const salt = crypto.randomBytes(16);
    const { N, r, p, keylen } = SCRYPT;
    const hash = await this.queue.run(() => scrypt(password, salt, keylen, { N, r, p }));
    return `scrypt$${N}$${r}$${p}$${salt.toString("base64")}$${hash.toString("base64")}`;
  }

  /** Whether `password` matches `stored`; with no stored hash it does the same work and says no. */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    const [kind, n, r, p, salt, hash] = (stored ?? UNKNOWN_USER_HASH).split("$");
    if (kind !== "scrypt" || !salt || !hash) return false;
    const expected = Buffer.from(hash, "base64");
    const actual = await this.queue.run(() =>
      scrypt(password, Buffer.from(salt, "base64"), expected.length, {
        N: Number(n),
        r: Number(r),
        p: Number(p),
      }),
    );
    return stored !== undefined && crypto.timingSafeEqual(actual, expected);
  }
}
