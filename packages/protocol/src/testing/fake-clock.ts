import type { Clock, ClockTimer } from "../clock.js";

interface Pending {
  readonly at: number;
  readonly order: number;
  readonly run: () => void;
}

/** A `Clock` whose time moves only when a test calls `advance`; its randomness is given. */
export class FakeClock implements Clock {
  private time: number;
  private order = 0;
  private readonly timers = new Map<ClockTimer, Pending>();

  constructor(
    start = Date.UTC(2026, 0, 1),
    readonly random: () => number = () => 0.5,
  ) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): ClockTimer {
    const timer = {} as ClockTimer;
    this.timers.set(timer, { at: this.time + Math.max(0, ms), order: this.order++, run });
    return timer;
  }

  clearTimeout(timer: ClockTimer): void {
    this.timers.delete(timer);
  }

  /** Timers waiting to run. */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, running each timer that falls due, in order, at its time. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = this.nextDue(end);
      if (!due) break;
      this.timers.delete(due[0]);
      this.time = due[1].at;
      due[1].run();
    }
    this.time = end;
  }

  private nextDue(end: number): [ClockTimer, Pending] | null {
    let found: [ClockTimer, Pending] | null = null;
    for (const entry of this.timers) {
      const p = entry[1];
      if (p.at > end) continue;
      if (!found || p.at < found[1].at || (p.at === found[1].at && p.order < found[1].order))
        found = entry;
    }
    return found;
  }
}
