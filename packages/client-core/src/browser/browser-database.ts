import { opfsDirectory } from "./opfs-connection.js";
import { openWorkerDatabase, type BrowserDatabase } from "./worker-database.js";

export interface BrowserDatabaseOptions {
  /** The database's name in this browser profile (one per user, say). */
  readonly name: string;
  /** Where the page can fetch crsqlite.wasm (with Vite: `import url from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url"`). */
  readonly wasmUrl: string;
  /**
   * "auto" (the default): in a worker of the leading tab, on OPFS where the browser has
   * synchronous access handles, else in IndexedDB. "indexeddb": in this page, in IndexedDB with
   * strict durability, every tab opening it itself (the storage before OPFS; benchmarks compare).
   */
  readonly storage?: "auto" | "indexeddb";
  /**
   * Where the page can fetch wa-sqlite's synchronous build, which the worker runs on OPFS (with
   * Vite: `import url from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.wasm?url"`). Given, the page
   * compiles it and hands the module to the worker. After a reload that takes no time: V8 reuses
   * the last page's compiled module, still in the renderer process, with all its code compiled
   * (a worker's compile cannot, and cr-sqlite's open took 40 ms more). Elsewhere (a new tab) it
   * costs the page's main thread what it saves the worker: leave it out there.
   */
  readonly syncWasmUrl?: string;
  /** Starts the database worker (bundlers that cannot follow `new URL(..., import.meta.url)`). */
  readonly createWorker?: () => Worker;
  /**
   * Called once, when the database's worker has the page's message to open the database, or the
   * database is open or failed without it (another tab leads; at once where it has no worker).
   * Chromium starts a worker, and hands it what the page posted before it ran, only when the
   * page's main thread is free: a page can load its heavy script after this.
   */
  readonly onWorkerRunning?: () => void;
}

function workersAvailable(): boolean {
  return (
    typeof Worker === "function" &&
    typeof BroadcastChannel === "function" &&
    !!globalThis.navigator?.locks &&
    !!globalThis.navigator?.storage?.getDirectory
  );
}

/**
 * Opens a cr-sqlite database of this browser profile and applies the schema. `storage` on the
 * result says where it lives; it is also printed once to the console.
 */
export async function openBrowserDatabase(
  options: BrowserDatabaseOptions,
): Promise<BrowserDatabase> {
  let db: BrowserDatabase;
  if (options.storage === "indexeddb" || !workersAvailable()) {
    options.onWorkerRunning?.();
    // Loaded only here: the page's own wasm glue, which the worker's storage does not need.
    const { openIndexedDbDatabase } = await import("./indexeddb-database.js");
    const inPage = await openIndexedDbDatabase(options);
    db = Object.defineProperties(inPage, {
      storage: { value: "indexeddb", enumerable: true },
      isLeader: { value: true, enumerable: true },
    }) as BrowserDatabase;
  } else {
    db = await openWorkerDatabase(options);
    performance.mark("notesync:connected");
    // Without this the browser may evict OPFS, as IndexedDB, under storage pressure.
    await navigator.storage.persist?.().catch(() => false);
  }
  performance.mark("notesync:database");
  console.info(`notesync: local database "${options.name}" on ${db.storage}`);
  return db;
}

/**
 * Deletes a database from this browser profile, on OPFS and in IndexedDB. Close it first, in
 * every tab (a tab that still has it open would write it back, or keeps its files locked).
 */
export async function deleteBrowserDatabase(name: string): Promise<void> {
  const { deleteIndexedDbDatabase } = await import("./indexeddb-files.js");
  await deleteIndexedDbDatabase(name);
  const root = await globalThis.navigator?.storage?.getDirectory?.().catch(() => null);
  if (!root) return;
  const [parent, entry] = opfsDirectory(name);
  try {
    const dir = await root.getDirectoryHandle(parent);
    await dir.removeEntry(entry, { recursive: true });
  } catch (err) {
    if ((err as Error).name !== "NotFoundError") throw err;
  }
}
