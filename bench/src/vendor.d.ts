// PouchDB ships no types; only what the benchmarks use is declared.
declare module "pouchdb-core" {
  interface Changes {
    on(event: "change", listener: (change: { id: string; doc?: unknown }) => void): Changes;
    on(event: "complete" | "error", listener: (info: unknown) => void): Changes;
    cancel(): void;
  }
  interface Replication extends PromiseLike<unknown> {
    cancel(): void;
  }
  interface PouchInstance<T> {
    info(): Promise<{ doc_count: number }>;
    put(doc: T): Promise<{ rev: string }>;
    bulkDocs(docs: T[]): Promise<unknown[]>;
    changes(options: Record<string, unknown>): Changes;
    sync(remote: string, options: Record<string, unknown>): Replication;
    replicate: {
      from(remote: string, options?: Record<string, unknown>): Replication;
      to(remote: string, options?: Record<string, unknown>): Replication;
    };
    destroy(): Promise<void>;
  }
  interface PouchStatic {
    new <T = unknown>(name: string, options?: Record<string, unknown>): PouchInstance<T>;
    plugin(plugin: unknown): PouchStatic;
    defaults(options: Record<string, unknown>): PouchStatic;
  }
  const PouchDB: PouchStatic;
  export default PouchDB;
}
declare module "pouchdb-adapter-memory";
declare module "pouchdb-adapter-http";
declare module "pouchdb-replication";
