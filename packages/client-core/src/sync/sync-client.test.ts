import { ErrorCode } from "@notesync/protocol";
import { FakeClock } from "@notesync/protocol/testing";
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { webSocketDial, type WebSocketConstructor } from "./websocket.js";
import type { SyncStatus } from "./status.js";
import {
  changesOut,
  device,
  hasTitles,
  restartServer,
  server,
  shutdown,
  signup,
  table,
  until,
  useWorld,
  waitFor,
} from "../testing/world.test-helpers.js";

// Real server on loopback, real SQLite files, real WebSockets, Node clients through the Node adapter.
useWorld();

describe("sync client against the real server", () => {
  it("converges three devices that edit while some are disconnected", async () => {
    const token = await signup();
    const [a, b, c] = [
      await device("a", token),
      await device("b", token),
      await device("c", token),
    ];
    await Promise.all([a, b, c].map((d) => d.client.whenSynced()));

    const shared = await a.notes.create({ title: "shared", body: "v0" });
    await Promise.all([b, c].map((d) => until(hasTitles(d, ["shared"]))));
    await c.client.stop(); // c goes offline
    await b.client.stop(); // so does b
    await a.notes.update(shared.id, { body: "edited on a" });
    await b.notes.create({ title: "from b, offline" });
    await b.notes.update(shared.id, { title: "renamed on b" });
    await c.notes.create({ title: "from c, offline" });
    await c.notes.trash(shared.id);
    expect(c.client.status.pending).toBeGreaterThan(0);

    b.client.start();
    c.client.start();
    const all = ["from b, offline", "from c, offline", "renamed on b"];
    await Promise.all([a, b, c].map((d) => until(hasTitles(d, all))));
    await Promise.all([a, b, c].map((d) => d.client.whenSynced()));

    const [ta, tb, tc] = await Promise.all([table(a), table(b), table(c)]);
    expect(tb).toEqual(ta);
    expect(tc).toEqual(ta);
    expect(ta.map((n) => n.title).sort()).toEqual([
      "from b, offline",
      "from c, offline",
      "renamed on b",
    ]);
    const s = ta.find((n) => n.title === "renamed on b")!;
    expect(s.body).toBe("edited on a");
    expect(s.deleted_at).not.toBeNull();
  });

  it("resumes a restarted client from its stored cursors: nothing missed, nothing downloaded twice", async () => {
    const token = await signup();
    const a = await device("a", token);
    let b = await device("b", token);
    for (let i = 0; i < 30; i++) await a.notes.create({ title: `note ${i}` });
    await a.client.whenSynced();
    await until(async () => (await b.notes.list()).length === 30);

    await shutdown(b); // the process is gone; the file stays
    await a.notes.create({ title: "while b was away" });
    await a.client.whenSynced();
    const before = await changesOut();

    b = await device("b", token);
    await until(async () => (await b.notes.list()).length === 31);
    expect((await b.notes.list()).map((n) => n.title)).toContain("while b was away");
    // Only the one new note's changes travelled (a note is one change per column), not the 30 before.
    expect((await changesOut()) - before).toBeLessThanOrEqual(8);
  });

  it("reconnects by itself after the server restarts, and converges", async () => {
    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    await Promise.all([a.client.whenSynced(), b.client.whenSynced()]);
    const port = server.port;
    await server.close();
    await waitFor(a.client, (s) => s.state === "offline");
    await a.notes.create({ title: "written while the server was down" });
    await restartServer(port);
    await until(hasTitles(b, ["written while the server was down"]));
    await a.client.whenSynced();
  });

  it("fires change once per local transaction and once per remote batch, and never echoes", async () => {
    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    await Promise.all([a.client.whenSynced(), b.client.whenSynced()]);
    a.events.length = 0;
    b.events.length = 0;

    await a.db.transaction(async (tx) => {
      await tx.exec("INSERT INTO notes (id, pinned) VALUES ('x', 1)");
      await tx.exec("INSERT INTO notes (id, pinned) VALUES ('y', 1)");
    });
    await a.client.whenSynced();
    await until(async () => (await b.notes.list()).length === 2);
    expect(a.events).toEqual([{ tables: ["notes"], origin: "local" }]);
    expect(b.events).toEqual([{ tables: ["notes"], origin: "remote" }]);
  });

  it("keeps INTEGER and REAL values and their types identical everywhere after concurrent offline edits", async () => {
    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    await a.notes.create({ title: "typed" });
    await a.client.whenSynced();
    await until(hasTitles(b, ["typed"]));
    const [{ id }] = (await b.db.query<{ id: string }>("SELECT id FROM notes")) as [{ id: string }];
    await Promise.all([a.client.stop(), b.client.stop()]);
    await a.db.exec("UPDATE notes SET pinned = 42, position = 1.5 WHERE id = ?", [id]);
    await b.db.exec("UPDATE notes SET pinned = 43, position = 2.0 WHERE id = ?", [id]);
    a.client.start();
    b.client.start();
    const same = async () => JSON.stringify(await table(a)) === JSON.stringify(await table(b));
    await until(same);
    const [ta, tb] = await Promise.all([table(a), table(b)]);
    expect(tb).toEqual(ta);
    expect(ta[0]).toMatchObject({ pt: "integer", qt: "real" });
  });

  it("reports catch-up progress on a long sync", async () => {
    const token = await signup();
    const a = await device("a", token);
    for (let i = 0; i < 40; i++) {
      await a.db
        .exec(`INSERT INTO note_versions (id, note_id, body) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 100)
        SELECT '${i}-' || v, '${i}-' || v, hex(randomblob(200)) FROM s`);
      await a.db.exec(
        `INSERT INTO notes (id) SELECT note_id FROM note_versions WHERE note_id LIKE '${i}-%'`,
      );
    }
    await a.client.whenSynced();
    const b = await device("b", token, false);
    const seen: SyncStatus[] = [];
    b.client.on("status", (s) => seen.push(s));
    b.client.start();
    await b.client.whenSynced();
    const progress = seen
      .filter((s) => s.state === "syncing" && s.progress)
      .map((s) => s.progress!);
    expect(progress.length).toBeGreaterThan(2);
    expect(progress.some((p) => p.received > 0 && p.received < p.total)).toBe(true);
    expect((await b.notes.list()).length).toBe(4000);
  }, 20_000); // 4,000 notes: slow when other processes share the cores

  it("shows a bad token as an error without reconnecting in a loop", async () => {
    await signup();
    const clock = new FakeClock();
    const dial = webSocketDial(WebSocket as unknown as WebSocketConstructor);
    let dials = 0;
    const d = await device("a", "not-a-token", true, {
      clock,
      dial: (url) => {
        dials++;
        return dial(url);
      },
    });
    const s = await waitFor(d.client, (st) => st.state === "error");
    expect(s.error).toMatchObject({ code: ErrorCode.Unauthorized });
    clock.advance(10 * 60_000); // any reconnect timer would have fired many times over
    await new Promise((resolve) => setImmediate(resolve));
    expect(dials).toBe(1);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/notesync_frames_in_total\{type="hello"\} (\d+)/.exec(text)?.[1])).toBe(1);
    expect(d.client.status.state).toBe("error");
  });
});
