import type { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import { DeferredFlushVFS } from "./deferred-flush-vfs.js";
import { WasmDriver } from "./wasm-driver.js";

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
  /**
   * Puts the database in WAL mode, without a flush per commit (`synchronous = normal`; the VFS
   * flushes within a second). It opens in a rollback journal, flushed per commit, and the
   * switch takes 13-18 ms of a start (measured on reloads): the worker makes it before the first
   * write, not before the first screen is read. Measured, a keystroke's commit in a worker typing
   * alone on a disk profile: rollback journal with FULL, 4.5 flushes and 33 writes, 4.4 ms
   * (median); WAL with FULL, one flush and 18 writes, 2.9 ms; WAL with NORMAL, no flush, 0.9 ms.
   * Never fails: false when the database stays in its rollback journal (`backToRollbackJournal`
   * has run, or SQLite refused).
   */
  enterWal(): Promise<boolean>;
  /**
   * Puts the database back in a rollback journal (the WAL checkpointed into the file), with a
   * flush per commit from then on, and keeps it open: its worker is about to end.
   */
  backToRollbackJournal(): Promise<void>;
  /** Closes the connection and releases every access handle, so another worker can open it. */
  close(): Promise<void>;
}

/**
 * The pool of the database's access handles. Another worker's (the previous leader's, closing)
 * are released a moment after it ends; until then opening them fails with
 * NoModificationAllowedError, and the open is tried again.
 */
