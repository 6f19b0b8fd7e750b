import { loadCrsqlite } from "@notesync/crsqlite-native";
import {
  Y,
  captureUpdate,
  noteTextFromUpdates,
  schemaStatements,
  type Change,
} from "@notesync/protocol";
import Database from "better-sqlite3";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { clientDb, tempDir } from "./testing/harness.test-helpers.js";
import { DEFAULT_MAX_UPDATE_ROWS } from "./note-text.js";
import { UserDatabase } from "./user-db.js";

const ANY_SITE = new Uint8Array(16);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** A database file as a schema-2 server left it, with notes whose text lives in columns. */
function schema2File(file: string, notes: [string, string, string][]): void {
  const db = new Database(file);
  loadCrsqlite(db);
  for (const sql of schemaStatements(0, 2)) db.exec(sql);
  db.pragma("user_version = 2");
  const insert = db.prepare("INSERT INTO notes (id, title, body) VALUES (?, ?, ?)");
  for (const n of notes) insert.run(...n);
  db.prepare("SELECT crsql_finalize()").get();
  db.close();
}

function noteText(db: UserDatabase, id: string) {
  return db.query<{ title: string; body: string }>(
    "SELECT title, body FROM note_text WHERE note_id = ?",
    [id],
  )[0];
}

function updatesOf(db: UserDatabase, id: string): Uint8Array[] {
  return db
    .query<{ data: Buffer }>("SELECT data FROM note_updates WHERE note_id = ?", [id])
    .map((r) => r.data);
}

/** Everything `from` has that `to` lacks, applied as a client's batch. */
function sync(from: UserDatabase, to: UserDatabase, after = 0): Change[] {
  const { changes } = from.readChanges(after, ANY_SITE, 1_000_000);
  to.applyFromClient(from.siteId, changes, from.dbVersion());
  return changes;
}

