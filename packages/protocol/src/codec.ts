import { Packr, addExtension } from "msgpackr";
import { ErrorCode, ProtocolError, isErrorCode } from "./errors.js";
import type { Change, ClientFrame, ServerFrame } from "./frames.js";
import { DEFAULT_LIMITS, type Limits } from "./limits.js";
import { changeShapeProblem } from "./change-rules.js";
import { isKnownColumn, isKnownTable } from "./schema.js";
import { PROTOCOL_VERSION } from "./version.js";
import type { SqlValue } from "./values.js";

/** A REAL on the wire: msgpack ext type 1 holding an 8-byte big-endian IEEE 754 double. */
class WireReal {
  constructor(readonly value: number) {}
}
export const REAL_EXT_TYPE = 1;
addExtension({
  Class: WireReal,
  type: REAL_EXT_TYPE,
  pack(real: WireReal) {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, real.value);
    return bytes;
  },
  unpack(bytes: Uint8Array) {
    if (bytes.length !== 8)
      throw new ProtocolError(ErrorCode.MalformedFrame, "REAL ext must hold 8 bytes");
    return new WireReal(new DataView(bytes.buffer, bytes.byteOffset, 8).getFloat64(0));
  },
});

const packr = new Packr({ useRecords: false, variableMapSize: true });
const unpackr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "bigint" });

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
/** msgpackr writes integral numbers outside 32 bits as float64; send them as int64 instead. */
function wireInt(n: number | bigint): number | bigint {
  if (typeof n === "bigint") return n >= INT32_MIN && n <= UINT32_MAX ? Number(n) : n;
  return n >= INT32_MIN && n <= UINT32_MAX ? n : BigInt(n);
}

function wireValue(v: SqlValue): unknown {
  if (typeof v === "number") return new WireReal(v);
  if (typeof v === "bigint") return wireInt(v);
  return v;
}

const SITE_ID_BYTES = 16;
export const INCARNATION_BYTES = 16;
const siteKey = (id: Uint8Array) => Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");

function encodeChanges(changes: readonly Change[]): [Uint8Array[], string[], unknown[]] {
  const sites: Uint8Array[] = [];
  const siteIndex = new Map<string, number>();
  const tables: string[] = [];
  const rows: unknown[] = [];
  for (const c of changes) {
    const key = siteKey(c.siteId);
    let s = siteIndex.get(key);
    if (s === undefined) {
      s = sites.push(c.siteId) - 1;
      siteIndex.set(key, s);
    }
    let t = tables.indexOf(c.table);
    if (t < 0) t = tables.push(c.table) - 1;
    rows.push([
      t,
      c.pk,
      c.cid,
      wireValue(c.val),
      wireInt(c.colVersion),
      wireInt(c.dbVersion),
      s,
      wireInt(c.cl),
      wireInt(c.seq),
    ]);
  }
  return [sites, tables, rows];
}

/** Encodes a client's frame as one msgpack array: `[protocolVersion, type, ...fields]` (PROTOCOL.md). */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  switch (frame.type) {
    case "hello":
      return pack(frame.type, [
        frame.schemaVersion,
        frame.siteId,
        wireInt(frame.serverVersion),
        frame.token,
        frame.incarnation,
      ]);
    case "changes":
      return pack(frame.type, [
        wireInt(frame.clientVersion),
        frame.partial,
        ...encodeChanges(frame.changes),
      ]);
    case "ack":
      return pack(frame.type, [wireInt(frame.serverVersion)]);
    case "error":
      return pack(frame.type, [frame.code, frame.message, frame.fatal]);
  }
}

/** Encodes a server's frame; see `encodeClientFrame`. */
export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  switch (frame.type) {
    case "welcome":
      return pack(frame.type, [
        frame.schemaVersion,
        frame.siteId,
        wireInt(frame.clientVersion),
        wireInt(frame.serverVersion),
        frame.incarnation,
      ]);
    case "changes":
      return pack(frame.type, [
        wireInt(frame.serverVersion),
        frame.partial,
        ...encodeChanges(frame.changes),
      ]);
    case "ack":
      return pack(frame.type, [wireInt(frame.clientVersion)]);
    case "error":
      return pack(frame.type, [frame.code, frame.message, frame.fatal]);
  }
}

