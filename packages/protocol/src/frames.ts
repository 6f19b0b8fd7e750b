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
}

/**
 * Changes in either direction. `cursor` is in the sender's clock: once the receiver has applied
 * this frame it holds every change of the sender up to `cursor`, and stores it in the same
 * transaction. `partial` says the last transaction continues in the next frame; the receiver
 * applies nothing until a frame with `partial: false` completes it.
 */
export interface ChangesFrame {
  readonly type: "changes";
  readonly cursor: number;
  readonly partial: boolean;
  readonly changes: readonly Change[];
}

/** "I have applied (and durably recorded) your changes up to `cursor`", in the receiver's clock of the peer. */
export interface AckFrame {
  readonly type: "ack";
  readonly cursor: number;
}

/** A refusal. When `fatal`, the sender closes the connection after it. */
export interface ErrorFrame {
  readonly type: "error";
  readonly code: ErrorCode;
  readonly message: string;
  readonly fatal: boolean;
}

export type ClientFrame = HelloFrame | ChangesFrame | AckFrame | ErrorFrame;
export type ServerFrame = WelcomeFrame | ChangesFrame | AckFrame | ErrorFrame;
export type Frame = ClientFrame | ServerFrame;
export type FrameType = Frame["type"];
