import { createDatabase, type Database } from "../database.js";
import { RemoteDriver } from "./remote-driver.js";
import { holdTabLock } from "./tab-lock.js";
import type { BetweenTabs, BrowserStorage, FromWorker, ToWorker } from "./worker-protocol.js";

export interface WorkerDatabaseOptions {
  readonly name: string;
  readonly wasmUrl: string;
  /** Starts the database worker; by default client-core's `database-worker.js`. */
  readonly createWorker?: () => Worker;
}

/** A browser database, and where it is stored. */
export interface BrowserDatabase extends Database {
  readonly storage: BrowserStorage;
  /** True while this tab's worker holds the database (the others send it their statements). */
  readonly isLeader: boolean;
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
  const client = crypto.randomUUID();
  const releaseTabLock = await holdTabLock(client);
  const channel = new BroadcastChannel(`notesync-db:${options.name}`);
  const post = (message: BetweenTabs) => channel.postMessage(message);
  const abort = new AbortController();
  let worker: Worker | null = null;
  let leading = false;
  let closing = false;
  let releaseLead: (() => void) | null = null;
  let storage: BrowserStorage | null = null;
  let connected!: (storage: BrowserStorage) => void;
  let failed!: (err: Error) => void;
  const firstConnection = new Promise<BrowserStorage>((resolve, reject) => {
    connected = resolve;
    failed = reject;
  });

  const driver = new RemoteDriver(client, async () => {
    closing = true;
    abort.abort();
    if (worker) await closeWorker(worker);
    worker = null;
    leading = false;
    releaseLead?.();
    driver.failPending("the database is closed");
    channel.close();
    releaseTabLock();
  });

  channel.addEventListener("message", ({ data }: MessageEvent<BetweenTabs>) => {
    if (closing) return;
    if (data.type === "reply") driver.receive(data.reply);
    else if (data.type === "leader" && !leading) {
      storage = data.storage;
      driver.connect({ send: (request) => post({ type: "request", request }), track: true });
      connected(data.storage);
    } else if (data.type === "leader?" && leading && storage) post({ type: "leader", storage });
    else if (data.type === "request" && leading && worker)
      worker.postMessage({ type: "request", request: data.request } satisfies ToWorker);
  });

  async function lead(): Promise<void> {
    if (closing) return;
    const w = (options.createWorker ?? defaultWorker)();
    const opened = await new Promise<FromWorker>((resolve) => {
      w.addEventListener("message", ({ data }: MessageEvent<FromWorker>) => {
        if (data.type === "opened" || data.type === "failed") resolve(data);
        else if (data.type === "reply") {
          if (data.reply.client === client) driver.receive(data.reply);
          else post({ type: "reply", reply: data.reply });
        }
      });
      w.addEventListener("error", (e) => resolve({ type: "failed", message: e.message }));
      w.postMessage({
        type: "open",
        name: options.name,
        wasmUrl: options.wasmUrl,
      } satisfies ToWorker);
    });
    if (opened.type !== "opened") {
      w.terminate();
      failed(new Error(opened.type === "failed" ? opened.message : "the worker failed"));
      return;
    }
    if (opened.migrated)
      console.info(`notesync: moved the local database "${options.name}" from IndexedDB to OPFS`);
    worker = w;
    leading = true;
    storage = opened.storage;
    driver.connect({
      send: (request) => w.postMessage({ type: "request", request } satisfies ToWorker),
      track: false,
    });
    post({ type: "leader", storage: opened.storage });
    connected(opened.storage);
    await new Promise<void>((resolve) => (releaseLead = resolve));
  }

  navigator.locks
    .request(`notesync-db:${options.name}`, { signal: abort.signal }, lead)
    .catch((err: unknown) => {
      if (!closing) failed(err as Error);
    });
  post({ type: "leader?" });

  try {
    await firstConnection;
    const [row] = await driver.query<{ s: Uint8Array }>("SELECT crsql_site_id() AS s");
    driver.siteId = new Uint8Array(row!.s);
  } catch (err) {
    await driver.close();
    throw err;
  }
  return Object.defineProperties(createDatabase(driver), {
    storage: { get: () => storage, enumerable: true },
    isLeader: { get: () => leading, enumerable: true },
  }) as BrowserDatabase;
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
