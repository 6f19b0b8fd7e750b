import {
  SELECT_CHANGES,
  lastWholeTransaction,
  objectToChange,
  type Change,
  type ChangeRowObject,
} from "@notesync/protocol";
import type { SqlExecutor } from "../database.js";

const OWN = "site_id = crsql_site_id()";
const ANY = "1";
const page = (sites: string) =>
  `${SELECT_CHANGES} WHERE db_version > ? AND ${sites} ORDER BY db_version, seq LIMIT ?`;
const transaction = (sites: string) =>
  `${SELECT_CHANGES} WHERE db_version = ? AND ${sites} ORDER BY seq`;
/**
 * Rows with unconfirmed local edits. Counting over every pending change costs a scan of all of
 * them (about 1 s for 700k), so only the first 2,000 are looked at: beyond that the count is a
 * lower bound, which is all a "waiting" indicator needs.
 */
const PENDING_ROWS = `SELECT count(*) AS n FROM (SELECT DISTINCT tbl, pk FROM
  (SELECT "table" AS tbl, pk FROM crsql_changes WHERE db_version > ? AND site_id = crsql_site_id() LIMIT 2000))`;

/**
 * This database's own changes after `afterClientVersion` (with `allSites`, every change it holds,
 * whoever made it), at most about `maxRows` (ending on a transaction boundary; one transaction
 * larger than that comes whole). Empty when none; the page is full, and more may follow, when
 * `full` is true.
 */
export async function readLocalChanges(
  db: SqlExecutor,
  afterClientVersion: number,
  maxRows: number,
  allSites = false,
): Promise<{ changes: Change[]; full: boolean }> {
  const sites = allSites ? ANY : OWN;
  const rows = await db.query<ChangeRowObject>(page(sites), [afterClientVersion, maxRows]);
  const cut = lastWholeTransaction(rows.map(objectToChange), maxRows);
  const full = rows.length === maxRows;
  if (cut.whole) return { changes: cut.changes, full };
  const whole = await db.query<ChangeRowObject>(transaction(sites), [cut.lastVersion]);
  return { changes: whole.map(objectToChange), full };
}

/** Every own change after `afterClientVersion` (what must reach the server before anything overwrites it). */
export async function readUnsentChanges(
  db: SqlExecutor,
  afterClientVersion: number,
): Promise<Change[]> {
  const rows = await db.query<ChangeRowObject>(
    `${SELECT_CHANGES} WHERE db_version > ? AND site_id = crsql_site_id() ORDER BY db_version, seq`,
    [afterClientVersion],
  );
  return rows.map(objectToChange);
}

/** Rows with local edits after `ackedClientVersion` (a lower bound beyond 2,000 changes). */
export async function countPendingRows(
  db: SqlExecutor,
  ackedClientVersion: number,
): Promise<number> {
  const [row] = await db.query<{ n: number }>(PENDING_ROWS, [ackedClientVersion]);
  return Number(row?.n ?? 0);
}
