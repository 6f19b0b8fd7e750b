import { createDatabase, relayChanges, type Database } from "../database.js";
import type { NetworkHints } from "../sync/reconnect.js";
import { createSyncClient, type SyncClient } from "../sync/sync-client.js";
import { RemoteDriver } from "./remote-driver.js";
import type { RequestRouter } from "./request-router.js";
import { ENGINE_CLIENT, type FromWorker, type WorkerSyncConfig } from "./worker-protocol.js";

/** The sync engine running in the leading tab's worker, and the page's calls into it. */
export interface WorkerSyncEngine {
  readonly client: SyncClient;
  /** Stops the engine and stops telling it of the tabs' commits. */
  stop(): Promise<void>;
  /** The page says whether the device has a network. */
  network(online: boolean): void;
  /** The page answered a `sync-token?`. */
  answerToken(id: number, token: string | undefined, error: string | undefined): void;
}

/**
 * Runs the sync engine next to the database, in the leader's worker: a local commit goes out
 * without a round trip through any page, and the server's changes are applied without one, so
 * neither waits for a page busy drawing. The engine is one more client of the router (its
 * transactions take turns with the tabs'); the tabs' commits reach it as local changes, and what
 * it applies goes to the page as `sync-change`. Status and token requests cross as messages.
 */
export function startWorkerSync(
  router: RequestRouter,
  siteId: Uint8Array,
  config: WorkerSyncConfig,
  post: (message: FromWorker) => void,
): WorkerSyncEngine {
  // Its own id per start: the router answers each (client, seq) once, and a new engine's
  // requests count from 1 again.
  const id = ENGINE_CLIENT + crypto.randomUUID();
  const driver = new RemoteDriver(id, async () => undefined);
  driver.siteId = siteId;
  driver.connect({
    send: (request) => router.handle(request, (reply) => driver.receive(reply)),
    track: false,
  });
  const db = withTabCommits(createDatabase(driver), router, id);

  const tokens = new Map<number, { resolve(t: string): void; reject(e: Error): void }>();
  let nextTokenId = 0;
  const getToken = () =>
    new Promise<string>((resolve, reject) => {
      const id = ++nextTokenId;
      tokens.set(id, { resolve, reject });
      post({ type: "sync-token?", id });
    });

  // The page's view of the network: its `online` event and `navigator.onLine` are the ones
  // the browser (and a test's emulation) keeps up to date.
  let online = true;
  const onOnline = new Set<() => void>();
  const network: NetworkHints = {
    onOnline(listener) {
      onOnline.add(listener);
      return () => onOnline.delete(listener);
    },
    isOnline: () => online,
  };

  const client = createSyncClient({ ...config, db, getToken, network });
  client.on("status", (status) => post({ type: "sync-status", status }));
  client.on("change", (event) => {
    if (event.origin === "remote") post({ type: "sync-change", event });
  });
  client.start();
  post({ type: "sync-status", status: client.status });
  return {
    client,
    stop() {
      router.onCommit = () => undefined;
      return client.stop();
    },
    network(now) {
      const cameBack = now && !online;
      online = now;
      if (cameBack) for (const l of onOnline) l();
    },
    answerToken(id, token, error) {
      const waiting = tokens.get(id);
      tokens.delete(id);
      if (token !== undefined) waiting?.resolve(token);
      else waiting?.reject(new Error(error ?? "no session token"));
    },
  };
}

/** The engine's database, whose change events also carry what the tabs commit. */
function withTabCommits(db: Database, router: RequestRouter, engineClient: string): Database {
  const relay = relayChanges(db);
  router.onCommit = (client, tables) => {
    if (client !== engineClient) relay.emit({ tables, origin: "local" });
  };
  return relay.db;
}
