import { ErrorCode, MAX_COUNTER, type Change } from "@notesync/protocol";
import Database from "better-sqlite3";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";

// Frames an attacker with an account can send. Each must cost that connection an error frame,
// store nothing, and leave the server serving everyone (issue 13, findings 1, 2 and 4).

const SITE = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));
/** crsql_pack_columns('n1') */
const PK_N1 = hex("010b026e31");

const change = (overrides: Partial<Change>): Change => ({
  table: "notes",
  pk: PK_N1,
  cid: "title",
  val: "hello",
  colVersion: 1,
  dbVersion: 1,
  siteId: SITE,
  cl: 1,
  seq: 0,
  ...overrides,
});

describe("hostile changes", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  let mallory: Awaited<ReturnType<typeof account>>;
  let alice: Awaited<ReturnType<typeof account>>;
  let bystander: RawClient;
  let aliceEdits = 0;

  beforeEach(async () => {
    server = await testServer();
    mallory = await account(server, "mallory");
    alice = await account(server, "alice");
    aliceEdits = 0;
    bystander = await RawClient.sync(server, alice.token, new Uint8Array(16).fill(9));
    await bystander.next("changes");
  });
  afterEach(async () => {
    bystander.close();
    await server.close();
  });

  function rowsOf(userId: string): number {
    const db = new Database(path.join(server.dataDir, "users", `${userId}.db`), {
      readonly: true,
    });
    try {
      return db.prepare("SELECT count(*) FROM notes").pluck().get() as number;
    } finally {
      db.close();
    }
  }

  /** Sends `act`'s frame as mallory; expects a refusal naming `reason`, nothing stored, and a server that still serves alice. */
  async function refused(send: (c: RawClient) => void, reason: RegExp): Promise<void> {
    const c = await RawClient.sync(server, mallory.token, SITE);
    send(c);
    const err = await c.next("error");
    expect(err.code).toBe(ErrorCode.MalformedFrame);
    expect(err.message).toMatch(reason);
    await c.closed;
    expect(rowsOf(mallory.userId)).toBe(0);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // The bystander's connection is still up and still gets its own user's changes.
    const other = await RawClient.sync(server, alice.token, new Uint8Array(16).fill(8));
    const edit = ++aliceEdits;
    other.send({
      type: "changes",
      clientVersion: edit,
      partial: false,
      changes: [
        change({
          cid: "pinned",
          val: BigInt(edit),
          colVersion: edit,
          dbVersion: edit,
          siteId: new Uint8Array(16).fill(8),
        }),
      ],
    });
    await other.next("ack");
    other.close();
    expect((await bystander.next("changes")).changes.length).toBeGreaterThan(0);
  }

  const send = (changes: Change[]) => (c: RawClient) =>
    c.send({ type: "changes", clientVersion: 1, partial: false, changes });

  it("refuses the frame from the report that killed the server (an empty packed key)", () =>
    refused(
      (c) =>
        c.sendRaw(
          hex(
            "9702a76368616e67657305c291c4100102030405060708090a0b0c0d0e0f1091a56e6f746573919900c400a4626f6479a1760101000100",
          ),
        ),
      /packed primary key of a notes change is malformed/,
    ));

  it("refuses a key with no columns, an integer wider than 8 bytes, or the wrong columns", async () => {
    await refused(send([change({ pk: hex("00") })]), /primary key of a notes change must be 1/);
    await refused(send([change({ pk: hex("0149ffffffffffffffffff") })]), /malformed/);
    await refused(send([change({ pk: hex("010901") })]), /must be 1 non-empty text/);
    await refused(
      send([change({ table: "note_updates", cid: "data", val: new Uint8Array(3) })]),
      /must be 2 non-empty text value\(s\) \(note_id, id\)/,
    );
  });

  it("refuses counters near the edge, which would wedge every device of the account", async () => {
    for (const field of ["colVersion", "dbVersion", "cl", "seq"] as const)
      await refused(
        send([change({ [field]: field === "cl" ? 2 ** 53 - 1 : MAX_COUNTER + 1 })]),
        /beyond the limit|ahead of/,
      );
  });

  it("refuses values of another type than the column's, naming the column", async () => {
    await refused(send([change({ val: 42n })]), /notes\.title holds text, not integer/);
    await refused(send([change({ cid: "pinned", val: "yes" })]), /notes\.pinned holds integer/);
    await refused(send([change({ cid: "deleted_at", val: 1.5 })]), /integer or null, not real/);
  });

  it("refuses create/delete markers that disagree with themselves, and values for deleted rows", async () => {
    await refused(
      send([change({ cid: "-1", val: null, colVersion: 1, cl: 2, dbVersion: 5 })]),
      /col_version must equal its cl/,
    );
    await refused(send([change({ cid: "-1", val: "x", colVersion: 1, cl: 1 })]), /no value/);
    await refused(send([change({ cl: 2, dbVersion: 5 })]), /deleted row/);
  });

  it("lets a change move the clocks only a bounded step, after which honest devices keep syncing", async () => {
    const c = await RawClient.sync(server, mallory.token, SITE);
    await c.next("changes");
    // Far ahead, but within one step of the server's clock: accepted.
    const far = 2 ** 32;
    c.send({
      type: "changes",
      clientVersion: 1,
      partial: false,
      changes: [change({ cid: "pinned", val: 1n, colVersion: far, dbVersion: far })],
    });
    await c.next("ack");
    // Two steps ahead: refused.
    c.send({
      type: "changes",
      clientVersion: 2,
      partial: false,
      changes: [change({ cid: "pinned", val: 2n, colVersion: 3 * far, dbVersion: 3 * far })],
    });
    expect((await c.next("error")).message).toMatch(/more than 4294967296 ahead/);
    // A real device merges the server's state, edits the same cell, and is accepted.
    const phone = clientDb(tempDir(), "phone");
    const d = await RawClient.sync(server, mallory.token, phone.siteId);
    const caughtUp = await d.next("changes");
    phone.applyFromClient(new Uint8Array(16), caughtUp.changes, caughtUp.serverVersion);
    phone.exec("UPDATE notes SET pinned = 5 WHERE id = 'n1'");
    const mine = phone
      .readChanges(0, new Uint8Array(16), 100)
      .changes.filter((x) => Buffer.from(x.siteId).equals(phone.siteId));
    expect(mine[0]!.colVersion).toBe(far + 1);
    d.send({ type: "changes", clientVersion: phone.dbVersion(), partial: false, changes: mine });
    await d.next("ack");
    d.close();
    phone.close();
  });
});
