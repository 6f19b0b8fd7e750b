/**
 * The notes schema, defined once for the server and every client. Replicated tables are CRRs
 * (cr-sqlite): every NOT NULL column has a default, no UNIQUE besides the primary key.
 */
export const SCHEMA_VERSION = 1;

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
} as const satisfies Record<string, TableSchema>;

export type TableName = keyof typeof TABLES;
export const TABLE_NAMES = Object.keys(TABLES) as TableName[];

/** The change id cr-sqlite uses for a row's creation or deletion (the causal-length sentinel). */
export const ROW_SENTINEL_CID = "-1";

/** Statements that create the replicated schema on an empty database (idempotent). */
export function schemaStatements(): string[] {
  return TABLE_NAMES.flatMap((name) => [TABLES[name].createSql, `SELECT crsql_as_crr('${name}')`]);
}

/** Whether `cid` may appear in a change to `table`. */
export function isKnownColumn(table: string, cid: string): boolean {
  const schema = (TABLES as Record<string, TableSchema>)[table];
  return schema !== undefined && (cid === ROW_SENTINEL_CID || schema.columns.includes(cid));
}

export function isKnownTable(table: string): table is TableName {
  return Object.hasOwn(TABLES, table);
}
