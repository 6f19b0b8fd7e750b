import type { ChangeEvent, Statement } from "../database.js";
import type { SyncClientOptions } from "../sync/sync-client.js";
import type { SyncStatus } from "../sync/status.js";

/**
 * Messages of the browser database that lives in a worker of the leading tab: between a tab and
 * its worker, and between tabs over a BroadcastChannel (followers' statements go to the leader).
 */

/** One statement from one tab's connection. */
export interface DbRequest {
  /** The tab's connection, random per open. */
  readonly client: string;
  /** Per client, increasing: the leader runs a write at most once per (client, seq). */
  readonly seq: number;
  /** `batch`: `statements` in one transaction (`sql` is empty). */
  readonly op: "exec" | "query" | "execMany" | "batch";
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly lists?: readonly (readonly unknown[])[];
  readonly statements?: readonly Statement[];
  /**
   * Record the write's seq in the database with it, so that a new leader can tell whether it
   * landed. Followers ask for it; the leading tab's own writes die with its worker anyway.
   */
  readonly track: boolean;
}

export type DbReply =
  | {
      readonly client: string;
      readonly seq: number;
      readonly ok: true;
      readonly rows?: unknown[];
      /** The replicated tables the statement wrote. */
      readonly written?: readonly string[];
    }
  | {
      readonly client: string;
      readonly seq: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
    };

/** Where the database is stored: OPFS through synchronous access handles, or IndexedDB. */
export type BrowserStorage = "opfs" | "indexeddb";

/** What the sync engine in the worker is started with: the options that can cross to it. */
export type WorkerSyncConfig = Pick<
  SyncClientOptions,
  "url" | "reconnect" | "pushDelayMs" | "targetFrameBytes" | "pushPageRows"
>;

/** How the sync engine's client ids on the leader's connection begin (one per start). */
export const ENGINE_CLIENT = "notesync-sync-engine:";

/** From the leading tab to its worker. */
export type ToWorker =
  | {
      readonly type: "open";
      readonly name: string;
      readonly wasmUrl: string;
      /**
       * wa-sqlite's synchronous build (crsqlite-sync.wasm), compiled by the page: the worker
       * compiles it itself without it.
       */
      readonly syncWasm?: WebAssembly.Module;
    }
  | { readonly type: "request"; readonly request: DbRequest }
  | { readonly type: "close" }
  /**
   * The tab is being unloaded (a reload, a closed tab): its worker ends with it, so the database
   * is put back in a rollback journal now, for the next open to find it so.
   */
  | { readonly type: "page-leaving" }
  /** Run the sync engine in the worker (once; a second start is ignored). */
  | { readonly type: "sync-start"; readonly config: WorkerSyncConfig }
  /** The answer to `sync-token?`: a session token, or why there is none. */
  | {
      readonly type: "sync-token";
      readonly id: number;
      readonly token?: string;
      readonly error?: string;
    }
  | { readonly type: "sync-reconnect" }
  /** What the page knows of the network (a worker's own `navigator.onLine` may not follow it). */
  | { readonly type: "sync-network"; readonly online: boolean }
  | { readonly type: "sync-when-synced"; readonly id: number }
  | { readonly type: "sync-stop" };

/** From the worker to its tab. */
export type FromWorker =
  /** The worker has the page's `open` and opens the database (it needs nothing more of the page). */
  | { readonly type: "opening" }
  | {
      readonly type: "opened";
      readonly storage: BrowserStorage;
      /** The database's cr-sqlite site id. */
      readonly siteId: Uint8Array;
      /** True when this open moved the database from IndexedDB to OPFS. */
      readonly migrated: boolean;
      /** When each stage of the worker's start ended (ms since the epoch), in order. */
      readonly stages: readonly (readonly [string, number])[];
    }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "reply"; readonly reply: DbReply }
  | { readonly type: "closed" }
  | { readonly type: "sync-status"; readonly status: SyncStatus }
  /** The engine connects and needs the session token (`getToken`, in the page). */
  | { readonly type: "sync-token?"; readonly id: number }
  /** The engine applied the server's changes (tabs announce their own writes themselves). */
  | { readonly type: "sync-change"; readonly event: ChangeEvent }
  | { readonly type: "sync-synced"; readonly id: number }
  | { readonly type: "sync-stopped" };

/** Between the tabs of one database. */
export type BetweenTabs =
  /** A tab that is not leading asks who leads. */
  | { readonly type: "leader?" }
  /** The leader's worker has the database open: followers (re)send what is unanswered. */
  | { readonly type: "leader"; readonly storage: BrowserStorage; readonly siteId: Uint8Array }
  | { readonly type: "request"; readonly request: DbRequest }
  | { readonly type: "reply"; readonly reply: DbReply };
