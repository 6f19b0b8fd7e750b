/**
 * The notes schema, defined once for the server and every client. Replicated tables are CRRs
 * (cr-sqlite): every NOT NULL column has a default, no UNIQUE besides the primary key.
 */
export const SCHEMA_VERSION = 4;

/** A column's declared SQLite type; `?` marks a column that may be NULL. */
export type ColumnType = "text" | "integer" | "real" | "blob" | "integer?";

export interface TableSchema {
  /** Primary-key columns (all TEXT): they travel inside `pk`, never as a change's `cid`. */
  readonly primaryKey: readonly string[];
  /** Every other column, in declaration order. */
  readonly columns: readonly string[];
  /** What each of `columns` holds: incoming values of another type are refused. */
  readonly types: Readonly<Record<string, ColumnType>>;
  readonly createSql: string;
}

export const TABLES = {
  /**
   * A note's metadata. `title` and `body` are the schema-2 text columns, kept only so that
   * edits made before the upgrade still arrive (the server turns them into Yjs edits); since
   * schema 3 a note's text lives in `note_updates`.
   */
  notes: {
    primaryKey: ["id"],
    columns: ["title", "body", "pinned", "position", "created_at", "updated_at", "deleted_at"],
    types: {
      title: "text",
      body: "text",
      pinned: "integer",
      position: "real",
      created_at: "integer",
      updated_at: "integer",
      deleted_at: "integer?",
    },
    createSql: `CREATE TABLE IF NOT EXISTS notes (
  id TEXT PRIMARY KEY NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '',
  pinned INTEGER NOT NULL DEFAULT 0,
  position REAL NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0,
  deleted_at INTEGER
)`,
  },
  /**
   * Earlier versions of notes, synced like notes: `conflict` rows hold a concurrent edit that lost
   * (until the user keeps one or both), `history` rows hold recent versions to restore.
   */
  note_versions: {
    primaryKey: ["id"],
    columns: ["note_id", "kind", "title", "body", "created_at", "resolved_at"],
    types: {
      note_id: "text",
      kind: "text",
      title: "text",
      body: "text",
      created_at: "integer",
      resolved_at: "integer?",
    },
    createSql: `CREATE TABLE IF NOT EXISTS note_versions (
  id TEXT PRIMARY KEY NOT NULL,
  note_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL DEFAULT 'history',
  title TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL DEFAULT 0,
  resolved_at INTEGER
)`,
  },
  /**
   * A note's text: Yjs updates of the note's document (a `Y.Text` "title" and one "body"),
   * insert-only. Merging any set of them in any order, with duplicates, gives the same text,
   * so a compaction that replaces several rows by one merged row is always safe.
   */
  note_updates: {
    primaryKey: ["note_id", "id"],
    columns: ["data"],
    types: { data: "blob" },
    createSql: `CREATE TABLE IF NOT EXISTS note_updates (
  note_id TEXT NOT NULL,
  id TEXT NOT NULL,
  data BLOB NOT NULL DEFAULT x'',
  PRIMARY KEY (note_id, id)
)`,
  },
  /**
   * A note's tags: one row per (note, tag) ever given, with `present` 1 while the note has the
   * tag and 0 once it was removed. Adding and removing only flip the flag, so a concurrent add
   * and remove of one tag is a last-writer-wins merge of one cell (PROTOCOL.md §8.3). Tags are
   * stored normalized (`normalizeTag`).
   */
  note_tags: {
    primaryKey: ["note_id", "tag"],
    columns: ["present"],
    types: { present: "integer" },
    createSql: `CREATE TABLE IF NOT EXISTS note_tags (
  note_id TEXT NOT NULL,
  tag TEXT NOT NULL,
  present INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (note_id, tag)
)`,
  },
} as const satisfies Record<string, TableSchema>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** The change id cr-sqlite uses for a row's creation or deletion (the causal-length sentinel). */
export const ROW_SENTINEL_CID = "-1";

const crr = (name: TableName) => [TABLES[name].createSql, `SELECT crsql_as_crr('${name}')`];

/**
 * Local on every replica, never replicated: each note's plain text (from its Yjs document, or
 * from the legacy columns while it has none), kept in the same transaction as the rows that
 * change it, for the list and previews; and a full-text index over it. The index is brought up
 * to date when it is searched (`FTS_CATCH_UP`), not on every keystroke: re-indexing a 30 KB
 * note per keystroke cost milliseconds and left a growing trail of index segments.
 */
