import { ErrorCode, SCHEMA_VERSION, type ClientChangesFrame } from "@notesync/protocol";
import { Etcd3 } from "etcd3";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startEtcd, type RunningEtcd } from "../local-cluster/processes.js";
import type { RunningServer } from "../server.js";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "../testing/harness.test-helpers.js";
import { BACKUP_URL, startS3, type TestS3 } from "../testing/s3.test-helpers.js";
import type { UserDatabase } from "../user-db.js";

// Two nodes in this process (real servers on loopback with their own data directories), a real
// etcd (Debian's etcd-server, started here) and s3rver: accounts, routing, hand-over and leases.
// The three-node fail-over behind HAProxy is client-core's multi-node.test.ts.

const ANY_SITE = new Uint8Array(16);

let dir: string;
let etcd: RunningEtcd;
let etcdClient: Etcd3;
let s3: TestS3;
let a: RunningServer & { dataDir: string };
let b: RunningServer & { dataDir: string };
let prefix: string;
const open: RawClient[] = [];
const dbs: UserDatabase[] = [];

async function node(nodeId: string, idleReleaseMs?: number) {
  return testServer({
    multiNode: {
      etcdEndpoints: [etcd.endpoint],
      nodeId,
      leaseTtlSeconds: 2,
      prefix,
      idleReleaseMs,
    },
    // Uploads wait a minute: what reaches the backup before a hand-over is what the node
    // uploads when it lets a user go.
    backup: { url: BACKUP_URL, store: s3.store(), intervalMs: 60_000 },
  });
}

