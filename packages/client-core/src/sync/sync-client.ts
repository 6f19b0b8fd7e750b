import {
  DEFAULT_TARGET_FRAME_BYTES,
  ErrorCode,
  systemClock,
  type Clock,
  type ClockTimer,
} from "@notesync/protocol";
import { coalesced } from "../coalesce.js";
import type { ChangeEvent, Database } from "../database.js";
import { Connection } from "./connection.js";
import { loadCursors, saveAckedClientVersion, type SyncCursors } from "./cursors.js";
import { Inbound } from "./inbound.js";
import { countPendingRows } from "./local-changes.js";
import { Outbound } from "./outbound.js";
import { ReconnectSchedule, browserNetworkHints, type NetworkHints } from "./reconnect.js";
import { INITIAL_STATUS, SyncErrorCode, firstStatus, isSynced, type SyncStatus } from "./status.js";
import { webSocketDial, type Dial, type WebSocketConstructor } from "./websocket.js";

export interface SyncClientOptions {
  readonly db: Database;
  /** `ws(s)://host/sync` */
  readonly url: string;
  /** Returns the session token from `/api/login`; called on every (re)connect. */
  readonly getToken: () => string | Promise<string>;
  /** The WebSocket to use (default: the global one; in Node, the `ws` package). */
  readonly WebSocket?: WebSocketConstructor;
  /** Opens connections instead of `WebSocket` (tests pass in-memory sockets). */
  readonly dial?: Dial;
  /** Time, timers and jitter (default: the real ones). */
  readonly clock?: Clock;
  /** Network events that make it reconnect at once (default: the browser's `online` event). */
  readonly network?: NetworkHints;
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /** Local commits within this window are pushed together. */
  readonly pushDelayMs?: number;
  readonly targetFrameBytes?: number;
  /** Most local changes read and sent before waiting for the server's ack. */
  readonly pushPageRows?: number;
}

type Events = { status: (status: SyncStatus) => void; change: (event: ChangeEvent) => void };

export interface SyncClient {
  readonly status: SyncStatus;
  /** Connects, and keeps reconnecting until `stop()`. */
  start(): void;
  /** Disconnects and stops reconnecting. */
  stop(): Promise<void>;
  /** Drops the connection now and reconnects (for example when the network comes back). */
  reconnectNow(): void;
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void;
  /** Resolves once the client is live with nothing pending. */
  whenSynced(): Promise<void>;
}

/** How long a sent page's ack may take before the pending count is read from the database. */
const PENDING_COUNT_DELAY_MS = 250;
/** How soon after an ack its version is stored. */
const SAVE_ACKED_DELAY_MS = 1_000;

function defaultDial(options: SyncClientOptions): Dial {
  if (options.dial) return options.dial;
  const WS = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!WS)
    throw new Error("no WebSocket available: pass options.WebSocket (in Node, the ws package)");
  return webSocketDial(WS);
}

