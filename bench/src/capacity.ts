import {
  SCHEMA_VERSION,
  decodeServerFrame,
  encodeClientFrame,
  type ServerChangesFrame,
} from "@notesync/protocol";
import { SignJWT } from "jose";
import crypto from "node:crypto";
import os from "node:os";
import WebSocket from "ws";
import { SqliteAccountRecords } from "@notesync/server";
import path from "node:path";
import { startNoteSync, tmp } from "./common.js";
import { sleep } from "./procs.js";
import { fmt, summarize, table } from "./stats.js";

const SECRET = new TextEncoder().encode("bench-secret-bench-secret");
// cr-sqlite's packed primary key of the text 'n1' (one column, type text, length 2).
const PK_N1 = Uint8Array.from([0x01, 0x0b, 0x02, 0x6e, 0x31]);

export const token = (userId: string) =>
  new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuer("notesync")
    .setExpirationTime("1h")
    .sign(SECRET);

interface Conn {
  ws: WebSocket;
  siteId: Uint8Array;
  onChanges?: (f: ServerChangesFrame) => void;
}

/** A raw protocol connection: hello, then wait for the end of the catch-up. */
export async function connect(syncUrl: string, jwt: string): Promise<Conn> {
  const ws = new WebSocket(syncUrl);
  const conn: Conn = { ws, siteId: crypto.randomBytes(16) };
  await new Promise<void>((resolve, reject) => {
    ws.on("error", reject); // after the hello, errors end the step through the missing samples
    ws.once("open", () =>
      ws.send(
        encodeClientFrame({
          type: "hello",
          schemaVersion: SCHEMA_VERSION,
          siteId: conn.siteId,
          serverVersion: 0,
          token: jwt,
          incarnation: new Uint8Array(),
        }),
      ),
    );
    let target = -1;
    ws.on("message", (data: Buffer) => {
      const r = decodeServerFrame(data);
      if (!r.ok) return reject(r.error);
      const f = r.frame;
      if (f.type === "welcome") target = f.serverVersion;
      else if (f.type === "error") reject(new Error(f.message));
      else if (f.type === "changes") {
        if (target >= 0 && f.serverVersion >= target && !conn.onChanges) resolve();
        conn.onChanges?.(f);
      }
    });
  });
  return conn;
}

/**
 * A data directory whose accounts.db already holds `n` accounts (tokens are checked against it),
 * written directly: signing up thousands through the API would spend minutes hashing passwords.
 */
export async function withAccounts(n: number): Promise<{ dataDir: string; userIds: string[] }> {
  const dataDir = tmp("bench-notesync-");
  const records = new SqliteAccountRecords(path.join(dataDir, "accounts.db"));
  const userIds = Array.from({ length: n }, () => crypto.randomBytes(16).toString("hex"));
  for (const [i, id] of userIds.entries())
    await records.insert({ id, username: `capacity-${i}`, passwordHash: "not-for-signing-in" }, 0);
  records.close();
  return { dataDir, userIds };
}

export async function inBatches<T>(
  n: number,
  batch: number,
  make: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += batch)
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, k) => make(i + k)))),
    );
  return out;
}

/**
 * `users` users with two connections each; a tenth of the users write once a second from one
 * connection, and the time until the other connection receives the change is the push latency.
 */
async function step(users: number, seconds: number, workers: string) {
  const { dataDir, userIds } = await withAccounts(users);
  const server = await startNoteSync(dataDir, workers);
  try {
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const rssBefore = server.rssBytes();
    const pairs = await inBatches(users, 50, async (i) => {
      const jwt = await token(userIds[i]!);
      return [await connect(syncUrl, jwt), await connect(syncUrl, jwt)] as const;
    });
    await sleep(500);
    const rssConnected = server.rssBytes();
    const latency = await pushLatency(pairs, seconds);
    const rssLoaded = server.rssBytes();
    const databasesOpen = server.openUserDatabases();
    for (const [a, b] of pairs) {
      a.ws.terminate();
      b.ws.terminate();
    }
    return {
      latency,
      rssBefore,
      rssConnected,
      rssLoaded,
      databasesOpen,
      connections: users * 2,
    };
  } finally {
    await server.stop();
  }
}

/**
 * A tenth of the pairs write once a second from their first connection for `seconds`; the push
 * latency is the time until the pair's other connection receives the change.
 */
