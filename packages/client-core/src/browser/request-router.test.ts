import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { TABLE_NAMES } from "@notesync/protocol";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../database.js";
import { openNodeDatabase } from "../node/index.js";
import { RemoteDriver } from "./remote-driver.js";
import { RequestRouter, type RouterConnection, type WatchClient } from "./request-router.js";
import type { DbReply, DbRequest } from "./worker-protocol.js";

// The leader's router and a follower's driver, on a real cr-sqlite file: a "leader" here is a
// connection to the file with a router over it; ending one closes the connection, which rolls
// back whatever transaction it had open, as a closed tab's worker does.
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const noWatch: WatchClient = () => () => undefined;

const WRITE =
  /^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM)\s+["`]?(\w+)/i;

/**
 * The leader's connection with `takeWrittenTables`, which in a browser comes from SQLite's update
 * hook (better-sqlite3 has none): here, a write statement that ran names its table when that table
 * is replicated. (The hook names it only if a row changed; every write in these tests changes one.)
 */
function withWrittenTables(db: Database): RouterConnection {
  const written = new Set<string>();
  const ran = (sql: string) => {
    const table = WRITE.exec(sql)?.[1];
    if (table && (TABLE_NAMES as readonly string[]).includes(table)) written.add(table);
  };
  return {
    async exec(sql, params) {
      await db.exec(sql, params);
      ran(sql);
    },
    async query<T>(sql: string, params?: readonly unknown[]) {
      const rows = await db.query<T>(sql, params);
      ran(sql);
      return rows;
    },
    async execMany(sql, lists) {
      await db.execMany(sql, lists);
      ran(sql);
    },
    takeWrittenTables() {
      const tables = [...written];
      written.clear();
      return tables;
    },
  };
}

async function leaderOn(file: string, watch: WatchClient = noWatch) {
  const db = await openNodeDatabase(file);
  const router = await RequestRouter.open(withWrittenTables(db), watch);
  /** What `onCommit` was told, tables sorted. */
  const commits: { client: string; tables: string[] }[] = [];
  router.onCommit = (client, tables) => commits.push({ client, tables: [...tables].sort() });
  /** Replies reach the tabs only while `delivering` (a leader that dies drops what it had). */
  const state = { delivering: true };
  const transport = (driver: RemoteDriver, track = true) => ({
    track,
    send: (request: Parameters<RequestRouter["handle"]>[0]) =>
      router.handle(request, (reply: DbReply) => {
        if (state.delivering) driver.receive(reply);
      }),
  });
  return {
    db,
    router,
    commits,
    state,
    transport,
    /** A tab's connection to this leader (a follower's unless `track` is false). */
    tab(client: string, track = true) {
      const driver = new RemoteDriver(client, async () => undefined);
      driver.connect(transport(driver, track));
      return driver;
    },
  };
}

/** A leader whose tabs can be made to go away: `gone()` ends the tab whose transaction is open. */
async function leaderWithGoneTabs(file: string) {
  let gone: (() => void) | null = null;
  const leader = await leaderOn(file, (_client, onGone) => {
    gone = onGone;
    return () => (gone = null);
  });
  return { ...leader, gone: () => gone!() };
}

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-router-"));
  dirs.push(dir);
  return path.join(dir, "db.sqlite");
}

const count = async (db: Database, where = "1") =>
  (await db.query<{ n: number }>(`SELECT count(*) AS n FROM notes WHERE ${where}`))[0]!.n;

const insert = "INSERT INTO notes (id, title) VALUES (?, ?)";
const tag = "INSERT INTO note_tags (note_id, tag) VALUES (?, ?)";

/** Sends one request to the router; resolves with its reply. */
const ask = (router: RequestRouter, request: DbRequest) =>
  new Promise<DbReply>((resolve) => router.handle(request, resolve));

