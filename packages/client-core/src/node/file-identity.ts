import { fileIdentity, isSameFile } from "@notesync/crsqlite-native";
import type BetterSqlite3 from "better-sqlite3";
import { SYNC_STATE_TABLE } from "../database.js";

/**
 * A cr-sqlite site id belongs to one device. Copying a database file (or restoring an older
 * copy of it) makes two databases with one site id: the server then takes one device's
 * changes for the other's and silently drops some, and neither ever receives the other's.
 * The file's identity (device and inode numbers) is recorded in the database; a file that
 * finds a different identity than the one it recorded is a copy. Returns whether this file
 * needs a new site id, and records the current identity.
 */
export function isCopiedFile(db: BetterSqlite3.Database, file: string): boolean {
  const identity = fileIdentity(file);
  if (identity === null) return false;
  db.exec(`CREATE TABLE IF NOT EXISTS ${SYNC_STATE_TABLE} (key TEXT PRIMARY KEY NOT NULL, value)`);
  const recorded = db
    .prepare(`SELECT value FROM ${SYNC_STATE_TABLE} WHERE key = 'file_identity'`)
    .pluck()
    .get() as string | undefined;
  const same = isSameFile(recorded, identity);
  if (same && recorded === identity) return false;
  db.prepare(
    `INSERT INTO ${SYNC_STATE_TABLE} (key, value) VALUES ('file_identity', ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  ).run(identity);
  return !same && recorded !== undefined;
}

/**
 * Gives the database a new site id. Every change made here is then this new device's, so the
 * sync engine sends all of them again (the server applies what it already had as no-ops) and
 * the other copy's changes reach this one. cr-sqlite caches the site id per connection: close
 * and reopen the connection afterwards.
 */
export function takeNewSiteId(db: BetterSqlite3.Database): void {
  db.transaction(() => {
    db.prepare(`UPDATE crsql_site_id SET site_id = randomblob(16) WHERE ordinal = 0`).run();
    db.prepare(`DELETE FROM ${SYNC_STATE_TABLE} WHERE key = 'acked_version'`).run();
  })();
}
