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
  readonly op: "exec" | "query" | "execMany";
  readonly sql: string;
  readonly params?: readonly unknown[];
  readonly lists?: readonly (readonly unknown[])[];
  /**
   * Record the write's seq in the database with it, so that a new leader can tell whether it
   * landed. Followers ask for it; the leading tab's own writes die with its worker anyway.
   */
  readonly track: boolean;
}

export type DbReply =
  | { readonly client: string; readonly seq: number; readonly ok: true; readonly rows?: unknown[] }
  | {
      readonly client: string;
      readonly seq: number;
      readonly ok: false;
      readonly error: { readonly name: string; readonly message: string };
    };

/** Where the database is stored: OPFS through synchronous access handles, or IndexedDB. */
export type BrowserStorage = "opfs" | "indexeddb";

/** From the leading tab to its worker. */
export type ToWorker =
  | {
      readonly type: "open";
      readonly name: string;
      readonly wasmUrl: string;
    }
  | { readonly type: "request"; readonly request: DbRequest }
  | { readonly type: "close" };

/** From the worker to its tab. */
export type FromWorker =
  | {
      readonly type: "opened";
      readonly storage: BrowserStorage;
      /** True when this open moved the database from IndexedDB to OPFS. */
      readonly migrated: boolean;
    }
  | { readonly type: "failed"; readonly message: string }
  | { readonly type: "reply"; readonly reply: DbReply }
  | { readonly type: "closed" };

/** Between the tabs of one database. */
export type BetweenTabs =
  /** A tab that is not leading asks who leads. */
  | { readonly type: "leader?" }
  /** The leader's worker has the database open: followers (re)send what is unanswered. */
  | { readonly type: "leader"; readonly storage: BrowserStorage }
  | { readonly type: "request"; readonly request: DbRequest }
  | { readonly type: "reply"; readonly reply: DbReply };
