import v8 from "node:v8";
import { startServer } from "@notesync/server";

/**
 * The server for the soak benchmark: NoteSync's own `startServer`, in a process of its own, with
 * a small cache of open user databases (20, closed after a second idle), so that the benchmark's
 * users open and close their databases over and over as a server's users do over weeks.
 * Run with `--expose-gc`: on SIGUSR2 it collects garbage and prints `HEAP <heap bytes used> <external bytes>`, and with
 * `SOAK_SNAPSHOT_DIR` set also writes a heap snapshot there (to diff two of them).
 */
const [dataDir] = process.argv.slice(2);
if (!dataDir) throw new Error("usage: soak-server <data dir>");
const { gc } = globalThis as { gc?: () => void };
if (!gc) throw new Error("soak-server needs node --expose-gc");
const server = await startServer({
  dataDir,
  port: 0,
  secret: process.env.NOTESYNC_SECRET,
  logLevel: "warn",
  webRoot: null,
  maxOpenDatabases: 20,
  databaseIdleMs: 1000,
});
let snapshots = 0;
process.on("SIGUSR2", () => {
  gc();
  const { heapUsed, external } = process.memoryUsage();
  const dir = process.env.SOAK_SNAPSHOT_DIR;
  if (dir) v8.writeHeapSnapshot(`${dir}/soak-${++snapshots}.heapsnapshot`);
  console.log(`HEAP ${heapUsed} ${external}`);
});
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
console.log(`READY ${server.url}`);
