import type { BrowserDatabase } from "@notesync/client-core/browser";
import { openBrowserDatabase } from "@notesync/client-core/browser-database";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";

/** A debugging and benchmarking switch in localStorage: `indexeddb`, the storage before OPFS. */
const STORAGE_KEY = "notesync:storage";

/** The name of a user's database in this browser. */
export const databaseName = (userId: string) => `notesync-${userId}`;

function open(userId: string, onWorkerRunning?: () => void): Promise<BrowserDatabase> {
  return openBrowserDatabase({
    name: databaseName(userId),
    wasmUrl,
    ...(onWorkerRunning && { onWorkerRunning }),
    ...(localStorage.getItem(STORAGE_KEY) === "indexeddb" && { storage: "indexeddb" }),
  });
}

let early: { userId: string; opened: Promise<BrowserDatabase> } | null = null;

/**
 * Starts opening the database of the user signed in at the last visit, before the app's own
 * script has loaded: the worker, its wasm module and the database's files open while the page
 * evaluates and draws the app (they were in series, and took most of a returning user's start).
 * `onWorkerRunning` is called once the database's worker runs.
 */
export function openEarly(userId: string, onWorkerRunning: () => void): void {
  const opened = open(userId, onWorkerRunning);
  opened.catch(() => undefined); // the app awaits it, and reports the error
  early = { userId, opened };
}

/** The user's database: the one opened early for them (once), or a new open. */
export function openLocalDatabase(userId: string): Promise<BrowserDatabase> {
  const taken = early;
  early = null;
  if (taken?.userId === userId) return taken.opened;
  // Someone else signed in meanwhile: their database stays closed.
  void taken?.opened.then((db) => db.close()).catch(() => undefined);
  return open(userId);
}