describe("RequestRouter with RemoteDriver", () => {
  it("a write whose answer died with the leader is sent to the next one and lands once", async () => {
    const file = tempFile();
    const first = await leaderOn(file);
    const tab = new RemoteDriver("tab-a", async () => undefined);
    tab.connect(first.transport(tab));
    first.state.delivering = false; // the leader commits, then its tab closes before answering
    let answered = false;
    const write = tab.exec(insert, ["n1", "once"]).then(() => (answered = true));
    await first.router.idle();
    expect(answered).toBe(false);
    await first.db.close();

    const second = await leaderOn(file);
    tab.connect(second.transport(tab));
    await write;
    await second.router.idle();
    expect(await count(second.db)).toBe(1);
    await second.db.close();
  });

  it("a transaction cut off by the leader's end is sent again from its BEGIN and commits once", async () => {
    const file = tempFile();
    const first = await leaderOn(file);
    const tab = new RemoteDriver("tab-a", async () => undefined);
    tab.connect(first.transport(tab));
    await tab.exec("BEGIN IMMEDIATE");
    await tab.exec(insert, ["a", "in the transaction"]);
    first.state.delivering = false;
    const pending = tab.exec(insert, ["b", "in flight when the leader ended"]);
    await first.router.idle();
    await first.db.close(); // uncommitted: rolled back

    const second = await leaderOn(file);
    tab.connect(second.transport(tab));
    await pending;
    await tab.exec("COMMIT");
    expect(await count(second.db)).toBe(2);
    await second.db.close();
  });

  it("another tab's statements wait while a transaction is open; a tab gone mid-transaction is rolled back", async () => {
    const leader = await leaderWithGoneTabs(tempFile());
    const a = leader.tab("tab-a");
    const b = leader.tab("tab-b");
    await a.exec("BEGIN IMMEDIATE");
    await a.exec(insert, ["from-a", "never committed"]);
    let bDone = false;
    const bWrite = b.exec(insert, ["from-b", "waits"]).then(() => (bDone = true));
    await leader.router.idle();
    expect(bDone).toBe(false);
    leader.gone();
    await bWrite;
    expect(await leader.db.query("SELECT id FROM notes")).toEqual([{ id: "from-b" }]);
    await leader.db.close();
  });

  it("a request sent again to the same leader (it announced itself once more) runs once", async () => {
    const leader = await leaderOn(tempFile());
    const a = new RemoteDriver("tab-a", async () => undefined);
    const b = new RemoteDriver("tab-b", async () => undefined);
    a.connect(leader.transport(a));
    // Untracked, so only the leader's memory of what it has seen keeps the second copy out.
    b.connect(leader.transport(b, false));
    await a.exec("INSERT INTO notes (id, pinned) VALUES ('counter', 0)");
    await a.exec("BEGIN IMMEDIATE");
    // b's write waits for a's transaction; meanwhile b hears the leader again and resends it.
    const bWrite = b.exec("UPDATE notes SET pinned = pinned + 1 WHERE id = 'counter'");
    b.connect(leader.transport(b, false));
    await a.exec(insert, ["from-a", "committed"]);
    await a.exec("COMMIT");
    await bWrite;
    await leader.router.idle();
    expect(await leader.db.query("SELECT pinned FROM notes WHERE id = 'counter'")).toEqual([
      { pinned: 1 },
    ]);
    await leader.db.close();
  });
});

describe("RequestRouter batches", () => {
  it("a batch runs in one transaction: when a statement fails none lands, and the reply is the error", async () => {
    const leader = await leaderOn(tempFile());
    const tab = leader.tab("tab-a");
    await tab.batch([
      { sql: insert, params: ["n1", "first"] },
      { sql: tag, params: ["n1", "work"] },
    ]);
    expect(await count(leader.db)).toBe(1);

    const replies: DbReply[] = [];
    leader.router.handle(
      {
        client: "tab-a",
        seq: 100,
        op: "batch",
        sql: "",
        statements: [
          { sql: insert, params: ["n2", "would land alone"] },
          { sql: insert, params: ["n1", "taken"] },
        ],
        track: true,
      },
      (reply) => replies.push(reply),
    );
    await leader.router.idle();
    expect(replies).toEqual([
      {
        client: "tab-a",
        seq: 100,
        ok: false,
        error: { name: "SqliteError", message: "UNIQUE constraint failed: notes.id" },
      },
    ]);
    expect(await leader.db.query("SELECT id FROM notes")).toEqual([{ id: "n1" }]);
    // The failed batch took its seq with it: the next leader would run it again.
    expect(
      await leader.db.query("SELECT seq FROM notesync_tab_requests WHERE client = 'tab-a'"),
    ).toEqual([{ seq: 1 }]);
    await leader.db.close();
  });

  it("a follower's batch that landed under the last leader is answered, not run, by the next", async () => {
    const file = tempFile();
    const first = await leaderOn(file);
    await first.db.exec("INSERT INTO notes (id, pinned) VALUES ('counter', 0)");
    const query: DbRequest = {
      client: "tab-b",
      seq: 1,
      op: "query",
      sql: "SELECT pinned FROM notes WHERE id = 'counter'",
      track: true,
    };
    const batch: DbRequest = {
      client: "tab-b",
      seq: 2,
      op: "batch",
      sql: "",
      statements: [
        { sql: "UPDATE notes SET pinned = pinned + 1 WHERE id = 'counter'" },
        { sql: tag, params: ["counter", "once"] },
      ],
      track: true,
    };
    // The first leader runs both, then ends before its answers reach the tab.
    await ask(first.router, query);
    expect(await ask(first.router, batch)).toMatchObject({ ok: true });
    await first.db.close();

    // The tab sends both again: what it wrote is unknown now, so every replicated table.
    const second = await leaderOn(file);
    expect(await ask(second.router, query)).toEqual({
      client: "tab-b",
      seq: 1,
      ok: true,
      written: [],
    });
    expect(await ask(second.router, batch)).toEqual({
      client: "tab-b",
      seq: 2,
      ok: true,
      written: [...TABLE_NAMES],
    });
    expect(await second.db.query("SELECT pinned FROM notes WHERE id = 'counter'")).toEqual([
      { pinned: 1 },
    ]);
    expect(await second.db.query("SELECT count(*) AS n FROM note_tags")).toEqual([{ n: 1 }]);
    expect(second.commits).toEqual([]);
    await second.db.close();
  });

  it("a batch waits while another tab's transaction is open, and runs after its COMMIT", async () => {
    const leader = await leaderOn(tempFile());
    const a = leader.tab("tab-a");
    const b = leader.tab("tab-b");
    await a.exec("BEGIN IMMEDIATE");
    await a.exec(insert, ["from-a", "in a's transaction"]);
    let bDone = false;
    const bBatch = b
      .batch([
        { sql: insert, params: ["from-b", "waits"] },
        { sql: tag, params: ["from-b", "later"] },
      ])
      .then(() => (bDone = true));
    await leader.router.idle();
    expect(bDone).toBe(false);
    expect(await a.query("SELECT id FROM notes")).toEqual([{ id: "from-a" }]);
    await a.exec("COMMIT");
    await bBatch;
    expect(await leader.db.query("SELECT id FROM notes ORDER BY id")).toEqual([
      { id: "from-a" },
      { id: "from-b" },
    ]);
    expect(leader.commits).toEqual([
      { client: "tab-a", tables: ["notes"] },
      { client: "tab-b", tables: ["note_tags", "notes"] },
    ]);
    await leader.db.close();
  });
});

