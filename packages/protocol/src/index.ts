export { PROTOCOL_VERSION } from "./version.js";
export * from "./schema.js";
export * from "./values.js";
export * from "./errors.js";
export * from "./limits.js";
export type * from "./frames.js";
export { encodeFrame, decodeFrame, REAL_EXT_TYPE, type DecodeResult } from "./codec.js";
export {
  chunkChanges,
  estimateChangeBytes,
  TransactionAssembler,
  type ChunkOptions,
} from "./chunk.js";
export * from "./changes-sql.js";
export * from "./note-doc.js";
export { unpackPk, type PkValue } from "./packed-pk.js";
export * from "./note-text.js";
export { changeProblem, changeShapeProblem, MAX_COUNTER } from "./change-rules.js";
