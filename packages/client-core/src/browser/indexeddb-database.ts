import { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import * as SQLite from "@vlcn.io/wa-sqlite";
import SQLiteAsyncFactory from "@vlcn.io/wa-sqlite/dist/crsqlite.mjs";
import { IDBBatchAtomicVFS } from "@vlcn.io/wa-sqlite/src/examples/IDBBatchAtomicVFS.js";
import { applySchema, createDatabase, type Database } from "../database.js";
import { STRICT_VFS } from "./indexeddb-files.js";
import { WasmDriver } from "./wasm-driver.js";

let strictVfsRegistered = false;

let asyncWasm: Promise<SQLite3> | null = null;

/**
 * The wasm build with Asyncify, which IndexedDB's asynchronous VFS needs (OPFS uses the build
 * without it), loaded only where a database is in IndexedDB: its glue was 43 KB of the worker's
 * script. The glue is wa-sqlite's; `wasmUrl` is crsqlite-wasm's copy of its module, the same
 * bytes (`wasm-builds.test.ts`).
 */
export function initAsyncWasm(wasmUrl: string): Promise<SQLite3> {
  asyncWasm ??= SQLiteAsyncFactory({ locateFile: () => wasmUrl }).then(
    (module) => new SQLite3(SQLite.Factory(module)),
    (err: unknown) => {
      asyncWasm = null; // the next open loads it again (it failed offline, say)
      throw err;
    },
  );
  return asyncWasm;
}

/** Opens the connection to the database called `name` in IndexedDB, with strict durability. */
export async function openIndexedDbConnection(sqlite: SQLite3, name: string): Promise<WasmDriver> {
  if (!strictVfsRegistered) {
    const { base } = sqlite as unknown as { base: { vfs_register(vfs: unknown): number } };
    base.vfs_register(new IDBBatchAtomicVFS(STRICT_VFS, { durability: "default" }));
    strictVfsRegistered = true;
  }
  return WasmDriver.open(await sqlite.open(`file:${encodeURIComponent(name)}?vfs=${STRICT_VFS}`));
}

/**
 * Opens a cr-sqlite database persisted in IndexedDB, with strict durability, in this page, and
 * applies the schema. Every tab opens it itself; strict durability keeps their writes apart.
 */
export async function openIndexedDbDatabase(options: {
  readonly name: string;
  readonly wasmUrl: string;
}): Promise<Database> {
  const sqlite = await initAsyncWasm(options.wasmUrl);
  const driver = await openIndexedDbConnection(sqlite, options.name);
  // Without this the browser may evict the database under storage pressure.
  await navigator.storage?.persist?.().catch(() => false);
  await applySchema(driver);
  return createDatabase(driver);
}
