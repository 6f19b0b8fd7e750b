import type { SqlExecutor } from "../database.js";
import { SYNC_STATE_TABLE } from "../database.js";

/** What the engine remembers between runs, in the local database (never replicated). */
export interface SyncCursors {
  /** Last server `db_version` applied here (server clock). */
  serverVersion: number;
  /** Last local `db_version` the server confirmed it applied (this database's clock). */
  ackedClientVersion: number;
  /** The server database's incarnation `serverVersion` belongs to; empty before the first welcome. */
  incarnation: Uint8Array;
}

export async function loadCursors(db: SqlExecutor): Promise<SyncCursors> {
  const rows = await db.query<{ key: string; value: unknown }>(
    `SELECT key, value FROM ${SYNC_STATE_TABLE}`,
  );
  const get = (key: string) => rows.find((r) => r.key === key)?.value;
  const incarnation = get("incarnation");
  return {
    serverVersion: Number(get("server_version") ?? 0),
    ackedClientVersion: Number(get("acked_version") ?? 0),
    incarnation: incarnation instanceof Uint8Array ? incarnation : new Uint8Array(),
  };
}

/** Stored once every change this database held has reached that incarnation (PROTOCOL.md §4.1). */
export function saveIncarnation(db: SqlExecutor, incarnation: Uint8Array): Promise<void> {
  return save(db, "incarnation", incarnation);
}

export function saveServerVersion(db: SqlExecutor, serverVersion: number): Promise<void> {
  return save(db, "server_version", serverVersion);
}

export function saveAckedClientVersion(db: SqlExecutor, clientVersion: number): Promise<void> {
  return save(db, "acked_version", clientVersion);
}

function save(db: SqlExecutor, key: string, value: number | Uint8Array): Promise<void> {
  return db.exec(
    `INSERT INTO ${SYNC_STATE_TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [key, value],
  );
}
