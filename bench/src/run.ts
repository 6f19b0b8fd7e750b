import os from "node:os";
import { backupCost } from "./backup.js";
import { browserLatency } from "./browser.js";
import { capacity } from "./capacity.js";
import { catchUp } from "./catchup.js";
import { importSpeed } from "./import.js";
import { liveLatency } from "./live.js";
import { nodesCapacity } from "./nodes.js";
import { search } from "./search.js";
import { soak } from "./soak.js";
import { tabSoak } from "./tab-soak.js";
import { startup } from "./startup.js";
import { typing } from "./typing.js";

// PouchDB's live replications keep retrying (and rejecting) after their server stops; ignore those.
process.on("unhandledRejection", (err) => {
  if (process.env.BENCH_DEBUG) console.warn("ignored:", err);
});

const which = new Set(process.argv.slice(2));
const want = (name: string) => which.size === 0 || which.has(name);
const list = (v: string | undefined) => v?.split(",").map(Number);

console.log(
  `NoteSync benchmarks, ${new Date().toISOString()}, node ${process.version}, ${os.cpus().length} cores, ${os.cpus()[0]?.model}`,
);
if (want("live")) {
  console.log("\n## Live latency: writer commit -> applied at every reader");
  console.log(await liveLatency(list(process.env.BENCH_READERS)));
}
if (want("backup")) {
  console.log("\n## Backup: what continuous backup to object storage costs");
  console.log(await backupCost());
}
if (want("catchup")) {
  console.log("\n## Catch-up: a fresh client pulls every note");
  console.log(await catchUp(list(process.env.BENCH_NOTES)));
}
if (want("typing")) {
  console.log("\n## Typing: one-character edits in a 30 KB note, writer -> reader");
  console.log(await typing());
}
if (want("search")) {
  console.log("\n## Search: 10,000 notes in a client's database");
  console.log(await search());
}
if (want("capacity")) {
  console.log("\n## Capacity: users with two connections each, a tenth writing once a second");
  console.log(await capacity(list(process.env.BENCH_USERS)));
}
if (want("soak")) {
  console.log("\n## Soak: what weeks of visits leave behind in the server");
  console.log(
    await soak(
      Number(process.env.BENCH_SOAK_USERS ?? 300),
      Number(process.env.BENCH_SOAK_ROUNDS ?? 60),
    ),
  );
}
if (want("tab-soak")) {
  console.log("\n## Tab soak: a tab left open while another device edits");
  console.log(await tabSoak(Number(process.env.BENCH_TAB_SOAK_ROUNDS ?? 20)));
}
if (want("nodes")) {
  console.log(
    "\n## Several nodes: the same users on one node and on two, behind HAProxy with etcd",
  );
  console.log(await nodesCapacity(Number(process.env.BENCH_NODE_USERS ?? 500)));
}
if (want("startup")) {
  console.log("\n## Start-up: a returning user's page load to a usable note list");
  console.log(
    await startup(
      Number(process.env.BENCH_STARTUP_NOTES ?? 10_000),
      Number(process.env.BENCH_STARTUP_SAMPLES ?? 10),
    ),
  );
}
if (want("browser")) {
  console.log("\n## Browser: keystroke in one Chromium context -> visible in another");
  console.log(await browserLatency());
}
if (want("import")) {
  console.log("\n## Import: notesync-import couchdb beside PouchDB's own replication (issue 17)");
  console.log(await importSpeed(list(process.env.BENCH_IMPORT_DOCS)?.[0]));
}
process.exit(0);
