import {
  ErrorCode,
  SCHEMA_VERSION,
  chunkChanges,
  encodeClientFrame,
  encodeServerFrame,
  type ClientChangesFrame,
  type ServerChangesFrame,
} from "@notesync/protocol";
import { FakeClock } from "@notesync/protocol/testing";
import Database from "better-sqlite3";
import { loadCrsqlite } from "@notesync/crsqlite-native";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { UserDatabase } from "./user-db.js";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";

const ANY_SITE = new Uint8Array(16);
const changesOf = (db: UserDatabase, after = 0) =>
  db.readChanges(after, ANY_SITE, 1_000_000).changes;
const push = (c: RawClient, db: UserDatabase, after = 0): ClientChangesFrame => {
  const frame: ClientChangesFrame = {
    type: "changes",
    clientVersion: db.dbVersion(),
    partial: false,
    changes: changesOf(db, after),
  };
  c.send(frame);
  return frame;
};
function titles(file: string): string[] {
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare("SELECT title FROM note_versions ORDER BY title").pluck().all() as string[];
  } finally {
    db.close();
  }
}

describe("sync server", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  let dir: string;
  const open: RawClient[] = [];
  const dbs: UserDatabase[] = [];
  const track = <T extends RawClient | UserDatabase>(x: T): T => {
    if ("ws" in x) open.push(x);
    else dbs.push(x);
    return x;
  };

  /**
   * Another device of the same user writes a marker note, and `c` waits until it arrives. The
   * server sends a connection's changes in commit order, so whatever it would have sent `c`
   * before (an echo, another user's change) has arrived by then.
   */
  let markers = 0;
  async function barrier(c: RawClient, token: string): Promise<void> {
    const id = `marker-${++markers}`;
    const device = track(clientDb(dir, id));
    device.exec(`INSERT INTO notes (id, pinned) VALUES ('${id}', 1)`);
    const sender = track(await RawClient.sync(server, token, device.siteId));
    push(sender, device);
    await sender.next("ack");
    const pk = Buffer.from(id);
    const arrived = await c.next("changes", (f) =>
      f.changes.some((ch) => Buffer.from(ch.pk).includes(pk)),
    );
    expect(arrived.changes.every((ch) => Buffer.from(ch.pk).includes(pk))).toBe(true);
  }

  beforeEach(async () => {
    server = await testServer();
    dir = tempDir();
  });
  afterEach(async () => {
    open.splice(0).forEach((c) => c.close());
    dbs.splice(0).forEach((d) => d.close());
    await server.close();
  });

  it("pushes a change from one connection to the user's other connection, and not back to the sender", async () => {
    const alice = await account(server, "alice");
    const phone = track(clientDb(dir, "phone"));
    const laptop = track(clientDb(dir, "laptop"));
    const a = track(await RawClient.sync(server, alice.token, phone.siteId));
    const b = track(await RawClient.sync(server, alice.token, laptop.siteId));
    await a.next("changes"); // caught up
    await b.next("changes");

    phone.exec("INSERT INTO note_versions (id, title) VALUES ('n1', 'groceries')");
    const sent = push(a, phone);
    expect(await a.next("ack")).toEqual({ type: "ack", clientVersion: sent.clientVersion });

    const got = await b.next("changes");
    expect(got.changes.length).toBe(sent.changes.length);
    laptop.applyFromClient(new Uint8Array(16), got.changes, got.serverVersion);
    expect(titles(laptop.file)).toEqual(["groceries"]);
    // Nothing comes back to the phone: its own change is not echoed.
    await barrier(a, alice.token);
    expect(a.frames.filter((f) => f.type === "changes")).toEqual([]);
  });

  it("never shows one user's changes to another, and keeps each user's writes in their own database", async () => {
    const alice = await account(server, "alice");
    const mallory = await account(server, "mallory");
    const aliceDb = track(clientDb(dir, "alice"));
    const malloryDb = track(clientDb(dir, "mallory"));
    const a = track(await RawClient.sync(server, alice.token, aliceDb.siteId));
    const m = track(await RawClient.sync(server, mallory.token, malloryDb.siteId));
    await a.next("changes");
    await m.next("changes");

    aliceDb.exec("INSERT INTO note_versions (id, title) VALUES ('secret', 'alice only')");
    push(a, aliceDb);
    await a.next("ack");
    // Mallory replays Alice's changes (same ids, Alice's site id): they land in Mallory's own database only.
    malloryDb.exec("INSERT INTO note_versions (id, title) VALUES ('secret', 'mallory was here')");
    push(m, malloryDb);
    await m.next("ack");
    await barrier(a, alice.token);
    await barrier(m, mallory.token);

    expect(m.frames.filter((f) => f.type === "changes")).toEqual([]);
    expect(a.frames.filter((f) => f.type === "changes")).toEqual([]);
    expect(titles(path.join(server.dataDir, "users", `${alice.userId}.db`))).toEqual([
      "alice only",
    ]);
    expect(titles(path.join(server.dataDir, "users", `${mallory.userId}.db`))).toEqual([
      "mallory was here",
    ]);
  });

  it("sends a reconnecting client exactly what it missed, and ignores changes it resends", async () => {
    const alice = await account(server, "alice");
    const phone = track(clientDb(dir, "phone"));
    const laptop = track(clientDb(dir, "laptop"));
    const a = track(await RawClient.sync(server, alice.token, phone.siteId));
    let b = track(await RawClient.sync(server, alice.token, laptop.siteId));
    const first = await b.next("changes");
    const incarnation = b.welcome!.incarnation;
    b.close();

    phone.exec("INSERT INTO note_versions (id, title) VALUES ('n1', 'one'), ('n2', 'two')");
    const batch = push(a, phone);
    await a.next("ack");
    push(a, phone); // resent: harmless
    await a.next("ack");
    phone.exec("UPDATE note_versions SET title = 'two!' WHERE id = 'n2'");
    push(a, phone, batch.clientVersion);
    await a.next("ack");

    b = track(
      await RawClient.sync(server, alice.token, laptop.siteId, first.serverVersion, incarnation),
    );
    const missed = await b.changesUntil(b.welcome!.serverVersion);
    laptop.applyFromClient(new Uint8Array(16), missed, 0);
    expect(titles(laptop.file)).toEqual(["one", "two!"]);
    const count = (f: string) => {
      const d = new Database(f, { readonly: true });
      const n = d.prepare("SELECT count(*) FROM note_versions").pluck().get();
      d.close();
      return n;
    };
    expect(count(path.join(server.dataDir, "users", `${alice.userId}.db`))).toBe(2);

    // Reconnecting at the head sends nothing but the caught-up marker.
    const head = (await b.next("changes", () => true, 500).catch(() => null)) ?? { changes: [] };
    expect(head.changes).toEqual([]);
  });

  it("tells a client the server's record of its pushes, so it resumes after what was applied", async () => {
    const alice = await account(server, "alice");
    const phone = track(clientDb(dir, "phone"));
    const a = track(await RawClient.sync(server, alice.token, phone.siteId));
    phone.exec("INSERT INTO note_versions (id, title) VALUES ('n1', 'one')");
    const sent = push(a, phone);
    await a.next("ack");
    a.close();
    const c = track(await RawClient.connect(server));
    c.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: phone.siteId,
      serverVersion: 0,
      token: alice.token,
      incarnation: new Uint8Array(),
    });
    expect((await c.next("welcome")).clientVersion).toBe(sent.clientVersion);
  });

  it("pushes a change written to the database file by another process", async () => {
    const alice = await account(server, "alice");
    const laptop = track(clientDb(dir, "laptop"));
    const b = track(await RawClient.sync(server, alice.token, laptop.siteId));
    await b.next("changes");

    const admin = new Database(path.join(server.dataDir, "users", `${alice.userId}.db`));
    loadCrsqlite(admin);
    admin.exec(
      "INSERT INTO note_versions (id, title) VALUES ('imported', 'from an import script')",
    );
    admin.prepare("SELECT crsql_finalize()").get();
    admin.close();

    const got = await b.next("changes", (f) => f.changes.length > 0, 2000);
    laptop.applyFromClient(new Uint8Array(16), got.changes, got.serverVersion);
    expect(titles(laptop.file)).toEqual(["from an import script"]);
  });

  it("streams a large history in bounded frames without splitting a transaction", async () => {
    const alice = await account(server, "alice");
    const phone = track(clientDb(dir, "phone"));
    const a = track(await RawClient.sync(server, alice.token, phone.siteId));
    await a.next("changes");
    for (let t = 0; t < 20; t++) {
      phone.exec(`INSERT INTO note_versions (id, title, body) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50)
        SELECT 't${t}-' || v, 'note', hex(randomblob(500)) FROM s`);
    }
    // Pushed the way a client does: whole transactions, in frames under the target size.
    const pushed = { changes: changesOf(phone) };
    const chunks = [...chunkChanges(pushed.changes, { targetFrameBytes: 200 * 1024 })];
    a.sendChanges(pushed.changes, { targetFrameBytes: 200 * 1024 });
    await a.next("ack", (f) => f.clientVersion === chunks.at(-1)!.version, 20_000);

    const laptop = track(clientDb(dir, "laptop"));
    const b = track(await RawClient.sync(server, alice.token, laptop.siteId));
    const frames: ServerChangesFrame[] = [];
    let received = 0;
    while (received < pushed.changes.length) {
      const f = await b.next("changes");
      frames.push(f);
      received += f.changes.length;
    }
    expect(received).toBe(pushed.changes.length);
    expect(frames.length).toBeGreaterThanOrEqual(4);
    for (const f of frames) {
      expect(f.partial).toBe(false);
      expect(encodeServerFrame(f).length).toBeLessThanOrEqual(256 * 1024);
    }
    // Every transaction arrives whole in one frame.
    const frameOfVersion = new Map<number, number>();
    frames.forEach((f, i) =>
      f.changes.forEach((c) => {
        expect(frameOfVersion.get(c.dbVersion) ?? i).toBe(i);
        frameOfVersion.set(c.dbVersion, i);
      }),
    );
    expect(frameOfVersion.size).toBeGreaterThan(1);
  });
});

