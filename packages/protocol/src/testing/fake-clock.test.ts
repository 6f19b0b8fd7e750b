import { describe, expect, it } from "vitest";
import { FakeClock } from "./fake-clock.js";
import { seededRandom } from "./seeded-random.js";

describe("FakeClock", () => {
  it("runs due timers in time order, each at its own time, including timers they start", () => {
    const clock = new FakeClock(1000);
    const ran: string[] = [];
    clock.setTimeout(() => ran.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => {
      ran.push(`a@${clock.now()}`);
      clock.setTimeout(() => ran.push(`c@${clock.now()}`), 5);
    }, 10);
    const cancelled = clock.setTimeout(() => ran.push("never"), 15);
    clock.clearTimeout(cancelled);
    clock.advance(9);
    expect(ran).toEqual([]);
    clock.advance(100);
    expect(ran).toEqual(["a@1010", "c@1015", "b@1020"]);
    expect(clock.now()).toBe(1109);
    expect(clock.pending).toBe(0);
  });
});

describe("seededRandom", () => {
  it("repeats its sequence for a seed and differs for another", () => {
    const take = (seed: number) => Array.from({ length: 5 }, seededRandom(seed).next);
    expect(take(42)).toEqual(take(42));
    expect(take(42)).not.toEqual(take(43));
    const r = seededRandom(7);
    for (let i = 0; i < 100; i++) expect(r.int(3)).toBeLessThan(3);
  });
});
