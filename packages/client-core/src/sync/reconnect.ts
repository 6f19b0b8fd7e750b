import type { Clock, ClockTimer } from "@notesync/protocol";

/** Capped exponential backoff with jitter: attempt n waits a random time in [d/2, d], d = min(max, initial * 2^n). */
export function backoffDelay(
  attempt: number,
  initialMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** What the platform says about the network, so a client reconnects when it comes back. */
export interface NetworkHints {
  /** Calls `listener` when the device regains a network; returns an unsubscribe function. */
  onOnline(listener: () => void): () => void;
  /** False when the device knows it has no network (then it waits for `onOnline`). */
  isOnline?(): boolean;
}

/** The browser's `online` event, where there is one. */
export function browserNetworkHints(): NetworkHints | undefined {
  const target = globalThis as {
    addEventListener?: (type: string, listener: () => void) => void;
    removeEventListener?: (type: string, listener: () => void) => void;
  };
  if (typeof target.addEventListener !== "function") return undefined;
  const nav = (globalThis as { navigator?: { onLine?: boolean } }).navigator;
  return {
    onOnline(listener) {
      target.addEventListener!("online", listener);
      return () => target.removeEventListener?.("online", listener);
    },
    isOnline: () => nav?.onLine !== false,
  };
}

/** When to try connecting again: one pending attempt at a time, backing off after each failure. */
export class ReconnectSchedule {
  private attempt = 0;
  private timer: ClockTimer | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** When the pending attempt runs (the clock's ms), or null when none is scheduled. */
  at: number | null = null;

  /** Runs `connect` after the next backoff delay, unless an attempt is already scheduled. */
  later(connect: () => void): void {
    if (this.timer) return;
    const delay = backoffDelay(this.attempt, this.initialMs, this.maxMs, () => this.clock.random());
    this.at = this.clock.now() + delay;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.at = null;
      this.attempt++; // a cancelled wait does not count as an attempt
      connect();
    }, delay);
  }

  /** A connection succeeded (or the network came back): the next wait starts short again. */
  reset(): void {
    this.attempt = 0;
  }

  cancel(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.at = null;
  }
}
