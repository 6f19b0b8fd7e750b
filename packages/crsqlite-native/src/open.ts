import BetterSqlite3 from "better-sqlite3";
import fs from "node:fs";
import { crsqliteExtensionPath, loadCrsqlite } from "./index.js";

export interface OpenOptions {
  /** A cr-sqlite library to load instead of the one `crsqliteExtensionPath` finds. */
  readonly extensionPath?: string;
}

/**
 * Opens a database file the way every NoteSync process does (WAL, NORMAL sync, a 5 s busy
 * timeout so another process's commit waits instead of failing) with cr-sqlite loaded. A file
 * that cannot be opened is closed again before the error is thrown.
 */
export function openCrsqliteDatabase(
  file: string,
  options: OpenOptions = {},
): BetterSqlite3.Database {
  const db = new BetterSqlite3(file);
  try {
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma("busy_timeout = 5000");
    loadCrsqlite(db, options.extensionPath ?? crsqliteExtensionPath());
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** Closes a database opened with cr-sqlite (it must finalize first, or its statements leak). */
export function closeCrsqliteDatabase(db: BetterSqlite3.Database): void {
  if (!db.open) return;
  try {
    db.prepare("SELECT crsql_finalize()").get();
  } finally {
    db.close();
  }
}

/**
 * Parameters as better-sqlite3 must get them to bind like the browser driver: it binds every JS
 * number as REAL (`typeof(?)` of 43 is 'real') and refuses booleans and plain Uint8Arrays. Safe
 * integers bind as INTEGER here, booleans as 0/1, byte arrays as Buffers.
 */
export function bindParams(params: readonly unknown[] | undefined): unknown[] {
  if (!params) return [];
  return params.map((p) => {
    if (typeof p === "number" && Number.isSafeInteger(p)) return BigInt(p);
    if (typeof p === "boolean") return p ? 1 : 0;
    if (p instanceof Uint8Array && !Buffer.isBuffer(p))
      return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    return p;
  });
}

/**
 * A database file's identity on disk (device, inode and birth time), or null for an in-memory
 * database. A copy or a restore of the file has another identity than the file it came from,
 * even when it gets the inode number of a file just deleted (ext4 hands those out again at once;
 * the birth time tells them apart).
 */
export function fileIdentity(file: string): string | null {
  if (file === ":memory:" || file === "") return null;
  const stat = fs.statSync(file, { bigint: true });
  return `${stat.dev}:${stat.ino}:${stat.birthtimeNs}`;
}

/** Whether `recorded` (from `fileIdentity`, or a device:inode pair recorded before) names this file. */
export function isSameFile(recorded: string | undefined, identity: string): boolean {
  if (recorded === undefined) return false;
  if (recorded.split(":").length === 2) return identity.startsWith(`${recorded}:`);
  return recorded === identity;
}
