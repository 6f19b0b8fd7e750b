import {
  ErrorCode,
  TABLE_NAMES,
  changeProblem,
  decodeClientFrame,
  encodeClientFrame,
  type Change,
  type ClientChangesFrame,
  type SqlValue,
} from "@notesync/protocol";
import { seededRandom, seedFromEnv, type SeededRandom } from "@notesync/protocol/testing";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";
import { StorageError, UserDatabase } from "./user-db.js";

// Seeded fuzzing of what a signed-up user can send (issue 13). A failing run prints its seed;
// NOTESYNC_FUZZ_SEED=<seed> reproduces it.
const SEED = seedFromEnv("NOTESYNC_FUZZ_SEED", process.env);
const ANY_SITE = new Uint8Array(16);
const random = seededRandom;

const COUNTERS = [0, 1, 2, 3, 7, 2 ** 31, 2 ** 32 + 1, 2 ** 40, 2 ** 40 + 1, 2 ** 53 - 1];
const CIDS = ["-1", "title", "body", "pinned", "position", "deleted_at", "data", "note_id", "kind"];

/** Real changes of a real client database: a note, its text rows, a history version, a deletion. */
function seedChanges(): Change[] {
  const phone = clientDb(tempDir(), "seed");
  phone.exec(`INSERT INTO notes (id, pinned, position, created_at) VALUES ('n1', 1, 0.5, 17)`);
  phone.exec(`INSERT INTO notes (id) VALUES ('n2')`);
  phone.exec(
    `INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'abcdefgh', x'0102030405')`,
  );
  phone.exec(`INSERT INTO note_versions (id, note_id, title) VALUES ('v1', 'n1', 'old')`);
  phone.exec(`DELETE FROM notes WHERE id = 'n2'`);
  const changes = phone.readChanges(0, ANY_SITE, 1000).changes;
  phone.close();
  return changes;
}

/** One mutation of a real change: its key, a counter, its column, its value or its table. */
function mutate(c: Change, r: SeededRandom): Change {
  const values: SqlValue[] = [
    null,
    0n,
    1n,
    -1n,
    2n ** 62n,
    1.5,
    2.0,
    "",
    "text",
    r.bytes(r.int(40)),
  ];
  switch (r.int(8)) {
    case 0: {
      const pk = Uint8Array.from(c.pk);
      pk[r.int(pk.length)] = r.int(256);
      return { ...c, pk };
    }
    case 1:
      return { ...c, pk: c.pk.subarray(0, r.int(c.pk.length)) };
    case 2:
      return { ...c, pk: r.bytes(r.int(24)) };
    case 3:
      return { ...c, colVersion: r.pick(COUNTERS), cl: r.pick(COUNTERS) };
    case 4:
      return { ...c, dbVersion: r.pick(COUNTERS), seq: r.pick(COUNTERS) };
    case 5:
      return { ...c, cid: r.pick(CIDS) };
    case 6:
      return { ...c, val: r.pick(values) };
    default:
      return { ...c, table: r.pick(TABLE_NAMES) };
  }
}

/** A frame of 1-4 real changes with 1-3 mutations, encoded; sometimes bytes flipped after encoding. */
function mutatedFrame(seed: readonly Change[], r: SeededRandom): Uint8Array | null {
  let changes = Array.from({ length: 1 + r.int(4) }, () => r.pick(seed));
  for (let m = 1 + r.int(3); m > 0; m--) {
    const i = r.int(changes.length);
    changes = changes.map((c, j) => (j === i ? mutate(c, r) : c));
  }
  const frame: ClientChangesFrame = {
    type: "changes",
    clientVersion: r.pick(COUNTERS),
    partial: false,
    changes,
  };
  let bytes: Uint8Array;
  try {
    bytes = encodeClientFrame(frame);
  } catch {
    return null; // not even encodable: the codec refuses to produce it
  }
  if (r.next() < 0.2) {
    bytes = Uint8Array.from(bytes);
    for (let k = 1 + r.int(3); k > 0; k--) bytes[r.int(bytes.length)] = r.int(256);
  }
  return bytes;
}

