export { startServer, type RunningServer, type ServerOptions } from "./server.js";
export { UserDatabase, StorageError } from "./user-db.js";
export { SyncHost, type SyncHostOptions } from "./sync/sync-host.js";
export { SyncSession } from "./sync/session.js";
export { wsSessionSocket, type SessionSocket } from "./sync/session-socket.js";
export { TokenService, type SessionRegistry } from "./tokens.js";
export { s3Store, parseBackupUrl, type ObjectStore } from "./backup/object-store.js";
export { restoreFromBackup, type RestoreOptions } from "./backup/restore.js";
export {
  startLocalCluster,
  type LocalCluster,
  type LocalClusterOptions,
  type LocalNode,
} from "./local-cluster/local-cluster.js";
export { AccountStore, SqliteAccountRecords, type AccountRecords } from "./accounts.js";
export { AccountFailure } from "./accounts.js";
export { ImportWriter, addCounts, emptyCounts, type WriteCounts } from "./import/import-writer.js";
export {
  NoteMapper,
  DEFAULT_FIELDS,
  NOTE_FIELDS,
  fieldMapping,
  type FieldOverrides,
  type MapFunction,
  type MappedNote,
} from "./import/note-mapping.js";
export type {
  ImportedNote,
  ImportedVersion,
  ImportedDeletion,
  UnmappedDocument,
} from "./import/imported-note.js";
export {
  convertChanges,
  hasConflicts,
  type CouchChange,
  type CouchDoc,
  type AttachmentStub,
  type ConvertedChanges,
} from "./import/couch-changes.js";
export {
  freePort,
  spawnManaged,
  waitForHttp,
  type ManagedProcess,
} from "./local-cluster/processes.js";
