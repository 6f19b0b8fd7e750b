import { Y, encodeClientFrame, newNoteDoc, newUpdateId, type Change } from "@notesync/protocol";
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { connect, inBatches, token, withAccounts } from "./capacity.js";
import { here } from "./common.js";
import {
  openFiles,
  processTree,
  rssOf,
  sleep,
  startChild,
  withTimeout,
  type Child,
} from "./procs.js";
import { kibPer1000, mib, table } from "./stats.js";

/** One sample of the server between rounds, once its idle databases have closed. */
interface Sample {
  /** 0: just started, before any visit. */
  readonly round: number;
  readonly connections: number;
  readonly rssBytes: number;
  /** V8's heap in use right after a full garbage collection. */
  readonly heapBytes: number;
  /** Memory outside the heap that JS objects hold (Buffers, ArrayBuffers), after that collection. */
  readonly externalBytes: number;
  readonly fds: number;
  /** User databases still open when sampled (0 unless some stayed open 30 s after their visit). */
  readonly databasesOpen: number;
  /** How long after the round's last visit its databases were all closed (ms). */
  readonly closedAfterMs: number;
}

const textEncoder = new TextEncoder();

/** cr-sqlite's packed primary key of text columns (each shorter than 256 bytes). */
export function packTexts(values: readonly string[]): Uint8Array {
  const bytes = [values.length];
  for (const value of values) {
    const raw = textEncoder.encode(value);
    bytes.push(0x0b, raw.length, ...raw);
  }
  return Uint8Array.from(bytes);
}

/** A Yjs update of a note's document: a new client typing 40 characters into its body. */
export function typedUpdate(): Uint8Array {
  const doc = newNoteDoc();
  doc.getText("body").insert(0, "soak ".repeat(8));
  return Y.encodeStateAsUpdate(doc);
}

/**
 * Asks the soak server to collect garbage and say how much heap and external memory it uses
 * after (a line `HEAP <heap bytes> <external bytes>` on its output).
 */
function heapAfterGc(server: Child): Promise<{ heap: number; external: number }> {
  const stdout = server.proc.stdout!;
  return new Promise((resolve, reject) => {
    let out = "";
    const done = (settle: () => void) => {
      clearTimeout(timer);
      stdout.off("data", read);
      server.proc.off("exit", gone);
      settle();
    };
    const read = (d: Buffer) => {
      out += d.toString();
      const m = /^HEAP (\d+) (\d+)$/m.exec(out);
      if (m) done(() => resolve({ heap: Number(m[1]), external: Number(m[2]) }));
    };
    const gone = () => done(() => reject(new Error("the soak server ended")));
    const timer = setTimeout(
      () => done(() => reject(new Error("the soak server did not report its heap in 30 s"))),
      30_000,
    );
    stdout.on("data", read);
    server.proc.once("exit", gone);
    server.proc.kill("SIGUSR2");
  });
}

/** Waits until none of the server's user databases is open, at most `limitMs`; how long it took. */
async function databasesClosed(server: Child, limitMs: number): Promise<number> {
  const start = performance.now();
  while (server.openUserDatabases() > 0 && performance.now() - start < limitMs) await sleep(100);
  return performance.now() - start;
}

/** The server's memory and files now. */
async function sample(
  server: Child,
  round: number,
  connections: number,
  closedAfterMs: number,
): Promise<Sample> {
  const { heap: heapBytes, external: externalBytes } = await heapAfterGc(server);
  const pids = processTree(server.proc.pid!);
  const s: Sample = {
    round,
    connections,
    heapBytes,
    externalBytes,
    rssBytes: pids.reduce((sum, pid) => sum + rssOf(pid), 0),
    fds: openFiles(pids),
    databasesOpen: server.openUserDatabases(),
    closedAfterMs,
  };
  console.log(
    `  round ${round}: ${connections} connections so far; RSS ${mib(s.rssBytes)} MiB, heap ${mib(s.heapBytes)} MiB, external ${mib(s.externalBytes)} MiB, ${s.fds} open files, ${s.databasesOpen} user databases open (${closedAfterMs.toFixed(0)} ms to close)`,
  );
  return s;
}

/** Counter versions that only grow across the whole run, so every write wins its cell. */
let version = 0;

/**
 * One user's visit: two devices connect and catch up; one sends five edits of the user's note
 * (Yjs updates of its text, and its position as the marker) and the other receives them; a third
 * connection sends a malformed frame and is refused. One device closes its socket, the other
 * just drops it.
 */
