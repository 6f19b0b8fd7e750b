import fc from "fast-check";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
} from "./codec.js";
import { ErrorCode } from "./errors.js";
import type { Change, ClientChangesFrame, ServerChangesFrame } from "./frames.js";
import { DEFAULT_LIMITS } from "./limits.js";
import {
  SAMPLE_FRAMES,
  SITE_A,
  change,
  decodeFrom,
  encodeSample,
  type Sample,
} from "./fixtures.test-helpers.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const decodeOk = (from: Sample["from"], bytes: Uint8Array) => {
  const r = decodeFrom(from, bytes);
  if (!r.ok) throw r.error;
  return r.frame;
};
const reencode = (from: Sample["from"], frame: unknown) => encodeSample({ from, frame } as Sample);
/** Compares with binary fields as plain arrays (Node decodes bin as Buffer). */
const plain = (v: unknown): unknown =>
  JSON.parse(
    JSON.stringify(v, (_k, x: unknown) => {
      if (typeof x === "bigint") return `${x}n`;
      if (x instanceof Uint8Array) return Array.from(x);
      const json = x as { type?: unknown; data?: unknown } | null;
      return json?.type === "Buffer" ? json.data : x;
    }),
  );

describe("frame codec", () => {
  for (const [name, sample] of Object.entries(SAMPLE_FRAMES)) {
    it(`round-trips a ${sample.from}'s ${name} frame`, () => {
      expect(plain(decodeOk(sample.from, encodeSample(sample)))).toEqual(plain(sample.frame));
    });
  }

  it("refuses a frame the other side sends: a server does not take welcome, a client not hello", () => {
    const welcome = encodeSample(SAMPLE_FRAMES.welcome!);
    const hello = encodeSample(SAMPLE_FRAMES.hello!);
    expect(decodeClientFrame(welcome)).toMatchObject({
      ok: false,
      error: { code: ErrorCode.UnexpectedFrame },
    });
    expect(decodeServerFrame(hello)).toMatchObject({
      ok: false,
      error: { code: ErrorCode.UnexpectedFrame },
    });
  });

  it("reads the same changes and ack bytes in the clock of the side that sent them", () => {
    const changes = encodeClientFrame({
      type: "changes",
      clientVersion: 5,
      partial: false,
      changes: [],
    });
    expect(decodeServerFrame(changes)).toMatchObject({ ok: true, frame: { serverVersion: 5 } });
    expect(decodeClientFrame(changes)).toMatchObject({ ok: true, frame: { clientVersion: 5 } });
    const ack = encodeServerFrame({ type: "ack", clientVersion: 8 });
    expect(decodeClientFrame(ack)).toMatchObject({ ok: true, frame: { serverVersion: 8 } });
  });

  it("keeps every value's SQLite type: INTEGER as bigint, REAL as number, even when integral", () => {
    const frame = decodeOk("server", encodeSample(SAMPLE_FRAMES.changes!)) as ServerChangesFrame;
    const vals = frame.changes.map((c) => c.val);
    expect(typeof vals[1]).toBe("bigint");
    expect(vals[2]).toBe(43);
    expect(typeof vals[2]).toBe("number");
    expect(vals[3]).toBe(9007199254740993n);
    expect(vals[5]).toBeInstanceOf(Uint8Array);
  });

  it("writes each site id and table name once per frame", () => {
    const many: ServerChangesFrame = {
      type: "changes",
      serverVersion: 1,
      partial: false,
      changes: Array.from({ length: 50 }, (_, i) => change(1, { seq: i })),
    };
    const bytes = encodeServerFrame(many);
    const siteHex = hex(SITE_A);
    expect(hex(bytes).split(siteHex)).toHaveLength(2);
    expect(Buffer.from(bytes).toString("latin1").split("notes")).toHaveLength(2);
  });

  it("matches the golden vectors checked into test/vectors.json", () => {
    const vectors = JSON.parse(
      fs.readFileSync(new URL("../test/vectors.json", import.meta.url), "utf8"),
    ) as Record<string, string>;
    expect(Object.keys(vectors).sort()).toEqual(Object.keys(SAMPLE_FRAMES).sort());
    for (const [name, sample] of Object.entries(SAMPLE_FRAMES)) {
      expect(hex(encodeSample(sample)), name).toBe(vectors[name]);
      expect(plain(decodeOk(sample.from, Buffer.from(vectors[name]!, "hex"))), name).toEqual(
        plain(sample.frame),
      );
    }
  });
});