async function openPool(directory: string): Promise<DeferredFlushVFS> {
  for (let attempt = 0; ; attempt++) {
    const vfs = new DeferredFlushVFS(directory);
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
 * True when the database must be opened through `leaveWalMode`, before SQLite opens it:
 * - the file is in WAL mode (bytes 18 and 19 of its header are 2): its last worker ended without
 *   putting it back in a rollback journal, as one does when its tab crashes, or when its page's
 *   unloading did not leave it time to (or found a transaction open);
 * - or its rollback journal is hot (it begins with the journal's magic, where a transaction that
 *   finished leaves zeros): a worker ended mid-transaction, perhaps while leaving WAL mode, and
 *   rolling that back can bring back a page 1 that says WAL. Opened plainly, such a file failed
 *   in `sqlite3_open_v2` (SQLITE_ERROR): one benchmark start did, and an e2e test that builds it.
 */
function needsExclusiveOpen(vfs: DeferredFlushVFS, path: string): boolean {
  const header = readStart(vfs, path, 20, SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_DB);
  if (header && (header[18] === 2 || header[19] === 2)) return true;
  const journal = readStart(
    vfs,
    `${path}-journal`,
    8,
    SQLITE_OPEN_READONLY | SQLITE_OPEN_MAIN_JOURNAL,
  );
  return !!journal && journal.some((byte) => byte !== 0);
}
const SQLITE_OPEN_READONLY = 0x1;
const SQLITE_OPEN_MAIN_DB = 0x100;
const SQLITE_OPEN_MAIN_JOURNAL = 0x800;

/** The first `bytes` bytes of the file at `path`, read through the VFS; null when there is none. */
function readStart(
  vfs: DeferredFlushVFS,
  path: string,
  bytes: number,
  flags: number,
): Uint8Array | null {
  const fileId = -1; // SQLite's own file ids are positive
  if (vfs.xOpen(path, fileId, flags, new DataView(new ArrayBuffer(4)))) return null;
  try {
    const start = new Uint8Array(bytes);
    vfs.xRead(fileId, start, 0); // a short read leaves zeros
    return start;
  } finally {
    vfs.xClose(fileId);
  }
}

/**
 * Brings a database left in WAL mode (or cut short mid-transaction) back to a rollback journal:
 * its hot journal rolled back, its WAL checkpointed into it.
 * A WAL database opens on this VFS only with exclusive locking set before its first read, and
 * cr-sqlite reads the database inside `sqlite3_open`; so it is attached to an in-memory
 * connection whose locking mode is set first (ATTACH takes the connection's mode).
 */
async function leaveWalMode(sqlite: SQLite3, uri: string, vfsName: string): Promise<void> {
  // (Named with its VFS: crsqlite-wasm would ask for its IndexedDB VFS, not in this build.)
  const scratch = await sqlite.open(`file::memory:?vfs=${vfsName}`);
  try {
    await scratch.exec("PRAGMA temp_store = memory");
    await scratch.exec("PRAGMA locking_mode = exclusive");
    await scratch.exec("ATTACH ? AS left_in_wal", [uri]);
    // A journal mode that cannot change stays as it was, without an error.
    const mode = (
      await scratch.execA<[string]>("PRAGMA left_in_wal.journal_mode = persist")
    )[0]?.[0];
    if (mode !== "persist")
      throw new Error(`the local database is still in journal mode "${mode}" after a checkpoint`);
    await scratch.exec("DETACH left_in_wal");
  } finally {
    await scratch.close();
  }
  console.debug(
    "notesync: the local database, left in WAL mode or mid-transaction by the last tab's worker, is back at its last commit (its write-ahead log checkpointed, its journal rolled back)",
  );
}

/**
 * Opens the database called `name` on OPFS, in its own directory (a pool of access handles is
 * locked by one worker, so each database has its own). A database keeps three files: itself, its
 * WAL and its rollback journal (left from leaving WAL mode); temporary files stay in memory
 * (`temp_store`), and four spare handles are kept anyway.
 */
export async function openOpfsConnection(
  /** The wasm module; may still be compiling (the access handles open meanwhile). */
  module: SQLite3 | Promise<SQLite3>,
  name: string,
  /**
   * Runs before the database is opened, with its URI: may write the file there through another
   * wasm module (after `registerIn(module)`) once `clear()` has removed whatever is there now.
   */
  prepare?: (uri: string, clear: () => void, registerIn: (other: SQLite3) => void) => Promise<void>,
): Promise<OpfsConnection> {
  const directory = opfsDirectory(name).join("/");
  const vfsName = `notesync-opfs-${encodeURIComponent(name)}`;
  const vfs = await openPool(directory);
  Object.defineProperty(vfs, "name", { value: vfsName });
  let db: Awaited<ReturnType<SQLite3["open"]>> | null = null;
  try {
    const sqlite = await module;
    const existed = vfs.getSize() > 0;
    if (vfs.getCapacity() - vfs.getSize() < 4) await vfs.addCapacity(4);
    const register = (module: SQLite3) =>
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
    if (existed && needsExclusiveOpen(vfs, path)) await leaveWalMode(sqlite, uri, vfsName);
    db = await sqlite.open(uri);
    // One connection owns the file, so it can hold it in exclusive locking mode, and only then
    // can a database be in WAL mode on this VFS (it has no shared memory; exclusive mode keeps the
    // WAL's index in the heap).
    await db.exec("PRAGMA locking_mode = exclusive");
    // A rollback journal until `enterWal`: each commit is flushed before it returns.
    await db.exec("PRAGMA synchronous = full");
    const driver = await WasmDriver.open(db);
    /** Set once the worker is about to end: the database stays in (or goes back to) a rollback journal. */
    let settling = false;
    const enterWal = async () => {
      if (settling) return false;
      try {
        const mode = (await driver.query<{ journal_mode: string }>("PRAGMA journal_mode = wal"))[0]
          ?.journal_mode;
        if (mode !== "wal") {
          console.warn(`notesync: the local database stays in journal mode "${mode}", not WAL`);
          return false;
        }
        if (!settling) await driver.exec("PRAGMA synchronous = normal");
        return !settling;
      } catch (err) {
        // A statement still running, say: still a rollback journal, flushed per commit.
        console.warn("notesync: the local database stays in a rollback journal", err);
        return false;
      }
    };
    // Back to a rollback journal, so that the next open has nothing to bring back. Fails (and
    // changes nothing) inside a transaction; a worker that ends without it (its tab crashed)
    // leaves that to `leaveWalMode` at the next open.
    const backToRollbackJournal = async () => {
      settling = true;
      // FULL first: a commit that comes between the two must not find a rollback journal
      // without a flush per commit (there a power loss could corrupt the file, not only lose it).
      await driver.exec("PRAGMA synchronous = full");
      await driver.exec("PRAGMA journal_mode = persist");
    };
    return {
      driver,
      existed,
      enterWal,
      backToRollbackJournal,
      async close() {
        await backToRollbackJournal().catch(() => undefined);
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
