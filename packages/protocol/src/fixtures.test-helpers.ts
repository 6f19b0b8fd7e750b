import type { Change, ClientFrame, ServerFrame } from "./frames.js";
import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  type DecodeResult,
} from "./codec.js";
import type { Limits } from "./limits.js";
import { ErrorCode } from "./errors.js";

export const SITE_A = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
export const SITE_B = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);
export const INCARNATION = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
const pk = (id: string) => Uint8Array.from([0x01, 0x0b, id.length, ...Buffer.from(id)]);

export function change(dbVersion: number, over: Partial<Change> = {}): Change {
  return {
    table: "notes",
    pk: pk("n1"),
    cid: "body",
    val: "hello",
    colVersion: 1,
    dbVersion,
    siteId: SITE_A,
    cl: 1,
    seq: 0,
    ...over,
  };
}

/** A frame with the side that sends it. */
export type Sample =
  | { readonly from: "client"; readonly frame: ClientFrame }
  | { readonly from: "server"; readonly frame: ServerFrame };

/** One frame of every type, with every kind of value: the golden vectors encode these. */
export const SAMPLE_FRAMES: Record<string, Sample> = {
  hello: {
    from: "client",
    frame: {
      type: "hello",
      schemaVersion: 2,
      siteId: SITE_A,
      serverVersion: 42,
      token: "t0ken",
      incarnation: INCARNATION,
    },
  },
  welcome: {
    from: "server",
    frame: {
      type: "welcome",
      schemaVersion: 2,
      siteId: SITE_B,
      clientVersion: 7,
      serverVersion: 5_000_000_000,
      incarnation: INCARNATION,
    },
  },
  changes: {
    from: "server",
    frame: {
      type: "changes",
      serverVersion: 9,
      partial: false,
      changes: [
        change(8, { cid: "title", val: "Grüße 📝" }),
        change(8, { cid: "pinned", val: 1n, seq: 1 }),
        change(9, { cid: "position", val: 43, siteId: SITE_B }),
        change(9, { cid: "created_at", val: 9007199254740993n, seq: 1, siteId: SITE_B }),
        change(9, { cid: "deleted_at", val: null, seq: 2, siteId: SITE_B }),
        change(9, { cid: "body", val: Uint8Array.from([0, 255]), seq: 3, siteId: SITE_B }),
        change(9, { cid: "-1", val: null, cl: 2, seq: 4, siteId: SITE_B }),
      ],
    },
  },
  partial: {
    from: "client",
    frame: { type: "changes", clientVersion: 3, partial: true, changes: [change(4)] },
  },
  ack: { from: "client", frame: { type: "ack", serverVersion: 12 } },
  error: {
    from: "server",
    frame: {
      type: "error",
      code: ErrorCode.SchemaMismatch,
      message: "schema 2 expected",
      fatal: true,
    },
  },
};

export const encodeSample = (s: Sample): Uint8Array =>
  s.from === "client" ? encodeClientFrame(s.frame) : encodeServerFrame(s.frame);

export const decodeFrom = (
  from: Sample["from"],
  bytes: Uint8Array,
  limits?: Limits,
): DecodeResult<ClientFrame | ServerFrame> =>
  from === "client" ? decodeClientFrame(bytes, limits) : decodeServerFrame(bytes, limits);
