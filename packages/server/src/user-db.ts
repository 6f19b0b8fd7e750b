import type Database from "better-sqlite3";
import {
  bindParams,
  closeCrsqliteDatabase,
  fileIdentity,
  isSameFile,
  openCrsqliteDatabase,
} from "@notesync/crsqlite-native";
import crypto from "node:crypto";
import { NoteTextKeeper } from "./note-text.js";
import {
  INSERT_CHANGE,
  SCHEMA_VERSION,
  SELECT_CHANGES,
  changeParams,
  lastWholeTransaction,
  rowToChange,
  schemaUpgrade,
  type Change,
  type RawChangeRow,
} from "@notesync/protocol";

/** The user's database file could not be opened, read or written. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StorageError";
  }
}

/** A page of changes ending on a transaction boundary. */
export interface ChangePage {
  readonly changes: Change[];
  /** The `db_version` (server clock) the page completes; null when there was nothing to read. */
  readonly lastVersion: number | null;
  /** Whether more changes may follow (the page was cut at `maxRows`). */
  readonly more: boolean;
}

/** The server's own tables in each user's database, never replicated. */
const SERVER_TABLES = [
  `CREATE TABLE IF NOT EXISTS notesync_client_cursors (
    site_id BLOB PRIMARY KEY NOT NULL,
    client_version INTEGER NOT NULL
  )`,
  // The last server version each device acknowledged, and when: deletions every device has
  // seen need no tombstone any more.
  `CREATE TABLE IF NOT EXISTS notesync_client_acks (
    site_id BLOB PRIMARY KEY NOT NULL,
    server_version INTEGER NOT NULL,
    seen_at INTEGER NOT NULL
  )`,
  // The database's incarnation and the file identity it was given for (PROTOCOL.md §4.1).
  `CREATE TABLE IF NOT EXISTS notesync_server_state (key TEXT PRIMARY KEY NOT NULL, value)`,
];

const asBuffer = (b: Uint8Array) =>
  Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * One user's SQLite database with cr-sqlite loaded: the notes schema, plus a local (not
 * replicated) table of how far the server has applied each client site's changes.
 */
export class UserDatabase {
  readonly siteId: Buffer;
  /** Why this open gave the database a new incarnation, or null when it kept its own. */
  readonly incarnationChange: string | null;
  private current: Buffer;
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<UserDatabase["prepare"]>;
  private readonly noteText: NoteTextKeeper;
  private closed = false;

