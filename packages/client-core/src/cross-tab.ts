import type { WorkerSyncControl, WorkerSyncHost } from "./browser/worker-database.js";
import { relayChanges, type ChangeEvent, type Database } from "./database.js";
import { createSyncClient, type SyncClient, type SyncClientOptions } from "./sync/sync-client.js";
import { INITIAL_STATUS, firstStatus, isSynced, type SyncStatus } from "./sync/status.js";

/** The subset of `navigator.locks` used here, so tests can pass a double. */
export interface LockManagerLike {
  request(
    name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<void>,
  ): Promise<unknown>;
}

/** The subset of `BroadcastChannel` used here. */
export interface ChannelLike {
  postMessage(message: TabMessage): void;
  addEventListener(type: "message", listener: (event: { data: TabMessage }) => void): void;
  close(): void;
}

/** What tabs of one profile tell each other over the channel. */
export type TabMessage =
  /** A tab committed a write (a local edit, or the leader applying the server's changes). */
  | { readonly type: "change"; readonly event: ChangeEvent }
  /** The leader's sync status, sent on every change of it. */
  | { readonly type: "status"; readonly status: SyncStatus }
  /** A new follower asks the leader for its status. */
  | { readonly type: "status?" }
  /** A follower asks the leader to reconnect now (the network came back in that tab). */
  | { readonly type: "reconnect" };

export interface CrossTabOptions extends SyncClientOptions {
  /** One name per database: tabs with the same name share one connection. */
  readonly name: string;
  readonly locks?: LockManagerLike;
  readonly channel?: ChannelLike;
}

/**
 * A database whose change events include other tabs' commits; its own commits are announced to
 * them. `close` stops announcing (before the channel closes).
 */
function shareChanges(
  db: Database,
  channel: ChannelLike,
): { db: Database; announce: (event: ChangeEvent) => void; close: () => void } {
  const post = (event: ChangeEvent) => channel.postMessage({ type: "change", event });
  const offPost = db.onChange(post);
  const relay = relayChanges(db);
  channel.addEventListener("message", ({ data }) => {
    if (data.type === "change") relay.emit(data.event);
  });
  return {
    db: relay.db,
    announce: (event) => {
      post(event);
      relay.emit(event);
    },
    close: () => {
      offPost();
      relay.close();
    },
  };
}

/** What a leading tab drives: the engine in its page, or the one in its database worker. */
type Engine = Pick<SyncClient, "status" | "stop" | "reconnectNow" | "whenSynced">;

/**
 * A sync client for one tab among several of one browser profile. Every tab reads and writes the
 * shared database itself; one tab also runs the sync engine and its WebSocket, and the others
 * mirror its status. With a database in the leading tab's worker (`openBrowserDatabase`'s
 * default) the engine runs in that worker, next to the database, so it neither waits for a busy
 * page nor costs a message per statement; `dial`, `WebSocket` and `clock` do not cross to it (it
 * uses the worker's WebSocket), and this page tells it whether the device is online (from
 * `network.isOnline`, else `navigator.onLine`). Otherwise the holder of a Web Lock runs it in its
 * page. When the leading tab closes, the next tab takes over.
 */
export function createCrossTabSyncClient(
  options: CrossTabOptions,
): SyncClient & { readonly isLeader: boolean } {
  const locks: LockManagerLike = options.locks ?? navigator.locks;
  const channel: ChannelLike = options.channel ?? new BroadcastChannel(`notesync:${options.name}`);
  const shared = shareChanges(options.db, channel);
  const db = shared.db;
  const listeners = {
    status: new Set<(s: SyncStatus) => void>(),
    change: new Set<(e: ChangeEvent) => void>(),
  };
  let status: SyncStatus = { ...INITIAL_STATUS, state: "connecting" };
  let engine: Engine | null = null;
  const workerSync = (options.db as { workerSync?: WorkerSyncHost }).workerSync;
  let abort: AbortController | null = null;
  let release: (() => void) | null = null;

  const setStatus = (s: SyncStatus) => {
    status = s;
    for (const l of listeners.status) l(s);
  };
  db.onChange((e) => listeners.change.forEach((l) => l(e)));
  channel.addEventListener("message", ({ data }) => {
    if (data.type === "status" && !engine) setStatus(data.status);
    if (data.type === "status?" && engine)
      channel.postMessage({ type: "status", status: engine.status });
    if (data.type === "reconnect") engine?.reconnectNow();
  });

  const leaderStatus = (s: SyncStatus) => {
    setStatus(s);
    channel.postMessage({ type: "status", status: s });
  };

  function lead(): Promise<void> {
    const client = createSyncClient({ ...options, db });
    engine = client;
    client.on("status", leaderStatus);
    client.start();
    setStatus(client.status);
    return new Promise<void>((resolve) => (release = resolve));
  }

  let workerControl: WorkerSyncControl | null = null;
  let tellNetwork: (() => void) | null = null;
  function leadInWorker(host: WorkerSyncHost): void {
    const { url, reconnect, pushDelayMs, targetFrameBytes, pushPageRows } = options;
    const { network } = options;
    const isOnline = () => network?.isOnline?.() ?? navigator.onLine !== false;
    const control = host.runSync(
      { url, reconnect, pushDelayMs, targetFrameBytes, pushPageRows },
      {
        lead: () => {
          engine = {
            get status() {
              return status;
            },
            stop: () => control.stop(),
            reconnectNow: () => control.reconnectNow(),
            whenSynced: () => control.whenSynced(),
          };
        },
        status: leaderStatus,
        change: (event) => shared.announce(event),
        token: async () => options.getToken(),
      },
    );
    workerControl = control;
    // The worker hears of the network from this page, at once and whenever it may have changed.
    tellNetwork = () => control.network(isOnline());
    tellNetwork();
    addEventListener("online", tellNetwork);
    addEventListener("offline", tellNetwork);
  }

  return {
    get status() {
      return status;
    },
    get isLeader() {
      return engine !== null;
    },
    start() {
      if (abort) return;
      abort = new AbortController();
      channel.postMessage({ type: "status?" });
      if (workerSync) return leadInWorker(workerSync);
      locks
        .request(`notesync:${options.name}`, { signal: abort.signal }, lead)
        .catch(() => undefined);
    },
    /** Stops syncing and leaves the tabs' channel; a stopped client does not start again. */
    async stop() {
      abort?.abort();
      abort = null;
      const e = engine;
      engine = null;
      // Not leading, the worker's control still forgets the engine it would start on leading.
      await (workerControl ?? e)?.stop();
      if (tellNetwork) {
        removeEventListener("online", tellNetwork);
        removeEventListener("offline", tellNetwork);
      }
      release?.();
      release = null;
      shared.close();
      channel.close();
    },
    reconnectNow() {
      tellNetwork?.();
      if (engine) engine.reconnectNow();
      else channel.postMessage({ type: "reconnect" });
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    whenSynced() {
      // The leading tab knows about pushes still in flight; the others see the mirrored status.
      return engine ? engine.whenSynced() : firstStatus(listeners.status, status, isSynced);
    },
  };
}
