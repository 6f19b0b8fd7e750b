export { PROTOCOL_VERSION } from "./version.js";
export * from "./schema.js";
export * from "./values.js";
export * from "./errors.js";
export * from "./limits.js";
export type * from "./frames.js";
export {
  encodeClientFrame,
  encodeServerFrame,
  decodeClientFrame,
  decodeServerFrame,
  REAL_EXT_TYPE,
  INCARNATION_BYTES,
  type DecodeResult,
} from "./codec.js";
export {
  chunkChanges,
  estimateChangeBytes,
  TransactionAssembler,
  type ChangeChunk,
  type ChunkOptions,
} from "./chunk.js";
export type { FrameSocket } from "./transport.js";
export { systemClock, type Clock, type ClockTimer } from "./clock.js";
export * from "./changes-sql.js";
export * from "./note-doc.js";
export { unpackPk, type PkValue } from "./packed-pk.js";
export * from "./note-text.js";
export { changeProblem, changeShapeProblem, MAX_COUNTER } from "./change-rules.js";
export { sameBytes } from "./bytes.js";
