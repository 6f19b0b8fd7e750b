import { UserDatabase, startLocalCluster, type LocalCluster } from "@notesync/server";
import { Etcd3 } from "etcd3";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "../database.js";
import { createNotesApi, type NotesApi } from "../notes/notes-api.js";
import { createSyncClient, openNodeDatabase } from "../node/index.js";
import type { SyncClient } from "./sync-client.js";

// Issue 16: three real server nodes (processes) behind real HAProxy, with real etcd and an
// S3-compatible store (s3rver, its own process: no MinIO here), and 30 users with two devices
// each, all Node clients over real WebSockets through HAProxy. One node is SIGKILLed while its
// users write; it comes back with its stale files.

interface Device {
  readonly name: string;
  readonly db: Database;
  readonly client: SyncClient;
  readonly notes: NotesApi;
  /** Each time the status left "live" after first reaching it. */
  drops: number;
}

interface User {
  readonly name: string;
  readonly userId: string;
  readonly token: string;
  readonly devices: Device[];
}

interface LogLine {
  readonly time: number;
  readonly msg: string;
  readonly userId?: string;
  readonly node?: string;
  /** Of a commit: when the node decided it may write. */
  readonly acceptedAt?: number;
}

const USERS = 30;
let dir: string;
let cluster: LocalCluster;
let etcd: Etcd3;
const users: User[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function signup(name: string): Promise<{ userId: string; token: string }> {
  const res = await fetch(`${cluster.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: name, password: "correct horse" }),
  });
  if (res.status !== 201) throw new Error(`signup ${name}: ${res.status} ${await res.text()}`);
  return (await res.json()) as { userId: string; token: string };
}

async function device(user: Pick<User, "userId" | "token">, name: string): Promise<Device> {
  const db = await openNodeDatabase(path.join(dir, `${name}.db`));
  const client = createSyncClient({
    db,
    url: `${cluster.url.replace("http", "ws")}/sync?user=${user.userId}`,
    getToken: () => user.token,
    reconnect: { initialMs: 50, maxMs: 500 },
  });
  const notes = createNotesApi(db, { onChange: (l) => client.on("change", l) });
  const d: Device = { name, db, client, notes, drops: 0 };
  let wasLive = false;
  client.on("status", (s) => {
    if (s.state === "live") wasLive = true;
    else if (wasLive && s.state !== "syncing") {
      wasLive = false;
      d.drops++;
    }
  });
  client.start();
  return d;
}

const titles = async (d: Device) =>
  (await d.notes.list())
    .map((n) => n.title)
    .sort()
    .join("\n");

const owner = async (userId: string) => etcd.get(`notesync/owners/${userId}`).string();

function logOf(nodeId: string): LogLine[] {
  const file = cluster.nodes.find((n) => n.id === nodeId)!.logFile;
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as LogLine);
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

/** Edit on one device, visible on the other: milliseconds, through HAProxy and the owner node. */
async function liveLatency(user: User, title: string): Promise<number> {
  const [a, b] = user.devices as [Device, Device];
  const arrived = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${user.name} never saw "${title}"`)), 30_000);
    const off = b.client.on("change", () => {
      void b.notes.list().then((notes) => {
        if (!notes.some((n) => n.title === title)) return;
        clearTimeout(timer);
        off();
        resolve(performance.now());
      });
    });
  });
  const started = performance.now();
  await a.notes.create({ title });
  return (await arrived) - started;
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-multi-node-"));
  cluster = await startLocalCluster({
    nodes: 3,
    dir: path.join(dir, "cluster"),
    // Debug logs name every commit, for the split-brain check.
    env: { NOTESYNC_SIGNUPS_PER_HOUR: "1000", NOTESYNC_LOG_LEVEL: "debug" },
  });
  etcd = new Etcd3({ hosts: cluster.etcd.endpoint });
}, 60_000);

