import { FakeClock, SocketPair, seedFromEnv, seededRandom } from "@notesync/protocol/testing";
import { SyncHost, TokenService } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../database.js";
import { openNodeDatabase } from "../node/index.js";
import { createNotesApi, type NotesApi } from "../notes/notes-api.js";
import { isSynced } from "./status.js";
import { createSyncClient, type SyncClient } from "./sync-client.js";

// The whole conversation in one process: three clients and a server's sync sessions over
// hand-flushed in-memory sockets, with real SQLite files and one fake clock. A seeded schedule
// edits, flushes messages one at a time in random directions, drops connections, restarts
// clients and the server, loses devices, puts an older copy of the server's files back, and
// lets tokens expire; afterwards every replica must hold the same notes. A failure prints its seed; NOTESYNC_FUZZ_SEED=<seed> replays it.
const SEED = seedFromEnv("NOTESYNC_FUZZ_SEED", process.env);
const RUNS = 10;
const STEPS = 300;
const USER = "0123456789abcdef0123456789abcdef";
const TOKEN_TTL_S = 120;

interface Replica {
  readonly name: string;
  readonly file: string;
  db: Database;
  notes: NotesApi;
  client: SyncClient;
  pair: SocketPair | null;
}

/** Runs everything queued on the event loop (SQLite promises, setImmediate pages, token checks). */
async function settle(world: World): Promise<void> {
  for (let i = 0; i < 6; i++) {
    await Promise.all([...world.host.sessions].map((s) => s.settled()));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

class World {
  readonly clock = new FakeClock(Date.UTC(2026, 10, 25));
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-conversation-"));
  readonly tokens = new TokenService(
    "conversation-test-secret-conversation-test",
    TOKEN_TTL_S,
    { sessionGeneration: () => Promise.resolve(0), isSignedOut: () => Promise.resolve(false) },
    () => this.clock.now(),
  );
  host = this.newHost();
  token = "";
  readonly replicas: Replica[] = [];

  newHost(): SyncHost {
    return new SyncHost({
      usersDir: path.join(this.dir, "server"),
      tokens: this.tokens,
      log: pino({ level: "silent" }),
      clock: this.clock,
      resources: { helloTimeoutMs: 5_000 },
    });
  }

  async renewToken(): Promise<void> {
    this.token = await this.tokens.sign(USER);
  }

  async addReplica(name: string): Promise<Replica> {
    const file = path.join(this.dir, `${name}.db`);
    const db = await openNodeDatabase(file);
    const replica = { name, file, db } as Replica;
    this.attach(replica, db);
    this.replicas.push(replica);
    replica.client.start();
    return replica;
  }

  attach(replica: Replica, db: Database): void {
    replica.db = db;
    replica.pair = null;
    replica.client = createSyncClient({
      db,
      url: "memory://sync",
      getToken: () => this.token,
      clock: this.clock,
      network: { onOnline: () => () => undefined },
      reconnect: { initialMs: 100, maxMs: 2_000 },
      dial: () => {
        const pair = new SocketPair(64 * 1024);
        this.host.accept(pair.server, replica.name);
        replica.pair = pair;
        return pair.client;
      },
    });
    replica.notes = createNotesApi(db, {
      now: () => this.clock.now(),
      onChange: (l) => replica.client.on("change", l),
    });
  }

  /** Stops a client and closes its database, then opens the file again with a new client. */
  async restart(replica: Replica): Promise<void> {
    await replica.client.stop();
    replica.pair?.breakConnection();
    await replica.db.close();
    this.attach(replica, await openNodeDatabase(replica.file));
    replica.client.start();
  }

  /** The server process goes away: every connection breaks, the databases close, a new host opens them. */
  restartServer(): void {
    for (const r of this.replicas) r.pair?.breakConnection();
    this.host.close();
    this.host = this.newHost();
  }

  private devices = 0;

  /** A device is lost (its file gone) and a new one signs in in its place. */
  async replace(replica: Replica): Promise<void> {
    await replica.client.stop();
    replica.pair?.breakConnection();
    await replica.db.close();
    fs.rmSync(replica.file);
    this.replicas.splice(this.replicas.indexOf(replica), 1);
    await this.addReplica(`device-${++this.devices}`);
  }

  private readonly backupDir = path.join(this.dir, "backup");

  /** Copies the server's files aside, as a backup taken with the server stopped. */
  backUpServer(): void {
    this.restartServer();
    this.host.close();
    fs.rmSync(this.backupDir, { recursive: true, force: true });
    fs.cpSync(path.join(this.dir, "server"), this.backupDir, { recursive: true });
    this.host = this.newHost();
  }

  /** Puts the last backup back in place of the server's files (PROTOCOL.md §4.1). */
  restoreServer(): void {
    if (!fs.existsSync(this.backupDir)) return;
    for (const r of this.replicas) r.pair?.breakConnection();
    this.host.close();
    fs.rmSync(path.join(this.dir, "server"), { recursive: true });
    fs.cpSync(this.backupDir, path.join(this.dir, "server"), { recursive: true });
    this.host = this.newHost();
  }

  async close(): Promise<void> {
    for (const r of this.replicas) {
      await r.client.stop();
      await r.db.close();
    }
    this.host.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

const NOTE_ROWS = `SELECT n.id, n.pinned, n.deleted_at, t.title, t.body
  FROM notes n LEFT JOIN note_text t ON t.note_id = n.id ORDER BY n.id`;

async function randomEdit(r: Replica, rnd: ReturnType<typeof seededRandom>): Promise<void> {
  const notes = await r.notes.list();
  const words = ["milk", "eggs", "plan", "call", "idea", "todo", "🙂", "ünïcode"];
  const text = () => Array.from({ length: 1 + rnd.int(4) }, () => rnd.pick(words)).join(" ");
  const note = notes.length > 0 ? rnd.pick(notes) : null;
  const op = note ? rnd.int(10) : 0;
  if (op <= 2 || !note) await r.notes.create({ title: text(), body: text() });
  else if (op <= 5) await r.notes.update(note.id, { body: `${note.body} ${text()}` });
  else if (op === 6) await r.notes.update(note.id, { title: text() });
  else if (op === 7) await r.notes.update(note.id, { pinned: !note.pinned });
  else if (op === 8) await r.notes.trash(note.id);
  else await r.notes.deleteForever(note.id);
}

async function runConversation(seed: number): Promise<void> {
  const rnd = seededRandom(seed);
  const world = new World();
  try {
    await world.renewToken();
    for (const name of ["phone", "laptop", "tablet"]) await world.addReplica(name);
    await settle(world);

    for (let step = 0; step < STEPS; step++) {
      const r = rnd.pick(world.replicas);
      const roll = rnd.int(100);
      if (roll < 30) await randomEdit(r, rnd);
      else if (roll < 60) {
        // One message, or a burst, in a random direction: the two directions interleave freely.
        const burst = rnd.chance(0.3) ? 1 + rnd.int(8) : 1;
        for (let i = 0; i < burst; i++)
          r.pair?.deliverOne(rnd.chance(0.5) ? "toServer" : "toClient");
      } else if (roll < 66) {
        // Everything in flight arrives, with what it causes: the replicas get close to each other.
        for (let i = 0; i < 4; i++) for (const x of world.replicas) x.pair?.flush();
      } else if (roll < 74) world.clock.advance(rnd.int(3_000));
      else if (roll < 80) r.pair?.breakConnection();
      else if (roll < 84)
        r.pair?.server.close(1001); // the server closes it, as on shutdown
      else if (roll < 87) await world.restart(r);
      else if (roll < 89) await world.replace(r);
      else if (roll < 90) world.restartServer();
      else if (roll < 92) world.backUpServer();
      else if (roll < 94) world.restoreServer();
      else if (roll < 97)
        world.clock.advance(TOKEN_TTL_S * 1000); // every token expires
      else {
        await world.renewToken();
        r.client.reconnectNow();
      }
      await settle(world);
    }

    // Heal: a fresh token, every client reconnected, every message delivered, until all are synced.
    await world.renewToken();
    for (const r of world.replicas) r.client.reconnectNow();
    for (let round = 0; round < 200; round++) {
      await settle(world);
      let moved = 0;
      for (const r of world.replicas) moved += r.pair?.flush() ?? 0;
      await settle(world);
      const synced = world.replicas.every((r) => isSynced(r.client.status));
      if (synced && moved === 0) break;
      if (moved === 0) world.clock.advance(1_000);
    }
    for (const r of world.replicas)
      expect(r.client.status, `${r.name} synced (seed ${seed})`).toMatchObject({
        state: "live",
        pending: 0,
      });

    const server = world.host.dbs.open(USER).db.query(NOTE_ROWS);
    for (const r of world.replicas) {
      const rows = await r.db.query(NOTE_ROWS);
      expect(rows, `${r.name} equals the server (seed ${seed})`).toEqual(server);
    }
  } finally {
    await world.close();
  }
}

describe(`the sync conversation under a seeded schedule (seed ${SEED})`, () => {
  afterEach(() => undefined);
  for (let run = 0; run < RUNS; run++) {
    it(`leaves every replica identical (run ${run}, seed ${SEED + run})`, async () => {
      await runConversation(SEED + run);
    }, 60_000);
  }
});

describe("the pending count over a hand-run conversation", () => {
  it("stays above zero, and whenSynced waits, while a page flushed ahead of an apply is unacked", async () => {
    const world = new World();
    try {
      await world.renewToken();
      const [a, b] = [await world.addReplica("a"), await world.addReplica("b")];
      const flushAll = async () => {
        for (let i = 0; i < 6; i++) {
          for (const r of world.replicas) r.pair?.flush();
          await settle(world);
        }
      };
      await flushAll();
      expect(isSynced(a.client.status)).toBe(true);

      // A's first edit goes out as a page and waits for its ack; B's edit reaches the server
      // first, so A hears of it before that ack; meanwhile A makes a second edit.
      await a.notes.create({ title: "first on a" });
      await settle(world);
      await b.notes.create({ title: "on b" });
      await settle(world);
      b.pair!.flush("toServer");
      await settle(world);
      await a.notes.create({ title: "second on a" });
      await settle(world);
      a.pair!.flush("toServer"); // the first page: its ack is queued after B's change
      await settle(world);

      // B's change: applying it sends A's second edit ahead of it, as a second page.
      a.pair!.deliverOne("toClient");
      await settle(world);
      expect(a.pair!.queued("toServer")).toBeGreaterThan(0);
      // The first page's ack: the second page is still unacked.
      while (a.pair!.queued("toClient") > 0) {
        a.pair!.deliverOne("toClient");
        await settle(world);
      }
      let synced = false;
      void a.client.whenSynced().then(() => (synced = true));
      await settle(world);
      expect(a.client.status.pending).toBeGreaterThan(0);
      expect(synced).toBe(false);

      await flushAll();
      expect(a.client.status.pending).toBe(0);
      expect(synced).toBe(true);
    } finally {
      await world.close();
    }
  });
});
