import { newUpdateId, type Change } from "@notesync/protocol";
import { UserDatabase } from "@notesync/server";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { tmp } from "./common.js";
import { packTexts, typedUpdate } from "./soak.js";
import { mib } from "./stats.js";

/**
 * The soak's visits without sockets, to find where the server's RSS creeps (BENCHMARKS §3b):
 * `node --expose-gc bench/dist/soak-loop.js [visits] [both|positions|updates|no-compact|new-notes]`.
 * Each visit opens one of 50 database files in turn, applies five frames of the soak's edits of
 * the file's note, and closes it; every 1,000 visits the RSS is printed after a full collection,
 * with every database closed. `no-compact`: the Yjs updates, with the server's merging of a
 * note's update rows turned off; `new-notes`: both edits, of a new note at each visit.
 * With `SOAK_LOOP_TRIM=1` (gdb installed and allowed to attach), each sample also has glibc print
 * its arenas on stderr (`malloc_stats`) and give its free pages back (`malloc_trim`), and the RSS
 * after that is printed: what comes back was freed memory the allocator kept, not a leak.
 */
const visits = Number(process.argv[2] ?? 12_000);
const variant = process.argv[3] ?? "both";
const { gc } = globalThis as { gc?: () => void };
if (!gc) throw new Error("run with node --expose-gc");
const trim = process.env.SOAK_LOOP_TRIM === "1";
const dir = tmp("bench-soak-loop-");

function rssAfterMallocTrim(): number {
  execFileSync(
    "gdb",
    [
      "-p",
      String(process.pid),
      "-batch",
      "-ex",
      "call (void)malloc_stats()",
      "-ex",
      "call (int)malloc_trim(0)",
    ],
    { stdio: "ignore", timeout: 60_000 },
  );
  return process.memoryUsage().rss;
}

let version = 0;
try {
  for (let i = 1; i <= visits; i++) {
    const db = new UserDatabase(path.join(dir, `${i % 50}.db`));
    // (Its keeper of note text is private: reached as the running object has it.)
    if (variant === "no-compact")
      (db as unknown as { noteText: { compact(): boolean } }).noteText.compact = () => false;
    const site = crypto.randomBytes(16);
    const note = variant === "new-notes" ? `soak-${i}` : `soak-${i % 50}`;
    for (let k = 0; k < 5; k++) {
      const v = ++version;
      const common = { colVersion: v, dbVersion: v, siteId: site, cl: 1 };
      const changes: Change[] = [];
      if (variant !== "positions")
        changes.push({
          table: "note_updates",
          pk: packTexts([note, newUpdateId()]),
          cid: "data",
          val: typedUpdate(),
          seq: changes.length,
          ...common,
        });
      if (variant === "both" || variant === "positions" || variant === "new-notes")
        changes.push({
          table: "notes",
          pk: packTexts([note]),
          cid: "position",
          val: v,
          seq: changes.length,
          ...common,
        });
      db.applyFromClient(site, changes, v);
    }
    db.close();
    if (i % 1000 === 0) {
      gc();
      const { rss, heapUsed, external } = process.memoryUsage();
      console.log(
        `${variant} ${i} visits: RSS ${mib(rss)} MiB, heap ${mib(heapUsed)} MiB, external ${mib(external)} MiB`,
      );
      if (trim) console.log(`  after malloc_trim: RSS ${mib(rssAfterMallocTrim())} MiB`);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
