/** A timer started by a `Clock`; only that clock can clear it. */
export type ClockTimer = { readonly __clockTimer: true };

/**
 * Time and chance as the sync engines see them, injected so tests can run them on a fake clock
 * (`FakeClock` in `@notesync/protocol/testing`) with seeded randomness instead of sleeping.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  setTimeout(run: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

/** The real clock: `Date.now`, the global timers and `Math.random`. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, ms) as unknown as ClockTimer,
  clearTimeout: (timer) => clearTimeout(timer as unknown as Parameters<typeof clearTimeout>[0]),
  random: () => Math.random(),
};