describe("RequestRouter written tables and commits", () => {
  it("each reply names the replicated tables its statement wrote", async () => {
    const leader = await leaderOn(tempFile());
    const request = (seq: number, rest: Pick<DbRequest, "op" | "sql"> & Partial<DbRequest>) =>
      ask(leader.router, { client: "tab-a", seq, track: false, ...rest });
    const written = async (reply: Promise<DbReply>) => {
      const r = await reply;
      expect(r.ok).toBe(true);
      return r.ok ? [...(r.written ?? [])].sort() : undefined;
    };

    expect(await written(request(1, { op: "exec", sql: insert, params: ["n1", "a"] }))).toEqual([
      "notes",
    ]);
    expect(await written(request(2, { op: "query", sql: "SELECT id FROM notes" }))).toEqual([]);
    expect(
      await written(
        request(3, {
          op: "execMany",
          sql: tag,
          lists: [
            ["n1", "x"],
            ["n1", "y"],
          ],
        }),
      ),
    ).toEqual(["note_tags"]);
    expect(
      await written(
        request(4, {
          op: "exec",
          sql: "INSERT INTO notesync_sync_state (key, value) VALUES ('k', 1)",
        }),
      ),
    ).toEqual([]);
    expect(
      await written(
        request(5, {
          op: "batch",
          sql: "",
          statements: [
            { sql: "UPDATE notes SET title = 'b' WHERE id = 'n1'" },
            { sql: "INSERT INTO note_versions (id, note_id) VALUES ('v1', 'n1')" },
          ],
        }),
      ),
    ).toEqual(["note_versions", "notes"]);
    // In a transaction: each statement names its own tables.
    expect(await written(request(6, { op: "exec", sql: "BEGIN IMMEDIATE" }))).toEqual([]);
    expect(await written(request(7, { op: "exec", sql: insert, params: ["n2", "c"] }))).toEqual([
      "notes",
    ]);
    expect(await written(request(8, { op: "exec", sql: tag, params: ["n2", "z"] }))).toEqual([
      "note_tags",
    ]);
    expect(await written(request(9, { op: "exec", sql: "COMMIT" }))).toEqual([]);
    // A failed batch's first statement was undone with it: the next reply does not name it.
    const failed = await request(10, {
      op: "batch",
      sql: "",
      statements: [
        { sql: tag, params: ["n1", "w"] },
        { sql: insert, params: ["n1", "taken"] },
      ],
    });
    expect(failed.ok).toBe(false);
    expect(await written(request(11, { op: "query", sql: "SELECT 1" }))).toEqual([]);
    await leader.db.close();
  });

  it("onCommit is told once of each write outside a transaction and of each batch, never of a query", async () => {
    const leader = await leaderOn(tempFile());
    const a = leader.tab("tab-a", false);
    const b = leader.tab("tab-b");
    await a.exec(insert, ["n1", "a"]);
    await b.execMany(tag, [
      ["n1", "x"],
      ["n1", "y"],
    ]);
    await a.query("SELECT * FROM notes");
    await b.query("SELECT * FROM note_tags");
    await a.exec("INSERT INTO notesync_sync_state (key, value) VALUES ('k', 1)");
    await b.batch([
      { sql: "UPDATE notes SET title = 'b' WHERE id = 'n1'" },
      { sql: "INSERT INTO note_versions (id, note_id) VALUES ('v1', 'n1')" },
    ]);
    expect(leader.commits).toEqual([
      { client: "tab-a", tables: ["notes"] },
      { client: "tab-b", tables: ["note_tags"] },
      { client: "tab-b", tables: ["note_versions", "notes"] },
    ]);
    await leader.db.close();
  });

  it("onCommit is told once at a transaction's COMMIT, of every table its statements wrote", async () => {
    const leader = await leaderOn(tempFile());
    const a = leader.tab("tab-a");
    await a.exec("BEGIN IMMEDIATE");
    await a.exec(insert, ["n1", "a"]);
    await a.exec(tag, ["n1", "x"]);
    await a.exec("UPDATE notes SET title = 'b' WHERE id = 'n1'");
    await a.query("SELECT * FROM notes");
    expect(leader.commits).toEqual([]);
    await a.exec("COMMIT");
    expect(leader.commits).toEqual([{ client: "tab-a", tables: ["note_tags", "notes"] }]);
    await leader.db.close();
  });

  it("onCommit is never told of a rolled-back transaction: ROLLBACK, or its tab gone", async () => {
    const leader = await leaderWithGoneTabs(tempFile());
    const a = leader.tab("tab-a");
    const b = leader.tab("tab-b");
    await a.exec("BEGIN IMMEDIATE");
    await a.exec(insert, ["rolled-back", "a"]);
    await a.exec("ROLLBACK");
    await a.exec(tag, ["n1", "after the rollback"]);
    await a.exec("BEGIN IMMEDIATE");
    await a.exec("INSERT INTO note_versions (id, note_id) VALUES ('v1', 'n1')");
    leader.gone();
    await b.exec(insert, ["from-b", "after a's tab went"]);
    await leader.router.idle();
    expect(await leader.db.query("SELECT id FROM notes")).toEqual([{ id: "from-b" }]);
    expect(leader.commits).toEqual([
      { client: "tab-a", tables: ["note_tags"] },
      { client: "tab-b", tables: ["notes"] },
    ]);
    await leader.db.close();
  });

  it("readies the connection for writes once: before the first write, after the queries, never inside a transaction", async () => {
    const leader = await leaderOn(tempFile());
    const order: string[] = [];
    leader.router.beforeFirstWrite(async () => {
      // Outside any transaction: a BEGIN here fails inside one, and "prepared" is never told.
      await leader.db.exec("BEGIN");
      await leader.db.exec("COMMIT");
      order.push("prepared");
    });
    const tab = leader.tab("tab-a");
    await tab.query("SELECT count(*) FROM notes");
    order.push("query");
    await tab.exec("BEGIN IMMEDIATE");
    order.push("begin");
    await tab.exec(insert, ["a", "first"]);
    await tab.exec("COMMIT");
    await tab.exec(insert, ["b", "second"]);
    await leader.router.idle();
    expect(order).toEqual(["query", "prepared", "begin"]);
    expect(await count(leader.db)).toBe(2);
    await leader.db.close();
  });

  it("readies the connection when asked, if no write came first", async () => {
    const leader = await leaderOn(tempFile());
    let prepared = 0;
    leader.router.beforeFirstWrite(async () => void prepared++);
    await leader.tab("tab-a").query("SELECT 1");
    expect(prepared).toBe(0);
    leader.router.prepareWritesNow();
    leader.router.prepareWritesNow();
    await leader.router.idle();
    await leader.tab("tab-b").exec(insert, ["a", "after"]);
    expect(prepared).toBe(1);
    await leader.db.close();
  });

  it("waits for an open transaction's end to ready the connection", async () => {
    const leader = await leaderOn(tempFile());
    const tab = leader.tab("tab-a");
    await tab.exec("BEGIN IMMEDIATE");
    const order: string[] = [];
    leader.router.beforeFirstWrite(async () => void order.push("prepared"));
    leader.router.prepareWritesNow();
    await tab.exec(insert, ["a", "in the transaction"]);
    await tab.exec("COMMIT");
    order.push("committed");
    await leader.tab("tab-b").exec(insert, ["b", "after"]);
    expect(order).toEqual(["committed", "prepared"]);
    await leader.db.close();
  });
});
