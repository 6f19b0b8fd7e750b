// pouchdb-browser ships no types; only what the import module uses is declared.
declare module "pouchdb-browser" {
  interface PouchInstance {
    changes(options: Record<string, unknown>): Promise<unknown>;
    get(id: string, options?: Record<string, unknown>): Promise<unknown>;
    bulkDocs(docs: unknown[], options?: Record<string, unknown>): Promise<unknown>;
    close(): Promise<void>;
  }
  const PouchDB: new (name: string, options?: Record<string, unknown>) => PouchInstance;
  export default PouchDB;
}
