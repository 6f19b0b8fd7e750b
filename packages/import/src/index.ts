export { importCouchDb, type CouchImportOptions } from "./couchdb-import.js";
export { importPostgres, type PostgresImportOptions } from "./postgres-import.js";
export { CouchDatabase, CouchError } from "./couchdb-client.js";
export { DataDirectory, passwordFile, type PasswordSource } from "./accounts.js";
export { loadMapper } from "./mapping-file.js";
export {
  formatReport,
  progressLine,
  ATTACHMENT_REASON,
  type ImportReport,
  type AttachmentRef,
} from "./report.js";
