/**
 * Exponential backoff for sign-in attempts, by address, by username and over everyone.
 *
 * Kept in memory: each process (each cluster worker) counts its own, and a restart forgets.
 * That is enough to turn online guessing into a few tries a minute, without a table that every
 * login writes to; a lockout would let anyone who knows a username keep its owner out.
 */

/** How one kind of key backs off. */
export interface BackoffPolicy {
  /** Failures allowed before any delay. */
  readonly freeFailures: number;
  /** The first delay; each further failure doubles it, up to `maxDelayMs`. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** One failure is forgotten every this many milliseconds, so old typos stop counting. */
  readonly forgetOneMs: number;
}

export interface LoginThrottleOptions {
  readonly perAddress: BackoffPolicy;
  readonly perUsername: BackoffPolicy;
  /** Guessing from many addresses at many usernames: delays every sign-in, never sync. */
  readonly global: BackoffPolicy;
}

export const DEFAULT_LOGIN_THROTTLE: LoginThrottleOptions = {
  perAddress: { freeFailures: 10, baseDelayMs: 1000, maxDelayMs: 60_000, forgetOneMs: 60_000 },
  perUsername: { freeFailures: 5, baseDelayMs: 1000, maxDelayMs: 30_000, forgetOneMs: 60_000 },
  global: { freeFailures: 100, baseDelayMs: 1000, maxDelayMs: 10_000, forgetOneMs: 100 },
};

interface Entry {
  /** Failures not yet forgotten (fractional: forgetting is continuous). */
  level: number;
  updatedAt: number;
  lastFailureAt: number;
}

const SWEEP_ABOVE = 10_000;

/** Failure counts per key, as a leaky bucket, and the delay they impose. */
class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: BackoffPolicy) {}

  /** Milliseconds until `key` may try again, or 0. */
  waitMs(key: string, now: number): number {
    const over = Math.ceil(this.level(key, now)) - this.policy.freeFailures;
    const entry = this.entries.get(key);
    if (!entry || over < 0) return 0;
    const delay = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** over);
    return Math.max(0, entry.lastFailureAt + delay - now);
  }

  /** Counts an attempt as a failure; `refund` takes it back when it succeeds. */
  charge(key: string, now: number): void {
    const level = this.level(key, now) + 1;
    this.entries.set(key, { level, updatedAt: now, lastFailureAt: now });
    if (this.entries.size > SWEEP_ABOVE) this.sweep(now);
  }

  refund(key: string, now: number): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.level = Math.max(0, this.level(key, now) - 1);
    entry.updatedAt = now;
  }

  private level(key: string, now: number): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    const level = entry.level - (now - entry.updatedAt) / this.policy.forgetOneMs;
    if (level > 0) return level;
    this.entries.delete(key);
    return 0;
  }

  private sweep(now: number): void {
    for (const key of [...this.entries.keys()]) this.level(key, now);
  }
}

/**
 * The part of an address one attacker controls: the address itself for IPv4, the /64 network
 * for IPv6 (one host usually has a whole /64 to pick addresses from).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(":")) return address;
  const [head = "", tail] = address.toLowerCase().split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups =
    tail === undefined
      ? left
      : [...left, ...Array<string>(8 - left.length - right.length).fill("0"), ...right];
  return `${groups.slice(0, 4).join(":")}::/64`;
}

export class LoginThrottle {
  private readonly byAddress: Backoff;
  private readonly byUsername: Backoff;
  private readonly everyone: Backoff;

  constructor(options: Partial<LoginThrottleOptions> = {}) {
    const policies = { ...DEFAULT_LOGIN_THROTTLE, ...options };
    this.byAddress = new Backoff(policies.perAddress);
    this.byUsername = new Backoff(policies.perUsername);
    this.everyone = new Backoff(policies.global);
  }

  /**
   * Milliseconds to wait before this attempt may be made, or 0: then the attempt counts as a
   * failure until `succeeded` (counting it at once means parallel guesses are throttled too).
   */
  begin(username: string, address: string, now = Date.now()): number {
    const keys = this.keys(username, address);
    const wait = Math.max(...keys.map(([backoff, key]) => backoff.waitMs(key, now)));
    if (wait > 0) return wait;
    for (const [backoff, key] of keys) backoff.charge(key, now);
    return 0;
  }

  succeeded(username: string, address: string, now = Date.now()): void {
    for (const [backoff, key] of this.keys(username, address)) backoff.refund(key, now);
  }

  private keys(username: string, address: string): [Backoff, string][] {
    return [
      [this.byAddress, addressKey(address)],
      [this.byUsername, username.toLowerCase()],
      [this.everyone, ""],
    ];
  }
}
