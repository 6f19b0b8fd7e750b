import {
  bindParams as bind,
  closeCrsqliteDatabase,
  openCrsqliteDatabase,
} from "@notesync/crsqlite-native";
import type BetterSqlite3 from "better-sqlite3";
import WebSocket from "ws";
import { applySchema, createDatabase, type Database, type DatabaseDriver } from "../database.js";
import { isCopiedFile, takeNewSiteId } from "./file-identity.js";
import {
  createSyncClient as createClient,
  type SyncClient,
  type SyncClientOptions,
} from "../sync/sync-client.js";

export * from "../index.js";

type Statement = BetterSqlite3.Statement<unknown[], unknown>;

/** Integers as numbers where exact, bigint beyond 2^53, like the browser adapter. */
function normalize(row: Record<string, unknown>): Record<string, unknown> {
  for (const key in row) {
    const v = row[key];
    if (typeof v === "bigint" && v >= -9007199254740991n && v <= 9007199254740991n)
      row[key] = Number(v);
  }
  return row;
}

class NodeDriver implements DatabaseDriver {
  readonly siteId: Uint8Array;
  private readonly cache = new Map<string, Statement>();

  constructor(private readonly db: BetterSqlite3.Database) {
    this.siteId = new Uint8Array(db.prepare("SELECT crsql_site_id()").pluck().get() as Buffer);
  }

  private prepare(sql: string): Statement {
    let stmt = this.cache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (stmt.reader) stmt.safeIntegers(true);
      if (this.cache.size > 200) this.cache.clear();
      this.cache.set(sql, stmt);
    }
    return stmt;
  }

  async exec(sql: string, params?: readonly unknown[]): Promise<void> {
    if (!params || params.length === 0) {
      this.db.exec(sql);
      return;
    }
    const stmt = this.prepare(sql);
    if (stmt.reader) stmt.all(...bind(params));
    else stmt.run(...bind(params));
  }

  async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    const stmt = this.prepare(sql);
    if (!stmt.reader) {
      stmt.run(...bind(params));
      return [];
    }
    return (stmt.all(...bind(params)) as Record<string, unknown>[]).map(normalize) as T[];
  }

  async execMany(sql: string, lists: readonly (readonly unknown[])[]): Promise<void> {
    const stmt = this.prepare(sql);
    for (const params of lists) stmt.run(...bind(params));
  }

  async close(): Promise<void> {
    closeCrsqliteDatabase(this.db);
  }
}

export interface NodeDatabaseOptions {
  /** A cr-sqlite library to load instead of the one found by @notesync/crsqlite-native. */
  readonly extensionPath?: string;
}

/** Opens (creating if needed) a client database file with cr-sqlite and the notes schema. */
export async function openNodeDatabase(
  file: string,
  options: NodeDatabaseOptions = {},
): Promise<Database> {
  const open = () => openCrsqliteDatabase(file, options);
  let db = open();
  try {
    if (isCopiedFile(db, file)) {
      const old = Buffer.from(db.prepare("SELECT crsql_site_id()").pluck().get() as Buffer);
      takeNewSiteId(db);
      closeCrsqliteDatabase(db);
      db = open();
      console.warn(
        `notesync: ${file} is a copy of another database file (or an older copy of this one): it had site id ${old.toString("hex")}, which another copy may use too, and now has its own; its changes will be sent again`,
      );
    }
    const driver = new NodeDriver(db);
    await applySchema(driver);
    return createDatabase(driver);
  } catch (err) {
    db.close();
    throw err;
  }
}

/** `createSyncClient` with the `ws` package as the WebSocket (Node 20 has no global one). */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  return createClient({
    WebSocket: WebSocket as unknown as SyncClientOptions["WebSocket"],
    ...options,
  });
}
