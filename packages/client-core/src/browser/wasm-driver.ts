import { isKnownTable } from "@notesync/protocol";
import type { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import type { DatabaseDriver } from "../database.js";

export type WasmDB = Awaited<ReturnType<SQLite3["open"]>>;
type WasmStmt = Awaited<ReturnType<WasmDB["prepare"]>>;

/** wa-sqlite binds integral numbers outside 32 bits as REAL; bind them as INTEGER. */
export function bind(params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((p) => {
    if (typeof p === "number" && Number.isSafeInteger(p) && (p | 0) !== p) return BigInt(p);
    if (typeof p === "boolean") return p ? 1 : 0;
    return p;
  });
}

/** A driver over one open crsqlite-wasm connection, whichever VFS stores it. */
export class WasmDriver implements DatabaseDriver {
  private written = new Set<string>();

  constructor(
    private readonly db: WasmDB,
    readonly siteId: Uint8Array,
  ) {
    // SQLite's update hook names every row written, by this connection's statements and by
    // cr-sqlite merging remote changes alike (its clock tables are WITHOUT ROWID and never show,
    // but a change that moves nothing in a replicated table changes nothing to show either).
    db.onUpdate((_type, _db, table) => {
      if (isKnownTable(table)) this.written.add(table);
    });
  }

  takeWrittenTables(): string[] {
    const tables = [...this.written];
    this.written.clear();
    return tables;
  }

  /** Opens the driver's database after the pragmas that make strict or synchronous storage fast. */
  static async open(db: WasmDB): Promise<WasmDriver> {
    // Without these a durable VFS is slow (1,000 inserts on IndexedDB: seconds instead of ~200 ms).
    await db.exec("PRAGMA temp_store = memory");
    await db.exec("PRAGMA cache_size = -65536");
    const [[siteId]] = (await db.execA("SELECT crsql_site_id()")) as [[Uint8Array]];
    return new WasmDriver(db, new Uint8Array(siteId));
  }

  exec(sql: string, params?: readonly unknown[]): Promise<void> {
    return this.db.exec(sql, bind(params) as never);
  }

  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return this.db.execO(sql, bind(params) as never) as Promise<T[]>;
  }

  /** Prepared once per SQL text: in the browser every prepare and finalize costs a round trip. */
  private readonly prepared = new Map<string, Promise<WasmStmt>>();

  async execMany(sql: string, lists: readonly (readonly unknown[])[]): Promise<void> {
    let stmt = this.prepared.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.prepared.set(sql, stmt);
    }
    const ready = await stmt;
    for (const params of lists) await ready.run(null, ...bind(params)!);
  }

  async close(): Promise<void> {
    for (const stmt of this.prepared.values()) await (await stmt).finalize(null);
    this.prepared.clear();
    await this.db.exec("SELECT crsql_finalize()");
    await this.db.close();
  }
}