const pack = (type: string, fields: unknown[]) => packr.pack([PROTOCOL_VERSION, type, ...fields]);

export type DecodeResult<F> = { ok: true; frame: F } | { ok: false; error: ProtocolError };

const fail = (message: string, code: ErrorCode = ErrorCode.MalformedFrame): never => {
  throw new ProtocolError(code, message);
};

function version(v: unknown, what: string): number {
  const n = typeof v === "bigint" && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0)
    fail(`${what} must be a non-negative integer`);
  return n as number;
}

function bytes(v: unknown, what: string, length?: number): Uint8Array {
  if (!(v instanceof Uint8Array)) return fail(`${what} must be binary`);
  if (length !== undefined && v.length !== length) fail(`${what} must be ${length} bytes`);
  return v;
}

/** A hello's incarnation: 16 bytes, or none (a client that has not synced yet). */
function incarnation(v: unknown): Uint8Array {
  const b = bytes(v, "incarnation");
  if (b.length !== 0 && b.length !== INCARNATION_BYTES)
    fail(`incarnation must be empty or ${INCARNATION_BYTES} bytes`);
  return b;
}

function str(v: unknown, what: string, maxLength = 1 << 20): string {
  if (typeof v !== "string" || v.length > maxLength) fail(`${what} must be a string`);
  return v as string;
}

function value(v: unknown): SqlValue {
  if (v === null || typeof v === "string" || v instanceof Uint8Array) return v;
  if (typeof v === "number") {
    if (!Number.isInteger(v)) fail("INTEGER values must be msgpack integers");
    return BigInt(v);
  }
  if (typeof v === "bigint") return v;
  if (v instanceof WireReal) return v.value;
  return fail("a change value must be nil, integer, REAL ext, string or binary");
}

function decodeChanges(fields: unknown[], limits: Limits): Change[] {
  const [rawSites, rawTables, rawRows] = fields;
  if (!Array.isArray(rawSites) || !Array.isArray(rawTables) || !Array.isArray(rawRows)) {
    return fail("changes need site, table and row arrays");
  }
  if (rawRows.length > limits.maxChangesPerFrame) {
    fail(
      `${rawRows.length} changes in one frame (limit ${limits.maxChangesPerFrame})`,
      ErrorCode.FrameTooLarge,
    );
  }
  const sites = rawSites.map((s) => bytes(s, "site id", SITE_ID_BYTES));
  const tables = rawTables.map((t) => {
    const name = str(t, "table name", 128);
    if (!isKnownTable(name)) fail(`unknown table "${name}"`, ErrorCode.UnknownTableOrColumn);
    return name;
  });
  return rawRows.map((row): Change => {
    if (!Array.isArray(row) || row.length !== 9) return fail("a change must be a 9-element array");
    const [t, pk, cid, val, colVersion, dbVersion, s, cl, seq] = row as unknown[];
    const table = typeof t === "number" ? tables[t] : undefined;
    const siteId = typeof s === "number" ? sites[s] : undefined;
    if (table === undefined) return fail("change refers to a missing table index");
    if (siteId === undefined) return fail("change refers to a missing site index");
    const column = str(cid, "cid", 128);
    if (!isKnownColumn(table, column))
      fail(`unknown column "${column}" of "${table}"`, ErrorCode.UnknownTableOrColumn);
    const change: Change = {
      table,
      pk: bytes(pk, "pk"),
      cid: column,
      val: value(val),
      colVersion: version(colVersion, "col_version"),
      dbVersion: version(dbVersion, "db_version"),
      siteId,
      cl: version(cl, "cl"),
      seq: version(seq, "seq"),
    };
    const problem = changeShapeProblem(change);
    if (problem) fail(problem);
    return change;
  });
}

type Direction = "client" | "server";

