/**
 * The IndexedDB side of the databases kept there before OPFS (and where OPFS access handles are
 * missing): whether one is there, and deleting it. No wasm: an OPFS open asks whether a database
 * waits to be moved, and this is all it loads for that.
 */

/**
 * The VFS (and its IndexedDB database) that keeps databases in IndexedDB (`indexeddb-database.ts`).
 * crsqlite-wasm's own registers IndexedDB with `durability: "relaxed"`: xSync returns before the
 * IndexedDB commit lands, so two tabs writing at once silently lose rows and corrupt indexes.
 * Ours is the same VFS with the default (strict) durability, under its own name.
 */
export const STRICT_VFS = "notesync-idb-strict";

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
