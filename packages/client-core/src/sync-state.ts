import type { SqlExecutor } from "./database.js";
import { SYNC_STATE_TABLE } from "./database.js";

/** What the engine remembers between runs, in the local database (never replicated). */
export interface SyncCursors {
  /** Last server `db_version` applied here (server clock). */
  serverVersion: number;
  /** Last local `db_version` the server confirmed it applied (this database's clock). */
  ackedVersion: number;
}

export async function loadCursors(db: SqlExecutor): Promise<SyncCursors> {
  const rows = await db.query<{ key: string; value: number }>(
    `SELECT key, value FROM ${SYNC_STATE_TABLE}`,
  );
  const get = (key: string) => Number(rows.find((r) => r.key === key)?.value ?? 0);
  return { serverVersion: get("server_version"), ackedVersion: get("acked_version") };
}

export function saveCursor(
  db: SqlExecutor,
  key: "server_version" | "acked_version",
  value: number,
): Promise<void> {
  return db.exec(
    `INSERT INTO ${SYNC_STATE_TABLE} (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    [key, value],
  );
}
