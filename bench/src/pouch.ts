import PouchDBCore from "pouchdb-core";
import PouchMemory from "pouchdb-adapter-memory";
import PouchHttp from "pouchdb-adapter-http";
import PouchReplication from "pouchdb-replication";

/** PouchDB with the memory and HTTP adapters and replication (plugins can be added only once). */
export const PouchDB = PouchDBCore.plugin(PouchMemory).plugin(PouchHttp).plugin(PouchReplication);
