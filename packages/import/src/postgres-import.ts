import { addCounts, type ImportWriter, type ImportedNote, type NoteMapper } from "@notesync/server";
import pg from "pg";
import { newReport, type ImportReport } from "./report.js";

export interface PostgresImportOptions {
  /** A libpq connection string or URL (a password is better given in PGPASSWORD). */
  readonly connectionString: string;
  /** The table (or `schema.table`) holding the notes. */
  readonly table: string;
  /** The column that orders the pages and becomes the note id (default `id`). */
  readonly keyColumn?: string;
  /** The column naming each row's owner; without it every row goes to one writer. */
  readonly ownerColumn?: string;
  readonly mapper: NoteMapper;
  /**
   * The writers of the owners found (owner values as text; `null` when there is no owner
   * column): called once, before anything is written, so a missing account stops the import
   * before it changes anything.
   */
  readonly writersFor: (
    owners: readonly (string | null)[],
  ) => Promise<Map<string | null, ImportWriter>>;
  /** Rows per page (and per transaction on the NoteSync side). */
  readonly batchSize?: number;
  /** Called after each batch is committed; the import waits for it. */
  readonly onProgress?: (report: ImportReport) => void | Promise<void>;
}

const quoted = (name: string) =>
  name
    .split(".")
    .map((part) => `"${part.replace(/"/g, '""')}"`)
    .join(".");

/**
 * Imports a Postgres table (a PowerSync-style one: a key, an owner, the note's columns) from one
 * consistent snapshot (`REPEATABLE READ READ ONLY`), paging by key. `pg` hands bigint and numeric
 * as strings, timestamptz as Date, bytea as Buffer, json as values: the mapping reads all of them.
 * An interrupted import is resumed by running it again: every row converges on the note it made.
 */
export async function importPostgres(options: PostgresImportOptions): Promise<ImportReport> {
  const key = options.keyColumn ?? "id";
  const limit = options.batchSize ?? 500;
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`the batch size must be a whole number >= 1, got ${limit}`);
  const client = new pg.Client({
    connectionString: options.connectionString,
    application_name: "notesync-import",
  });
  // A connection that ends between queries is reported as an event, not by the next query.
  let lost: Error | null = null;
  client.on("error", (err) => (lost = err));
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`cannot connect to Postgres: ${(err as Error).message}`, { cause: err });
  }
  // Names the source in the report and in what the notes remember of it (never the password).
  const source = `postgres://${client.host}:${client.port}/${client.database}/${options.table}`;
  const report = newReport(source, null);
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const table = quoted(options.table);
    const owner = options.ownerColumn ? quoted(options.ownerColumn) : null;
    const owners = owner
      ? (
          await client.query<{ owner: string | null }>(
            `SELECT DISTINCT ${owner}::text AS owner FROM ${table} ORDER BY 1`,
          )
        ).rows
          .map((r) => r.owner)
          .filter((o) => o !== null) // rows without an owner are reported, not imported
      : [null];
    // The key column exists (a typo stops here, before any account is made).
    await client.query(`SELECT ${quoted(key)} FROM ${table} LIMIT 0`);
    const writers = await options.writersFor(owners);
    let after: unknown = undefined;
    for (;;) {
      const page = await client.query<Record<string, unknown>>(
        after === undefined
          ? `SELECT *, ${quoted(key)} AS "__key"${owner ? `, ${owner}::text AS "__owner"` : ""} FROM ${table} ORDER BY ${quoted(key)} LIMIT $1`
          : `SELECT *, ${quoted(key)} AS "__key"${owner ? `, ${owner}::text AS "__owner"` : ""} FROM ${table} WHERE ${quoted(key)} > $2 ORDER BY ${quoted(key)} LIMIT $1`,
        after === undefined ? [limit] : [limit, after],
      );
      if (page.rows.length === 0) break;
      const byOwner = new Map<string | null, ImportedNote[]>();
      for (const row of page.rows) {
        report.documents++;
        const { __key: rowKey, __owner: rowOwner, ...doc } = row;
        const id = rowKey instanceof Date ? rowKey.toISOString() : String(rowKey);
        const ownerOf = owner ? ((rowOwner as string | null) ?? null) : null;
        if (owner && ownerOf === null) {
          report.unmapped.push({
            id,
            reason: `${options.ownerColumn} is null: no user to give it to`,
          });
          continue;
        }
        const mapped = options.mapper.map(doc, id);
        if (!mapped.ok) {
          report.unmapped.push({ id, reason: mapped.reason });
          continue;
        }
        const list = byOwner.get(ownerOf) ?? [];
        list.push({ ...mapped.note, conflicts: [] });
        byOwner.set(ownerOf, list);
      }
      for (const [who, notes] of byOwner)
        addCounts(report.counts, writers.get(who)!.write(source, notes));
      after = page.rows[page.rows.length - 1]!.__key;
      await options.onProgress?.(report);
    }
    await client.query("COMMIT");
  } catch (err) {
    // The event's error says why the connection went; the query's only that it is gone.
    const reason = ((lost as Error | null) ?? (err as Error)).message;
    throw new Error(`reading Postgres failed: ${reason}`, { cause: err });
  } finally {
    await client.end().catch(() => undefined);
  }
  return report;
}