  constructor(readonly file: string) {
    try {
      this.db = openCrsqliteDatabase(file);
      this.migrate();
      this.stmts = this.prepare();
      this.noteText = new NoteTextKeeper(this.db);
      this.siteId = this.db.prepare("SELECT crsql_site_id()").pluck().get() as Buffer;
      const found = this.checkIncarnation(file);
      this.current = found.incarnation;
      this.incarnationChange = found.change;
    } catch (err) {
      this.closeQuietly();
      throw new StorageError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  private migrate(): void {
    const version = this.db.pragma("user_version", { simple: true }) as number;
    const upgrade = schemaUpgrade(version, SERVER_TABLES);
    // The server's own tables may be newer than the schema (added without a schema change).
    if (upgrade.length === 0) return SERVER_TABLES.forEach((sql) => this.db.exec(sql));
    this.db.transaction(() => {
      for (const sql of upgrade) this.db.exec(sql);
      // Schema 2's server-side line merge kept earlier text values here; Yjs merges now.
      this.db.exec(`DROP TABLE IF EXISTS notesync_text_history`);
      // Only the server converts schema-2 text into Yjs, so no text is converted twice.
      if (version > 0 && version < 3) new NoteTextKeeper(this.db).convertSchema2();
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    })();
  }

  /**
   * The incarnation this file has, or a new one when it cannot vouch for its history: it never
   * had one, or its file identity is not the one recorded (a copy or a restore of the file).
   */
  private checkIncarnation(file: string): { incarnation: Buffer; change: string | null } {
    const get = this.db.prepare("SELECT value FROM notesync_server_state WHERE key = ?").pluck();
    const incarnation = get.get("incarnation") as Buffer | undefined;
    const recorded = get.get("file_identity") as string | undefined;
    const identity = fileIdentity(file);
    if (incarnation && (identity === null || isSameFile(recorded, identity))) {
      if (identity !== null && recorded !== identity) this.recordIdentity(identity);
      return { incarnation, change: null };
    }
    const change = !incarnation
      ? "a database with no incarnation yet"
      : `the file is a copy or a restore (identity ${identity}, recorded ${recorded})`;
    return { incarnation: this.writeIncarnation(identity), change };
  }

  /** Records the file identity in today's form (a database from before birth times were kept). */
  private recordIdentity(identity: string): void {
    this.db
      .prepare("UPDATE notesync_server_state SET value = ? WHERE key = 'file_identity'")
      .run(identity);
  }

  private writeIncarnation(identity: string | null): Buffer {
    const incarnation = crypto.randomBytes(16);
    const set = this.db.prepare(
      `INSERT INTO notesync_server_state (key, value) VALUES (?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
    );
    this.db.transaction(() => {
      set.run("incarnation", incarnation);
      set.run("file_identity", identity);
      // Acks of another history say nothing about which deletions devices have seen in this one.
      this.db.exec("DELETE FROM notesync_client_acks");
    })();
    return incarnation;
  }

  /** The database's incarnation (16 bytes): a new one means a history clients have not all seen. */
  get incarnation(): Buffer {
    return this.current;
  }

  /** Gives the database a new incarnation (its history is not what clients saw); returns it. */
  newIncarnation(): Buffer {
    try {
      this.current = this.writeIncarnation(fileIdentity(this.file));
      return this.current;
    } catch (err) {
      throw new StorageError(`recording a new incarnation failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  private prepare() {
    return {
      dbVersion: this.db.prepare("SELECT crsql_db_version()").pluck().safeIntegers(true),
      dataVersion: this.db.prepare("PRAGMA data_version").pluck(),
      pageCount: this.db.prepare("PRAGMA page_count").pluck(),
      pageSize: this.db.prepare("PRAGMA page_size").pluck(),
      page: this.db
        .prepare(
          `${SELECT_CHANGES} WHERE db_version > ? AND site_id IS NOT ? ORDER BY db_version, seq LIMIT ?`,
        )
        .raw(true)
        .safeIntegers(true),
      wholeVersion: this.db
        .prepare(`${SELECT_CHANGES} WHERE db_version = ? AND site_id IS NOT ? ORDER BY seq`)
        .raw(true)
        .safeIntegers(true),
      insert: this.db.prepare(INSERT_CHANGE),
      clientCursor: this.db
        .prepare("SELECT client_version FROM notesync_client_cursors WHERE site_id = ?")
        .pluck()
        .safeIntegers(true),
      recordAck: this.db.prepare(
        `INSERT INTO notesync_client_acks (site_id, server_version, seen_at) VALUES (?, ?, ?)
         ON CONFLICT (site_id) DO UPDATE SET server_version = max(server_version, excluded.server_version), seen_at = excluded.seen_at`,
      ),
      setClientCursor: this.db.prepare(
        `INSERT INTO notesync_client_cursors (site_id, client_version) VALUES (?, ?)
         ON CONFLICT (site_id) DO UPDATE SET client_version = max(client_version, excluded.client_version)`,
      ),
    };
  }

  /** The database's current `db_version` (server clock). */
  dbVersion(): number {
    return Number(this.stmts.dbVersion.get());
  }

  /** Bytes the database file takes (its pages; the WAL comes on top until a checkpoint). */
  sizeBytes(): number {
    return (this.stmts.pageCount.get() as number) * (this.stmts.pageSize.get() as number);
  }

  /** SQLite's counter of commits by other connections: it moves when another process writes. */
  dataVersion(): number {
    return this.stmts.dataVersion.get() as number;
  }

  /** Last client `db_version` applied from `siteId` (client clock), 0 when never seen. */
  clientCursor(siteId: Uint8Array): number {
    const v = this.stmts.clientCursor.get(asBuffer(siteId)) as bigint | undefined;
    return v === undefined ? 0 : Number(v);
  }

  /** A device has applied this database's changes up to `serverVersion` (server clock). */
  recordAck(siteId: Uint8Array, serverVersion: number, now = Date.now()): void {
    try {
      this.stmts.recordAck.run(asBuffer(siteId), BigInt(serverVersion), now);
    } catch (err) {
      throw new StorageError(`recording an ack failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Drops the tombstones of merged text rows that every device has acknowledged (PROTOCOL.md §8.1). */
  purgeTombstones(): void {
    try {
      this.db.transaction(() => this.noteText.purgeTombstones())();
    } catch (err) {
      throw new StorageError(`purging tombstones failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /**
   * Changes after `afterVersion` not made by `excludeSite`, at most about `maxRows`, cut at a
   * transaction boundary (a single transaction larger than `maxRows` is returned whole).
   */
  readChanges(afterVersion: number, excludeSite: Uint8Array, maxRows: number): ChangePage {
    const site = asBuffer(excludeSite);
    const rows = (this.stmts.page.all(afterVersion, site, maxRows) as RawChangeRow[]).map(
      rowToChange,
    );
    const page = lastWholeTransaction(rows, maxRows);
    if (page.whole)
      return {
        changes: page.changes,
        lastVersion: page.lastVersion,
        more: rows.length === maxRows,
      };
    const whole = this.stmts.wholeVersion.all(page.lastVersion, site) as RawChangeRow[];
    return { changes: whole.map(rowToChange), lastVersion: page.lastVersion, more: true };
  }

  /**
   * Applies one client's changes and records `clientVersion` for its site, in one transaction:
   * either both land or neither does. Returns the database version before and after.
   */
  applyFromClient(
    siteId: Uint8Array,
    changes: readonly Change[],
    clientVersion: number,
  ): { before: number; after: number } {
    const { insert, setClientCursor } = this.stmts;
    const before = this.dbVersion();
    try {
      this.db.transaction(() => {
        for (const c of changes) insert.run(bindParams(changeParams(c)));
        this.noteText.afterApply(changes);
        setClientCursor.run(asBuffer(siteId), BigInt(clientVersion));
      })();
    } catch (err) {
      this.noteText.rolledBack();
      throw new StorageError(
        `applying ${changes.length} changes failed: ${(err as Error).message}`,
        { cause: err },
      );
    }
    // cr-sqlite assigns the new db_version at commit, so read it afterwards.
    return { before, after: this.dbVersion() };
  }

  /** A consistent copy of the whole database in a new file (`VACUUM INTO`), for backups. */
  snapshotTo(file: string): void {
    try {
      this.db.prepare("VACUUM INTO ?").run(file);
    } catch (err) {
      throw new StorageError(`snapshotting ${this.file} failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** Applies changes read from a backup (any sites) in one transaction. */
  applyRestored(changes: readonly Change[]): void {
    const { insert } = this.stmts;
    try {
      this.db.transaction(() => {
        for (const c of changes) insert.run(bindParams(changeParams(c)));
        this.noteText.afterApply(changes);
      })();
    } catch (err) {
      this.noteText.rolledBack();
      throw new StorageError(`applying a backup's changes failed: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }

  /** `PRAGMA integrity_check`: "ok", or what is wrong. */
  integrityCheck(): string {
    return (this.db.prepare("PRAGMA integrity_check").pluck().all() as string[]).join("; ");
  }

  /** Reads rows directly (admin tools, tests). */
  query<T>(sql: string, params: readonly unknown[] = []): T[] {
    return this.db.prepare(sql).all(...params) as T[];
  }

  /** Runs SQL directly (admin tools, tests). */
  exec(sql: string): void {
    this.db.exec(sql);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeCrsqliteDatabase(this.db);
  }

  private closeQuietly(): void {
    try {
      this.db?.close();
    } catch {
      // already failing; the original error is what matters
    }
  }
}
