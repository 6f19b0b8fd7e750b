import type { Change } from "./frames.js";
import { unpackPk } from "./packed-pk.js";
import { ROW_SENTINEL_CID, TABLES, type TableSchema } from "./schema.js";
import { sqlTypeOf } from "./values.js";

/**
 * The largest counter (`col_version`, `db_version`, `cl`, `seq`) a replica accepts from a peer.
 * cr-sqlite's clocks follow what they receive (a merged `db_version` moves the receiver's
 * clock there; the next edit of a cell counts on from the merged `col_version`), and every side
 * refuses numbers beyond 2^53 - 1 (the wire's limit). A change at that edge would leave every
 * later change of the account undeliverable; accepting nothing beyond 2^53 - 1 - 2^32 leaves
 * four billion increments before the edge, whatever a peer sent.
 */
export const MAX_COUNTER = Number.MAX_SAFE_INTEGER - 2 ** 32;

/** How far ahead of the receiver's clock a change's `db_version` may be (four billion transactions). */
export const CLOCK_STEP = 2 ** 32;

/** Longest primary-key value accepted (note and row ids are far shorter). */
const MAX_KEY_LENGTH = 256;

/**
 * Why cr-sqlite must not parse this change, or null when it may: a packed primary key that is
 * not the table's key. Checked when a frame is decoded, before
 * anything reaches the extension, which aborts the whole process on some malformed input (an
 * empty packed key, say).
 */
export function changeShapeProblem(c: Change): string | null {
  const schema = (TABLES as Record<string, TableSchema>)[c.table];
  if (!schema) return `unknown table "${c.table}"`;
  const key = unpackPk(c.pk);
  if (!key) return `the packed primary key of a ${c.table} change is malformed`;
  if (
    key.length !== schema.primaryKey.length ||
    !key.every((v) => typeof v === "string" && v.length > 0 && v.length <= MAX_KEY_LENGTH)
  )
    return `the primary key of a ${c.table} change must be ${schema.primaryKey.length} non-empty text value(s) (${schema.primaryKey.join(", ")})`;
  return null;
}

/**
 * Why a change must not be stored, or null when it may: its shape (above), a counter beyond
 * `MAX_COUNTER` or ahead of the clocks (`receiverVersion` is the receiving database's
 * `db_version`), a create/delete marker that disagrees with itself, a value for a deleted row,
 * or a value of another type than its column's. A replica applies only changes another replica could have produced.
 */
export function changeProblem(c: Change, receiverVersion = 0): string | null {
  const shape = changeShapeProblem(c);
  if (shape) return shape;
  const schema = (TABLES as Record<string, TableSchema>)[c.table]!;
  // Only here, on what a replica is about to apply, not in the codec: a server whose clock
  // followed a change still sends its next versions to its clients.
  for (const [name, n] of [
    ["col_version", c.colVersion],
    ["db_version", c.dbVersion],
    ["cl", c.cl],
    ["seq", c.seq],
  ] as const)
    if (n > MAX_COUNTER) return `${name} ${n} is beyond the limit of ${MAX_COUNTER}`;
  // An honest sender's clock is the receiver's (it followed it) plus its own transactions
  // since, and no cell or row counts faster than the clock of the database that changed it.
  // So one frame can move the receiver's clocks only a bounded step, never to the edge.
  if (c.dbVersion > receiverVersion + CLOCK_STEP)
    return `db_version ${c.dbVersion} is more than ${CLOCK_STEP} ahead of this database's ${receiverVersion}`;
  if (c.colVersion > c.dbVersion || c.cl > c.dbVersion)
    return `col_version ${c.colVersion} and cl ${c.cl} cannot be ahead of their db_version ${c.dbVersion}`;
  if (c.cl < 1) return "cl (causal length) must be at least 1";
  if (c.cid === ROW_SENTINEL_CID) {
    if (c.val !== null) return "a row's create/delete marker carries no value";
    if (c.colVersion !== c.cl) return "a create/delete marker's col_version must equal its cl";
    return null;
  }
  if (c.cl % 2 === 0)
    return `a value for ${c.table}.${c.cid} cannot belong to a deleted row (even cl)`;
  if (c.colVersion < 1) return "col_version must be at least 1";
  const declared = schema.types[c.cid];
  if (!declared) return `unknown column "${c.cid}" of "${c.table}"`;
  const type = sqlTypeOf(c.val);
  const nullable = declared.endsWith("?");
  if (type === "null" ? !nullable : type !== declared.replace("?", ""))
    return `${c.table}.${c.cid} holds ${declared.replace("?", "")}${nullable ? " or null" : ""}, not ${type}`;
  return null;
}
