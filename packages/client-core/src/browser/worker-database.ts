import { createDatabase, type ChangeEvent, type Database } from "../database.js";
import type { SyncStatus } from "../sync/status.js";
import { RemoteDriver } from "./remote-driver.js";
import { holdTabLock } from "./tab-lock.js";
import type {
  BetweenTabs,
  BrowserStorage,
  FromWorker,
  ToWorker,
  WorkerSyncConfig,
} from "./worker-protocol.js";

export interface WorkerDatabaseOptions {
  readonly name: string;
  readonly wasmUrl: string;
  /**
   * Where the page can fetch wa-sqlite's synchronous build, which the worker runs on OPFS (with
   * Vite: `import url from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.wasm?url"`). Given, the page
   * compiles it and hands the module to the worker (see `BrowserDatabaseOptions.syncWasmUrl`).
   */
  readonly syncWasmUrl?: string;
  /** Starts the database worker; by default client-core's `database-worker.js`. */
  readonly createWorker?: () => Worker;
  /**
   * Called once: when the database worker has the page's message to open the database (it needs
   * nothing more of the page's main thread to open it), or its script failed to load, or when the
   * database is open (or failed to open) without it (another tab leads). Chromium starts a worker,
   * and hands it the messages the page posted before it ran, only when the page's main thread is
   * free: a page with heavy work of its own to start (its app's script) can wait for this.
   * (Measured: with the app's script loading once the worker ran, the worker got its `open`
   * 50-60 ms after its script ran; 8-12 ms with it loading after this.)
   */
  readonly onWorkerRunning?: () => void;
}

/** A browser database, and where it is stored. */
export interface BrowserDatabase extends Database {
  readonly storage: BrowserStorage;
  /** True while this tab's worker holds the database (the others send it their statements). */
  readonly isLeader: boolean;
  /** Where the database lives in the leader's worker: runs the sync engine there. */
  readonly workerSync?: WorkerSyncHost;
}

/** What the sync engine in the leader's worker tells the page that started it. */
export interface WorkerSyncEvents {
  /** This tab leads now: the engine runs in its worker. */
  lead(): void;
  status(status: SyncStatus): void;
  /** The engine applied the server's changes. */
  change(event: ChangeEvent): void;
  /** The session token, for each (re)connect. */
  token(): Promise<string>;
}

/** The page's controls of the engine in its worker (they act while this tab leads). */
export interface WorkerSyncControl {
  /** Whether the device has a network, as the page sees it. */
  network(online: boolean): void;
  reconnectNow(): void;
  whenSynced(): Promise<void>;
  stop(): Promise<void>;
}

export interface WorkerSyncHost {
  /**
   * Runs the sync engine in this tab's worker while this tab leads: at once if it leads now,
   * else when it comes to lead (the leading tab closed). Once per database.
   */
  runSync(config: WorkerSyncConfig, events: WorkerSyncEvents): WorkerSyncControl;
}

const defaultWorker = () =>
  new Worker(new URL("./database-worker.js", import.meta.url), { type: "module" });

/**
 * Opens the database called `name` through a worker of the tab that holds its Web Lock (the
 * leader): one writer per browser profile. The worker stores it on OPFS, or in IndexedDB where
 * synchronous access handles are missing. When the leading tab closes or crashes, the next tab
 * in line opens the database in its own worker, and every tab sends again what had no answer.
 */
