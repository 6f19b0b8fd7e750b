// What hot-journal-worker.ts uses of wa-sqlite's untyped modules.
declare module "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js" {
  export class AccessHandlePoolVFS {
    constructor(directoryPath: string);
    readonly name: string;
    readonly isReady: Promise<void>;
    xOpen(name: string, fileId: number, flags: number, pOutFlags: DataView): number;
    xRead(fileId: number, pData: Uint8Array, iOffset: number): number;
    xWrite(fileId: number, pData: Uint8Array, iOffset: number): number;
    xClose(fileId: number): number;
  }
}
declare module "@vlcn.io/wa-sqlite/dist/crsqlite-sync.mjs" {
  const factory: () => Promise<unknown>;
  export default factory;
}
