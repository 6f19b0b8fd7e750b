import { describe, expect, it } from "vitest";
import { NoteMapper, fieldMapping } from "./note-mapping.js";

const mapper = new NoteMapper();

describe("mapping documents to notes", () => {
  it("reads the common shapes with the defaults", () => {
    expect(
      mapper.map({
        _id: "a",
        title: "T",
        content: "C",
        created_at: "2025-01-02T03:04:05.678Z",
        updatedAt: 1_700_000_000, // seconds
        is_pinned: "t",
        tags: '["x", "y"]',
      }),
    ).toEqual({
      ok: true,
      note: {
        id: "a",
        title: "T",
        body: "C",
        createdAt: Date.parse("2025-01-02T03:04:05.678Z"),
        updatedAt: 1_700_000_000_000,
        deletedAt: null,
        pinned: true,
        tags: ["x", "y"],
      },
    });
  });

  it("takes pg's shapes: bigint as a string, timestamptz as a Date, bytea as bytes", () => {
    const r = mapper.map(
      {
        name: "N",
        body: Buffer.from("héllo"),
        created_at: new Date(1_700_000_000_123),
        updated_at: "1700000000456",
        deleted_at: new Date(1_700_000_001_000),
        tags: ["a"],
      },
      "key-1",
    );
    expect(r).toMatchObject({
      ok: true,
      note: {
        id: "key-1",
        title: "N",
        body: "héllo",
        createdAt: 1_700_000_000_123,
        updatedAt: 1_700_000_000_456,
        deletedAt: 1_700_000_001_000,
      },
    });
  });

  it("a deleted flag without a time uses the last update; no time at all gives 0, never the clock", () => {
    expect(mapper.map({ _id: "d", deleted: true, updatedAt: 5_000_000_000_000 })).toMatchObject({
      note: { deletedAt: 5_000_000_000_000 },
    });
    expect(mapper.map({ _id: "n", title: "untimed" })).toMatchObject({
      note: { createdAt: 0, updatedAt: 0 },
    });
  });

  it("says why a document cannot be a note", () => {
    expect(mapper.map(["not", "an", "object"])).toEqual({
      ok: false,
      reason: "the document is a list, not an object",
    });
    expect(mapper.map({ _id: "x", title: { a: 1 } })).toEqual({
      ok: false,
      reason: "title is an object, not text",
    });
    expect(mapper.map({ _id: "x", updatedAt: "yesterday" })).toEqual({
      ok: false,
      reason: 'updatedAt "yesterday" is not a time',
    });
    expect(mapper.map({ _id: "x", pinned: "maybe" })).toEqual({
      ok: false,
      reason: "pinned is a string, not true or false",
    });
    expect(mapper.map({ title: "no id" })).toEqual({ ok: false, reason: "it has no id" });
  });

  it("is overridden by field names (dotted paths too) or by a function", () => {
    const byName = new NoteMapper({ title: "meta.heading", body: ["markdown"] });
    expect(
      byName.map({ _id: "a", meta: { heading: "H" }, body: "ignored", markdown: "M" }),
    ).toMatchObject({ note: { title: "H", body: "M" } });
    const byFunction = new NoteMapper({}, (doc) => ({ title: String(doc.kind).toUpperCase() }));
    expect(byFunction.map({ _id: "a", kind: "memo", body: "B" })).toMatchObject({
      note: { title: "MEMO", body: "B" },
    });
    expect(() => fieldMapping({ titel: "x" } as never)).toThrow('unknown note field "titel"');
  });
});
