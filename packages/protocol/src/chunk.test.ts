import { describe, expect, it } from "vitest";
import {
  chunkChanges,
  estimateChangeBytes,
  TransactionAssembler,
  type ChangeChunk,
} from "./chunk.js";
import { decodeServerFrame, encodeServerFrame } from "./codec.js";
import type { Change, ServerChangesFrame } from "./frames.js";
import { change } from "./fixtures.test-helpers.js";

/** A chunk as the server sends it. */
const asFrame = (c: ChangeChunk): ServerChangesFrame => ({
  type: "changes",
  serverVersion: c.version,
  partial: c.partial,
  changes: c.changes,
});

/** `count` changes for each version, each with a body of `size` characters. */
function transactions(versions: number[], count: number, size = 100): Change[] {
  return versions.flatMap((v) =>
    Array.from({ length: count }, (_, seq) => change(v, { seq, val: "x".repeat(size) })),
  );
}

describe("chunkChanges", () => {
  it("never splits a transaction that fits in a frame, and stays under the byte target", () => {
    const changes = transactions([1, 2, 3, 4, 5, 6, 7, 8], 7);
    const target = 3 * 7 * estimateChangeBytes(changes[0]!); // three transactions a frame
    const frames = [...chunkChanges(changes, { targetFrameBytes: target })];
    expect(frames.length).toBe(3);
    for (const f of frames) {
      expect(f.partial).toBe(false);
      expect(encodeServerFrame(asFrame(f)).length).toBeLessThanOrEqual(target);
      const versions = new Set(f.changes.map((c) => c.dbVersion));
      for (const v of versions) expect(f.changes.filter((c) => c.dbVersion === v)).toHaveLength(7);
      expect(f.version).toBe(Math.max(...versions));
    }
    expect(frames.flatMap((f) => f.changes)).toEqual(changes);
  });

  it("splits a transaction larger than a frame into partial pieces that reassemble whole", () => {
    const changes = [...transactions([1], 3), ...transactions([2], 100), ...transactions([3], 3)];
    const target = 20 * estimateChangeBytes(changes[0]!);
    const frames = [...chunkChanges(changes, { targetFrameBytes: target })];
    const partials = frames.filter((f) => f.partial);
    expect(partials.length).toBeGreaterThanOrEqual(4);
    for (const p of partials) expect(p.changes.every((c) => c.dbVersion === 2)).toBe(true);

    const assembler = new TransactionAssembler();
    const applied: ServerChangesFrame[] = [];
    for (const f of frames) {
      const decoded = decodeServerFrame(encodeServerFrame(asFrame(f)));
      if (!decoded.ok) throw decoded.error;
      const ready = assembler.push(decoded.frame as ServerChangesFrame);
      if (ready) applied.push(ready);
    }
    const big = applied.find((f) => f.changes.some((c) => c.dbVersion === 2))!;
    expect(big.changes.filter((c) => c.dbVersion === 2)).toHaveLength(100);
    expect(big.serverVersion).toBe(2);
    expect(applied.at(-1)!.serverVersion).toBe(3);
    expect(assembler.incomplete).toBe(false);
  });

  it("ends with the final version, and sends it alone when there is nothing to send", () => {
    expect([...chunkChanges([], { finalVersion: 17 })]).toEqual([
      { version: 17, partial: false, changes: [] },
    ]);
    const frames = [...chunkChanges(transactions([3], 1), { finalVersion: 9 })];
    expect(frames.map((f) => f.version)).toEqual([9]);
    expect([...chunkChanges([])]).toEqual([]);
  });

  it("respects the change-count limit as well as bytes", () => {
    const frames = [...chunkChanges(transactions([1, 2, 3, 4], 5, 1), { maxChangesPerFrame: 10 })];
    expect(frames.map((f) => f.changes.length)).toEqual([10, 10]);
  });

  it("refuses a reassembled transaction over its limit", () => {
    const assembler = new TransactionAssembler({
      maxChangesPerTransaction: 5,
      maxChangesPerFrame: 10,
      maxFrameBytes: 1 << 20,
    });
    assembler.push({ version: 0, partial: true, changes: transactions([1], 4) });
    expect(() =>
      assembler.push({ version: 1, partial: false, changes: transactions([1], 2) }),
    ).toThrow(/more than 5/);
    expect(assembler.incomplete).toBe(false);
  });
});
