import {
  DEFAULT_TARGET_FRAME_BYTES,
  ERROR_RULES,
  ErrorCode,
  INSERT_CHANGE,
  SCHEMA_VERSION,
  SELECT_CHANGES,
  NoteDocCache,
  TransactionAssembler,
  changeParams,
  chunkChanges,
  decodeFrame,
  encodeFrame,
  objectToChange,
  type Change,
  type ChangeRowObject,
  type ChangesFrame,
  type ClientFrame,
  type ServerFrame,
} from "@notesync/protocol";
import { backoffDelay } from "./backoff.js";
import { coalesced } from "./coalesce.js";
import { refreshTextAfterApply } from "./notes/note-text.js";
import type { ChangeEvent, Database } from "./database.js";
import { loadCursors, saveCursor, type SyncCursors } from "./sync-state.js";

export type SyncState = "offline" | "connecting" | "syncing" | "live" | "error";

export interface SyncStatus {
  readonly state: SyncState;
  /** Rows with local edits that the server has not confirmed yet (a lower bound past 2,000 changes). */
  readonly pending: number;
  /** While catching up: server versions received of those to receive (`received / total`). */
  readonly progress: { readonly received: number; readonly total: number } | null;
  /** Why the state is "error" (or why the last connection ended). */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** The standard WebSocket constructor shape: the browser's, or the `ws` package in Node. */
export type WebSocketConstructor = new (url: string) => WebSocket;

export interface SyncClientOptions {
  readonly db: Database;
  /** `ws(s)://host/sync` */
  readonly url: string;
  /** Returns the session token from `/api/login`; called on every (re)connect. */
  readonly getToken: () => string | Promise<string>;
  readonly WebSocket?: WebSocketConstructor;
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

/** Live, with nothing local waiting for the server. */
export const isSynced = (s: SyncStatus) => s.state === "live" && s.pending === 0;

/** Resolves at the first status, the current one included, that satisfies `done`. */
export function firstStatus(
  listeners: Set<(s: SyncStatus) => void>,
  current: SyncStatus,
  done: (s: SyncStatus) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const check = (s: SyncStatus) => {
      if (!done(s)) return;
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
    check(current);
  });
}

/** Codes after which reconnecting cannot help until something changes (a new token, an app update). */
/** Errors the sync client finds itself (the server's are the protocol's `ErrorCode`s). */
export const SyncErrorCode = {
  /** Another database syncs with this one's site id (a copied database file). */
  DuplicateSite: "duplicate_site",
} as const;

/** Errors after which the client waits for something to change instead of reconnecting. */
const TERMINAL = new Set<string>([
  SyncErrorCode.DuplicateSite,
  ...Object.entries(ERROR_RULES)
    .filter(([, rule]) => !rule.retryable)
    .map(([code]) => code),
]);

const LOCAL_CHANGES = `${SELECT_CHANGES} WHERE db_version > ? AND site_id = crsql_site_id() ORDER BY db_version, seq LIMIT ?`;
const UNSENT_CHANGES = `${SELECT_CHANGES} WHERE db_version > ? AND site_id = crsql_site_id() ORDER BY db_version, seq`;
const LOCAL_TRANSACTION = `${SELECT_CHANGES} WHERE db_version = ? AND site_id = crsql_site_id() ORDER BY seq`;
/**
 * Rows with unconfirmed local edits. Counting over every pending change costs a scan of all of
 * them (about 1 s for 700k), so only the first 2,000 are looked at: beyond that the count is a
 * lower bound, which is all a "waiting" indicator needs.
 */
const PENDING_ROWS = `SELECT count(*) AS n FROM (SELECT DISTINCT tbl, pk FROM
  (SELECT "table" AS tbl, pk FROM crsql_changes WHERE db_version > ? AND site_id = crsql_site_id() LIMIT 2000))`;

/**
 * The sync engine. Two cursors, each in its owner's clock: `serverVersion` (stored here with the
 * changes it covers) and `ackedVersion` (what the server confirmed of ours). On connect it says
 * hello with `serverVersion`, receives what it lacks, and pushes its changes after the server's
 * record of it; then it stays live, pushing each local commit promptly.
 */
export function createSyncClient(options: SyncClientOptions): SyncClient {
  const { db } = options;
  const maybeWS =
    options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (!maybeWS)
    throw new Error("no WebSocket available: pass options.WebSocket (in Node, the ws package)");
  const WS: WebSocketConstructor = maybeWS;
  const initialMs = options.reconnect?.initialMs ?? 500;
  const maxMs = options.reconnect?.maxMs ?? 30_000;
  const pageRows = options.pushPageRows ?? 5_000;
  const targetFrameBytes = options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES;

  const listeners = { status: new Set<Events["status"]>(), change: new Set<Events["change"]>() };
  let status: SyncStatus = { state: "offline", pending: 0, progress: null, error: null };
  let cursors: SyncCursors | null = null;
  let running = false;
  let socket: WebSocket | null = null;
  let attempt = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let pushTimer: ReturnType<typeof setTimeout> | null = null;
  /** A local commit happened since the last look for unsent changes (saves a query per remote batch). */
  let unsentLocal = true;
  let terminalError = false;
  let lastToken: string | null = null;
  // Per connection:
  let inbox: Promise<void> = Promise.resolve();
  let assembler = new TransactionAssembler();
  /** Documents of recently changed notes, so a keystroke's row is all that is applied to derive the text. */
  const noteDocs = new NoteDocCache();
  let catchUp: { from: number; to: number } | null = null;
  let pushedVersion = 0;
  let awaitingAck = false;

  function setStatus(next: Partial<SyncStatus>): void {
    status = { ...status, ...next };
    for (const l of listeners.status) l(status);
  }

  const refreshPending = coalesced(async () => {
    if (!cursors) return;
    const [row] = await db.query<{ n: number }>(PENDING_ROWS, [cursors.ackedVersion]);
    const pending = Number(row?.n ?? 0);
    if (pending !== status.pending) setStatus({ pending });
  });

  db.onChange((event) => {
    if (event.origin === "local") {
      unsentLocal = true;
      // Sending comes first: queries wait their turn on the one connection (in a browser each
      // costs milliseconds), so the push's query is queued before the app's re-queries and
      // the pending count, which is recounted once the changes are on their way.
      if (socket && (status.state === "live" || status.state === "syncing")) schedulePush();
      else void refreshPending();
    }
    for (const l of listeners.change) l(event);
  });

  function send(frame: ClientFrame): void {
    if (socket?.readyState === 1) socket.send(encodeFrame(frame));
  }

  const pushNow = coalesced(() => push().catch(failConnection));

  /** Pushes now, or after `pushDelayMs` when set (to batch bursts of commits). */
  function schedulePush(): void {
    if (!socket) return;
    const delay = options.pushDelayMs ?? 0;
    if (delay === 0) {
      void pushNow();
    } else if (!pushTimer) {
      pushTimer = setTimeout(() => {
        pushTimer = null;
        void pushNow();
      }, delay);
    }
  }

  /** Sends the next page of local changes after `pushedVersion`; one page in flight at a time. */
  async function push(): Promise<void> {
    if (awaitingAck || !cursors || (status.state !== "syncing" && status.state !== "live")) return;
    let rows = await db.query<ChangeRowObject>(LOCAL_CHANGES, [pushedVersion, pageRows]);
    if (rows.length < pageRows) unsentLocal = false;
    if (rows.length === 0) return;
    if (rows.length === pageRows) {
      // Cut at a transaction boundary; a transaction larger than a page goes whole.
      const last = Number(rows[rows.length - 1]!.db_version);
      const cut = rows.filter((r) => Number(r.db_version) !== last);
      rows = cut.length > 0 ? cut : await db.query<ChangeRowObject>(LOCAL_TRANSACTION, [last]);
    }
    const changes = rows.map(objectToChange);
    const upTo = changes[changes.length - 1]!.dbVersion;
    for (const frame of chunkChanges(changes, { targetFrameBytes })) send(frame);
    pushedVersion = upTo;
    awaitingAck = true;
    void refreshPending();
  }

  async function applyRemote(frame: ChangesFrame): Promise<void> {
    const c = cursors!;
    if (frame.changes.length > 0) {
      const params = frame.changes.map((ch: Change) => changeParams(ch));
      await db
        .transaction(
          async (tx) => {
            // Local edits not yet sent go first, inside the same lock: applying the server's
            // changes may overwrite them here (last writer wins), and the server can keep or
            // merge a losing edit only if it has received it.
            const unsent = unsentLocal
              ? await tx.query<ChangeRowObject>(UNSENT_CHANGES, [pushedVersion])
              : [];
            unsentLocal = false;
            if (unsent.length > 0) {
              const changes = unsent.map(objectToChange);
              for (const f of chunkChanges(changes, { targetFrameBytes })) send(f);
              pushedVersion = changes[changes.length - 1]!.dbVersion;
              awaitingAck = true;
            }
            await tx.execMany(INSERT_CHANGE, params);
            await refreshTextAfterApply(tx, frame.changes, noteDocs);
            await saveCursor(tx, "server_version", frame.cursor);
          },
          { origin: "remote", tables: [...new Set(frame.changes.map((ch) => ch.table))] },
        )
        .catch((err: unknown) => {
          noteDocs.clear(); // it may hold rows of the transaction that rolled back
          throw err;
        });
    } else if (frame.cursor !== c.serverVersion) {
      await saveCursor(db, "server_version", frame.cursor);
    }
    c.serverVersion = frame.cursor;
    send({ type: "ack", cursor: frame.cursor });
    if (catchUp) {
      const total = Math.max(catchUp.to - catchUp.from, 0);
      const received = Math.min(Math.max(frame.cursor - catchUp.from, 0), total);
      if (frame.cursor >= catchUp.to) {
        catchUp = null;
        attempt = 0;
        setStatus({ state: "live", progress: null, error: null });
      } else {
        setStatus({ progress: { received, total } });
      }
    }
  }

  async function handle(frame: ServerFrame): Promise<void> {
    const c = cursors!;
    switch (frame.type) {
      case "welcome": {
        const [local] = await db.query<{ v: number }>("SELECT crsql_db_version() AS v");
        if (frame.clientVersion > Number(local?.v ?? 0)) {
          // The server applied changes of our site id that this database never made: another
          // database uses the same site id (a copied file). Syncing now would drop changes.
          terminalError = true;
          setStatus({
            state: "error",
            progress: null,
            error: {
              code: SyncErrorCode.DuplicateSite,
              message: `the server has changes up to version ${frame.clientVersion} from this database's site id, which only reached ${Number(local?.v ?? 0)} here: another copy of this database is syncing with the same identity. Nothing was sent. Reopen it with openNodeDatabase from the file it now lives in (a copied file takes a new identity), or delete this copy`,
            },
          });
          dropConnection(1000);
          return;
        }
        // The server's record of our pushes wins: if it lost some (restored from a backup), we resend them.
        c.ackedVersion = frame.clientVersion;
        await saveCursor(db, "acked_version", c.ackedVersion);
        pushedVersion = c.ackedVersion;
        unsentLocal = true; // what was sent on the last connection may not have arrived
        catchUp = { from: c.serverVersion, to: frame.serverVersion };
        setStatus({
          state: "syncing",
          progress: { received: 0, total: Math.max(frame.serverVersion - c.serverVersion, 0) },
          error: null,
        });
        await refreshPending();
        await push();
        return;
      }
      case "changes": {
        const whole = assembler.push(frame);
        if (whole) await applyRemote(whole);
        return;
      }
      case "ack": {
        awaitingAck = false;
        if (frame.cursor > c.ackedVersion) {
          c.ackedVersion = frame.cursor;
          await saveCursor(db, "acked_version", frame.cursor);
        }
        await refreshPending();
        await push();
        return;
      }
      case "error": {
        if (TERMINAL.has(frame.code)) terminalError = true;
        setStatus({ error: { code: frame.code, message: frame.message } });
        return;
      }
    }
  }

  function failConnection(err: unknown): void {
    setStatus({
      error: { code: ErrorCode.Internal, message: `sync failed: ${(err as Error).message}` },
    });
    dropConnection(1011);
  }

  async function connect(): Promise<void> {
    reconnectTimer = null;
    if (!running || socket) return;
    setStatus({ state: "connecting" });
    let token: string;
    try {
      if (!cursors) {
        cursors = await loadCursors(db);
        await refreshPending(); // so an offline start shows what is waiting
      }
      token = await options.getToken();
    } catch (err) {
      setStatus({
        state: "offline",
        error: {
          code: "token",
          message: `could not get a session token: ${(err as Error).message}`,
        },
      });
      return scheduleReconnect();
    }
    if (!running) return;
    if (terminalError && token === lastToken) {
      setStatus({ state: "error" });
      return;
    }
    terminalError = false;
    lastToken = token;
    const ws = new WS(options.url);
    ws.binaryType = "arraybuffer";
    socket = ws;
    inbox = Promise.resolve();
    assembler = new TransactionAssembler();
    awaitingAck = false;
    catchUp = null;
    ws.onopen = () => {
      send({
        type: "hello",
        schemaVersion: SCHEMA_VERSION,
        siteId: db.siteId,
        serverVersion: cursors!.serverVersion,
        token,
      });
    };
    ws.onmessage = (event: MessageEvent) => {
      const decoded = decodeFrame(new Uint8Array(event.data as ArrayBuffer));
      if (!decoded.ok) {
        failConnection(decoded.error);
        return;
      }
      const frame = decoded.frame as ServerFrame;
      inbox = inbox.then(() => (socket === ws ? handle(frame) : undefined)).catch(failConnection);
    };
    // A failed connection also closes; the close handler decides what happens next.
    ws.onerror = () => undefined;
    ws.onclose = () => {
      if (socket === ws) disconnected();
    };
  }

  /** The current connection is gone (closed by either side, or dropped by us). */
  function disconnected(): void {
    socket = null;
    if (pushTimer) clearTimeout(pushTimer);
    pushTimer = null;
    if (!running) return setStatus({ state: "offline", progress: null });
    if (terminalError) return setStatus({ state: "error", progress: null });
    setStatus({ state: "offline", progress: null });
    scheduleReconnect();
  }

  /**
   * Forgets the connection at once. A close handshake can take long (with the network gone it
   * may never complete), and nothing may wait for it.
   */
  function dropConnection(code: number): void {
    const ws = socket;
    if (!ws) return;
    ws.onmessage = null;
    ws.onclose = null;
    try {
      ws.close(code);
    } catch {
      // already closing
    }
    disconnected();
  }

  function scheduleReconnect(): void {
    if (!running || reconnectTimer) return;
    const delay = backoffDelay(attempt++, initialMs, maxMs);
    reconnectTimer = setTimeout(() => void connect(), delay);
  }

  return {
    get status() {
      return status;
    },
    start() {
      if (running) return;
      running = true;
      attempt = 0;
      void connect();
    },
    async stop() {
      running = false;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      dropConnection(1000);
      await inbox;
      setStatus({ state: "offline", progress: null });
    },
    reconnectNow() {
      if (!running) return;
      attempt = 0;
      dropConnection(4000); // may schedule a reconnect: replace it with one now
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      void connect();
    },
    on(event, listener) {
      const set = listeners[event] as Set<typeof listener>;
      set.add(listener);
      return () => set.delete(listener);
    },
    whenSynced() {
      return firstStatus(listeners.status, status, (s) => isSynced(s) && !awaitingAck);
    },
  };
}