export async function openWorkerDatabase(options: WorkerDatabaseOptions): Promise<BrowserDatabase> {
  let running = options.onWorkerRunning;
  const isRunning = () => {
    running?.();
    running = undefined;
  };
  /** A worker, and why it failed to start if it did (a script that did not load, say). */
  const startWorker = () => {
    const started = {
      worker: (options.createWorker ?? defaultWorker)(),
      error: null as string | null,
    };
    started.worker.addEventListener("error", (e) => {
      started.error ??= e.message || "the database worker failed to start";
      isRunning();
    });
    started.worker.addEventListener("message", ({ data }: MessageEvent<FromWorker>) => {
      if (data.type === "opening") isRunning();
    });
    return started;
  };
  /**
   * Started first, so that its script and wasm load while this tab waits for the lead (a
   * reload waits for the last page's worker to let go of the files); ended if another tab leads.
   */
  let spare: ReturnType<typeof startWorker> | null = startWorker();
  /**
   * The synchronous build, compiled meanwhile too (none: the worker compiles it). A tab that
   * turns out to follow keeps it unused, for the day it leads.
   */
  const syncWasm = options.syncWasmUrl
    ? compileWasm(options.syncWasmUrl)
    : Promise.resolve(undefined);
  const client = crypto.randomUUID();
  const releaseTabLock = await holdTabLock(client).catch((err: unknown) => {
    spare?.worker.terminate();
    isRunning();
    throw err;
  });
  const channel = new BroadcastChannel(`notesync-db:${options.name}`);
  const post = (message: BetweenTabs) => channel.postMessage(message);
  const abort = new AbortController();
  let worker: Worker | null = null;
  let leading = false;
  let closing = false;
  let releaseLead: (() => void) | null = null;
  let storage: BrowserStorage | null = null;
  /** The database's site id, as its leader's worker tells it. */
  let siteId: Uint8Array | null = null;
  let connected!: (storage: BrowserStorage) => void;
  let failed!: (err: Error) => void;
  const firstConnection = new Promise<BrowserStorage>((resolve, reject) => {
    connected = resolve;
    failed = reject;
  });
  firstConnection.then(isRunning, isRunning);
  let syncRun: { config: WorkerSyncConfig; events: WorkerSyncEvents } | null = null;
  const syncedWaiters = new Map<number, () => void>();
  let nextSyncedId = 0;
  let syncStopped: (() => void) | null = null;

  /** The engine's messages from this tab's worker. */
  function fromEngine(w: Worker, data: FromWorker): void {
    if (data.type === "sync-status") syncRun?.events.status(data.status);
    else if (data.type === "sync-change") syncRun?.events.change(data.event);
    else if (data.type === "sync-token?") {
      const answer = (message: ToWorker) => w.postMessage(message);
      (syncRun?.events.token() ?? Promise.reject(new Error("sync stopped"))).then(
        (token) => answer({ type: "sync-token", id: data.id, token }),
        (err: unknown) =>
          answer({ type: "sync-token", id: data.id, error: (err as Error).message }),
      );
    } else if (data.type === "sync-synced") {
      syncedWaiters.get(data.id)?.();
      syncedWaiters.delete(data.id);
    } else if (data.type === "sync-stopped") syncStopped?.();
  }

  let online = true;
  function startSync(w: Worker): void {
    if (!syncRun) return;
    w.postMessage({ type: "sync-start", config: syncRun.config } satisfies ToWorker);
    w.postMessage({ type: "sync-network", online } satisfies ToWorker);
    syncRun.events.lead();
  }

  const driver = new RemoteDriver(client, async () => {
    closing = true;
    abort.abort();
    spare?.worker.terminate();
    spare = null;
    if (worker) await closeWorker(worker);
    worker = null;
    leading = false;
    releaseLead?.();
    driver.failPending("the database is closed");
    channel.close();
    globalThis.removeEventListener?.("pagehide", leaving);
    releaseTabLock();
  });

  channel.addEventListener("message", ({ data }: MessageEvent<BetweenTabs>) => {
    if (closing) return;
    if (data.type === "reply") driver.receive(data.reply);
    else if (data.type === "leader" && !leading) {
      spare?.worker.terminate();
      spare = null;
      storage = data.storage;
      siteId = data.siteId;
      driver.connect({ send: (request) => post({ type: "request", request }), track: true });
      connected(data.storage);
    } else if (data.type === "leader?" && leading && storage && siteId)
      post({ type: "leader", storage, siteId });
    else if (data.type === "request" && leading && worker)
      worker.postMessage({ type: "request", request: data.request } satisfies ToWorker);
  });

  async function lead(): Promise<void> {
    if (closing) return;
    performance.mark("notesync:lead");
    if (spare?.error != null) spare.worker.terminate(); // a new one may load where it did not
    const started = spare?.error === null ? spare : startWorker();
    spare = null;
    const w = started.worker;
    const compiled = await syncWasm;
    const opened = await new Promise<FromWorker>((resolve) => {
      w.addEventListener("message", ({ data }: MessageEvent<FromWorker>) => {
        if (data.type === "opened" || data.type === "failed") resolve(data);
        else if (data.type === "reply") {
          if (data.reply.client === client) driver.receive(data.reply);
          else post({ type: "reply", reply: data.reply });
        } else fromEngine(w, data);
      });
      w.addEventListener("error", (e) => resolve({ type: "failed", message: e.message }));
      if (started.error !== null) resolve({ type: "failed", message: started.error });
      w.postMessage({
        type: "open",
        name: options.name,
        wasmUrl: options.wasmUrl,
        ...(compiled && { syncWasm: compiled }),
      } satisfies ToWorker);
    });
    if (opened.type !== "opened") {
      w.terminate();
      failed(new Error(opened.type === "failed" ? opened.message : "the worker failed"));
      return;
    }
    for (const [name, at] of opened.stages)
      performance.mark(`notesync:${name}`, { startTime: at - performance.timeOrigin });
    performance.mark("notesync:opened");
    if (opened.migrated)
      console.info(`notesync: moved the local database "${options.name}" from IndexedDB to OPFS`);
    worker = w;
    leading = true;
    storage = opened.storage;
    siteId = opened.siteId;
    driver.connect({
      send: (request) => w.postMessage({ type: "request", request } satisfies ToWorker),
      track: false,
    });
    post({ type: "leader", storage: opened.storage, siteId: opened.siteId });
    connected(opened.storage);
    startSync(w);
    await new Promise<void>((resolve) => (releaseLead = resolve));
  }

  // A page unloading ends its worker: the database is readied for the next open first.
  const leaving = (event: PageTransitionEvent) => {
    if (!event.persisted) worker?.postMessage({ type: "page-leaving" } satisfies ToWorker);
  };
  globalThis.addEventListener?.("pagehide", leaving);

  navigator.locks
    .request(`notesync-db:${options.name}`, { signal: abort.signal }, lead)
    .catch((err: unknown) => {
      if (!closing) failed(err as Error);
    });
  post({ type: "leader?" });

  try {
    await firstConnection;
    // (Set by the listeners above, which TypeScript's narrowing does not see.)
    const announced = siteId as Uint8Array | null | undefined;
    if (announced?.length === 16) driver.siteId = new Uint8Array(announced);
    else {
      // A leading tab of the app's last version announces none (a tab open across an update).
      const [row] = await driver.query<{ s: Uint8Array }>("SELECT crsql_site_id() AS s");
      driver.siteId = new Uint8Array(row!.s);
    }
  } catch (err) {
    await driver.close();
    throw err;
  }
  const workerSync: WorkerSyncHost = {
    runSync(config, events) {
      if (syncRun) throw new Error("the sync engine of this database is started already");
      syncRun = { config, events };
      if (leading && worker) startSync(worker);
      return {
        network(now) {
          online = now;
          worker?.postMessage({ type: "sync-network", online } satisfies ToWorker);
        },
        reconnectNow: () => worker?.postMessage({ type: "sync-reconnect" } satisfies ToWorker),
        whenSynced: () =>
          new Promise<void>((resolve) => {
            if (!worker) return; // not leading: the caller waits on the mirrored status
            const id = ++nextSyncedId;
            syncedWaiters.set(id, resolve);
            worker.postMessage({ type: "sync-when-synced", id } satisfies ToWorker);
          }),
        async stop() {
          const w = worker;
          syncRun = null;
          if (!w) return;
          await new Promise<void>((resolve) => {
            syncStopped = resolve;
            w.postMessage({ type: "sync-stop" } satisfies ToWorker);
          });
          syncStopped = null;
        },
      };
    },
  };
  return Object.defineProperties(createDatabase(driver), {
    storage: { get: () => storage, enumerable: true },
    isLeader: { get: () => leading, enumerable: true },
    workerSync: { value: workerSync, enumerable: true },
  }) as BrowserDatabase;
}

/**
 * The wasm module at `url`, compiled (V8 reuses a module of the same bytes that this renderer
 * process still holds); undefined when it cannot be, and the worker compiles it itself.
 */
async function compileWasm(url: string): Promise<WebAssembly.Module | undefined> {
  try {
    const module = await WebAssembly.compileStreaming(fetch(url, { credentials: "same-origin" }));
    performance.mark("notesync:wasm-compiled");
    return module;
  } catch (err) {
    console.warn("notesync: the page could not compile the database's wasm; its worker will", err);
    return undefined;
  }
}

/** Lets the worker finish and close the database (releasing its files), then ends it. */
function closeWorker(w: Worker): Promise<void> {
  return new Promise<void>((resolve) => {
    w.addEventListener("message", ({ data }: MessageEvent<FromWorker>) => {
      if (data.type === "closed") {
        w.terminate();
        resolve();
      }
    });
    w.postMessage({ type: "close" } satisfies ToWorker);
  });
}
