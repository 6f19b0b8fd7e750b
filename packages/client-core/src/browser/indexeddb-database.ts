import initWasm from "@vlcn.io/crsqlite-wasm";
import { IDBBatchAtomicVFS } from "@vlcn.io/wa-sqlite/src/examples/IDBBatchAtomicVFS.js";
import { applySchema, createDatabase, type Database } from "../database.js";
import { WasmDriver } from "./wasm-driver.js";

/**
 * The package's default VFS registers IndexedDB with `durability: "relaxed"`: xSync returns
 * before the IndexedDB commit lands, so two tabs writing at once silently lose rows and corrupt
 * indexes. Ours is the same VFS with the default (strict) durability, under its own name.
 */
const STRICT_VFS = "notesync-idb-strict";
let strictVfsRegistered = false;

type Sqlite = Awaited<ReturnType<typeof initWasm>>;

/** Opens the connection to the database called `name` in IndexedDB, with strict durability. */
export async function openIndexedDbConnection(sqlite: Sqlite, name: string): Promise<WasmDriver> {
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
  const sqlite = await initWasm(() => options.wasmUrl);
  const driver = await openIndexedDbConnection(sqlite, options.name);
  // Without this the browser may evict the database under storage pressure.
  await navigator.storage?.persist?.().catch(() => false);
  await applySchema(driver);
  return createDatabase(driver);
}

/** The VFS's own IndexedDB database, or null where it was never created. */
function openVfsStore(): Promise<IDBDatabase | null> {
  return new Promise<IDBDatabase | null>((resolve, reject) => {
    const request = indexedDB.open(STRICT_VFS);
    // No such IndexedDB database: nothing was ever stored.
    request.onupgradeneeded = () => request.transaction?.abort();
    request.onsuccess = () =>
      resolve(request.result.objectStoreNames.contains("blocks") ? request.result : null);
    request.onerror = () =>
      request.error?.name === "AbortError"
        ? resolve(null)
        : reject(request.error ?? new Error("opening IndexedDB failed"));
  });
}

/** The VFS keys blocks by [path, offset, version]; a file's path is its name as a URL path. */
const blocksOf = (file: string) => IDBKeyRange.bound([file], [file, []]);
const pathOf = (name: string) => new URL(name, "file://localhost/").pathname;

function done(request: IDBRequest | IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const fail = () => reject(request.error ?? new Error("IndexedDB request failed"));
    if (request instanceof IDBTransaction) {
      request.oncomplete = () => resolve();
      request.onabort = fail;
    } else request.onsuccess = () => resolve();
    request.onerror = fail;
  });
}

/** True when this profile holds the database called `name` in IndexedDB (with any data). */
export async function indexedDbHolds(name: string): Promise<boolean> {
  const idb = await openVfsStore();
  if (!idb) return false;
  try {
    const request = idb
      .transaction("blocks")
      .objectStore("blocks")
      .count(blocksOf(pathOf(name)));
    await done(request);
    return request.result > 0;
  } finally {
    idb.close();
  }
}

/**
 * Deletes the IndexedDB copy of a database from this browser profile: every block of
 * its file and journal. Close it first, in every tab (a tab that still has it open
 * would write it back). Other databases of the profile stay.
 */
export async function deleteIndexedDbDatabase(name: string): Promise<void> {
  const idb = await openVfsStore();
  if (!idb) return;
  try {
    const path = pathOf(name);
    const tx = idb.transaction("blocks", "readwrite", { durability: "strict" });
    for (const file of [path, `${path}-journal`, `${path}-wal`])
      tx.objectStore("blocks").delete(blocksOf(file));
    await done(tx);
  } finally {
    idb.close();
  }
}
