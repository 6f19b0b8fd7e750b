import { describe, expect, it } from "vitest";
import { seededRandom } from "./testing/seeded-random.js";
import {
  Y,
  captureUpdate,
  legacyConversionUpdate,
  mergeNoteUpdates,
  newUpdateId,
  noteTextFromUpdates,
  planCompaction,
  textEditUpdate,
} from "./note-doc.js";

/** A seeded generator, so a failing order reproduces. */
const random = (seed: number) => seededRandom(seed).next;

function shuffled<T>(items: readonly T[], next: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe("note documents", () => {
  it("two independent conversions of one schema-2 text merge into that text once", () => {
    const text = { title: "Groceries", body: "milk\neggs\n" };
    const a = legacyConversionUpdate("note-1", text)!;
    const b = legacyConversionUpdate("note-1", text)!;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(noteTextFromUpdates([a, b])).toEqual(text);
    expect(legacyConversionUpdate("note-1", { title: "", body: "" })).toBeNull();
  });

  it("a whole new text becomes a small edit, and concurrent edits elsewhere survive it", () => {
    const body = "x".repeat(30_000);
    const base = legacyConversionUpdate("n", { title: "T", body })!;
    const laptop = new Y.Doc();
    const phone = new Y.Doc();
    Y.applyUpdate(laptop, base);
    Y.applyUpdate(phone, base);
    const fromLaptop = textEditUpdate(laptop, { body: "A" + body })!;
    const fromPhone = textEditUpdate(phone, { body: body + "Z", title: "Title" })!;
    expect(fromLaptop.byteLength).toBeLessThan(40);
    expect(textEditUpdate(laptop, { body: "A" + body })).toBeNull();
    expect(noteTextFromUpdates([base, fromPhone, fromLaptop])).toEqual({
      title: "Title",
      body: "A" + body + "Z",
    });
  });

  it("a deletion's update carries that deletion only, not the document's earlier ones", () => {
    const doc = new Y.Doc();
    const text = doc.getText("body");
    text.insert(0, "abcdefghijklmnopqrstuvwxyz".repeat(20));
    for (let i = 0; i < 100; i++) text.delete(i * 3, 1);
    const update = captureUpdate(doc, () => text.delete(0, 1))!;
    expect(update.byteLength).toBeLessThan(30);
  });

  it("merging any subset, in any order, with duplicates, gives the same text (200 seeds)", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()];
      const updates: Uint8Array[] = [];
      for (let step = 0; step < 30; step++) {
        const doc = docs[Math.floor(next() * docs.length)]!;
        const text = doc.getText(next() < 0.2 ? "title" : "body");
        const u = captureUpdate(doc, () => {
          if (text.length > 0 && next() < 0.3)
            text.delete(Math.floor(next() * text.length), 1 + Math.floor(next() * 3));
          else text.insert(Math.floor(next() * (text.length + 1)), `w${step} `);
        });
        if (u) updates.push(u);
        // Sometimes a device catches up with everything so far.
        if (next() < 0.3) for (const x of updates) Y.applyUpdate(doc, x);
      }
      const expected = noteTextFromUpdates(updates);
      const order = shuffled([...updates, ...updates.slice(0, 5)], next);
      const cut = Math.floor(next() * order.length);
      const partial = mergeNoteUpdates(order.slice(0, cut), false);
      const complete = mergeNoteUpdates([...order.slice(cut), partial], true);
      expect(noteTextFromUpdates(order), `seed ${seed}`).toEqual(expected);
      expect(noteTextFromUpdates([partial, ...order.slice(cut)]), `seed ${seed}`).toEqual(expected);
      expect(noteTextFromUpdates([complete]), `seed ${seed}`).toEqual(expected);
      // Two compactions at once, each of an overlapping subset, still merge to the same text.
      const other = mergeNoteUpdates(order.slice(Math.floor(cut / 2)), false);
      expect(noteTextFromUpdates([other, complete, partial]), `seed ${seed}`).toEqual(expected);
    }
  }, 30_000); // CPU-bound: slow when other processes share the cores, never a timing assertion

  it("compaction merges the small rows and leaves rows larger than all smaller ones together", () => {
    const rows = [
      { id: "legacy", size: 100 },
      { id: "big", size: 30_000 },
      { id: "mid", size: 2_000 },
      ...Array.from({ length: 40 }, (_, i) => ({ id: `s${i}`, size: 30 })),
    ];
    expect(planCompaction(rows, 64)).toEqual([]);
    const merge = planCompaction(rows, 32);
    expect(merge).not.toContain("big");
    expect(merge).not.toContain("mid");
    expect(merge).not.toContain("legacy");
    expect(merge).toHaveLength(40);
    const even = Array.from({ length: 10 }, (_, i) => ({ id: `e${i}`, size: 50 }));
    expect(planCompaction(even, 4)).toHaveLength(10);
  });

  it("row ids are short and distinct", () => {
    const ids = new Set(Array.from({ length: 1000 }, newUpdateId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{8}$/);
  });
});
