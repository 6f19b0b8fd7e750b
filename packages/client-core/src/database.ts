import { SCHEMA_VERSION, schemaUpgrade } from "@notesync/protocol";

/** Runs SQL. Integers come back as numbers, or as bigint beyond 2^53; BLOBs as Uint8Array. */
export interface SqlExecutor {
  exec(sql: string, params?: readonly unknown[]): Promise<void>;
  /** Rows as objects keyed by column name. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** Runs one statement once per parameter list (prepared once). */
  execMany(sql: string, paramLists: readonly (readonly unknown[])[]): Promise<void>;
}

/** One SQL statement and its parameters. */
export interface Statement {
  readonly sql: string;
  readonly params?: readonly unknown[];
}

/** What a database adapter implements: one connection to one cr-sqlite database. */
export interface DatabaseDriver extends SqlExecutor {
  /** This database's cr-sqlite site id (16 bytes), stable across reopen. */
  readonly siteId: Uint8Array;
  /**
   * The replicated tables written since the last call, where the driver can tell (SQLite's
   * update hook in the browser): then a write costs no query to name them. Without it, the
   * tables come from cr-sqlite's db_version.
   */
  takeWrittenTables?(): string[];
  /**
   * Runs the statements in one transaction (BEGIN IMMEDIATE to COMMIT), where the driver can do
   * that in one call (a browser's worker: one message instead of one per statement).
   */
  batch?(statements: readonly Statement[]): Promise<void>;
  close(): Promise<void>;
}

/** Where a write came from: this database's own users, or the sync engine applying the server's changes. */
export type ChangeOrigin = "local" | "remote";

export interface ChangeEvent {
  /** The replicated tables that the transaction wrote. */
  readonly tables: readonly string[];
  readonly origin: ChangeOrigin;
}

/** A database as client-core and apps use it: SQL, transactions, and an event after each write. */
export interface Database extends SqlExecutor {
  readonly siteId: Uint8Array;
  /** Runs `fn` in one transaction; a thrown error rolls everything back and rethrows. */
  transaction<T>(
    fn: (tx: SqlExecutor) => Promise<T>,
    options?: {
      origin?: ChangeOrigin;
      /** The tables the transaction writes, when the caller knows (saves a query). */
      tables?: readonly string[];
    },
  ): Promise<T>;
  /**
   * Runs the statements in one transaction, like `transaction` but as one call to the database
   * (in a browser, one message to the worker that holds it): for writes whose SQL is known
   * before they begin, such as saving a keystroke.
   */
  batch(
    statements: readonly Statement[],
    options?: { origin?: ChangeOrigin; tables?: readonly string[] },
  ): Promise<void>;
  /** Called once per committed write that changed replicated tables. Returns an unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Wraps a driver: serializes every call (one connection, so a transaction must not interleave
 * with other statements), and after each write names the tables that changed: as the driver
 * reports them, or else by comparing cr-sqlite's db_version (one `crsql_db_version()` call per
 * write).
 */
export function createDatabase(driver: DatabaseDriver): Database {
  const listeners = new Set<(event: ChangeEvent) => void>();
  let lock: Promise<unknown> = Promise.resolve();
  let lastVersion: number | null = null;

  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const run = lock.then(work, work);
    lock = run.catch(() => undefined);
    return run;
  };
  const dbVersion = async () =>
    Number((await driver.query<{ v: number }>("SELECT crsql_db_version() AS v"))[0]!.v);

  async function announce(origin: ChangeOrigin, knownTables?: readonly string[]): Promise<void> {
    if (driver.takeWrittenTables) {
      emit({ tables: driver.takeWrittenTables(), origin });
      return;
    }
    if (knownTables) {
      // The caller names the tables, so skip the version query (a millisecond or more in a
      // browser). The next local write then names the tables changed since the older version:
      // a superset, which costs a listener at most one extra re-query.
      emit({ tables: knownTables, origin });
      return;
    }
    const before = lastVersion ?? 0;
    const now = await dbVersion();
    if (now === before) return;
    lastVersion = now;
    const rows = await driver.query<{ t: string }>(
      `SELECT DISTINCT "table" AS t FROM crsql_changes WHERE db_version > ?`,
      [before],
    );
    emit({ tables: rows.map((r) => r.t), origin });
  }