/**
 * The sync engine. Two cursors, each in its owner's clock: `serverVersion` (stored here with the
 * changes it covers) and `ackedClientVersion` (what the server confirmed of ours). On connect it
 * says hello with `serverVersion`, receives what it lacks, and pushes its changes after the
 * server's record of it; then it stays live, pushing each local commit promptly. Between
 * connections it waits with backoff and jitter, and at once when the network comes back.
 */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  const { db } = options;
  const dial = defaultDial(options);
  const clock = options.clock ?? systemClock;
  const schedule = new ReconnectSchedule(
    clock,
    options.reconnect?.initialMs ?? 500,
    // Capped low: when a server restarts, every open client is back within a few seconds.
    options.reconnect?.maxMs ?? 5_000,
  );
  const listeners = { status: new Set<Events["status"]>(), change: new Set<Events["change"]>() };
  let status: SyncStatus = INITIAL_STATUS;
  const cursors: SyncCursors = {
    serverVersion: 0,
    ackedClientVersion: 0,
    incarnation: new Uint8Array(),
  };
  let cursorsLoaded = false;
  let running = false;
  let connection: Connection | null = null;
  /** Set after an error that reconnecting cannot fix with the same token. */
  let terminalToken: string | null = null;
  let stopNetwork: (() => void) | null = null;
  const network = options.network ?? browserNetworkHints();

  /** `whenSynced` waiters: they look again at each status and each ack. */
  const syncedChecks = new Set<(s: SyncStatus) => void>();

  function setStatus(next: Partial<SyncStatus>): void {
    status = { ...status, ...next };
    for (const l of listeners.status) l(status);
    for (const check of syncedChecks) check(status);
  }

  const refreshPending = coalesced(async () => {
    if (!cursorsLoaded) return;
    const pending = outbound.allAcked ? 0 : await countPendingRows(db, cursors.ackedClientVersion);
    if (pending !== status.pending) setStatus({ pending });
  });

  /** Live, a page's ack comes within milliseconds: the count waits for it, unless it is late. */
  let countTimer: ClockTimer | null = null;
  const refreshPendingUnlessAcked = () => {
    if (countTimer) return;
    countTimer = clock.setTimeout(() => {
      countTimer = null;
      refreshPending().catch(() => undefined); // closed meanwhile: nothing to count
    }, PENDING_COUNT_DELAY_MS);
  };

  let savedAcked = -1;
  let saveTimer: ClockTimer | null = null;
  const saveAcked = async () => {
    if (saveTimer) clock.clearTimeout(saveTimer);
    saveTimer = null;
    const version = cursors.ackedClientVersion;
    if (version === savedAcked || !cursorsLoaded) return;
    savedAcked = version;
    await saveAckedClientVersion(db, version);
  };
  const saveAckedSoon = () => {
    saveTimer ??= clock.setTimeout(() => {
      saveTimer = null;
      saveAcked().catch(() => undefined); // the next ack or connection stores it
    }, SAVE_ACKED_DELAY_MS);
  };

  const outbound = new Outbound({
    db,
    clock,
    pushDelayMs: options.pushDelayMs ?? 0,
    pageRows: options.pushPageRows ?? 5_000,
    targetFrameBytes: options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES,
    onSent: refreshPendingUnlessAcked,
    // whenSynced also waits for the page in flight, whose ack may not change the status.
    onAcked: () => {
      for (const check of syncedChecks) check(status);
    },
    onFailure: (err) => {
      setStatus({
        error: { code: ErrorCode.Internal, message: `sync failed: ${(err as Error).message}` },
      });
      drop(1011, false);
    },
  });
  const inbound = new Inbound(db, cursors, outbound);

  db.onChange((event) => {
    if (event.origin === "local") {
      // Sending comes first: queries wait their turn on the one connection (in a browser each
      // costs milliseconds), so the push's query is queued before the app's re-queries and
      // the pending count, which is recounted once the changes are on their way.
      outbound.localCommit();
      // (The database may be closing: the count is for the status of an open one.)
      if (status.state !== "live" && status.state !== "syncing")
        refreshPending().catch(() => undefined);
    }
    for (const l of listeners.change) l(event);
  });

  async function connect(): Promise<void> {
    if (!running || connection) return;
    setStatus({ state: "connecting", retryAt: null });
    let token: string;
    try {
      if (!cursorsLoaded) {
        Object.assign(cursors, await loadCursors(db));
        cursorsLoaded = true;
        await refreshPending(); // so an offline start shows what is waiting
      }
      token = await options.getToken();
    } catch (err) {
      setStatus({
        error: {
          code: SyncErrorCode.TokenUnavailable,
          message: `could not get a session token: ${(err as Error).message}`,
        },
      });
      return waitToReconnect();
    }
    if (!running || connection) return;
    if (terminalToken !== null && token === terminalToken) return setStatus({ state: "error" });
    terminalToken = null;
    const socket = dial(options.url);
    const current = new Connection(socket, {
      db,
      cursors,
      inbound,
      outbound,
      token,
      setStatus: (next) => {
        if (connection !== current) return;
        if (next.state === "live") schedule.reset();
        setStatus(next);
      },
      refreshPending,
      saveAckedSoon,
      end: (code, terminal) => {
        if (connection !== current) return;
        if (terminal) terminalToken = token;
        drop(code, terminal);
      },
    });
    connection = current;
    socket.onClose(() => {
      if (connection === current) disconnected(false);
    });
  }

  /** Ends the current connection at once: a close handshake may never complete, and nothing waits for it. */
  function drop(code: number, terminal: boolean): void {
    const current = connection;
    if (!current) return;
    disconnected(terminal);
    // The socket's own close event comes later, for a connection no longer current.
    current.close(code);
  }

  function disconnected(terminal: boolean): void {
    connection = null;
    outbound.end();
    saveAcked().catch(() => undefined);
    if (countTimer) clock.clearTimeout(countTimer);
    countTimer = null;
    if (!running)
      return setStatus({ state: "offline", progress: null, offlineCause: null, retryAt: null });
    if (terminal || terminalToken !== null)
      return setStatus({ state: "error", progress: null, offlineCause: null, retryAt: null });
    waitToReconnect();
  }

  /** Offline until the next attempt: at once when the network returns, else after a backoff. */
  function waitToReconnect(): void {
    if (network?.isOnline?.() === false) {
      schedule.cancel();
      return setStatus({
        state: "offline",
        progress: null,
        offlineCause: "network",
        retryAt: null,
      });
    }
    schedule.later(() => void connect());
    setStatus({ state: "offline", progress: null, offlineCause: "server", retryAt: schedule.at });
  }

  function reconnectNow(): void {
    if (!running) return;
    schedule.reset();
    drop(4000, false); // schedules a reconnect: replace it with one now
    schedule.cancel();
    void connect();
  }

  return {
    get status() {
      return status;
    },
    start() {
      if (running) return;
      running = true;
      schedule.reset();
      stopNetwork = network?.onOnline(reconnectNow) ?? null;
      void connect();
    },
    async stop() {
      running = false;
      stopNetwork?.();
      stopNetwork = null;
      schedule.cancel();
      const current = connection;
      drop(1000, false);
      await current?.settled();
      setStatus({ state: "offline", progress: null, offlineCause: null, retryAt: null });
    },
    reconnectNow,
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    whenSynced() {
      return firstStatus(syncedChecks, status, (s) => isSynced(s) && !outbound.inFlight);
    },
  };
}
