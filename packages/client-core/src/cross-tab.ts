import type { ChangeEvent, Database } from "./database.js";
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
function shareChanges(db: Database, channel: ChannelLike): { db: Database; close: () => void } {
  const listeners = new Set<(e: ChangeEvent) => void>();
  const off = db.onChange((event) => {
    channel.postMessage({ type: "change", event });
    for (const l of listeners) l(event);
  });
  channel.addEventListener("message", ({ data }) => {
    if (data.type === "change") for (const l of listeners) l(data.event);
  });
  return {
    db: {
      ...db,
      onChange(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    close: () => {
      off();
      listeners.clear();
    },
  };
}

/**
 * A sync client for one tab among several of one browser profile. Every tab reads and writes the
 * shared database itself; one tab, the holder of a Web Lock, also runs the sync engine and its
 * WebSocket. The others mirror its status. When the leading tab closes, its lock is released and
 * the next tab takes over.
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
  let engine: SyncClient | null = null;
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

  function lead(): Promise<void> {
    engine = createSyncClient({ ...options, db });
    engine.on("status", (s) => {
      setStatus(s);
      channel.postMessage({ type: "status", status: s });
    });
    engine.start();
    setStatus(engine.status);
    return new Promise<void>((resolve) => (release = resolve));
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
      await e?.stop();
      release?.();
      release = null;
      shared.close();
      channel.close();
    },
    reconnectNow() {
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
