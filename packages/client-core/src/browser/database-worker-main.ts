/// <reference lib="webworker" />
// The leading tab's database worker, imported by its first script (`database-worker.ts`): opens
// the database on OPFS (IndexedDB where synchronous access handles are missing) and runs every
// tab's statements through one RequestRouter.
import { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import * as SQLite from "@vlcn.io/wa-sqlite";
import SQLiteSyncFactory from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.mjs";
import { applySchema } from "../database.js";
import { deleteIndexedDbDatabase, indexedDbHolds } from "./indexeddb-files.js";
import { hasSyncAccessHandles, openOpfsConnection } from "./opfs-connection.js";
import { RequestRouter, type WatchClient } from "./request-router.js";
import type { WasmDriver } from "./wasm-driver.js";
import {
  ENGINE_CLIENT,
  type BrowserStorage,
  type FromWorker,
  type ToWorker,
} from "./worker-protocol.js";
import { tabLockName } from "./tab-lock.js";
import type { WorkerSyncEngine } from "./worker-sync.js";

declare const self: DedicatedWorkerGlobalScope;

const post = (message: FromWorker) => self.postMessage(message);

/** The worker's start, stage by stage, for the page's performance marks. */
const stages: [string, number][] = [];
const stage = (name: string) => stages.push([name, performance.timeOrigin + performance.now()]);
stage("worker-module");

/** A tab is gone once the lock it holds for its lifetime is granted to us. */
const watchClient: WatchClient = (client, gone) => {
  if (client.startsWith(ENGINE_CLIENT)) return () => undefined; // it lives and dies with this worker
  const abort = new AbortController();
  navigator.locks
    .request(tabLockName(client), { signal: abort.signal }, () => gone())
    .catch(() => undefined);
  return () => abort.abort();
};

let router: RequestRouter | null = null;
let siteId: Uint8Array | null = null;
let closeStorage: (() => Promise<void>) | null = null;
/** Readies the database for its worker's end (OPFS: back to a rollback journal). */
let settleStorage: (() => Promise<void>) | null = null;
/**
 * The sync engine, once started. Its code (the wire codec, Yjs) is half of this worker's script
 * and no open needs it, so it loads only once a tab starts it: the database opens sooner.
 */
let sync: Promise<WorkerSyncEngine | null> | null = null;
/** Counts the engine's starts and stops: a start stopped while its code loads never runs. */
let syncRuns = 0;
/** Acts on the engine once it runs (in the order asked); nothing when it is not started. */
const withSync = (act: (engine: WorkerSyncEngine) => unknown) =>
  void sync?.then((engine) => engine && act(engine));
/** Stops the engine, or its start if its code still loads; never fails (a close follows). */
function stopSync(): Promise<void> {
  const engine = sync;
  sync = null;
  syncRuns++;
  return (engine?.then((e) => e?.stop()) ?? Promise.resolve()).catch((err: unknown) =>
    console.error("notesync: stopping the sync engine failed", err),
  );
}

/**
 * A database this profile still holds in IndexedDB (from before OPFS) is copied to OPFS, whole
 * (its site id, unsent changes and sync cursors with it), and then deleted there. The copy is
 * deleted only once the OPFS file is complete, and nothing writes the OPFS file before that, so
 * a move cut short starts over at the next open, and a finished one never runs again.
 */
async function moveFromIndexedDb(
  sqlite: SQLite3,
  name: string,
  uri: string,
  clear: () => void,
): Promise<void> {
  clear();
  const { openIndexedDbConnection } = await import("./indexeddb-database.js");
  const source = await openIndexedDbConnection(sqlite, name);
  try {
    await source.exec("VACUUM INTO ?", [uri]);
  } finally {
    await source.close();
  }
  await deleteIndexedDbDatabase(name);
}

/**
 * The wasm build without Asyncify, for OPFS: every VFS call there is synchronous, so none needs
 * Asyncify's unwinding, and the module is half the size (880 KB against 1.7 MB). From `compiled`
 * when the page compiled it, else fetched and compiled here.
 */
async function initSyncWasm(compiled: WebAssembly.Module | undefined): Promise<SQLite3> {
  if (compiled) {
    try {
      return await instantiateSyncWasm(compiled);
    } catch (err) {
      // Not this build's module (another wa-sqlite version's, say): compiled here instead.
      console.warn("notesync: the page's wasm module did not instantiate; compiling it here", err);
    }
  }
  return instantiateSyncWasm(undefined);
}

async function instantiateSyncWasm(compiled: WebAssembly.Module | undefined): Promise<SQLite3> {
  let instantiated: Promise<unknown> = Promise.resolve();
  const made = SQLiteSyncFactory(
    compiled && {
      // Emscripten's hook, called during the factory's call: the instance goes to `receive`.
      instantiateWasm(imports: WebAssembly.Imports, receive: (i: WebAssembly.Instance) => void) {
        instantiated = WebAssembly.instantiate(compiled, imports).then(receive);
        return {};
      },
    },
  );
  // A failed instantiation leaves the factory's promise pending: awaited beside it.
  const [module] = await Promise.all<[Promise<unknown>, Promise<unknown>]>([made, instantiated]);
  stage("worker-wasm");
  return new SQLite3(SQLite.Factory(module));
}

async function open(
  name: string,
  wasmUrl: string,
  compiled: WebAssembly.Module | undefined,
): Promise<void> {
  stage("worker-open");
  post({ type: "opening" });
  if (hasSyncAccessHandles()) {
    // Asked at once: the answer is needed only once the access handles are open.
    const inIndexedDb = indexedDbHolds(name);
    inIndexedDb.catch(() => undefined); // awaited below
    let migrated = false;
    const sqlite = initSyncWasm(compiled); // compiles or instantiates while the handles open
    sqlite.catch(() => undefined); // awaited by the open
    const connection = await openOpfsConnection(sqlite, name, async (uri, clear, registerIn) => {
      stage("worker-handles-and-wasm");
      if (!(await inIndexedDb)) return;
      // IndexedDB's VFS is asynchronous: the copy runs on the Asyncify build.
      const { initAsyncWasm } = await import("./indexeddb-database.js");
      const asyncSqlite = await initAsyncWasm(wasmUrl);
      registerIn(asyncSqlite);
      await moveFromIndexedDb(asyncSqlite, name, uri, clear);
      migrated = true;
    });
    settleStorage = () => connection.backToRollbackJournal();
    await serve(
      connection.driver,
      () => connection.close(),
      "opfs",
      migrated,
      () => connection.enterWal(),
    );
  } else {
    const { initAsyncWasm, openIndexedDbConnection } = await import("./indexeddb-database.js");
    const driver = await openIndexedDbConnection(await initAsyncWasm(wasmUrl), name);
    await serve(driver, () => driver.close(), "indexeddb", false);
  }
}

/** How long after the open the database readies itself for writes if none came (OPFS: WAL). */
const PREPARE_WRITES_AFTER_MS = 1000;
const PREPARE_WRITES_TRIES = 3;

/**
 * The database is open: its schema is applied, and the tabs' requests are taken from now.
 * `prepareWrites` runs before the first write, or a moment after the open (again, a few times,
 * when it says it did not).
 */
async function serve(
  driver: WasmDriver,
  close: () => Promise<void>,
  storage: BrowserStorage,
  migrated: boolean,
  prepareWrites?: () => Promise<boolean>,
): Promise<void> {
  try {
    stage("worker-sqlite-open");
    await applySchema(driver);
    stage("worker-schema");
    router = await RequestRouter.open(driver, watchClient);
  } catch (err) {
    await close().catch(() => undefined); // its files are let go for the next open
    throw err;
  }
  if (prepareWrites) {
    const ready = router;
    let tries = 0;
    const prepare = async () => {
      // Not ready (WAL refused): tried again before a later write, a few times.
      if (!(await prepareWrites()) && ++tries < PREPARE_WRITES_TRIES)
        ready.beforeFirstWrite(prepare);
    };
    ready.beforeFirstWrite(prepare);
    setTimeout(() => router?.prepareWritesNow(), PREPARE_WRITES_AFTER_MS);
  }
  siteId = driver.siteId;
  closeStorage = close;
  stage("worker-router");
  post({ type: "opened", storage, siteId, migrated, stages });
}

/**
 * Why the open failed, with SQLite's result code when it gave one (wa-sqlite's message is often
 * only the call's name).
 */
function describeFailure(err: unknown): string {
  if (err instanceof SQLite.SQLiteError) return `${err.message} (SQLite result code ${err.code})`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}

/**
 * Takes the tabs' messages from now on, after those that came before this module ran (in order).
 * `startedAt` is when the worker's first script ran (ms since the epoch).
 */
export function runWorker(startedAt: number, early: readonly MessageEvent<ToWorker>[]): void {
  stages.unshift(["worker-script", startedAt]);
  self.addEventListener("message", handle);
  for (const event of early) handle(event);
}

function handle(event: MessageEvent<ToWorker>): void {
  const message = event.data;
  if (message.type === "open") {
    open(message.name, message.wasmUrl, message.syncWasm).catch((err: unknown) =>
      post({ type: "failed", message: describeFailure(err) }),
    );
  } else if (message.type === "request") {
    // Not open (closing): the tab sends it again to the next leader.
    router?.handle(message.request, (reply) => post({ type: "reply", reply }));
  } else if (message.type === "sync-start") {
    if (router && siteId && !sync) {
      const [openRouter, site, run] = [router, siteId, ++syncRuns];
      const starting = import("./worker-sync.js").then(
        ({ startWorkerSync }) =>
          run === syncRuns ? startWorkerSync(openRouter, site, message.config, post) : null,
        (err: unknown) => {
          // Another start may load it (the files come from the service worker's cache).
          if (sync === starting) sync = null;
          console.error("notesync: the sync engine did not load; edits stay on this device", err);
          return null;
        },
      );
      sync = starting;
    }
  } else if (message.type === "sync-token") {
    withSync((engine) => engine.answerToken(message.id, message.token, message.error));
  } else if (message.type === "sync-network") {
    withSync((engine) => engine.network(message.online));
  } else if (message.type === "sync-reconnect") {
    withSync((engine) => engine.client.reconnectNow());
  } else if (message.type === "sync-when-synced") {
    withSync(async (engine) => {
      await engine.client.whenSynced();
      post({ type: "sync-synced", id: message.id });
    });
  } else if (message.type === "page-leaving") {
    // The worker has time for it: measured, 14 of 15 reloads then opened a rollback journal,
    // and skipped bringing back the WAL (about 30 ms of the start).
    settleStorage?.().catch(() => undefined); // in a transaction: the next open does it
  } else if (message.type === "sync-stop") {
    void stopSync().finally(() => post({ type: "sync-stopped" }));
  } else {
    // The engine stops first (a tab's open transaction it waits behind may still commit), then
    // tabs' requests go to the next leader.
    const closing = stopSync().then(() => {
      const closingRouter = router;
      router = null;
      return closingRouter?.idle();
    });
    closing
      .then(() => closeStorage?.())
      .catch((err: unknown) => console.error("notesync: closing the database failed", err))
      .finally(() => post({ type: "closed" }));
  }
}
