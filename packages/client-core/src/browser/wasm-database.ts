import initWasm from "@vlcn.io/crsqlite-wasm";
import { IDBBatchAtomicVFS } from "@vlcn.io/wa-sqlite/src/examples/IDBBatchAtomicVFS.js";
import { applySchema, createDatabase, type Database, type DatabaseDriver } from "../database.js";

type WasmDB = Awaited<ReturnType<Awaited<ReturnType<typeof initWasm>>["open"]>>;
type WasmStmt = Awaited<ReturnType<WasmDB["prepare"]>>;

/**
 * The package's default VFS registers IndexedDB with `durability: "relaxed"`: xSync returns
 * before the IndexedDB commit lands, so two tabs writing at once silently lose rows and corrupt
 * indexes. Ours is the same VFS with the default (strict) durability, under its own name.
 */
const STRICT_VFS = "notesync-idb-strict";
let strictVfsRegistered = false;

/** wa-sqlite binds integral numbers outside 32 bits as REAL; bind them as INTEGER. */
function bind(params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((p) => {
    if (typeof p === "number" && Number.isSafeInteger(p) && (p | 0) !== p) return BigInt(p);
    if (typeof p === "boolean") return p ? 1 : 0;
    return p;
  });
}

class WasmDriver implements DatabaseDriver {
  constructor(
    private readonly db: WasmDB,
    readonly siteId: Uint8Array,
  ) {}

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

export interface BrowserDatabaseOptions {
  /** The database's name in this browser profile (one per user, say). */
  readonly name: string;
  /** Where the page can fetch crsqlite.wasm (with Vite: `import url from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url"`). */
  readonly wasmUrl: string;
}

/** Opens a cr-sqlite database persisted in IndexedDB, with strict durability, and applies the schema. */
export async function openBrowserDatabase(options: BrowserDatabaseOptions): Promise<Database> {
  const sqlite = await initWasm(() => options.wasmUrl);
  if (!strictVfsRegistered) {
    const { base } = sqlite as unknown as { base: { vfs_register(vfs: unknown): number } };
    base.vfs_register(new IDBBatchAtomicVFS(STRICT_VFS, { durability: "default" }));
    strictVfsRegistered = true;
  }
  const db = await sqlite.open(`file:${encodeURIComponent(options.name)}?vfs=${STRICT_VFS}`);
  // Strict durability is slow without these (1,000 inserts: seconds instead of ~200 ms).
  await db.exec("PRAGMA temp_store = memory");
  await db.exec("PRAGMA cache_size = -65536");
  // Without this the browser may evict the database under storage pressure.
  await navigator.storage?.persist?.().catch(() => false);
  const [[siteId]] = (await db.execA("SELECT crsql_site_id()")) as [[Uint8Array]];
  const driver = new WasmDriver(db, new Uint8Array(siteId));
  await applySchema(driver);
  return createDatabase(driver);
}

/**
 * Deletes a database made by `openBrowserDatabase` from this browser profile: every block of
 * its file and journal in IndexedDB. Close it first, in every tab (a tab that still has it open
 * would write it back). Other databases of the profile stay.
 */
export async function deleteBrowserDatabase(name: string): Promise<void> {
  const idb = await new Promise<IDBDatabase | null>((resolve, reject) => {
    const request = indexedDB.open(STRICT_VFS);
    // No such IndexedDB database: nothing was ever stored, so there is nothing to delete.
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onsuccess = () => resolve(request.result);
    request.onerror = () =>
      request.error?.name === "AbortError"
        ? resolve(null)
        : reject(request.error ?? new Error("opening IndexedDB failed"));
  });
  if (!idb) return;
  try {
    if (!idb.objectStoreNames.contains("blocks")) return;
    // The VFS keys blocks by [path, offset, version]; a file's path is its name as a URL path.
    const path = new URL(name, "file://localhost/").pathname;
    const tx = idb.transaction("blocks", "readwrite", { durability: "strict" });
    for (const file of [path, `${path}-journal`, `${path}-wal`])
      tx.objectStore("blocks").delete(IDBKeyRange.bound([file], [file, []]));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error("IndexedDB transaction failed"));
      tx.onabort = () => reject(tx.error ?? new Error("IndexedDB transaction aborted"));
    });
  } finally {
    idb.close();
  }
}