describe("note text on the server", () => {
  const dbs: UserDatabase[] = [];
  const track = (db: UserDatabase) => (dbs.push(db), db);
  afterEach(() => dbs.splice(0).forEach((d) => d.close()));

  it("converts schema-2 text once, on the server, and the conversion reaches clients whole", () => {
    const dir = tempDir();
    const file = path.join(dir, "server.db");
    schema2File(file, [
      ["n1", "Groceries", "milk\neggs"],
      ["n2", "", ""],
    ]);
    const server = track(new UserDatabase(file));
    expect(noteText(server, "n1")).toEqual({ title: "Groceries", body: "milk\neggs" });
    expect(updatesOf(server, "n1")).toHaveLength(1);
    expect(updatesOf(server, "n2")).toHaveLength(0);
    // Reopening converts nothing again.
    server.close();
    const again = track(new UserDatabase(file));
    expect(updatesOf(again, "n1")).toHaveLength(1);
    const phone = track(clientDb(dir, "phone"));
    sync(again, phone);
    expect(noteText(phone, "n1")).toEqual({ title: "Groceries", body: "milk\neggs" });
  });

  it("turns an edit made before the upgrade into a Yjs edit that merges with edits made since", () => {
    const dir = tempDir();
    const file = path.join(dir, "server.db");
    schema2File(file, [["n1", "Plan", "one\ntwo\nthree"]]);
    const server = track(new UserDatabase(file));
    const laptop = track(clientDb(dir, "laptop"));
    sync(server, laptop);
    // The laptop, already on schema 3, appends a line through Yjs.
    const doc = new Y.Doc();
    for (const u of updatesOf(laptop, "n1")) Y.applyUpdate(doc, u);
    const edit = captureUpdate(doc, () => doc.getText("body").insert(13, "\nfour"))!;
    laptop.exec(
      `INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'l1', x'${hex(edit)}')`,
    );
    sync(laptop, server, 0);
    // A device that was offline across the upgrade sends its schema-2 edit of the same body.
    const oldDevice = new Uint8Array(16).fill(7);
    const legacyEdit: Change = {
      table: "notes",
      pk: Uint8Array.from(Buffer.from("010b026e31", "hex")), // the packed key ('n1')
      cid: "body",
      val: "ONE\ntwo\nthree",
      colVersion: 5,
      dbVersion: 3,
      siteId: oldDevice,
      cl: 1,
      seq: 0,
    };
    server.applyFromClient(oldDevice, [legacyEdit], 3);
    expect(noteText(server, "n1")).toEqual({ title: "Plan", body: "ONE\ntwo\nthree\nfour" });
    // Sent twice (a lost ack): applied once.
    const rows = updatesOf(server, "n1").length;
    server.applyFromClient(oldDevice, [legacyEdit], 3);
    expect(updatesOf(server, "n1").length).toBe(rows);
    sync(server, laptop);
    expect(noteText(laptop, "n1")).toEqual(noteText(server, "n1"));
  });

  it("compacts many small rows into few, and a late duplicate of a merged row changes nothing", () => {
    const dir = tempDir();
    const server = track(new UserDatabase(path.join(dir, "server.db")));
    const phone = track(clientDb(dir, "phone"));
    phone.exec(`INSERT INTO notes (id) VALUES ('n1')`);
    const doc = new Y.Doc();
    const body = doc.getText("body");
    let sent = 0;
    const early: Change[] = [];
    for (let i = 0; i < 200; i++) {
      const u = captureUpdate(doc, () => body.insert(body.length, `${i} `))!;
      phone.exec(
        `INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'u${i}', x'${hex(u)}')`,
      );
      const batch = phone.readChanges(sent, ANY_SITE, 1_000_000);
      server.applyFromClient(phone.siteId, batch.changes, phone.dbVersion());
      if (i === 3) early.push(...batch.changes);
      sent = phone.dbVersion();
    }
    const rows = updatesOf(server, "n1");
    expect(rows.length).toBeLessThanOrEqual(DEFAULT_MAX_UPDATE_ROWS + 1);
    expect(noteTextFromUpdates(rows).body).toBe(body.toString());
    expect(noteText(server, "n1")!.body).toBe(body.toString());
    server.applyFromClient(phone.siteId, early, 4);
    expect(updatesOf(server, "n1").length).toBe(rows.length);
    expect(noteText(server, "n1")!.body).toBe(body.toString());
  });

  it("drops the tombstones of merged rows once every device has acknowledged them, never moving the clock back", () => {
    const dir = tempDir();
    const server = track(new UserDatabase(path.join(dir, "server.db")));
    const phone = track(clientDb(dir, "phone"));
    phone.exec(`INSERT INTO notes (id) VALUES ('n1')`);
    const tombstones = () =>
      server.query<{ n: number }>(`SELECT count(*) AS n FROM note_updates__crsql_pks`)[0]!.n -
      updatesOf(server, "n1").length;
    const doc = new Y.Doc();
    const body = doc.getText("body");
    let sent = 0;
    let head = 0;
    for (let i = 0; i < 300; i++) {
      const u = captureUpdate(doc, () => body.insert(body.length, "x"))!;
      phone.exec(
        `INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'u${i}', x'${hex(u)}')`,
      );
      const batch = phone.readChanges(sent, ANY_SITE, 1_000_000);
      const { after } = server.applyFromClient(phone.siteId, batch.changes, phone.dbVersion());
      expect(after).toBeGreaterThanOrEqual(head);
      head = after;
      sent = phone.dbVersion();
      // The phone has everything the server has: it acknowledges it (until edit 200).
      if (i < 200) server.recordAck(phone.siteId, after);
    }
    expect(noteText(server, "n1")!.body).toBe("x".repeat(300));
    // Deletions the phone acknowledged are gone; the ones after its last ack are kept for it.
    const kept = tombstones();
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(150);
    server.recordAck(phone.siteId, head);
    const acknowledged = head;
    const u = captureUpdate(doc, () => body.insert(body.length, "!"))!;
    phone.exec(`INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'last', x'${hex(u)}')`);
    for (let i = 0; i < 80; i++) {
      const v = captureUpdate(doc, () => body.insert(body.length, "."))!;
      phone.exec(
        `INSERT INTO note_updates (note_id, id, data) VALUES ('n1', 'end${i}', x'${hex(v)}')`,
      );
      const batch = phone.readChanges(sent, ANY_SITE, 1_000_000);
      const { after } = server.applyFromClient(phone.siteId, batch.changes, phone.dbVersion());
      expect(after).toBeGreaterThan(head);
      head = after;
      sent = phone.dbVersion();
    }
    // Every tombstone the phone had acknowledged is gone; only the newest merge's remain.
    const acked = server.query<{ n: number }>(
      `SELECT count(*) AS n FROM note_updates__crsql_clock WHERE col_name = '-1' AND db_version <= ?`,
      [acknowledged],
    )[0]!.n;
    expect(acked).toBe(0);
    expect(tombstones()).toBeLessThanOrEqual(kept);
    expect(noteText(server, "n1")!.body).toBe("x".repeat(300) + "!" + ".".repeat(80));
  });
});