describe("frame validation", () => {
  const refuse = (bytes: Uint8Array, code: string) => {
    const r = decodeClientFrame(bytes);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe(code);
  };
  const mangle = (frame: ClientChangesFrame, over: Partial<Change>) =>
    encodeClientFrame({ ...frame, changes: [{ ...frame.changes[0]!, ...over }] });

  it("refuses unknown tables and columns, and the primary key as a column", () => {
    const f = SAMPLE_FRAMES.partial!.frame as ClientChangesFrame;
    refuse(mangle(f, { table: "users" }), ErrorCode.UnknownTableOrColumn);
    refuse(mangle(f, { cid: "password" }), ErrorCode.UnknownTableOrColumn);
    refuse(mangle(f, { cid: "id" }), ErrorCode.UnknownTableOrColumn);
  });

  it("refuses a wrong protocol version, unknown types, wrong arity and trailing bytes", () => {
    const hello = encodeSample(SAMPLE_FRAMES.hello!);
    const v2 = Uint8Array.from(hello);
    v2[1] = 3; // [fixarray, fixint version, ...]
    refuse(v2, ErrorCode.ProtocolVersion);
    refuse(Buffer.from("92 02 a4 6e 6f 70 65".replace(/ /g, ""), "hex"), ErrorCode.MalformedFrame); // [2, "nope"]
    refuse(Buffer.from("92 02 a3 61 63 6b".replace(/ /g, ""), "hex"), ErrorCode.MalformedFrame); // [2, "ack"]
    refuse(Buffer.concat([hello, Buffer.from([0xc0])]), ErrorCode.MalformedFrame);
    refuse(new Uint8Array(0), ErrorCode.MalformedFrame);
  });

  it("refuses frames over the byte limit and batches over the change limit", () => {
    const big: ClientChangesFrame = {
      type: "changes",
      clientVersion: 1,
      partial: false,
      changes: Array.from({ length: 30 }, (_, i) => change(1, { seq: i })),
    };
    const bytes = encodeClientFrame(big);
    expect(
      decodeClientFrame(bytes, { ...DEFAULT_LIMITS, maxFrameBytes: bytes.length - 1 }),
    ).toMatchObject({ ok: false, error: { code: ErrorCode.FrameTooLarge } });
    expect(decodeClientFrame(bytes, { ...DEFAULT_LIMITS, maxChangesPerFrame: 29 })).toMatchObject({
      ok: false,
      error: { code: ErrorCode.FrameTooLarge },
    });
    expect(decodeClientFrame(bytes, { ...DEFAULT_LIMITS, maxChangesPerFrame: 30 }).ok).toBe(true);
  });

  it("never throws on random bytes and accepts nothing that is not a valid frame", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 512 }),
        fc.constantFrom("client", "server"),
        (bytes, from) => {
          const r = decodeFrom(from, bytes);
          if (r.ok) expect(plain(decodeOk(from, reencode(from, r.frame)))).toEqual(plain(r.frame));
          else expect(Object.values(ErrorCode)).toContain(r.error.code);
        },
      ),
      { numRuns: 5000 },
    );
  });

  it("never throws on mutated real frames; whatever it accepts is a well-formed frame", () => {
    const originals = Object.values(SAMPLE_FRAMES).map((s) => [s.from, encodeSample(s)] as const);
    fc.assert(
      fc.property(
        fc.constantFrom(...originals),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        ([from, original], edits, cut) => {
          const bytes = Uint8Array.from(original);
          for (const [at, b] of edits) bytes[at % bytes.length] = b;
          const input = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          const r = decodeFrom(from, input);
          if (r.ok) {
            // Accepted frames survive a re-encode/decode unchanged: they are frames, not garbage.
            expect(plain(decodeOk(from, reencode(from, r.frame)))).toEqual(plain(r.frame));
          } else {
            expect(Object.values(ErrorCode)).toContain(r.error.code);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });
});

describe("PROTOCOL.md", () => {
  it("has worked examples that decode to the frames the codec produces", () => {
    const doc = fs.readFileSync(new URL("../PROTOCOL.md", import.meta.url), "utf8");
    const examples = [...doc.matchAll(/```hex (\w+)\n([0-9a-f]+)\n```/g)];
    expect(examples.map((m) => m[1]).sort()).toEqual(Object.keys(SAMPLE_FRAMES).sort());
    for (const [, name, hexText] of examples) {
      const sample = SAMPLE_FRAMES[name!]!;
      const frame = decodeOk(sample.from, Buffer.from(hexText!, "hex"));
      expect(plain(frame), name).toEqual(plain(sample.frame));
      expect(hex(reencode(sample.from, frame)), name).toBe(hexText);
    }
  });
});