function decodeFields(raw: unknown, limits: Limits, from: Direction): ClientFrame | ServerFrame {
  if (!Array.isArray(raw) || raw.length < 2)
    return fail("a frame is an array [version, type, ...]");
  const [protocolVersion, type, ...f] = raw as unknown[];
  if (protocolVersion !== PROTOCOL_VERSION) {
    fail(
      `protocol version ${String(protocolVersion)} is not supported (this side speaks ${PROTOCOL_VERSION})`,
      ErrorCode.ProtocolVersion,
    );
  }
  const arity = (n: number) => {
    if (f.length !== n) fail(`a ${String(type)} frame has ${n} fields, got ${f.length}`);
  };
  const only = (side: Direction) => {
    if (from !== side)
      fail(`a ${from} does not send ${String(type)} frames`, ErrorCode.UnexpectedFrame);
  };
  switch (type) {
    case "hello":
      only("client");
      arity(5);
      return {
        type,
        schemaVersion: version(f[0], "schema version"),
        siteId: bytes(f[1], "site id", SITE_ID_BYTES),
        serverVersion: version(f[2], "server version"),
        token: str(f[3], "token", 4096),
        incarnation: incarnation(f[4]),
      };
    case "welcome":
      only("server");
      arity(5);
      return {
        type,
        schemaVersion: version(f[0], "schema version"),
        siteId: bytes(f[1], "site id", SITE_ID_BYTES),
        clientVersion: version(f[2], "client version"),
        serverVersion: version(f[3], "server version"),
        incarnation: bytes(f[4], "incarnation", INCARNATION_BYTES),
      };
    case "changes": {
      arity(5);
      if (typeof f[1] !== "boolean") fail("partial must be a boolean");
      const partial = f[1] as boolean;
      const changes = decodeChanges(f.slice(2), limits);
      return from === "client"
        ? { type, clientVersion: version(f[0], "client version"), partial, changes }
        : { type, serverVersion: version(f[0], "server version"), partial, changes };
    }
    case "ack":
      arity(1);
      return from === "client"
        ? { type, serverVersion: version(f[0], "server version") }
        : { type, clientVersion: version(f[0], "client version") };
    case "error": {
      arity(3);
      const code = f[0];
      if (!isErrorCode(code)) return fail(`unknown error code ${String(code)}`);
      if (typeof f[2] !== "boolean") fail("fatal must be a boolean");
      return { type, code, message: str(f[1], "message", 4096), fatal: f[2] as boolean };
    }
    default:
      return fail(`unknown frame type ${String(type)}`);
  }
}

/**
 * Decodes and validates one frame a client sent (what a server receives). Never throws: anything
 * wrong (bytes, shape, sizes, unknown tables or columns, a frame only servers send) comes back as
 * a `ProtocolError` with a code.
 */
export function decodeClientFrame(
  data: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
): DecodeResult<ClientFrame> {
  return decode(data, limits, "client") as DecodeResult<ClientFrame>;
}

/** Decodes and validates one frame a server sent (what a client receives); see `decodeClientFrame`. */
export function decodeServerFrame(
  data: Uint8Array,
  limits: Limits = DEFAULT_LIMITS,
): DecodeResult<ServerFrame> {
  return decode(data, limits, "server") as DecodeResult<ServerFrame>;
}

function decode(
  data: Uint8Array,
  limits: Limits,
  from: Direction,
): DecodeResult<ClientFrame | ServerFrame> {
  if (data.byteLength > limits.maxFrameBytes) {
    return {
      ok: false,
      error: new ProtocolError(
        ErrorCode.FrameTooLarge,
        `frame of ${data.byteLength} bytes exceeds ${limits.maxFrameBytes}`,
      ),
    };
  }
  try {
    // unpackMultiple would accept trailing values; a frame is exactly one.
    const values: unknown[] = [];
    unpackr.unpackMultiple(data, (v: unknown) => {
      values.push(v);
      if (values.length > 1) fail("a frame must hold exactly one msgpack value");
    });
    return { ok: true, frame: decodeFields(values[0], limits, from) };
  } catch (err) {
    if (err instanceof ProtocolError) return { ok: false, error: err };
    return {
      ok: false,
      error: new ProtocolError(
        ErrorCode.MalformedFrame,
        `undecodable frame: ${(err as Error).message}`,
      ),
    };
  }
}
