import { AccountError, AccountFailure } from "./accounts.js";

/**
 * Sign-ups per address in a sliding hour: an address that made `perHour` accounts waits until
 * the oldest of them is an hour old. In memory, per process (a restart or another worker starts
 * afresh), which bounds a script creating accounts without bothering real people.
 */
export class SignupLimit {
  private readonly recent = new Map<string, number[]>();

  constructor(
    private readonly perHour: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws `too_many_attempts` (with Retry-After) when `address` is over the limit; counts it otherwise. */
  take(address: string): void {
    const t = this.now();
    const since = t - 3600_000;
    const times = (this.recent.get(address) ?? []).filter((x) => x > since);
    if (times.length >= this.perHour) {
      const wait = Math.ceil((times[0]! - since) / 1000);
      throw new AccountFailure(
        AccountError.TooManyAttempts,
        `too many new accounts from this address: try again in ${wait} s`,
        wait,
      );
    }
    times.push(t);
    this.recent.set(address, times);
    if (this.recent.size > 100_000) this.forgetOld(since);
  }

  private forgetOld(since: number): void {
    for (const [address, times] of this.recent)
      if (times[times.length - 1]! <= since) this.recent.delete(address);
  }
}
