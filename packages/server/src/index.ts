export { startServer, type RunningServer, type ServerOptions } from "./server.js";
export { UserDatabase, StorageError } from "./user-db.js";
