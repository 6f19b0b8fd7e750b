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