async function visit(syncUrl: string, jwt: string, userIndex: number): Promise<void> {
  const writer = await connect(syncUrl, jwt);
  const reader = await connect(syncUrl, jwt);
  const first = version + 1;
  version += 5;
  const last = version;
  const received = new Promise<void>((resolve) => {
    reader.onChanges = (f) => {
      if (f.changes.some((c) => c.cid === "position" && Number(c.val) === last)) resolve();
    };
  });
  for (let v = first; v <= last; v++) {
    const common = { colVersion: v, dbVersion: v, siteId: writer.siteId, cl: 1 };
    const changes: Change[] = [
      {
        table: "note_updates",
        pk: packTexts([`soak-${userIndex}`, newUpdateId()]),
        cid: "data",
        val: typedUpdate(),
        seq: 0,
        ...common,
      },
      {
        table: "notes",
        pk: packTexts([`soak-${userIndex}`]),
        cid: "position",
        val: v,
        seq: 1,
        ...common,
      },
    ];
    writer.ws.send(
      encodeClientFrame({ type: "changes", clientVersion: v, partial: false, changes }),
    );
  }
  await withTimeout(
    received,
    10_000,
    "the other device did not receive the edits in 10 s (see the server's log)",
  );
  const rude = new WebSocket(syncUrl);
  await new Promise<void>((resolve, reject) => {
    rude.once("error", reject);
    rude.once("open", () => rude.send(Uint8Array.from([0xc1, 0xff, 0x00, 0x13])));
    rude.once("close", () => resolve());
  });
  const closed = new Promise((resolve) => writer.ws.once("close", resolve));
  writer.ws.close();
  reader.ws.terminate();
  await closed;
}

/**
 * What weeks of use leave behind in the server: `rounds` rounds in which `perRound` of `users`
 * users (in turn, so that their databases close and open again) each make one visit. The server
 * is sampled at start and after each round, once its idle databases have closed: its memory, its
 * heap after a full collection and its open files. The baseline is round `baselineRound`.
 */
export async function soak(
  users = 300,
  rounds = 60,
  perRound = 100,
  baselineRound = 5,
): Promise<string> {
  if (rounds <= baselineRound)
    throw new Error(`a soak needs more rounds than its baseline's (${baselineRound})`);
  const { dataDir, userIds } = await withAccounts(users);
  const samples: Sample[] = [];
  let server: Child | null = null;
  try {
    server = await startChild(path.join(here, "soak-server.js"), [dataDir], {
      NOTESYNC_SECRET: "bench-secret-bench-secret",
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc`,
    });
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const tokens = await Promise.all(userIds.map((id) => token(id)));
    samples.push(await sample(server, 0, 0, 0));
    let connections = 0;
    let next = 0;
    for (let round = 1; round <= rounds; round++) {
      await inBatches(perRound, 25, async () => {
        const i = next++ % users;
        await visit(syncUrl, tokens[i]!, i);
      });
      connections += perRound * 3;
      // Databases close after a second idle; one still open after 30 s is reported as such.
      const closedAfterMs = await databasesClosed(server, 30_000);
      samples.push(await sample(server, round, connections, closedAfterMs));
    }
  } finally {
    await server?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return report(samples, baselineRound);
}

function report(samples: readonly Sample[], baselineRound: number): string {
  const start = samples[0]!;
  const base = samples[baselineRound]!;
  const end = samples.at(-1)!;
  const done = end.connections - base.connections;
  const rows = samples
    .filter((s) => s.round <= 1 || s.round % 10 === 0 || s === base || s === end)
    .map((s) => [
      s.round,
      s.connections,
      mib(s.rssBytes),
      (s.rssBytes / base.rssBytes).toFixed(2),
      mib(s.heapBytes),
      (s.heapBytes / base.heapBytes).toFixed(2),
      mib(s.externalBytes),
      s.fds,
      s.databasesOpen,
    ]);
  const slowestClose = Math.max(...samples.map((s) => s.closedAfterMs));
  return [
    table(
      [
        "round",
        "connections so far",
        "RSS MiB",
        "RSS / baseline",
        "heap after GC MiB",
        "heap / baseline",
        "external MiB",
        "open files",
        "user databases open",
      ],
      rows,
    ),
    "",
    `Baseline: round ${base.round}. From it to round ${end.round} (${done} more connections): ` +
      `RSS ${kibPer1000(base.rssBytes, end.rssBytes, done).toFixed(1)} KiB and heap after GC ` +
      `${kibPer1000(base.heapBytes, end.heapBytes, done).toFixed(1)} KiB per 1,000 connections; ` +
      `open files ${start.fds} at start, ${base.fds} -> ${end.fds}; every round's databases ` +
      `closed within ${(slowestClose / 1000).toFixed(1)} s of its last visit.`,
  ].join("\n");
}
