export { createDatabase, applySchema, SYNC_STATE_TABLE } from "./database.js";
export type {
  Database,
  DatabaseDriver,
  SqlExecutor,
  Statement,
  ChangeEvent,
  ChangeOrigin,
} from "./database.js";
export { createSyncClient } from "./sync/sync-client.js";
export type { SyncClient, SyncClientOptions } from "./sync/sync-client.js";
export { INITIAL_STATUS, SyncErrorCode, isSynced } from "./sync/status.js";
export type { SyncState, SyncStatus } from "./sync/status.js";
export type { Dial, WebSocketConstructor } from "./sync/websocket.js";
export { webSocketDial } from "./sync/websocket.js";
export { backoffDelay, type NetworkHints } from "./sync/reconnect.js";
export {
  createNotesApi,
  HISTORY_INTERVAL_MS,
  HISTORY_PER_NOTE,
  type Note,
  type NotesApi,
  type NotesApiOptions,
  type NoteDraft,
  type NoteVersion,
  type NewNote,
  type NoteSort,
  type ListOptions,
  type TagCount,
} from "./notes/notes-api.js";
export {
  STORED_ORIGIN,
  type NoteDocument,
  type NoteDocumentOptions,
} from "./notes/note-document.js";
export { Y, replaceText, normalizeTag, MAX_TAG_LENGTH } from "@notesync/protocol";
export { coalesced } from "./coalesce.js";
