/**
 * A SQLite value as it travels: `bigint` is INTEGER, `number` is REAL, `string` is TEXT,
 * `Uint8Array` is BLOB. Keeping INTEGER and REAL apart matters: cr-sqlite compares types first
 * when it breaks ties, so an integer that arrives as REAL forks the replicas for good.
 */
export type SqlValue = null | bigint | number | string | Uint8Array;

/** Which SQLite storage class a value has, as `typeof()` spells it. */
export type SqlType = "null" | "integer" | "real" | "text" | "blob";

export function sqlTypeOf(value: SqlValue): SqlType {
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      return "integer";
    case "number":
      return "real";
    case "string":
      return "text";
    default:
      return "blob";
  }
}

/**
 * Turns a value read from SQLite into a `SqlValue` using the `typeof()` SQLite reported for it,
 * so an integer read as a JS number becomes a bigint and a REAL stays a number.
 */
export function fromSqlite(value: unknown, type: string): SqlValue {
  switch (type) {
    case "integer":
      return typeof value === "bigint" ? value : BigInt(value as number);
    case "real":
      return Number(value);
    case "text":
      return String(value);
    case "blob":
      return value instanceof Uint8Array ? value : new Uint8Array(value as ArrayBuffer);
    default:
      return null;
  }
}