export async function pushLatency(
  pairs: readonly (readonly [Conn, Conn])[],
  seconds: number,
): Promise<ReturnType<typeof summarize>> {
  const samples: number[] = [];
  const writers = pairs.slice(0, Math.max(1, Math.round(pairs.length / 10)));
  for (const [, reader] of writers) {
    reader.onChanges = (f) => {
      const sent = Number(f.changes.find((c) => c.cid === "position")?.val ?? NaN);
      if (Number.isFinite(sent)) samples.push(performance.now() - sent);
    };
  }
  let version = 0;
  const timers = writers.map(([writer], i) =>
    setTimeout(
      () => {
        const tick = () => {
          version++;
          const sentAt = performance.now();
          writer.ws.send(
            encodeClientFrame({
              type: "changes",
              clientVersion: version,
              partial: false,
              changes: [
                {
                  table: "notes",
                  pk: PK_N1,
                  cid: "position",
                  val: sentAt,
                  colVersion: version,
                  dbVersion: version,
                  siteId: writer.siteId,
                  cl: 1,
                  seq: 0,
                },
              ],
            }),
          );
        };
        tick();
        timers.push(setInterval(tick, 1000));
      },
      (1000 * i) / writers.length,
    ),
  );
  await sleep(seconds * 1000 + 500);
  timers.forEach((t) => clearInterval(t));
  return summarize(samples.slice(writers.length));
}

/** Server memory per idle connection: many connections of one user (one database). */
async function idleMemory(connections: number) {
  const { dataDir, userIds } = await withAccounts(1);
  // Past the per-account connection limit (64 by default), which this measurement is not about.
  const server = await startNoteSync(dataDir, "1", {
    NOTESYNC_CONNECTIONS_PER_USER: String(connections + 1),
  });
  try {
    const syncUrl = `${server.url.replace("http", "ws")}/sync`;
    const jwt = await token(userIds[0]!);
    await connect(syncUrl, jwt); // opens the database
    await sleep(300);
    const before = server.rssBytes();
    const conns = await inBatches(connections, 100, () => connect(syncUrl, jwt));
    await sleep(1000);
    const after = server.rssBytes();
    conns.forEach((c) => c.ws.terminate());
    return (after - before) / connections;
  } finally {
    await server.stop();
  }
}

export async function capacity(
  userSteps = [250, 500, 1000, 2000, 3000],
  seconds = 10,
): Promise<string> {
  const cores = String(os.availableParallelism());
  let out = "";
  for (const workers of ["1", cores]) {
    console.log(`  server processes: ${workers}`);
    out += `Server processes: ${workers}\n\n${await capacitySteps(userSteps, seconds, workers)}\n\n`;
  }
  const idle = await idleMemory(2000);
  console.log(
    `  idle: ${(idle / 1024).toFixed(1)} KiB of server memory per connection (2,000 connections of one user)`,
  );
  return (
    out +
    `Idle connections (2,000 of one user, one database, one process): ${(idle / 1024).toFixed(1)} KiB of server RSS each.`
  );
}

async function capacitySteps(
  userSteps: number[],
  seconds: number,
  workers: string,
): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const users of userSteps) {
    let r: Awaited<ReturnType<typeof step>>;
    try {
      r = await step(users, seconds, workers);
    } catch (err) {
      // Past the machine's limits (open files: sockets plus three per open user database).
      console.log(`  ${users} users: could not connect everyone: ${(err as Error).message}`);
      rows.push([users, users * 2, "-", "-", `no: ${(err as Error).message}`, "-", "-", "-"]);
      break;
    }
    const perConn = (r.rssConnected - r.rssBefore) / r.connections / 1024;
    console.log(
      `  ${users} users, ${r.connections} connections, ${Math.round(users / 10)} writes/s: push ${fmt(r.latency)}; RSS ${(r.rssLoaded / 2 ** 20).toFixed(0)} MiB; ${r.databasesOpen} user databases open`,
    );
    rows.push([
      users,
      r.connections,
      r.latency.median.toFixed(2),
      r.latency.p99.toFixed(2),
      r.latency.p99 < 100 ? "yes" : "no",
      (r.rssLoaded / 2 ** 20).toFixed(0),
      perConn.toFixed(1),
      r.databasesOpen,
    ]);
    if (r.latency.p99 >= 100) break;
  }
  return table(
    [
      "users",
      "connections",
      "push median ms",
      "push p99 ms",
      "p99 < 100 ms",
      "server RSS MiB",
      "RSS per connection KiB (incl. its user's database)",
      "user databases open (per process that opened one)",
    ],
    rows,
  );
}