const post = (server: RunningServer, route: string, body: unknown, token?: string) =>
  fetch(`${server.url}/api/${route}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });

const syncUrl = (server: RunningServer, userId: string) => `${server.syncUrl}?user=${userId}`;

async function sync(server: RunningServer, user: { token: string; userId: string }) {
  const db = clientDb(dir, `device-${crypto.randomBytes(4).toString("hex")}`);
  dbs.push(db);
  const c = await RawClient.sync(syncUrl(server, user.userId), user.token, db.siteId);
  open.push(c);
  return { c, db };
}

function pushNote(c: RawClient, db: UserDatabase, id: string): void {
  db.exec(`INSERT INTO notes (id, pinned) VALUES ('${id}', 1)`);
  const frame: ClientChangesFrame = {
    type: "changes",
    clientVersion: db.dbVersion(),
    partial: false,
    changes: db.readChanges(0, ANY_SITE, 100_000).changes,
  };
  c.send(frame);
}

const owner = (userId: string) => etcdClient.get(`${prefix}owners/${userId}`).string();

beforeAll(async () => {
  dir = tempDir("notesync-multi-node-");
  etcd = await startEtcd(dir);
  etcdClient = new Etcd3({ hosts: etcd.endpoint });
  s3 = await startS3();
}, 30_000);

afterAll(async () => {
  etcdClient.close();
  await etcd.process.stop();
  await s3.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(async () => {
  prefix = `test-${crypto.randomBytes(4).toString("hex")}/`;
  a = await node("a");
  b = await node("b");
});

afterEach(async () => {
  open.splice(0).forEach((c) => c.close());
  dbs.splice(0).forEach((d) => d.close());
  await Promise.all([a.close(), b.close()]);
});

describe("accounts on several nodes (etcd)", () => {
  it("signs in on one node with an account made on another, and gives a name to one sign-up only", async () => {
    const alice = await account(a, "alice");
    const login = await post(b, "login", { username: "alice", password: "correct horse" });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { userId: string }).userId).toBe(alice.userId);
    expect(
      (await post(b, "signup", { username: "ALICE", password: "other password" })).status,
    ).toBe(409);
    const both = await Promise.all(
      [a, b].map((n) => post(n, "signup", { username: "bob", password: "correct horse" })),
    );
    expect(both.map((r) => r.status).sort()).toEqual([201, 409]);
    const wrong = await post(a, "login", { username: "alice", password: "wrong password" });
    expect(wrong.status).toBe(401);
  });

  it("closes a user's connection on the node serving them when their sessions end on another node", async () => {
    const alice = await account(a, "alice");
    const { c } = await sync(a, alice);
    expect(await owner(alice.userId)).toBe("a");
    expect((await post(b, "logout-everywhere", {}, alice.token)).status).toBe(204);
    const refused = await c.next("error");
    expect(refused.code).toBe(ErrorCode.Unauthorized);
    await c.closed;
  });

  it("closes a session's connection on the node serving the user when it signs out through another node", async () => {
    const alice = await account(a, "alice");
    const { c } = await sync(a, alice);
    const login = await post(b, "login", { username: "alice", password: "correct horse" });
    const other = (await login.json()) as { token: string; userId: string };
    const stays = await sync(a, other);
    expect((await post(b, "logout", {}, alice.token)).status).toBe(204);
    expect((await c.next("error")).code).toBe(ErrorCode.Unauthorized);
    await c.closed;
    expect(stays.c.closeCode).toBe(null); // the other session goes on
  });

  it("deletes an account's database on the node that served it when it is deleted through another", async () => {
    const carol = await account(a, "carol");
    const { c, db } = await sync(a, carol);
    pushNote(c, db, "n1");
    await c.next("ack");
    const file = path.join(a.dataDir, "users", `${carol.userId}.db`);
    expect(fs.existsSync(file)).toBe(true);
    const deleted = await post(b, "delete-account", { password: "correct horse" }, carol.token);
    expect(deleted.status).toBe(204);
    await c.closed;
    for (let i = 0; i < 100 && fs.existsSync(file); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(fs.existsSync(file)).toBe(false);
    expect((await post(b, "login", { username: "carol", password: "correct horse" })).status).toBe(
      401,
    );
  });
});

describe("routing and ownership", () => {
  it("refuses a connection that does not name its user, or names another", async () => {
    const alice = await account(a, "alice");
    const bob = await account(a, "bob");
    const db = clientDb(dir, "routing");
    dbs.push(db);
    for (const url of [a.syncUrl, syncUrl(a, bob.userId)]) {
      const c = await RawClient.connect(url);
      open.push(c);
      c.send({
        type: "hello",
        schemaVersion: SCHEMA_VERSION,
        siteId: db.siteId,
        serverVersion: 0,
        token: alice.token,
        incarnation: new Uint8Array(),
      });
      const refused = await c.next("error");
      expect(refused.code).toBe(ErrorCode.Unauthorized);
      expect(refused.message).toMatch(url === a.syncUrl ? /\/sync\?user=/ : /another user/);
    }
    expect(await owner(alice.userId)).toBe(null);
  });

  it("hands a user over: the holder closes the user's connections and uploads the last changes first", async () => {
    const alice = await account(a, "alice");
    const first = await sync(a, alice);
    pushNote(first.c, first.db, "written-on-a");
    await first.c.next("ack");
    expect(await owner(alice.userId)).toBe("a");

    const second = await sync(b, alice); // waits while a lets go
    const goAway = await first.c.next("error");
    expect(goAway.code).toBe(ErrorCode.GoingAway);
    expect(goAway.message).toMatch(/handed over to node b/);
    expect(await owner(alice.userId)).toBe("b");
    const caughtUp = await second.c.changesUntil(second.c.welcome!.serverVersion);
    expect(caughtUp.some((ch) => Buffer.from(ch.pk).includes(Buffer.from("written-on-a")))).toBe(
      true,
    );
    // A restored database has a new incarnation: devices send back what the backup lacked.
    expect(Buffer.from(second.c.welcome!.incarnation)).not.toEqual(
      Buffer.from(first.c.welcome!.incarnation),
    );
  }, 20_000);

  it("lets a user go after their last connection closed, with their last changes uploaded", async () => {
    await a.close();
    a = await node("a", 300);
    const alice = await account(a, "alice");
    const { c, db } = await sync(a, alice);
    pushNote(c, db, "last-on-a");
    await c.next("ack");
    c.close();
    await c.closed;
    for (let i = 0; i < 100 && (await owner(alice.userId)) !== null; i++)
      await new Promise((r) => setTimeout(r, 50));
    expect(await owner(alice.userId)).toBe(null);
    // b takes alice from the backup alone (uploads wait a minute, so a uploaded it on letting go).
    const onB = await sync(b, alice);
    const caughtUp = await onB.c.changesUntil(onB.c.welcome!.serverVersion);
    expect(caughtUp.some((ch) => Buffer.from(ch.pk).includes(Buffer.from("last-on-a")))).toBe(true);
  }, 20_000);

  it("imports a browser's PouchDB notes into the node that serves the user, and into the backup", async () => {
    const alice = await account(a, "alice");
    const first = await sync(a, alice);
    const imported = await fetch(`${b.url}/api/import/pouchdb?user=${alice.userId}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${alice.token}` },
      body: JSON.stringify({
        changes: [
          {
            id: "from-pouch",
            changes: [{ rev: "1-a" }],
            doc: { _id: "from-pouch", _rev: "1-a", title: "Kept in PouchDB", body: "never synced" },
          },
        ],
      }),
    });
    expect(imported.status).toBe(200);
    expect(await owner(alice.userId)).toBe("b"); // b took alice before writing
    expect((await first.c.next("error")).code).toBe(ErrorCode.GoingAway);
    // Back on a, from the backup alone: b uploaded the import when it let alice go.
    const again = await sync(a, alice);
    const caughtUp = await again.c.changesUntil(again.c.welcome!.serverVersion);
    expect(caughtUp.some((ch) => Buffer.from(ch.pk).includes(Buffer.from("from-pouch")))).toBe(
      true,
    );
  }, 20_000);

  it("stops serving everyone at once when its lease is lost, then serves again on a new lease", async () => {
    const alice = await account(a, "alice");
    const { c } = await sync(a, alice);
    const lease = (await etcdClient.get(`${prefix}owners/${alice.userId}`).exec()).kvs[0]!.lease;
    await etcdClient.leaseClient.leaseRevoke({ ID: lease });
    const goAway = await c.next("error", () => true, 10_000);
    expect(goAway.code).toBe(ErrorCode.GoingAway);
    expect(goAway.message).toMatch(/lost its lease/);
    await c.closed;
    const again = await sync(a, alice);
    expect(again.c.welcome).not.toBe(null);
    expect(await owner(alice.userId)).toBe("a");
  }, 20_000);
});

describe("etcd going away", () => {
  it("stops serving while etcd is unreachable and serves again when it is back", async () => {
    const own = await startEtcd(path.join(dir, "own"));
    const server = await testServer({
      multiNode: { etcdEndpoints: [own.endpoint], nodeId: "alone", prefix, leaseTtlSeconds: 2 },
      backup: { url: BACKUP_URL, store: s3.store(), intervalMs: 60_000 },
    });
    let etcdAgain: RunningEtcd | null = null;
    try {
      const alice = await account(server, "alice");
      const { c } = await sync(server, alice);
      await own.process.stop();
      const goAway = await c.next("error", () => true, 20_000);
      expect(goAway.code).toBe(ErrorCode.GoingAway);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);
      etcdAgain = await startEtcd(path.join(dir, "own"), own);
      let healthy = false;
      for (let i = 0; i < 200 && !healthy; i++) {
        healthy = (await fetch(`${server.url}/healthz`)).status === 200;
        if (!healthy) await new Promise((r) => setTimeout(r, 100));
      }
      expect(healthy).toBe(true);
      const again = await sync(server, alice);
      expect(again.c.welcome).not.toBe(null);
    } finally {
      open.splice(0).forEach((c) => c.close());
      await server.close();
      await etcdAgain?.process.stop();
    }
  }, 60_000);
});

describe("etcd with authentication on", () => {
  it("starts only with etcd's credentials, saying why not, and then serves", async () => {
    const secured = await startEtcd(path.join(dir, "secured"));
    try {
      const admin = new Etcd3({ hosts: secured.endpoint });
      await admin.role("root").create();
      await admin.user("root").create("root-password");
      await admin.user("root").addRole("root");
      await admin.auth.authEnable({});
      admin.close();
      const start = (password: string) =>
        testServer({
          multiNode: {
            etcdEndpoints: [secured.endpoint],
            nodeId: "secured",
            prefix,
            etcdAuth: { username: "root", password },
          },
          backup: { url: BACKUP_URL, store: s3.store(), intervalMs: 60_000 },
        });
      await expect(start("wrong password")).rejects.toThrow(
        /multi-node mode cannot use etcd \(http:\/\/127\.0\.0\.1:\d+\): .*authentication failed/,
      );
      const server = await start("root-password");
      try {
        const alice = await account(server, "alice");
        const { c } = await sync(server, alice);
        expect(c.welcome).not.toBe(null);
      } finally {
        open.splice(0).forEach((c) => c.close());
        await server.close();
      }
    } finally {
      await secured.process.stop();
    }
  }, 30_000);
});
