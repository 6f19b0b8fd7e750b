import { loadCrsqlite } from "@notesync/crsqlite-native";
import {
  INSERT_CHANGE,
  SELECT_CHANGES,
  changeParams,
  rowToChange,
  schemaStatements,
  type RawChangeRow,
  newNoteDoc,
  newUpdateId,
  textEditUpdate,
} from "@notesync/protocol";
import Database from "better-sqlite3";
import { PouchDB } from "./pouch.js";
import path from "node:path";
import { device, here, signup, startNoteSync, tmp } from "./common.js";
import { startChild } from "./procs.js";
import { table } from "./stats.js";

const BODY = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. ".repeat(2);

/** Fills a client with `notes` notes (1,000 per transaction) and pushes them to the server. */
async function seed(syncUrl: string, token: string, dir: string, notes: number) {
  const writer = await device(dir, "writer", syncUrl, token);
  await writer.client.whenSynced();
  // As a client writes notes: the metadata row, and the text as one Yjs update row.
  for (let i = 0; i < notes; i += 1000) {
    const batch = Array.from({ length: Math.min(1000, notes - i) }, (_, k) => {
      const v = i + k;
      const doc = newNoteDoc();
      const update = textEditUpdate(doc, { title: `Note ${v}`, body: BODY })!;
      doc.destroy();
      return { id: `note-${v}`, t: 1700000000000 + v, update };
    });
    await writer.db.transaction(async (tx) => {
      await tx.execMany(
        `INSERT INTO notes (id, created_at, updated_at) VALUES (?, ?, ?)`,
        batch.map((n) => [n.id, n.t, n.t]),
      );
      await tx.execMany(
        `INSERT INTO note_updates (note_id, id, data) VALUES (?, ?, ?)`,
        batch.map((n) => [n.id, newUpdateId(), n.update]),
      );
    });
  }
  await writer.client.whenSynced();
  const [{ n }] = (await writer.db.query<{ n: number }>(
    "SELECT count(*) AS n FROM crsql_changes",
  )) as [{ n: number }];
  await writer.close();
  return { file: path.join(dir, "writer.db"), changes: n };
}

/** The engine's ceiling: read every change from one database and apply it to another, in one process. */
function inProcess(sourceFile: string, dir: string): number {
  const t0 = performance.now();
  const source = new Database(sourceFile, { readonly: true });
  loadCrsqlite(source);
  const target = new Database(path.join(dir, `ceiling-${Date.now()}.db`));
  target.pragma("journal_mode = WAL");
  loadCrsqlite(target);
  for (const sql of schemaStatements()) target.exec(sql);
  const rows = source
    .prepare(SELECT_CHANGES)
    .raw(true)
    .safeIntegers(true)
    .iterate() as IterableIterator<RawChangeRow>;
  const insert = target.prepare(INSERT_CHANGE);
  target.transaction(() => {
    for (const row of rows) {
      const p = changeParams(rowToChange(row));
      insert.run(p.map((v) => (typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v)));
    }
  })();
  const ms = performance.now() - t0;
  for (const db of [source, target]) {
    db.prepare("SELECT crsql_finalize()").get();
    db.close();
  }
  return ms;
}

async function noteSyncCatchUp(notes: number) {
  const server = await startNoteSync();
  const dir = tmp("bench-catchup-");
  try {
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const token = await signup(server.url, "catchup");
    const seeded = await seed(syncUrl, token, dir, notes);
    const t0 = performance.now();
    const fresh = await device(dir, "fresh", syncUrl, token);
    let progressEvents = 0;
    fresh.client.on("status", (s) => s.progress && progressEvents++);
    await fresh.client.whenSynced();
    const ms = performance.now() - t0;
    const [{ n }] = (await fresh.db.query<{ n: number }>("SELECT count(*) AS n FROM notes")) as [
      { n: number },
    ];
    if (n !== notes) throw new Error(`fresh client has ${n} notes, expected ${notes}`);
    await fresh.close();
    const ceiling = inProcess(seeded.file, dir);
    return { ms, ceiling, changes: seeded.changes, progressEvents };
  } finally {
    await server.stop();
  }
}

async function pouchCatchUp(notes: number) {
  const server = await startChild(path.join(here, "../src/peers/pouch-server.cjs"));
  try {
    const remote = `${server.url}/catchup${Date.now()}`;
    const writer = new PouchDB<Record<string, unknown>>(`w-${Math.random()}`, {
      adapter: "memory",
    });
    for (let i = 0; i < notes; i += 1000) {
      const docs = Array.from({ length: Math.min(1000, notes - i) }, (_, k) => ({
        _id: `note-${i + k}`,
        title: `Note ${i + k}`,
        body: BODY,
        pinned: 0,
        position: 0,
        created_at: 1700000000000 + i + k,
        updated_at: 1700000000000 + i + k,
        deleted_at: null,
      }));
      await writer.bulkDocs(docs);
    }
    await new PouchDB(remote).info();
    await writer.replicate.to(remote, { batch_size: 500 });
    const t0 = performance.now();
    const fresh = new PouchDB(`f-${Math.random()}`, { adapter: "memory" });
    await fresh.replicate.from(remote, { batch_size: 500 });
    const ms = performance.now() - t0;
    if ((await fresh.info()).doc_count !== notes) throw new Error("PouchDB catch-up incomplete");
    return ms;
  } finally {
    await server.stop();
  }
}

export async function catchUp(sizes = [10_000, 100_000]): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const notes of sizes) {
    const ours = await noteSyncCatchUp(notes);
    const rate = (ours.changes / ours.ms) * 1000;
    console.log(
      `  NoteSync ${notes} notes (${ours.changes} changes): ${(ours.ms / 1000).toFixed(2)} s, ${Math.round(rate)} changes/s; in-process ceiling ${(ours.ceiling / 1000).toFixed(2)} s (${((100 * ours.ceiling) / ours.ms).toFixed(0)}% of it); ${ours.progressEvents} progress updates`,
    );
    const pouchMs = await pouchCatchUp(notes);
    console.log(`  PouchDB  ${notes} docs: ${(pouchMs / 1000).toFixed(2)} s`);
    rows.push([
      notes,
      ours.changes,
      (ours.ms / 1000).toFixed(2),
      Math.round(rate),
      (ours.ceiling / 1000).toFixed(2),
      `${((100 * ours.ceiling) / ours.ms).toFixed(0)}%`,
      (pouchMs / 1000).toFixed(2),
      `${(pouchMs / ours.ms).toFixed(1)}x`,
    ]);
  }
  return table(
    [
      "notes",
      "changes",
      "NoteSync s",
      "changes/s",
      "in-process ceiling s",
      "share of ceiling",
      "PouchDB s",
      "PouchDB / NoteSync",
    ],
    rows,
  );
}
