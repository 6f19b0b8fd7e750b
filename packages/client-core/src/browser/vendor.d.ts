declare module "@vlcn.io/wa-sqlite/src/examples/IDBBatchAtomicVFS.js" {
  export class IDBBatchAtomicVFS {
    constructor(
      name: string,
      options?: { durability?: "default" | "strict" | "relaxed"; purge?: "deferred" | "manual" },
    );
  }
}
declare module "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js" {
  /** SQLite files in one OPFS directory, through synchronous access handles (dedicated workers only). */
  export class AccessHandlePoolVFS {
    constructor(directoryPath: string);
    readonly name: string;
    readonly isReady: Promise<void>;
    getSize(): number;
    getCapacity(): number;
    addCapacity(n: number): Promise<number>;
    xDelete(name: string, syncDir: number): number;
    xOpen(name: string | null, fileId: number, flags: number, pOutFlags: DataView): number;
    xRead(fileId: number, pData: Uint8Array, iOffset: number): number;
    xWrite(fileId: number, pData: Uint8Array, iOffset: number): number;
    xSync(fileId: number, flags: number): number;
    xTruncate(fileId: number, iSize: number): number;
    xFileSize(fileId: number, pSize64: DataView): number;
    xClose(fileId: number): number;
    close(): Promise<void>;
  }
}
declare module "@vlcn.io/wa-sqlite/dist/crsqlite-sync.mjs" {
  /** The wasm build without Asyncify: synchronous VFSes only (the OPFS access-handle pool). */
  const factory: (config?: object) => Promise<unknown>;
  export default factory;
}
declare module "@vlcn.io/wa-sqlite/dist/crsqlite.mjs" {
  /** The wasm build with Asyncify: asynchronous VFSes too (IndexedDB). */
  const factory: (config?: { locateFile?: (file: string) => string }) => Promise<unknown>;
  export default factory;
}
