declare module "@vlcn.io/wa-sqlite/src/examples/IDBBatchAtomicVFS.js" {
  export class IDBBatchAtomicVFS {
    constructor(
      name: string,
      options?: { durability?: "default" | "strict" | "relaxed"; purge?: "deferred" | "manual" },
    );
  }
}
