export { createDatabase, applySchema, SYNC_STATE_TABLE } from "./database.js";
export type {
  Database,
  DatabaseDriver,
  SqlExecutor,
  ChangeEvent,
  ChangeOrigin,
} from "./database.js";
export { createSyncClient } from "./sync-client.js";
export type {
  SyncClient,
  SyncClientOptions,
  SyncState,
  SyncStatus,
  WebSocketConstructor,
} from "./sync-client.js";
export { backoffDelay } from "./backoff.js";
export {
  createNotesApi,
  HISTORY_INTERVAL_MS,
  HISTORY_PER_NOTE,
  type Note,
  type NotesApi,
  type NoteDraft,
  type NoteVersion,
} from "./notes.js";
export { coalesced } from "./coalesce.js";
