import type { ErrorCode } from "./errors.js";
import type { SqlValue } from "./values.js";

/**
 * One row of `crsql_changes`. `dbVersion` is in the clock of the database the row was read from;
 * `siteId` is the site that made the change. `pk` is cr-sqlite's packed primary key.
 */
export interface Change {
  readonly table: string;
  readonly pk: Uint8Array;
  readonly cid: string;
  readonly val: SqlValue;
  readonly colVersion: number;
  readonly dbVersion: number;
  readonly siteId: Uint8Array;
  readonly cl: number;
  readonly seq: number;
}

/** Client -> server, first frame of a connection. */
export interface HelloFrame {
  readonly type: "hello";
  readonly schemaVersion: number;
  /** The client database's cr-sqlite site id (16 bytes). */
  readonly siteId: Uint8Array;
  /** Last server `db_version` the client has applied (server clock); 0 for a new client. */
  readonly serverVersion: number;
  /** The signed session token from `/api/login`. */
  readonly token: string;
  /**
   * The server database's incarnation that `serverVersion` belongs to (16 bytes), or empty when
   * the client has none yet. Another incarnation than the server's makes it stream from 0.
   */
  readonly incarnation: Uint8Array;
}

/** Server -> client, the answer to a valid hello. */
export interface WelcomeFrame {
  readonly type: "welcome";
  readonly schemaVersion: number;
  /** The server database's site id. */
  readonly siteId: Uint8Array;
  /** Last client `db_version` the server has applied from this client's site (client clock). */
  readonly clientVersion: number;
  /** The server database's `db_version` now (server clock): the catch-up is complete at this cursor. */
  readonly serverVersion: number;
  /**
   * The server database's incarnation (16 bytes): it changes whenever the database's history is
   * not the one clients saw (restored from a backup, replaced, recreated). A client that sees a
   * new one sends every change it holds, whoever made it, and downloads from 0.
   */
  readonly incarnation: Uint8Array;
}

/**
 * Changes from one side. Once the receiver has applied the frame it holds every change of the
 * sender up to the frame's version, and stores that version in the same transaction. `partial`
 * says the last transaction continues in the next frame; the receiver applies nothing until a
 * frame with `partial: false` completes it. Both directions have the same bytes on the wire; the
 * version field is named for whose clock it is in.
 */
export interface ClientChangesFrame {
  readonly type: "changes";
  /** The client database's `db_version` these changes complete (client clock). */
  readonly clientVersion: number;
  readonly partial: boolean;
  readonly changes: readonly Change[];
}

/** Server -> client changes; see `ClientChangesFrame`. */
export interface ServerChangesFrame {
  readonly type: "changes";
  /** The server database's `db_version` these changes complete (server clock). */
  readonly serverVersion: number;
  readonly partial: boolean;
  readonly changes: readonly Change[];
}

/** Client -> server: "I have applied and stored your changes up to `serverVersion`". */
export interface ClientAckFrame {
  readonly type: "ack";
  readonly serverVersion: number;
}

/** Server -> client: "I have applied and stored your changes up to `clientVersion`". */
export interface ServerAckFrame {
  readonly type: "ack";
  readonly clientVersion: number;
}

/** A refusal. When `fatal`, the sender closes the connection after it. */
export interface ErrorFrame {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  readonly fatal: boolean;
}

/** What a client sends. */
export type ClientFrame = HelloFrame | ClientChangesFrame | ClientAckFrame | ErrorFrame;
/** What a server sends. */
export type ServerFrame = WelcomeFrame | ServerChangesFrame | ServerAckFrame | ErrorFrame;
export type FrameType = ClientFrame["type"] | ServerFrame["type"];
