import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import WebSocket from "ws";
import { PouchDB } from "./pouch.js";
import path from "node:path";
import { device, here, signup, startNoteSync, tmp } from "./common.js";
import { startChild, sleep, waitUntil } from "./procs.js";
import { fmt, ratio, summarize, table, type Summary } from "./stats.js";

/**
 * Live latency: one user, one writer and N readers, all Node clients in this process; each
 * server in its own process. Per edit, the time from the writer's local commit until every
 * reader has applied it. Edits are sequential.
 */
type Stack = (readers: number, edits: number) => Promise<Summary>;

/** NoteSync's live latency; `env` configures its server (the backup benchmark turns backup on). */
export const noteSyncLatency = async (
  readers: number,
  edits: number,
  env: NodeJS.ProcessEnv = {},
  hooks: {
    before?: (serverUrl: string) => Promise<void>;
    after?: (serverUrl: string) => Promise<void>;
  } = {},
): Promise<Summary> => {
  const server = await startNoteSync(undefined, undefined, env);
  const dir = tmp("bench-live-");
  try {
    const token = await signup(server.url, "writer");
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const writer = await device(dir, "writer", syncUrl, token);
    const readerDevices = await Promise.all(
      Array.from({ length: readers }, (_, i) => device(dir, `r${i}`, syncUrl, token)),
    );
    await Promise.all([writer, ...readerDevices].map((d) => d.client.whenSynced()));
    // A metadata column: a note's text travels as Yjs rows (the typing benchmark measures those).
    await writer.db.exec("INSERT INTO notes (id, position) VALUES ('bench', 0.5)");
    let arrived = 0;
    let expect = 0;
    for (const r of readerDevices) {
      r.client.on("change", async (e) => {
        if (e.origin !== "remote") return;
        const [row] = await r.db.query<{ position: number }>(
          "SELECT position FROM notes WHERE id = 'bench'",
        );
        if (row?.position === expect) arrived++;
      });
    }
    await waitUntil(async () =>
      (
        await Promise.all(
          readerDevices.map(async (r) => (await r.db.query("SELECT 1 FROM notes")).length),
        )
      ).every((n) => n === 1),
    );
    await hooks.before?.(server.url);
    const samples: number[] = [];
    for (let i = 0; i < edits; i++) {
      arrived = 0;
      expect = i + 1.5;
      const t0 = performance.now();
      await writer.db.exec("UPDATE notes SET position = ? WHERE id = 'bench'", [expect]);
      await waitUntil(() => arrived >= readers, 30_000, 0);
      samples.push(performance.now() - t0);
      await sleep(2);
    }
    await Promise.all([writer, ...readerDevices].map((d) => d.close()));
    await hooks.after?.(server.url);
    return summarize(samples);
  } finally {
    await server.stop();
  }
};
const noteSync: Stack = (readers, edits) => noteSyncLatency(readers, edits);

const yjs: Stack = async (readers, edits) => {
  const server = await startChild(path.join(here, "../src/peers/yjs-server.cjs"));
  try {
    const connect = () => {
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(server.url, "bench-room", doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
      });
      return { doc, provider, map: doc.getMap<string>("note") };
    };
    const writer = connect();
    const rs = Array.from({ length: readers }, connect);
    await waitUntil(() => [writer, ...rs].every((c) => c.provider.synced), 30_000, 5);
    let arrived = 0;
    let expect = "";
    for (const r of rs) r.map.observe(() => r.map.get("title") === expect && arrived++);
    const samples: number[] = [];
    for (let i = 0; i < edits; i++) {
      arrived = 0;
      expect = `edit ${i}`;
      const t0 = performance.now();
      writer.map.set("title", expect);
      await waitUntil(() => arrived >= readers, 30_000, 0);
      samples.push(performance.now() - t0);
      await sleep(2);
    }
    for (const c of [writer, ...rs]) c.provider.destroy();
    return summarize(samples);
  } finally {
    await server.stop();
  }
};

type PouchDoc = { _id: string; _rev?: string; title: string };

const pouch: Stack = async (readers, edits) => {
  const server = await startChild(path.join(here, "../src/peers/pouch-server.cjs"));
  const remote = `${server.url}/bench${Date.now()}`;
  try {
    await new PouchDB(remote).info(); // creates the database
    const open = (name: string) => {
      const db = new PouchDB<PouchDoc>(`${name}-${Math.random()}`, { adapter: "memory" });
      const sync = db.sync(remote, { live: true, retry: true });
      return { db, sync };
    };
    const writer = open("writer");
    const rs = Array.from({ length: readers }, (_, i) => open(`r${i}`));
    let arrived = 0;
    let expect = "";
    const feeds = rs.map((r) =>
      r.db.changes({ live: true, since: "now", include_docs: true }).on("change", (c) => {
        if ((c.doc as PouchDoc | undefined)?.title === expect) arrived++;
      }),
    );
    await sleep(1000);
    let rev: string | undefined;
    const samples: number[] = [];
    for (let i = 0; i < edits; i++) {
      arrived = 0;
      expect = `edit ${i}`;
      const t0 = performance.now();
      rev = (await writer.db.put({ _id: "bench", title: expect, ...(rev ? { _rev: rev } : {}) }))
        .rev;
      await waitUntil(() => arrived >= readers, 60_000, 0);
      samples.push(performance.now() - t0);
      await sleep(2);
    }
    feeds.forEach((f) => f.cancel());
    for (const c of [writer, ...rs]) c.sync.cancel();
    return summarize(samples);
  } finally {
    await server.stop();
  }
};

export const stacks = { noteSync, yjs, pouch };

export async function liveLatency(readerCounts = [1, 10, 100]): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const n of readerCounts) {
    const edits = n >= 100 ? 100 : 200;
    const ours = await noteSync(n, edits);
    console.log(`  NoteSync     N=${n}: ${fmt(ours)}`);
    const y = await yjs(n, edits);
    console.log(`  y-websocket  N=${n}: ${fmt(y)}`);
    const p = await pouch(n, n >= 100 ? 20 : n >= 10 ? 50 : 100);
    console.log(`  PouchDB      N=${n}: ${fmt(p)}`);
    rows.push([
      `NoteSync, ${n} reader${n > 1 ? "s" : ""}`,
      ours.median.toFixed(2),
      ours.p95.toFixed(2),
      ours.p99.toFixed(2),
      "1.0x",
    ]);
    rows.push([
      `y-websocket (memory), ${n}`,
      y.median.toFixed(2),
      y.p95.toFixed(2),
      y.p99.toFixed(2),
      ratio(ours.p99, y.p99),
    ]);
    rows.push([
      `PouchDB <-> express-pouchdb (memory), ${n}`,
      p.median.toFixed(2),
      p.p95.toFixed(2),
      p.p99.toFixed(2),
      ratio(ours.p99, p.p99),
    ]);
  }
  return table(["stack, readers", "median ms", "p95 ms", "p99 ms", "p99 vs NoteSync"], rows);
}