  function emit(event: ChangeEvent): void {
    if (event.tables.length === 0) return;
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        console.error("notesync: a change listener threw", err);
      }
    }
  }

  // Runs before anything else queued on the connection.
  if (!driver.takeWrittenTables)
    serialized(async () => {
      lastVersion = await dbVersion();
    }).catch(() => undefined); // a broken connection shows on the next call

  const db: Database = {
    siteId: driver.siteId,
    exec: (sql, params) =>
      serialized(async () => {
        await driver.exec(sql, params);
        await announce("local");
      }),
    query: (sql, params) => serialized(() => driver.query(sql, params)),
    execMany: (sql, lists) =>
      serialized(async () => {
        await driver.execMany(sql, lists);
        await announce("local");
      }),
    transaction: (fn, options) =>
      serialized(async () => {
        await driver.exec("BEGIN IMMEDIATE");
        let result;
        try {
          result = await fn(driver);
          await driver.exec("COMMIT");
        } catch (err) {
          await driver.exec("ROLLBACK").catch(() => undefined);
          driver.takeWrittenTables?.(); // rolled back: nothing was written
          throw err;
        }
        await announce(options?.origin ?? "local", options?.tables);
        return result;
      }),
    batch: (statements, options) => {
      const runBatch = driver.batch?.bind(driver);
      if (!runBatch)
        return db.transaction(async (tx) => {
          for (const s of statements) await tx.exec(s.sql, s.params);
        }, options);
      return serialized(async () => {
        await runBatch(statements);
        await announce(options?.origin ?? "local", options?.tables);
      });
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close: () => serialized(() => driver.close()),
  };
  return db;
}

/**
 * A database whose change events also carry those given to `emit` (writes made elsewhere: by
 * another tab, or by the tabs a worker serves). `close` stops relaying.
 */
export function relayChanges(db: Database): {
  db: Database;
  emit: (event: ChangeEvent) => void;
  close: () => void;
} {
  const listeners = new Set<(e: ChangeEvent) => void>();
  const emit = (event: ChangeEvent) => {
    for (const l of listeners) l(event);
  };
  const off = db.onChange(emit);
  return {
    db: {
      ...db,
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    emit,
    close: () => {
      off();
      listeners.clear();
    },
  };
}

/** Local, never replicated: what the sync engine must remember between runs. */
export const SYNC_STATE_TABLE = "notesync_sync_state";

/**
 * Indexes of the note list's orders (local: indexes never replicate), so a list that asks for a
 * screenful reads that many rows in order instead of sorting every note (10,000 notes in a
 * browser: 250-380 ms for the whole list).
 */
const LIST_INDEXES = [
  "CREATE INDEX IF NOT EXISTS notes_by_edited ON notes (deleted_at, pinned DESC, updated_at DESC, id)",
  "CREATE INDEX IF NOT EXISTS notes_by_created ON notes (deleted_at, pinned DESC, created_at DESC, id)",
];

/** Creates or upgrades the schema of a client database. Idempotent. */
export async function applySchema(driver: SqlExecutor): Promise<void> {
  const [row] = await driver.query<{ user_version: number }>("PRAGMA user_version");
  const upgrade = schemaUpgrade(Number(row?.user_version ?? 0), [
    `CREATE TABLE IF NOT EXISTS ${SYNC_STATE_TABLE} (key TEXT PRIMARY KEY NOT NULL, value)`,
  ]);
  // Outside the version check: databases made before the indexes get them too.
  if (upgrade.length === 0) {
    for (const sql of LIST_INDEXES) await driver.exec(sql);
    return;
  }
  upgrade.push(...LIST_INDEXES);
  await driver.exec("BEGIN");
  try {
    for (const sql of upgrade) await driver.exec(sql);
    await driver.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    await driver.exec("COMMIT");
  } catch (err) {
    await driver.exec("ROLLBACK").catch(() => undefined);
    throw err;
  }
}
