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

/**
 * What each error means for the connection, in one place (PROTOCOL.md §7): the WebSocket close
 * code that follows it, and whether a client should reconnect by itself (with backoff) or wait
 * until something changes (a new token, an app update).
 */
export const ERROR_RULES = {
  [ErrorCode.MalformedFrame]: { closeCode: 1008, retryable: true },
  [ErrorCode.FrameTooLarge]: { closeCode: 1009, retryable: true },
  [ErrorCode.ProtocolVersion]: { closeCode: 1008, retryable: false },
  [ErrorCode.SchemaMismatch]: { closeCode: 1008, retryable: false },
  [ErrorCode.UnknownTableOrColumn]: { closeCode: 1008, retryable: true },
  [ErrorCode.Unauthorized]: { closeCode: 1008, retryable: false },
  [ErrorCode.UnexpectedFrame]: { closeCode: 1008, retryable: true },
  [ErrorCode.LimitReached]: { closeCode: 1008, retryable: true },
  [ErrorCode.StorageFailed]: { closeCode: 1011, retryable: true },
  [ErrorCode.GoingAway]: { closeCode: 1001, retryable: true },
  [ErrorCode.Internal]: { closeCode: 1011, retryable: true },
} as const satisfies Record<ErrorCode, { closeCode: number; retryable: boolean }>;

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
