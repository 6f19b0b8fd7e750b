// CouchDB itself is not installable here (no Debian package): these tests run against express-pouchdb,
// which implements the HTTP API the importer uses (testing/couch.test-helpers.ts says where it differs).
import { NoteMapper, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DataDirectory } from "./accounts.js";
import { CouchError } from "./couchdb-client.js";
import { importCouchDb } from "./couchdb-import.js";
import { ATTACHMENT_REASON } from "./report.js";
import { startCouchStandIn, type CouchStandIn } from "./testing/couch.test-helpers.js";
import {
  dbVersion,
  device,
  replicatedRows,
  signIn,
  startNoteSync,
  tempDir,
  type Device,
} from "./testing/notesync.test-helpers.js";

const BASE = Date.UTC(2025, 0, 1);
const PASSWORD = "correct horse battery";
const rev = (n: number, letter: string) => `${n}-${letter.repeat(32)}`;
const PHOTO = Buffer.from("not really a png, but bytes all the same");

/** A CouchDB database as a PouchDB notes app leaves it. */
async function fill(couch: CouchStandIn, db: string): Promise<void> {
  await couch.request("PUT", `/${db}`);
  await couch.request("POST", `/${db}/_bulk_docs`, {
    docs: [
      {
        _id: "note-plain",
        title: "Groceries",
        body: "milk\neggs",
        createdAt: BASE,
        updatedAt: BASE + 1000,
        tags: ["home", "Errands"],
        pinned: true,
      },
      {
        _id: "note-content",
        title: "Meeting",
        content: "agenda: budget",
        created_at: "2025-01-02T10:00:00.000Z",
        updated_at: "2025-01-02T11:00:00.000Z",
      },
      {
        _id: "note-with-photo",
        title: "Photo",
        body: "see attached",
        updatedAt: BASE,
        _attachments: {
          "photo.png": { content_type: "image/png", data: PHOTO.toString("base64") },
        },
      },
      {
        _id: "note-trashed-in-app",
        title: "Old idea",
        body: "binned",
        deleted: true,
        updatedAt: BASE,
      },
      { _id: "note-bad", title: { nested: true }, body: "x" },
      { _id: "_design/app", views: { byTitle: { map: "function (doc) { emit(doc.title); }" } } },
      { _id: "note-deleted", title: "Short-lived", body: "typo", updatedAt: BASE },
    ],
  });
  const deleted = (await couch.request("GET", `/${db}/note-deleted`)) as { _rev: string };
  await couch.request("DELETE", `/${db}/note-deleted?rev=${deleted._rev}`);
  // Conflicts as replication leaves them: two edits of one revision (same depth: the higher
  // revision id wins), and a deep tree where the longer history wins over a higher id, with a
  // deleted leaf that holds no text.
  const plan = (r: string, ids: string[], body: string, at: number) => ({
    _id: "note-conflict",
    _rev: r,
    _revisions: { start: ids.length, ids },
    title: "Plan",
    body,
    updatedAt: at,
  });
  const deep = (r: string, ids: string[], body: string, deletedLeaf = false) => ({
    _id: "note-deep",
    _rev: r,
    _revisions: { start: ids.length, ids },
    ...(deletedLeaf ? { _deleted: true } : { title: "Deep", body, updatedAt: BASE + ids.length }),
  });
  const id = (letter: string) => letter.repeat(32);
  await couch.request("POST", `/${db}/_bulk_docs`, {
    new_edits: false,
    docs: [
      plan(rev(1, "a"), [id("a")], "first draft", BASE),
      plan(rev(2, "b"), [id("b"), id("a")], "laptop edit", BASE + 2000),
      plan(rev(2, "c"), [id("c"), id("a")], "phone edit", BASE + 3000),
      deep(rev(5, "5"), ["5", "4", "3", "2", "1"].map(id), "long history"),
      deep(rev(3, "f"), [id("f"), id("e"), id("1")], "short branch"),
      deep(rev(2, "d"), [id("d"), id("1")], "", true),
    ],
  });
}

let couch: CouchStandIn;
let dataDir: string;
let server: RunningServer;
let data: DataDirectory;
const devices: Device[] = [];

beforeEach(async () => {
  couch = await startCouchStandIn();
  dataDir = tempDir();
  server = await startNoteSync(dataDir);
  data = new DataDirectory(dataDir);
});

