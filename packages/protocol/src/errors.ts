/** Why a frame or a connection was refused. Sent in `error` frames; callers switch on it. */
export const ErrorCode = {
  /** Bytes that are not one msgpack value, or not a frame of any known shape. */
  MalformedFrame: "malformed_frame",
  /** A frame larger than the receiver's limit, or a batch with too many changes. */
  FrameTooLarge: "frame_too_large",
  /** The frame's protocol version is not one the receiver speaks. */
  ProtocolVersion: "protocol_version",
  /** Client and server have different schema versions: the older side must upgrade. */
  SchemaMismatch: "schema_mismatch",
  /** A change names a table or column the schema does not have. */
  UnknownTableOrColumn: "unknown_table_or_column",
  /** The token is missing, malformed, expired or not signed by this server. */
  Unauthorized: "unauthorized",
  /** A frame that is valid but not allowed now (for example changes before hello). */
  UnexpectedFrame: "unexpected_frame",
  /**
   * A bound of the server was reached: connections per user, storage per user, the time to say
   * hello. Retry later (with backoff); what was refused was not stored.
   */
  LimitReached: "limit_reached",
  /** The user's database could not be opened or written (for example a corrupt file). */
  StorageFailed: "storage_failed",
  /** The server is shutting down; reconnect later. */
  GoingAway: "going_away",
  /** Anything else the receiver could not handle. */
  Internal: "internal",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const CODES = new Set<string>(Object.values(ErrorCode));
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && CODES.has(value);
}

/** A protocol failure with a code a caller can switch on. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "ProtocolError";
  }
}
