import { FakeClock } from "@notesync/protocol/testing";
import { describe, expect, it } from "vitest";
import { ReconnectSchedule, backoffDelay } from "./reconnect.js";

describe("reconnect schedule", () => {
  it("waits between half and all of a doubling delay, capped", () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, 30_000, () => 1 - 1e-9)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, () => 1 - 1e-9)).toBe(4000);
    expect(backoffDelay(40, 500, 30_000, () => 0)).toBe(15_000);
  });

  it("backs off after each failed attempt, keeps one attempt pending, and starts short after a reset", () => {
    const clock = new FakeClock(0, () => 1 - 1e-9);
    const schedule = new ReconnectSchedule(clock, 100, 1000);
    const attempts: number[] = [];
    const attempt = () => attempts.push(clock.now());
    schedule.later(attempt);
    schedule.later(attempt); // already pending: not a second one
    clock.advance(10_000);
    schedule.later(attempt);
    clock.advance(10_000);
    schedule.later(attempt);
    clock.advance(10_000);
    expect(attempts).toEqual([100, 10_000 + 200, 20_000 + 400]);
    schedule.reset();
    schedule.later(attempt);
    schedule.cancel();
    clock.advance(10_000);
    expect(attempts).toHaveLength(3);
    schedule.later(attempt);
    clock.advance(10_000);
    expect(attempts.at(-1)).toBe(40_000 + 100);
  });
});
