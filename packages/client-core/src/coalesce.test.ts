import { describe, expect, it } from "vitest";
import { coalesced } from "./coalesce.js";

describe("coalesced", () => {
  it("runs once more after a burst of calls, never in parallel", async () => {
    let runs = 0;
    let active = 0;
    let maxActive = 0;
    const gates: (() => void)[] = [];
    const task = coalesced(async () => {
      runs++;
      maxActive = Math.max(maxActive, ++active);
      await new Promise<void>((resolve) => gates.push(resolve));
      active--;
    });
    const calls = [task(), task(), task(), task()];
    gates.shift()!();
    await Promise.resolve();
    await new Promise((r) => setImmediate(r));
    gates.shift()!();
    await Promise.all(calls);
    expect(runs).toBe(2);
    expect(maxActive).toBe(1);
  });
});
