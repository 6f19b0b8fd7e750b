// PouchDB and express-pouchdb ship no types; only what the tests use is declared.
declare module "pouchdb-core" {
  interface PouchStatic {
    plugin(plugin: unknown): PouchStatic;
    defaults(options: Record<string, unknown>): PouchStatic;
  }
  const PouchDB: PouchStatic;
  export default PouchDB;
}
declare module "pouchdb-adapter-memory";
declare module "pouchdb-adapter-http";
declare module "pouchdb-replication";
declare module "pouchdb-mapreduce";
declare module "express-pouchdb" {
  import type { RequestListener } from "node:http";
  export default function expressPouchDB(
    pouch: unknown,
    options: Record<string, unknown>,
  ): RequestListener;
}
