import * as SQLite from "@vlcn.io/wa-sqlite";
import SQLiteSyncFactory from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.mjs";
import { SQLite3 } from "@vlcn.io/crsqlite-wasm";
import { AccessHandlePoolVFS } from "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js";

/**
 * The floor of start-up on this stack: the least a worker can do to list the newest notes of a
 * cr-sqlite database on OPFS. It opens the database with the same wasm build and VFS as the app
 * (the module compiling while the access handles open), and reads 30 titles; no schema check, no
 * sync, no lock between tabs. The first load fills the database with `notes` notes.
 */
/** When each stage ended (ms since the epoch), as NoteSync's worker reports its own. */
const stages: [string, number][] = [];
const stage = (name: string) => stages.push([name, performance.timeOrigin + performance.now()]);
stage("worker-script");
const wasm = SQLiteSyncFactory().then((module: unknown) => {
  stage("worker-wasm");
  return module;
});

/** The access handles; a reload's last worker lets go of them a moment after it ends. */
async function openPool(): Promise<AccessHandlePoolVFS> {
  for (let attempt = 0; ; attempt++) {
    const vfs = new AccessHandlePoolVFS("floor");
    try {
      await vfs.isReady;
      return vfs;
    } catch (err) {
      await vfs.close().catch(() => undefined);
      if ((err as Error).name !== "NoModificationAllowedError" || attempt >= 100) throw err;
      await new Promise((r) => setTimeout(r, 20 + attempt * 10));
    }
  }
}

async function listNewest(notes: number): Promise<string[]> {
  const vfs = await openPool();
  stage("worker-pool");
  const sqlite = new SQLite3(SQLite.Factory(await wasm));
  (sqlite as unknown as { base: { vfs_register(vfs: unknown): number } }).base.vfs_register(vfs);
  if (vfs.getCapacity() - vfs.getSize() < 4) await vfs.addCapacity(4);
  const db = await sqlite.open(`file:/floor.db?vfs=${vfs.name}`);
  stage("worker-sqlite-open");
  const [tables] = await db.execA<[number]>(
    "SELECT count(*) FROM sqlite_master WHERE name = 'notes'",
  );
  if (tables?.[0] === 0) {
    await db.exec(
      "CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, title TEXT, body TEXT, updated_at INTEGER)",
    );
    await db.exec("CREATE INDEX notes_updated ON notes (updated_at)");
    await db.exec("SELECT crsql_as_crr('notes')");
    await db.tx(async (tx) => {
      for (let i = 0; i < notes; i++)
        await tx.exec("INSERT INTO notes VALUES (?, ?, ?, ?)", [
          crypto.randomUUID(),
          `Note ${i}`,
          `Body of note ${i}: ${"some words ".repeat(20)}`,
          i,
        ]);
    });
  }
  const rows = await db.execA<[string]>(
    "SELECT title FROM notes ORDER BY updated_at DESC LIMIT 30",
  );
  return rows.map(([title]) => title);
}

self.onmessage = ({ data }: MessageEvent<{ notes: number }>) => {
  listNewest(data.notes).then(
    (titles) => {
      stage("worker-read");
      self.postMessage({ titles, stages });
    },
    (err: unknown) => self.postMessage({ error: String(err) }),
  );
};