afterEach(async () => {
  for (const d of devices.splice(0)) await d.close();
  data.close();
  await server.close();
  await couch.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function userWithDevice(username: string) {
  const user = await data.user(username, () => Promise.resolve(PASSWORD));
  const { token } = await signIn(server, username, PASSWORD);
  const phone = await device(server, token, dataDir);
  devices.push(phone);
  return { user, phone, file: path.join(dataDir, "users", `${user.id}.db`) };
}

const importInto = (
  userId: string,
  db: string,
  extra: { batchSize?: number; restart?: boolean } = {},
) => {
  const writer = data.writerFor(userId);
  return importCouchDb({
    url: `${couch.url}/${db}`,
    writer,
    mapper: new NoteMapper(),
    ...extra,
  }).finally(() => writer.close());
};

it("imports every note, deletion and conflict while the server runs; a device sees them live; a second run changes nothing", async () => {
  await fill(couch, "notes");
  const { user, phone, file } = await userWithDevice("alice");

  const report = await importInto(user.id, "notes", { batchSize: 3 });

  const live = ["Deep", "Groceries", "Meeting", "Photo", "Plan"];
  await phone.until(async () => (await phone.notes.list()).length === live.length);
  const notes = await phone.notes.list();
  expect(notes.map((n) => n.title).sort()).toEqual(live);
  const byId = Object.fromEntries(notes.map((n) => [n.id, n]));
  expect(byId["note-plain"]).toMatchObject({
    title: "Groceries",
    body: "milk\neggs",
    pinned: true,
    createdAt: BASE,
    updatedAt: BASE + 1000,
    tags: ["errands", "home"],
    deletedAt: null,
  });
  expect(byId["note-content"]).toMatchObject({
    body: "agenda: budget",
    createdAt: Date.parse("2025-01-02T10:00:00.000Z"),
    updatedAt: Date.parse("2025-01-02T11:00:00.000Z"),
  });
  // CouchDB's winners, and every live losing leaf as a conflict the user can compare and keep.
  expect(byId["note-conflict"]!.body).toBe("phone edit");
  expect((await phone.notes.conflicts("note-conflict")).map((c) => c.body)).toEqual([
    "laptop edit",
  ]);
  expect(byId["note-deep"]!.body).toBe("long history");
  expect((await phone.notes.conflicts("note-deep")).map((c) => c.body)).toEqual(["short branch"]);
  expect(await phone.notes.conflictedNoteIds()).toEqual(new Set(["note-conflict", "note-deep"]));
  // Deleted in the app (a field) -> the trash; deleted in CouchDB before any import -> nothing.
  expect((await phone.notes.listTrash()).map((n) => [n.id, n.deletedAt])).toEqual([
    ["note-trashed-in-app", BASE],
  ]);
  expect(await phone.notes.get("note-deleted")).toBeNull();
  expect(await phone.notes.get("_design/app")).toBeNull();

  expect(report.counts).toMatchObject({ created: 6, deletionsOfAbsent: 1, versionsAdded: 2 });
  expect(report.designDocuments).toBe(1);
  expect(report.unmapped).toEqual([{ id: "note-bad", reason: "title is an object, not text" }]);
  expect(report.attachments).toEqual([
    {
      docId: "note-with-photo",
      name: "photo.png",
      contentType: "image/png",
      bytes: PHOTO.length,
      savedAs: null,
    },
  ]);
  expect(ATTACHMENT_REASON).toContain("not imported");

  // Again, from the checkpoint and from the beginning: nothing changes.
  const before = dbVersion(file);
  const resumed = await importInto(user.id, "notes");
  expect(resumed.documents).toBe(0);
  const again = await importInto(user.id, "notes", { restart: true });
  expect(again.counts).toMatchObject({ created: 0, updated: 0, trashed: 0, versionsAdded: 0 });
  expect(dbVersion(file)).toBe(before);

  // Later changes in CouchDB: the next run reads only them.
  const plain = (await couch.request("GET", "/notes/note-plain")) as { _rev: string };
  await couch.request("DELETE", `/notes/note-plain?rev=${plain._rev}`);
  const meeting = (await couch.request("GET", "/notes/note-content")) as Record<string, unknown>;
  await couch.request("PUT", "/notes/note-content", {
    ...meeting,
    content: "agenda: budget, hiring",
    updated_at: "2025-01-03T09:00:00.000Z",
  });
  const later = await importInto(user.id, "notes");
  expect(later.documents).toBe(2);
  // The text the first run imported is the document's older state, not a conflict.
  expect(later.counts).toMatchObject({ updated: 1, trashed: 1, versionsAdded: 0 });
  await phone.until(async () => (await phone.notes.listTrash()).length === 2);
  expect((await phone.notes.get("note-plain"))!.deletedAt).toBe(BASE + 1000);
  expect((await phone.notes.get("note-content"))!.body).toBe("agenda: budget, hiring");

  // A note the user deletes for good in NoteSync is not brought back by a later import.
  await phone.notes.deleteForever("note-deep");
  await phone.client.whenSynced();
  const afterDeletion = await importInto(user.id, "notes", { restart: true });
  expect(afterDeletion.counts).toMatchObject({ created: 0, deletedHere: 1 });
  expect(replicatedRows(file).notes!.map((n) => (n as { id: string }).id)).not.toContain(
    "note-deep",
  );
});

it("an import cut off halfway resumes from its checkpoint and ends identical to an uninterrupted one", async () => {
  await fill(couch, "notes");
  const whole = await userWithDevice("whole");
  const cut = await userWithDevice("cut");
  await importInto(whole.user.id, "notes", { batchSize: 2 });

  couch.cutChangesRequest = couch.changesRequests + 3;
  await expect(importInto(cut.user.id, "notes", { batchSize: 2 })).rejects.toThrow(CouchError);
  const partial = replicatedRows(cut.file).notes!.length;
  expect(partial).toBeGreaterThan(0);
  expect(partial).toBeLessThan(replicatedRows(whole.file).notes!.length);

  couch.cutChangesRequest = null;
  const rest = await importInto(cut.user.id, "notes", { batchSize: 2 });
  expect(rest.resumedFrom).not.toBeNull();
  expect(replicatedRows(cut.file)).toEqual(replicatedRows(whole.file));
  await cut.phone.until(async () => (await cut.phone.notes.list()).length === 5);
  expect(await cut.phone.notes.list()).toEqual(await whole.phone.notes.list());
});