describe(`fuzzing what an account can send (seed ${SEED})`, () => {
  let server: Awaited<ReturnType<typeof testServer>> | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it("30,000 mutated frames through decode, validation and apply never take the process down", () => {
    const r = random(SEED);
    const seed = seedChanges();
    const db = new UserDatabase(path.join(tempDir(), "target.db"));
    let applied = 0;
    let refused = 0;
    for (let i = 0; i < 30_000; i++) {
      const bytes = mutatedFrame(seed, r);
      if (!bytes) continue;
      const decoded = decodeClientFrame(bytes);
      if (!decoded.ok || decoded.frame.type !== "changes") {
        refused++;
        continue;
      }
      const changes = decoded.frame.changes;
      if (changes.some((c) => changeProblem(c, db.dbVersion()) !== null)) {
        refused++;
        continue;
      }
      try {
        db.applyFromClient(ANY_SITE, changes, i + 1);
        applied++;
      } catch (err) {
        if (!(err instanceof StorageError)) throw err;
        refused++;
      }
    }
    expect(applied, `seed ${SEED}`).toBeGreaterThan(100);
    expect(refused, `seed ${SEED}`).toBeGreaterThan(10_000);
    expect(
      db.query<{ integrity_check: string }>("PRAGMA integrity_check")[0]!.integrity_check,
    ).toBe("ok");
    db.close();
  });

  it("2,000 mutated frames over real connections: the server stays up and responsive, and the account still syncs", async () => {
    server = await testServer();
    const s = server;
    const r = random(SEED + 1);
    const seed = seedChanges();
    const alice = await account(s, "alice");
    let slowest = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
        slowest = Math.max(slowest, performance.now() - t);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const codes = new Map<string, number>();
    for (let batch = 0; batch < 40; batch++) {
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const bytes = mutatedFrame(seed, r);
          if (!bytes) return;
          const c = await RawClient.sync(s, alice.token, r.bytes(16));
          c.sendRaw(bytes);
          c.send({ type: "ack", serverVersion: 0 }); // a harmless frame after it: answered only if still open
          const outcome = await Promise.race([
            c.next("error").then((e) => e.code),
            c.next("ack").then(() => "accepted"),
          ]).catch(() => "closed");
          codes.set(outcome, (codes.get(outcome) ?? 0) + 1);
          c.close();
          await c.closed;
        }),
      );
    }
    probing = false;
    await probe;
    expect(codes.get(ErrorCode.MalformedFrame) ?? 0, `seed ${SEED}`).toBeGreaterThan(500);
    // Not a benchmark (other processes share the CPU): a second would mean the event loop stalled.
    expect(slowest, `seed ${SEED}: slowest /healthz`).toBeLessThan(1000);
    // Every device of the account still syncs: a new note from one reaches another.
    const a = await RawClient.sync(s, alice.token, new Uint8Array(16).fill(1));
    const b = await RawClient.sync(s, alice.token, new Uint8Array(16).fill(2));
    await b.next("changes"); // b's catch-up
    const id = Buffer.from("after-the-fuzz");
    const pk = Uint8Array.from([1, 0x0b, id.length, ...id]);
    a.send({
      type: "changes",
      clientVersion: 1,
      partial: false,
      changes: [
        {
          table: "notes",
          pk,
          cid: "pinned",
          val: 1n,
          colVersion: 1,
          dbVersion: 1,
          siteId: new Uint8Array(16).fill(1),
          cl: 1,
          seq: 0,
        },
      ],
    });
    await a.next("ack");
    const arrived = await b.next("changes", (f) =>
      f.changes.some((c) => Buffer.from(c.pk).equals(Buffer.from(pk))),
    );
    expect(arrived.changes.length).toBeGreaterThan(0);
    a.close();
    b.close();
  }, 60_000);
});
