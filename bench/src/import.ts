import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { here, repo, tmp } from "./common.js";
import { PouchDB } from "./pouch.js";
import { startChild } from "./procs.js";
import { table } from "./stats.js";

/** A note document as a PouchDB notes app writes it. */
const doc = (i: number) => ({
  _id: `note-${String(i).padStart(7, "0")}`,
  title: `Note ${i}`,
  body: `Body of note ${i}: ${"lorem ipsum dolor sit amet ".repeat(4)}`,
  createdAt: 1_700_000_000_000 + i * 1000,
  updatedAt: 1_700_000_000_000 + i * 1000 + 500,
  tags: i % 10 === 0 ? ["work"] : [],
});

/** Runs the built `notesync-import` CLI, as an operator would; resolves with its exit code. */
function runImporter(args: string[]): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [path.join(repo, "packages/import/bin/notesync-import.js"), ...args],
      { stdio: ["ignore", "ignore", process.env.BENCH_DEBUG ? "inherit" : "ignore"] },
    );
    child.once("error", reject);
    child.once("exit", resolve);
  });
}

/**
 * `notesync-import couchdb` of N documents (default 100,000) from the CouchDB stand-in
 * (express-pouchdb on the memory adapter, in its own process) into a new NoteSync data
 * directory (SQLite files on disk: notes, Yjs text rows, tags), beside PouchDB's own replication
 * of the same database into a PouchDB memory database in this process, in the same run.
 */
export async function importSpeed(count = 100_000): Promise<string> {
  const couch = await startChild(path.join(here, "../src/peers/pouch-server.cjs"));
  const dir = tmp("bench-import-");
  const remote = `${couch.url}/notes`;
  try {
    await fetch(remote, { method: "PUT" });
    for (let i = 0; i < count; i += 5000) {
      const docs = Array.from({ length: Math.min(5000, count - i) }, (_, k) => doc(i + k));
      const res = await fetch(`${remote}/_bulk_docs`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ docs }),
      });
      if (!res.ok) throw new Error(`filling the stand-in: ${res.status}`);
    }
    console.log(`  ${count.toLocaleString("en-US")} documents in the CouchDB stand-in`);

    const dataDir = path.join(dir, "data");
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dir, "pw"), "benchmark-password\n");
    let t0 = performance.now();
    const code = await runImporter([
      "couchdb",
      remote,
      "--user",
      "bench",
      "--password-file",
      path.join(dir, "pw"),
      "--data-dir",
      dataDir,
    ]);
    const importMs = performance.now() - t0;
    if (code !== 0) throw new Error(`notesync-import exited with ${code}`);
    console.log(`  notesync-import: ${(importMs / 1000).toFixed(1)} s`);

    const local = new PouchDB(`bench-import-${Date.now()}`, { adapter: "memory" });
    t0 = performance.now();
    await local.replicate.from(remote, { batch_size: 500 });
    const pouchMs = performance.now() - t0;
    const replicated = (await local.info()).doc_count;
    if (replicated !== count) throw new Error(`PouchDB replicated ${replicated} of ${count}`);
    console.log(`  PouchDB replication: ${(pouchMs / 1000).toFixed(1)} s`);
    await local.destroy();

    const perSecond = (ms: number) => Math.round(count / (ms / 1000)).toLocaleString("en-US");
    return table(
      ["documents from CouchDB (express-pouchdb)", "seconds", "documents/s", "speed / importer's"],
      [
        [
          "notesync-import couchdb (batches of 500, SQLite on disk)",
          (importMs / 1000).toFixed(1),
          perSecond(importMs),
          "1.0x",
        ],
        [
          "PouchDB replicate.from (batches of 500, memory adapter)",
          (pouchMs / 1000).toFixed(1),
          perSecond(pouchMs),
          `${(importMs / pouchMs).toFixed(2)}x`,
        ],
      ],
    );
  } finally {
    await couch.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