afterAll(async () => {
  for (const u of users) for (const d of u.devices) await d.client.stop();
  for (const u of users) for (const d of u.devices) await d.db.close();
  etcd?.close();
  await cluster?.stop();
  // NOTESYNC_KEEP_TEST_DIR=1 keeps the nodes' logs and data for a look after a failure.
  if (!process.env.NOTESYNC_KEEP_TEST_DIR) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("several nodes behind HAProxy, with etcd leases and object storage", () => {
  it("keeps each user on one node, fails over a killed node's users and never serves a user twice", async () => {
    for (let i = 0; i < USERS; i++) {
      const name = `user${i}`;
      const account = await signup(name);
      const user: User = { name, ...account, devices: [] };
      user.devices.push(await device(user, `${name}-a`), await device(user, `${name}-b`));
      users.push(user);
    }
    for (const u of users) await Promise.all(u.devices.map((d) => d.client.whenSynced()));

    // Every user's devices land on the node holding the user's lease, and users spread out.
    const owners = new Map<string, string>();
    for (const u of users) owners.set(u.userId, (await owner(u.userId))!);
    for (const u of users) {
      const connectedOn = cluster.nodes
        .filter((n) =>
          logOf(n.id).some((l) => l.msg === "client connected" && l.userId === u.userId),
        )
        .map((n) => n.id);
      expect(connectedOn, u.name).toEqual([owners.get(u.userId)]);
    }
    const perNode = cluster.nodes.map((n) => [...owners.values()].filter((o) => o === n.id).length);
    expect(perNode.every((count) => count > 0)).toBe(true);

    const before: number[] = [];
    for (const u of users) before.push(await liveLatency(u, `${u.name} live before`));
    console.log(
      `live edit, device to device through HAProxy: p50 ${percentile(before, 50).toFixed(1)} ms, p99 ${percentile(before, 99).toFixed(1)} ms (${before.length} users; per node ${perNode.join("/")})`,
    );

    // SIGKILL the node with the most users while every device writes.
    const victim = cluster.nodes[perNode.indexOf(Math.max(...perNode))]!;
    const moved = users.filter((u) => owners.get(u.userId) === victim.id);
    const stayed = users.filter((u) => owners.get(u.userId) !== victim.id);
    for (const u of stayed) for (const d of u.devices) d.drops = 0;
    let writing = true;
    let written = 0;
    const writers = users.flatMap((u) =>
      u.devices.map(async (d) => {
        for (let i = 0; writing; i++) {
          await d.notes.create({ title: `${d.name} during ${i}` });
          written++;
          await sleep(150);
        }
      }),
    );
    await sleep(1_000);
    const killedAt = Date.now();
    await victim.kill();
    const during: number[] = [];
    const probing = (async () => {
      for (let round = 0; Date.now() - killedAt < 8_000; round++)
        for (const u of stayed) during.push(await liveLatency(u, `${u.name} through ${round}`));
    })();
    await until(
      "the killed node's users served again",
      async () => {
        for (const u of moved) if ((await owner(u.userId)) === null) return false;
        return moved.every((u) => u.devices.every((d) => d.client.status.state === "live"));
      },
      30_000,
    );
    const failoverMs = Date.now() - killedAt;
    await probing;
    writing = false;
    await Promise.all(writers);
    console.log(
      `fail-over: ${moved.length} users of ${victim.id} served again ${failoverMs} ms after SIGKILL (lease TTL 3 s); ` +
        `the other ${stayed.length} users' live edits meanwhile: p50 ${percentile(during, 50).toFixed(1)} ms, p99 ${percentile(during, 99).toFixed(1)} ms (${during.length} edits); ${written} notes written`,
    );
    for (const u of moved) expect(await owner(u.userId)).not.toBe(victim.id);
    // Users on the other nodes noticed nothing: no device of theirs lost its connection.
    expect(stayed.flatMap((u) => u.devices.filter((d) => d.drops > 0).map((d) => d.name))).toEqual(
      [],
    );

    // Every note any device has ends up on both devices.
    for (const u of users) await Promise.all(u.devices.map((d) => d.client.whenSynced()));
    for (const u of users) {
      const [a, b] = u.devices as [Device, Device];
      await until(`${u.name}'s devices agree`, async () => (await titles(a)) === (await titles(b)));
    }

    // The killed node comes back with its stale files. It serves none of its old users while
    // another node holds them; a new device of one of them, connected to it directly, makes it
    // ask for the user, and it serves the user only after the holder let go.
    await victim.restart();
    const [taken] = moved;
    const holder = await owner(taken!.userId);
    expect(holder).not.toBe(victim.id);
    await sleep(1_500); // HAProxy's health checks see the node again
    for (const u of moved.slice(1)) expect(await owner(u.userId)).not.toBe(victim.id);
    const direct = await openNodeDatabase(path.join(dir, "direct.db"));
    const directClient = createSyncClient({
      db: direct,
      url: `${victim.url.replace("http", "ws")}/sync?user=${taken!.userId}`,
      getToken: () => taken!.token,
      reconnect: { initialMs: 50, maxMs: 500 },
    });
    const directNotes = createNotesApi(direct, { onChange: (l) => directClient.on("change", l) });
    directClient.start();
    await directClient.whenSynced();
    expect(await owner(taken!.userId)).toBe(victim.id);
    const expected = await titles(taken!.devices[0]!);
    await until(`the node that came back has all of ${taken!.name}'s notes`, async () => {
      const got = (await directNotes.list())
        .map((n) => n.title)
        .sort()
        .join("\n");
      return got === expected;
    });
    await directClient.stop();
    await direct.close();

    // A node frozen (SIGSTOP) while its users write: HAProxy marks it down, its lease lapses,
    // another node takes its users. Thawed, it finds frames its sockets received before they
    // were cut; it must apply none of them (its lease may have expired), and it learns it
    // lost the lease and serves nobody until it takes a new one.
    const now = new Map<string, string>();
    for (const u of users) now.set(u.userId, (await owner(u.userId))!);
    const counts = cluster.nodes.map((n) => [...now.values()].filter((o) => o === n.id).length);
    const frozen = cluster.nodes[counts.indexOf(Math.max(...counts))]!;
    const frozenUsers = users.filter((u) => now.get(u.userId) === frozen.id);
    writing = true;
    const writersAgain = users.flatMap((u) =>
      u.devices.map(async (d) => {
        for (let i = 0; writing; i++) {
          await d.notes.create({ title: `${d.name} freeze ${i}` });
          await sleep(100);
        }
      }),
    );
    await sleep(1_000);
    process.kill(frozen.process.pid, "SIGSTOP");
    const frozenAt = Date.now();
    await until(
      "the frozen node's users served elsewhere",
      async () => {
        for (const u of frozenUsers) {
          const o = await owner(u.userId);
          if (o === null || o === frozen.id) return false;
        }
        return frozenUsers.every((u) => u.devices.every((d) => d.client.status.state === "live"));
      },
      30_000,
    );
    console.log(
      `freeze: ${frozenUsers.length} users of ${frozen.id} served elsewhere ${Date.now() - frozenAt} ms after SIGSTOP`,
    );
    process.kill(frozen.process.pid, "SIGCONT");
    await until("the thawed node notices it lost its lease", async () =>
      logOf(frozen.id).some((l) => l.msg.startsWith("lost the etcd lease")),
    );
    await sleep(1_000);
    writing = false;
    await Promise.all(writersAgain);

    // No split brain: two nodes never accept writes for one user at the same time. Every
    // commit is logged ("applied client changes", with the user and when the node accepted it:
    // a commit a freeze interrupted is logged after the thaw but was accepted before); a node's
    // commits for a user between two "serving user" (or new lease) lines are one run, and the
    // runs of different nodes never interleave.
    for (const u of users) {
      const runs: { node: string; from: number; to: number }[] = [];
      for (const n of cluster.nodes) {
        let run: { node: string; from: number; to: number } | null = null;
        for (const line of logOf(n.id)) {
          // A new lease (a restart, or after losing one) begins a new time of serving.
          const newLease = line.msg === "holding an etcd lease";
          if (!newLease && line.userId !== u.userId) continue;
          if (newLease || line.msg === "serving user") {
            if (run) runs.push(run);
            run = null;
          }
          if (line.msg === "applied client changes") {
            const at = line.acceptedAt!;
            run ??= { node: n.id, from: at, to: at };
            run.to = at;
          }
        }
        if (run) runs.push(run);
      }
      runs.sort((x, y) => x.from - y.from);
      for (let i = 1; i < runs.length; i++)
        expect(runs[i]!.from, `${u.name}: ${JSON.stringify(runs)}`).toBeGreaterThanOrEqual(
          runs[i - 1]!.to,
        );
    }
    const refusedAfterThaw = logOf(frozen.id).filter(
      (l) => l.msg === "refused a frame" && l.time >= frozenAt,
    ).length;
    console.log(
      `split brain: none; the thawed node refused ${refusedAfterThaw} frames after it was frozen`,
    );

    // A fresh device of every user gets every note.
    for (const u of users) await Promise.all(u.devices.map((d) => d.client.whenSynced()));
    for (const u of users) {
      const fresh = await device(u, `${u.name}-fresh`);
      u.devices.push(fresh);
      await fresh.client.whenSynced();
      const want = await titles(u.devices[0]!);
      await until(
        `${u.name}'s fresh device has every note`,
        async () => (await titles(fresh)) === want,
      );
    }

    // Every served user's database on its node passes integrity_check and holds every note.
    for (const u of users) for (const d of u.devices) await d.client.stop();
    const finalOwners = new Map<string, string>();
    for (const u of users) finalOwners.set(u.userId, (await owner(u.userId))!);
    await cluster.stop();
    for (const u of users) {
      const nodeDir = cluster.nodes.find((n) => n.id === finalOwners.get(u.userId))!.dataDir;
      const db = new UserDatabase(path.join(nodeDir, "users", `${u.userId}.db`));
      try {
        expect(db.integrityCheck()).toBe("ok");
        const count = db.query<{ n: number }>("SELECT count(*) AS n FROM notes")[0]!.n;
        expect(count).toBe((await u.devices[0]!.notes.list()).length);
      } finally {
        db.close();
      }
    }
  }, 240_000);
});