describe("bad input", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  let dir: string;
  let alice: { token: string; userId: string };
  let phone: UserDatabase;
  const userFile = () => path.join(server.dataDir, "users", `${alice.userId}.db`);

  beforeEach(async () => {
    server = await testServer({ limits: { maxFrameBytes: 64 * 1024 } });
    dir = tempDir();
    alice = await account(server, "alice");
    phone = clientDb(dir, "phone");
    phone.exec("INSERT INTO note_versions (id, title) VALUES ('n1', 'kept')");
    const c = await RawClient.sync(server, alice.token, phone.siteId);
    c.send({
      type: "changes",
      clientVersion: phone.dbVersion(),
      partial: false,
      changes: changesOf(phone),
    });
    await c.next("ack");
    c.close();
  });
  afterEach(async () => {
    phone.close();
    await server.close();
  });

  async function refusedWith(
    code: string,
    act: (c: RawClient) => void,
    hello = true,
  ): Promise<void> {
    const c = hello
      ? await RawClient.sync(server, alice.token, phone.siteId)
      : await RawClient.connect(server);
    act(c);
    const err = await c.next("error");
    expect(err.code).toBe(code);
    expect(err.fatal).toBe(true);
    expect(await c.closed).toBeGreaterThanOrEqual(1000);
    // Nothing changed, and the server still serves this user.
    expect(titles(userFile())).toEqual(["kept"]);
    const again = await RawClient.sync(server, alice.token, phone.siteId);
    again.close();
  }

  it("refuses bytes that are not a frame", () =>
    refusedWith(ErrorCode.MalformedFrame, (c) => c.sendRaw(Buffer.from([0xc1, 0xff, 0x00]))));
  it("refuses text messages", () =>
    refusedWith(ErrorCode.MalformedFrame, (c) => c.sendRaw("hello?")));
  it("refuses a frame over the size limit", () =>
    refusedWith(ErrorCode.FrameTooLarge, (c) => {
      phone.exec(`UPDATE note_versions SET body = hex(randomblob(40000)) WHERE id = 'n1'`);
      c.send({
        type: "changes",
        clientVersion: phone.dbVersion(),
        partial: false,
        changes: changesOf(phone),
      });
    }));
  it("refuses changes before hello", () =>
    refusedWith(
      ErrorCode.UnexpectedFrame,
      (c) =>
        c.send({ type: "changes", clientVersion: 1, partial: false, changes: changesOf(phone) }),
      false,
    ));
  it("refuses a forged token", () =>
    refusedWith(
      ErrorCode.Unauthorized,
      (c) =>
        c.send({
          type: "hello",
          schemaVersion: SCHEMA_VERSION,
          siteId: phone.siteId,
          serverVersion: 0,
          token: alice.token.slice(0, -4) + "AAAA",
          incarnation: new Uint8Array(),
        }),
      false,
    ));
  it("refuses an expired token", async () => {
    await server.close();
    const clock = new FakeClock(Date.now());
    server = await testServer({ dataDir: server.dataDir, tokenTtlSeconds: 60, clock });
    const login = await fetch(`${server.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "correct horse" }),
    });
    const { token } = (await login.json()) as { token: string };
    const hello = (c: RawClient) =>
      c.send({
        type: "hello",
        schemaVersion: SCHEMA_VERSION,
        siteId: phone.siteId,
        serverVersion: 0,
        token,
        incarnation: new Uint8Array(),
      });
    const fresh = await RawClient.connect(server);
    hello(fresh);
    await fresh.next("welcome");
    fresh.close();
    clock.advance(61_000);
    await refusedWith(ErrorCode.Unauthorized, hello, false);
  });
  it("refuses a schema version mismatch, saying which side must upgrade", async () => {
    await refusedWith(
      ErrorCode.SchemaMismatch,
      (c) =>
        c.send({
          type: "hello",
          schemaVersion: 99,
          siteId: phone.siteId,
          serverVersion: 0,
          token: alice.token,
          incarnation: new Uint8Array(),
        }),
      false,
    );
  });
  it("refuses changes to an unknown table or column", async () => {
    const good = encodeClientFrame({
      type: "changes",
      clientVersion: 9,
      partial: false,
      changes: changesOf(phone),
    });
    // Rename the column "title" to "admin" in the encoded frame: same length, same structure.
    const bad = Buffer.from(
      Buffer.from(good).toString("latin1").replace("title", "admin"),
      "latin1",
    );
    await refusedWith(ErrorCode.UnknownTableOrColumn, (c) => c.sendRaw(bad));
  });

  it("reports a corrupt user database to that user only, and keeps serving everyone else", async () => {
    const bob = await account(server, "bob");
    fs.mkdirSync(path.join(server.dataDir, "users"), { recursive: true });
    fs.writeFileSync(
      path.join(server.dataDir, "users", `${bob.userId}.db`),
      Buffer.alloc(8192, 0x5a),
    );
    const c = await RawClient.connect(server);
    c.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: phone.siteId,
      serverVersion: 0,
      token: bob.token,
      incarnation: new Uint8Array(),
    });
    const err = await c.next("error");
    expect(err.code).toBe(ErrorCode.StorageFailed);
    await c.closed;
    const fine = await RawClient.sync(server, alice.token, phone.siteId);
    fine.close();
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
