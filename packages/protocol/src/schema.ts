/**
 * The notes schema, defined once for the server and every client. Replicated tables are CRRs
 * (cr-sqlite): every NOT NULL column has a default, no UNIQUE besides the primary key.
 */
export const SCHEMA_VERSION = 2;

export interface TableSchema {
  /** Primary-key columns: they travel inside `pk`, never as a change's `cid`. */
  readonly primaryKey: readonly string[];
  /** Every other column, in declaration order. */
  readonly columns: readonly string[];
  readonly createSql: string;
}

export const TABLES = {
  notes: {
    primaryKey: ["id"],
    columns: ["title", "body", "pinned", "position", "created_at", "updated_at", "deleted_at"],
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
} as const satisfies Record<string, TableSchema>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** The change id cr-sqlite uses for a row's creation or deletion (the causal-length sentinel). */
export const ROW_SENTINEL_CID = "-1";

const crr = (name: TableName) => [TABLES[name].createSql, `SELECT crsql_as_crr('${name}')`];

/** `MIGRATIONS[v]` takes a database from schema version v to v + 1. Never edit a step; add one. */
const MIGRATIONS: readonly (readonly string[])[] = [crr("notes"), crr("note_versions")];

/** Statements that bring a database from `fromVersion` (0: empty) to SCHEMA_VERSION. Idempotent. */
export function schemaStatements(fromVersion = 0): string[] {
  return MIGRATIONS.slice(fromVersion).flat();
}

/** Whether `cid` may appear in a change to `table`. */
export function isKnownColumn(table: string, cid: string): boolean {
  const schema = (TABLES as Record<string, TableSchema>)[table];
  return schema !== undefined && (cid === ROW_SENTINEL_CID || schema.columns.includes(cid));
}

export function isKnownTable(table: string): table is TableName {
  return Object.hasOwn(TABLES, table);
}
