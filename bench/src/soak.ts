import { Y, encodeClientFrame, newNoteDoc, newUpdateId, type Change } from "@notesync/protocol";
import fs from "node:fs";
import path from "node:path";
import WebSocket from "ws";
import { connect, inBatches, token, withAccounts } from "./capacity.js";
import { here } from "./common.js";
import { processTree, rssOf, startChild, waitUntil, type Child } from "./procs.js";
import { table } from "./stats.js";

/** One sample of the server between rounds, once its idle databases have closed. */
interface Sample {
  readonly round: number;
  readonly connections: number;
  readonly rssBytes: number;
  /** V8's heap in use right after a full garbage collection. */
  readonly heapBytes: number;
  readonly fds: number;
  readonly databasesOpen: number;
}

const textEncoder = new TextEncoder();

/** cr-sqlite's packed primary key of text columns (each shorter than 256 bytes). */
function packTexts(values: readonly string[]): Uint8Array {
  const bytes = [values.length];
  for (const value of values) {
    const raw = textEncoder.encode(value);
    bytes.push(0x0b, raw.length, ...raw);
  }
  return Uint8Array.from(bytes);
}

/** A Yjs update of a note's document: a new client typing 40 characters into its body. */
function typedUpdate(): Uint8Array {
  const doc = newNoteDoc();
  doc.getText("body").insert(0, "soak ".repeat(8));
  return Y.encodeStateAsUpdate(doc);
}

/** Every file descriptor of the server's processes. */
function openFiles(pids: readonly number[]): number {
  return pids.reduce((n, pid) => {
    try {
      return n + fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      return n;
    }
  }, 0);
}

/** Asks the soak server to collect garbage and say how much heap it uses after. */
function heapAfterGc(server: Child): Promise<number> {
  return new Promise((resolve, reject) => {
    const read = (d: Buffer) => {
      const m = /HEAP (\d+)/.exec(d.toString());
      if (!m) return;
      server.proc.stdout!.off("data", read);
      resolve(Number(m[1]));
    };
    server.proc.stdout!.on("data", read);
    if (!server.proc.kill("SIGUSR2")) reject(new Error("the soak server is gone"));
  });
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
  const last = ++version + 4;
  const received = new Promise<void>((resolve) => {
    reader.onChanges = (f) => {
      if (f.changes.some((c) => c.cid === "position" && Number(c.val) === last)) resolve();
    };
  });
  for (let i = 0; i < 5; i++) {
    const v = i === 0 ? version : ++version;
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
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    received,
    new Promise((_, reject) => {
      const message = "the other device did not receive the edits in 10 s (see the server's log)";
      timer = setTimeout(() => reject(new Error(message)), 10_000);
    }),
  ]).finally(() => clearTimeout(timer));
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
 * users (in turn, so that their databases close and open again) each make one visit. Between
 * rounds, once idle databases have closed, the server's memory, heap after a full collection and
 * open files are sampled; the baseline is the sample after the warm-up rounds.
 */
export async function soak(users = 300, rounds = 40, perRound = 100, warmup = 5): Promise<string> {
  const { dataDir, userIds } = await withAccounts(users);
  const server = await startChild(path.join(here, "soak-server.js"), [dataDir], {
    NOTESYNC_SECRET: "bench-secret-bench-secret",
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --expose-gc`,
  });
  const samples: Sample[] = [];
  try {
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const tokens = await Promise.all(userIds.map((id) => token(id)));
    let connections = 0;
    let next = 0;
    for (let round = 1; round <= rounds; round++) {
      await inBatches(perRound, 25, async () => {
        const i = next++ % users;
        await visit(syncUrl, tokens[i]!, i);
      });
      connections += perRound * 3;
      // Sampled once every database is closed again (they close after a second idle).
      await waitUntil(() => server.openUserDatabases() === 0, 30_000, 100);
      const pids = processTree(server.proc.pid!);
      samples.push({
        round,
        connections,
        heapBytes: await heapAfterGc(server),
        rssBytes: pids.reduce((sum, pid) => sum + rssOf(pid), 0),
        fds: openFiles(pids),
        databasesOpen: server.openUserDatabases(),
      });
      const s = samples.at(-1)!;
      console.log(
        `  round ${round}: ${connections} connections so far; RSS ${mib(s.rssBytes)} MiB, heap ${mib(s.heapBytes)} MiB, ${s.fds} open files, ${s.databasesOpen} user databases open`,
      );
    }
  } finally {
    await server.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  return report(samples, warmup);
}

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

function report(samples: readonly Sample[], warmup: number): string {
  const base = samples[warmup - 1]!;
  const end = samples.at(-1)!;
  const per1000 = (a: number, b: number) =>
    (((b - a) / (end.connections - base.connections)) * 1000) / 1024;
  const rows = samples
    .filter((s) => s.round === 1 || s.round % 5 === 0)
    .map((s) => [
      s.round,
      s.connections,
      mib(s.rssBytes),
      (s.rssBytes / base.rssBytes).toFixed(2),
      mib(s.heapBytes),
      (s.heapBytes / base.heapBytes).toFixed(2),
      s.fds,
      s.databasesOpen,
    ]);
  return [
    table(
      [
        "round",
        "connections so far",
        "RSS MiB",
        "RSS / baseline",
        "heap after GC MiB",
        "heap / baseline",
        "open files",
        "user databases open",
      ],
      rows,
    ),
    "",
    `Baseline: round ${base.round} (after the warm-up). From it to round ${end.round} ` +
      `(${end.connections - base.connections} more connections): RSS ${per1000(base.rssBytes, end.rssBytes).toFixed(1)} KiB ` +
      `and heap after GC ${per1000(base.heapBytes, end.heapBytes).toFixed(1)} KiB per 1,000 connections; ` +
      `open files ${base.fds} -> ${end.fds}.`,
  ].join("\n");
}
