import type { BrowserDatabase } from "@notesync/client-core/browser";
import { openBrowserDatabase } from "@notesync/client-core/browser-database";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";
import syncWasmUrl from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.wasm?url";

/**
 * Set to "indexeddb" in localStorage to keep the local database in IndexedDB in every tab, as
 * before OPFS (a debugging and benchmarking switch).
 */
const STORAGE_KEY = "notesync:storage";

/** The name of a user's database in this browser. */
export const databaseName = (userId: string) => `notesync-${userId}`;

/**
 * True when this page load is a reload. Its renderer process then still holds the last page's
 * compiled wasm, which V8 reuses for a module of the same bytes that the page compiles, with all
 * the code compiled for it so far. The last worker's module died with that worker, so the
 * worker's own compile found nothing to reuse, and took 40 ms more of every open (measured). A
 * new tab has nothing to reuse, and there the page would compile on its main thread what the
 * worker compiles on its own (interleaved new tabs: list shown 284 / 354 ms, median / p95,
 * against 275 / 328).
 */
const reloaded = () =>
  (performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming | undefined)
    ?.type === "reload";

function open(userId: string, onWorkerRunning?: () => void): Promise<BrowserDatabase> {
  return openBrowserDatabase({
    name: databaseName(userId),
    wasmUrl,
    ...(reloaded() && { syncWasmUrl }),
    ...(onWorkerRunning && { onWorkerRunning }),
    ...(localStorage.getItem(STORAGE_KEY) === "indexeddb" && { storage: "indexeddb" }),
  });
}

let early: { userId: string; opened: Promise<BrowserDatabase> } | null = null;

/**
 * Starts opening the database of the user signed in at the last visit, before the app's own
 * script has loaded: the worker, its wasm module and the database's files open while the page
 * evaluates and draws the app (they were in series, and took most of a returning user's start).
 * `onWorkerRunning` is called once the database's worker has the message to open it.
 */
export function openEarly(userId: string, onWorkerRunning: () => void): void {
  const opened = open(userId, onWorkerRunning);
  // Also when it fails before a worker runs (calling it again is harmless: the app's script
  // loads once); the app awaits the database and reports the error.
  opened.then(onWorkerRunning, onWorkerRunning);
  early = { userId, opened };
}

/** The database opened early, unless the app took it: closed (no one signed in now, say). */
export function discardEarly(): void {
  const taken = early;
  early = null;
  void taken?.opened.then((db) => db.close()).catch(() => undefined);
}

/** The user's database: the one opened early for them (once), or a new open. */
export function openLocalDatabase(userId: string): Promise<BrowserDatabase> {
  if (early?.userId === userId) {
    const { opened } = early;
    early = null;
    return opened;
  }
  discardEarly(); // someone else signed in meanwhile: the last user's database is closed
  return open(userId);
}
