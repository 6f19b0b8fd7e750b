import type initWasm from "@vlcn.io/crsqlite-wasm";
import { AccessHandlePoolVFS } from "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js";
import { WasmDriver } from "./wasm-driver.js";

type Sqlite = Awaited<ReturnType<typeof initWasm>>;

/** The OPFS directory of the database called `name`: a folder of a folder of the root. */
export const opfsDirectory = (name: string): [string, string] => [
  "notesync",
  encodeURIComponent(name),
];

/** True where this worker can open OPFS files with synchronous access handles. */
export function hasSyncAccessHandles(): boolean {
  const g = globalThis as { FileSystemSyncAccessHandle?: unknown; navigator?: Navigator };
  return typeof g.FileSystemSyncAccessHandle === "function" && !!g.navigator?.storage?.getDirectory;
}

/** An OPFS database's connection and the access handles it holds. */
export interface OpfsConnection {
  readonly driver: WasmDriver;
  /** True when the database file existed before this open. */
  readonly existed: boolean;
  /** Closes the connection and releases every access handle, so another worker can open it. */
  close(): Promise<void>;
}

/**
 * The pool of the database's access handles. Another worker's (the previous leader's, closing)
 * are released a moment after it ends; until then opening them fails with
 * NoModificationAllowedError, and the open is tried again.
 */
async function openPool(directory: string): Promise<AccessHandlePoolVFS> {
  for (let attempt = 0; ; attempt++) {
    const vfs = new AccessHandlePoolVFS(directory);
    try {
      await vfs.isReady;
      return vfs;
    } catch (err) {
      const locked = (err as Error).name === "NoModificationAllowedError";
      if (locked && attempt < 100) await new Promise((r) => setTimeout(r, 20 + attempt * 10));
      // The handles this try did get are let go (the next would find them taken); by now the
      // ones it was still waiting for have come too.
      await vfs.close().catch(() => undefined);
      if (!locked || attempt >= 100) throw err;
    }
  }
}

/**
 * Opens the database called `name` on OPFS, in its own directory (a pool of access handles is
 * locked by one worker, so each database has its own). A database needs at most three files at
 * once: itself, its journal, and a temporary file.
 */
export async function openOpfsConnection(
  /** The wasm module; may still be compiling (the access handles open meanwhile). */
  module: Sqlite | Promise<Sqlite>,
  name: string,
  /**
   * Runs before the database is opened, with its URI: may write the file there through another
   * wasm module (after `registerIn(module)`) once `clear()` has removed whatever is there now.
   */
  prepare?: (uri: string, clear: () => void, registerIn: (other: Sqlite) => void) => Promise<void>,
): Promise<OpfsConnection> {
  const directory = opfsDirectory(name).join("/");
  const vfsName = `notesync-opfs-${encodeURIComponent(name)}`;
  const vfs = await openPool(directory);
  Object.defineProperty(vfs, "name", { value: vfsName });
  let db: Awaited<ReturnType<Sqlite["open"]>> | null = null;
  try {
    const sqlite = await module;
    const existed = vfs.getSize() > 0;
    if (vfs.getCapacity() - vfs.getSize() < 4) await vfs.addCapacity(4);
    const register = (module: Sqlite) =>
      (module as unknown as { base: { vfs_register(vfs: unknown): number } }).base.vfs_register(
        vfs,
      );
    register(sqlite);
    const path = `/${encodeURIComponent(name)}.db`;
    const uri = `file:${path}?vfs=${vfsName}`;
    await prepare?.(
      uri,
      () => {
        for (const file of [path, `${path}-journal`, `${path}-wal`]) vfs.xDelete(file, 0);
      },
      register,
    );
    db = await sqlite.open(uri);
    // One connection owns the file: exclusive locking keeps the page cache across transactions,
    // and the journal stays, its header zeroed at each commit (PERSIST: a commit of a keystroke
    // took 1.2 ms against 1.8-2.4 ms truncating it, measured in a worker on a disk profile). Not WAL:
    // this VFS has no shared memory, so a WAL database reopens only with exclusive locking set
    // before its first read, and cr-sqlite reads it inside sqlite3_open (measured: the reopen
    // fails). FULL: every commit is flushed before it returns, as IndexedDB's strict durability.
    await db.exec("PRAGMA locking_mode = exclusive");
    await db.exec("PRAGMA journal_mode = persist");
    await db.exec("PRAGMA synchronous = full");
    const driver = await WasmDriver.open(db);
    return {
      driver,
      existed,
      async close() {
        await driver.close();
        await vfs.close();
      },
    };
  } catch (err) {
    // Its access handles are let go, so that the next open (here, or in another tab) can.
    await db?.close().catch(() => undefined);
    await vfs.close().catch(() => undefined);
    throw err;
  }
}
