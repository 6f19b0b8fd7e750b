import type { Change, Frame } from "./frames.js";
import { ErrorCode } from "./errors.js";

export const SITE_A = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
export const SITE_B = Uint8Array.from({ length: 16 }, (_, i) => 0xf0 - i);
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

/** One frame of every type, with every kind of value: the golden vectors encode these. */
export const SAMPLE_FRAMES: Record<string, Frame> = {
  hello: { type: "hello", schemaVersion: 2, siteId: SITE_A, serverVersion: 42, token: "t0ken" },
  welcome: {
    type: "welcome",
    schemaVersion: 2,
    siteId: SITE_B,
    clientVersion: 7,
    serverVersion: 5_000_000_000,
  },
  changes: {
    type: "changes",
    cursor: 9,
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
  partial: { type: "changes", cursor: 3, partial: true, changes: [change(4)] },
  ack: { type: "ack", cursor: 12 },
  error: {
    type: "error",
    code: ErrorCode.SchemaMismatch,
    message: "schema 2 expected",
    fatal: true,
  },
};
