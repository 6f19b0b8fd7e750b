import type { SqlExecutor } from "../database.js";
import { SYNC_STATE_TABLE } from "../database.js";

/** What the engine remembers between runs, in the local database (never replicated). */
export interface SyncCursors {
  /** Last server `db_version` applied here (server clock). */
  serverVersion: number;
  /** Last local `db_version` the server confirmed it applied (this database's clock). */
  ackedClientVersion: number;
}

export async function loadCursors(db: SqlExecutor): Promise<SyncCursors> {
  const rows = await db.query<{ key: string; value: number }>(
    `SELECT key, value FROM ${SYNC_STATE_TABLE}`,
  );
  const get = (key: string) => Number(rows.find((r) => r.key === key)?.value ?? 0);
  return { serverVersion: get("server_version"), ackedClientVersion: get("acked_version") };
}

export function saveServerVersion(db: SqlExecutor, serverVersion: number): Promise<void> {
  return save(db, "server_version", serverVersion);
}

export function saveAckedClientVersion(db: SqlExecutor, clientVersion: number): Promise<void> {
  return save(db, "acked_version", clientVersion);
}

function save(db: SqlExecutor, key: string, value: number): Promise<void> {
  return db.exec(
    `INSERT INTO ${SYNC_STATE_TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [key, value],
  );
}