export const NOTE_TEXT_DDL = [
  `CREATE TABLE IF NOT EXISTS note_text (
  note_id TEXT PRIMARY KEY NOT NULL,
  title TEXT NOT NULL DEFAULT '',
  body TEXT NOT NULL DEFAULT ''
)`,
  `CREATE VIRTUAL TABLE IF NOT EXISTS note_fts USING fts5(title, body, content='', contentless_delete=1, tokenize='unicode61 remove_diacritics 2')`,
  `CREATE TABLE IF NOT EXISTS note_fts_stale (text_rowid INTEGER PRIMARY KEY NOT NULL)`,
  `CREATE TRIGGER IF NOT EXISTS note_text_ai AFTER INSERT ON note_text BEGIN
  INSERT INTO note_fts_stale (text_rowid) VALUES (new.rowid) ON CONFLICT DO NOTHING;
END`,
  `CREATE TRIGGER IF NOT EXISTS note_text_au AFTER UPDATE ON note_text BEGIN
  INSERT INTO note_fts_stale (text_rowid) VALUES (new.rowid) ON CONFLICT DO NOTHING;
END`,
  `CREATE TRIGGER IF NOT EXISTS note_text_ad AFTER DELETE ON note_text BEGIN
  INSERT INTO note_fts_stale (text_rowid) VALUES (old.rowid) ON CONFLICT DO NOTHING;
END`,
  // Until a note's Yjs rows arrive, its text is what the legacy columns hold.
  `INSERT OR IGNORE INTO note_text (note_id, title, body) SELECT id, title, body FROM notes`,
];

/** Re-indexes the notes whose text changed since the last search; run in one transaction before searching. */
export const FTS_CATCH_UP = [
  `DELETE FROM note_fts WHERE rowid IN (SELECT text_rowid FROM note_fts_stale)`,
  `INSERT INTO note_fts (rowid, title, body) SELECT rowid, title, body FROM note_text WHERE rowid IN (SELECT text_rowid FROM note_fts_stale)`,
  `DELETE FROM note_fts_stale`,
];

/** `MIGRATIONS[v]` takes a database from schema version v to v + 1. Never edit a step; add one. */
const MIGRATIONS: readonly (readonly string[])[] = [
  crr("notes"),
  crr("note_versions"),
  [...crr("note_updates"), ...NOTE_TEXT_DDL],
  crr("note_tags"),
];

/** Statements that bring a database from `fromVersion` (0: empty) to `toVersion`. Idempotent. */
export function schemaStatements(fromVersion = 0, toVersion = SCHEMA_VERSION): string[] {
  return MIGRATIONS.slice(fromVersion, toVersion).flat();
}

/**
 * What brings a database whose `user_version` is `fromVersion` to this schema: the migrations, then
 * `localTables` (each side's own unreplicated tables, `CREATE TABLE IF NOT EXISTS`), for the
 * caller to run in one transaction and finish with `PRAGMA user_version = SCHEMA_VERSION`.
 * Empty when it is current; throws when the database is newer than this code.
 */
export function schemaUpgrade(fromVersion: number, localTables: readonly string[]): string[] {
  if (fromVersion > SCHEMA_VERSION)
    throw new Error(
      `the database has schema ${fromVersion}, newer than this version's ${SCHEMA_VERSION}: update it`,
    );
  if (fromVersion === SCHEMA_VERSION) return [];
  return [...schemaStatements(fromVersion), ...localTables];
}

/** Whether `cid` may appear in a change to `table`. */
export function isKnownColumn(table: string, cid: string): boolean {
  const schema = (TABLES as Record<string, TableSchema>)[table];
  return schema !== undefined && (cid === ROW_SENTINEL_CID || schema.columns.includes(cid));
}

export function isKnownTable(table: string): table is TableName {
  return Object.hasOwn(TABLES, table);
}

/** Longest tag, in characters, after normalizing. */
export const MAX_TAG_LENGTH = 64;

/**
 * The stored form of a tag as a user typed it: without a leading `#`, trimmed, runs of white
 * space turned into one `-`, lower case (so "Work" and "work" are one tag), at most
 * `MAX_TAG_LENGTH` characters. Empty when nothing is left.
 */
export function normalizeTag(typed: string): string {
  return [
    ...typed.trim().replace(/^#+/, "").replace(/#+$/, "").trim().replace(/\s+/g, "-").toLowerCase(),
  ]
    .slice(0, MAX_TAG_LENGTH)
    .join("");
}
