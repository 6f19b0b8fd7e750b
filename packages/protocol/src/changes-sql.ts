import type { Change } from "./frames.js";
import { fromSqlite, type SqlValue } from "./values.js";

/**
 * The SQL both sides use to read and apply `crsql_changes`. Values are read with their
 * `typeof()` and applied through a CAST chosen by their wire type, so an INTEGER is never
 * bound as REAL (or the reverse) whatever the driver does with JS numbers.
 */
export const SELECT_CHANGES = `SELECT "table" AS tbl, pk, cid, val, typeof(val) AS val_type, col_version, db_version, site_id, cl, seq FROM crsql_changes`;

export const INSERT_CHANGE = `INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq)
  VALUES (?, ?, ?, CASE ? WHEN 1 THEN CAST(? AS INTEGER) WHEN 2 THEN CAST(? AS REAL) ELSE ? END,
    CAST(? AS INTEGER), CAST(? AS INTEGER), ?, CAST(? AS INTEGER), CAST(? AS INTEGER))`;

/** A row of SELECT_CHANGES as positional values; integers may come as number or bigint. */
export type RawChangeRow = [
  string,
  Uint8Array,
  string,
  unknown,
  string,
  number | bigint,
  number | bigint,
  Uint8Array,
  number | bigint,
  number | bigint,
];

export function rowToChange(r: RawChangeRow): Change {
  return {
    table: r[0],
    pk: r[1],
    cid: r[2],
    val: fromSqlite(r[3], r[4]),
    colVersion: Number(r[5]),
    dbVersion: Number(r[6]),
    siteId: r[7],
    cl: Number(r[8]),
    seq: Number(r[9]),
  };
}

function typeTag(v: SqlValue): number {
  return typeof v === "bigint" ? 1 : typeof v === "number" ? 2 : 0;
}

/** The parameters of INSERT_CHANGE for one change. */
export function changeParams(c: Change): unknown[] {
  const v = c.val;
  return [
    c.table,
    c.pk,
    c.cid,
    typeTag(v),
    v,
    v,
    v,
    c.colVersion,
    c.dbVersion,
    c.siteId,
    c.cl,
    c.seq,
  ];
}

/** A row of SELECT_CHANGES as an object (drivers that return objects). */
export interface ChangeRowObject {
  tbl: string;
  pk: Uint8Array;
  cid: string;
  val: unknown;
  val_type: string;
  col_version: number | bigint;
  db_version: number | bigint;
  site_id: Uint8Array;
  cl: number | bigint;
  seq: number | bigint;
}

export function objectToChange(r: ChangeRowObject): Change {
  return {
    table: r.tbl,
    pk: r.pk,
    cid: r.cid,
    val: fromSqlite(r.val, r.val_type),
    colVersion: Number(r.col_version),
    dbVersion: Number(r.db_version),
    siteId: r.site_id,
    cl: Number(r.cl),
    seq: Number(r.seq),
  };
}

/** Where a page of changes read with `LIMIT maxRows` ends; see `lastWholeTransaction`. */
export type PageCut =
  | { readonly whole: true; readonly changes: Change[]; readonly lastVersion: number | null }
  | { readonly whole: false; readonly lastVersion: number };

/**
 * A page of changes ordered by `db_version`, read with `LIMIT maxRows`, may stop inside a
 * transaction: this keeps the changes up to its last complete one. A full page holding a single
 * transaction comes back `whole: false`, for the caller to read that `lastVersion` whole (a
 * transaction larger than a page is sent in one piece, never split across cursors).
 */
export function lastWholeTransaction(changes: Change[], maxRows: number): PageCut {
  if (changes.length === 0) return { whole: true, changes, lastVersion: null };
  const last = changes[changes.length - 1]!.dbVersion;
  if (changes.length < maxRows) return { whole: true, changes, lastVersion: last };
  let end = changes.length;
  while (end > 0 && changes[end - 1]!.dbVersion === last) end--;
  if (end === 0) return { whole: false, lastVersion: last };
  return { whole: true, changes: changes.slice(0, end), lastVersion: changes[end - 1]!.dbVersion };
}
