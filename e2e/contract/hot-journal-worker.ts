// Leaves the database called `name` as a worker killed while leaving WAL mode would: a
// transaction cut short (its rollback journal hot, pages of it already in the file) whose
// journal holds a page 1 that says WAL, while the file's own page 1 says rollback journal.
import { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import * as SQLite from "@vlcn.io/wa-sqlite";
import SQLiteSyncFactory from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.mjs";
import { AccessHandlePoolVFS } from "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js";

self.onmessage = async ({ data: name }: MessageEvent<string>) => {
  try {
    // client-core's layout: a directory per database, the file named after it.
    const vfs = new AccessHandlePoolVFS(`notesync/${encodeURIComponent(name)}`);
    await vfs.isReady;
    const sqlite = new SQLite3(SQLite.Factory(await SQLiteSyncFactory()));
    (sqlite as unknown as { base: { vfs_register(v: unknown): number } }).base.vfs_register(vfs);
    const path = `/${encodeURIComponent(name)}.db`;
    const db = await sqlite.open(`file:${path}?vfs=${vfs.name}`);
    await db.exec("PRAGMA journal_mode = persist");
    await db.exec("PRAGMA cache_size = 2"); // the transaction spills pages into the file
    await db.exec("BEGIN");
    await db.exec("CREATE TABLE cut_short (x BLOB)");
    await db.exec(
      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) INSERT INTO cut_short SELECT randomblob(2000) FROM n",
    );
    // The journal's copy of page 1 says WAL (bytes 18 and 19, outside its record's checksum).
    const id = 1_000_000;
    const flags = new DataView(new ArrayBuffer(4));
    if (vfs.xOpen(`${path}-journal`, id, 0x2 | 0x800, flags)) throw new Error("no journal");
    const header = new Uint8Array(28);
    vfs.xRead(id, header, 0);
    const view = new DataView(header.buffer);
    const [records, sector, page] = [view.getUint32(8), view.getUint32(20), view.getUint32(24)];
    let patched = false;
    for (let i = 0; i < records && !patched; i++) {
      const at = sector + i * (page + 8);
      const pgno = new Uint8Array(4);
      vfs.xRead(id, pgno, at);
      if (new DataView(pgno.buffer).getUint32(0) !== 1) continue;
      vfs.xWrite(id, new Uint8Array([2, 2]), at + 4 + 18);
      patched = true;
    }
    vfs.xClose(id);
    self.postMessage(patched ? "cut short" : `page 1 not in ${records} journal records`);
  } catch (err) {
    self.postMessage(`failed: ${String(err)}`);
  }
};
