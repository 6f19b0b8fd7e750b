export { createDatabase, applySchema, SYNC_STATE_TABLE } from "./database.js";
export type {
  Database,
  DatabaseDriver,
  SqlExecutor,
  ChangeEvent,
  ChangeOrigin,
} from "./database.js";
export { createSyncClient, SyncErrorCode } from "./sync-client.js";
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
