import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../database.js";
import { openNodeDatabase } from "../node/index.js";
import { RemoteDriver } from "./remote-driver.js";
import { RequestRouter, type WatchClient } from "./request-router.js";
import type { DbReply } from "./worker-protocol.js";

// The leader's router and a follower's driver, on a real cr-sqlite file: a "leader" here is a
// connection to the file with a router over it; ending one closes the connection, which rolls
// back whatever transaction it had open, as a closed tab's worker does.
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

const noWatch: WatchClient = () => () => undefined;

async function leaderOn(file: string, watch: WatchClient = noWatch) {
  const db = await openNodeDatabase(file);
  const router = await RequestRouter.open(db, watch);
  /** Replies reach the tabs only while `delivering` (a leader that dies drops what it had). */
  const state = { delivering: true };
  const tabs = new Set<RemoteDriver>();
  return {
    db,
    router,
    state,
    transport: (driver: RemoteDriver, track = true) => {
      tabs.add(driver);
      return {
        track,
        send: (request: Parameters<RequestRouter["handle"]>[0]) =>
          router.handle(request, (reply: DbReply) => {
            if (state.delivering) driver.receive(reply);
          }),
      };
    },
  };
}

function tempFile(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-router-"));
  dirs.push(dir);
  return path.join(dir, "db.sqlite");
}

const count = async (db: Database, where = "1") =>
  (await db.query<{ n: number }>(`SELECT count(*) AS n FROM notes WHERE ${where}`))[0]!.n;

const insert = "INSERT INTO notes (id, title) VALUES (?, ?)";

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
    let gone: (() => void) | null = null;
    const leader = await leaderOn(tempFile(), (_client, onGone) => {
      gone = onGone;
      return () => (gone = null);
    });
    const a = new RemoteDriver("tab-a", async () => undefined);
    const b = new RemoteDriver("tab-b", async () => undefined);
    a.connect(leader.transport(a));
    b.connect(leader.transport(b));
    await a.exec("BEGIN IMMEDIATE");
    await a.exec(insert, ["from-a", "never committed"]);
    let bDone = false;
    const bWrite = b.exec(insert, ["from-b", "waits"]).then(() => (bDone = true));
    await leader.router.idle();
    expect(bDone).toBe(false);
    gone!();
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
