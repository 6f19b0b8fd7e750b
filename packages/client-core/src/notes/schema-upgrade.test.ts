import { loadCrsqlite } from "@notesync/crsqlite-native";
import {
  INSERT_CHANGE,
  SELECT_CHANGES,
  changeParams,
  rowToChange,
  schemaStatements,
  type RawChangeRow,
} from "@notesync/protocol";
import BetterSqlite3 from "better-sqlite3";
import path from "node:path";
import { expect, it } from "vitest";
import { SYNC_STATE_TABLE } from "../database.js";
import { createSyncClient, openNodeDatabase } from "../node/index.js";
import { createNotesApi } from "./notes-api.js";
import {
  device,
  dir,
  restartServer,
  server,
  until,
  useWorld,
} from "../testing/world.test-helpers.js";

// A server and a device that both still run schema 2 (text in the notes table); the device
// edits offline; then both are upgraded to schema 3 and sync.
useWorld();

function openSchema2(file: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(file);
  db.pragma("journal_mode = WAL");
  loadCrsqlite(db);
  for (const sql of schemaStatements(0, 2)) db.exec(sql);
  db.exec(`CREATE TABLE IF NOT EXISTS ${SYNC_STATE_TABLE} (key TEXT PRIMARY KEY NOT NULL, value)`);
  db.pragma("user_version = 2");
  return db;
}

const close = (db: BetterSqlite3.Database) => {
  db.prepare("SELECT crsql_finalize()").get();
  db.close();
};

it("keeps a device's offline schema-2 edits when it and the server upgrade, with no text doubled", async () => {
  const res = await fetch(`${server.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "upgrader", password: "correct horse" }),
  });
  const { token, userId } = (await res.json()) as { token: string; userId: string };
  await server.close();

  // What a schema-2 server held, and a device that had synced all of it.
  const serverDb = openSchema2(path.join(dir, "server", "users", `${userId}.db`));
  serverDb
    .prepare("INSERT INTO notes (id, title, body) VALUES (?, ?, ?)")
    .run("plan", "Plan", "one\ntwo");
  const phoneFile = path.join(dir, "phone.db");
  const phone = openSchema2(phoneFile);
  const insert = phone.prepare(INSERT_CHANGE);
  for (const row of serverDb
    .prepare(SELECT_CHANGES)
    .raw(true)
    .safeIntegers(true)
    .all() as RawChangeRow[])
    insert.run(
      changeParams(rowToChange(row)).map((v) =>
        typeof v === "number" && Number.isInteger(v) ? BigInt(v) : v,
      ),
    );
  const serverVersion = serverDb.prepare("SELECT crsql_db_version()").pluck().get();
  phone
    .prepare(`INSERT INTO ${SYNC_STATE_TABLE} (key, value) VALUES ('server_version', ?)`)
    .run(serverVersion);
  close(serverDb);

  // Offline, still on schema 2: an edit of the synced note and a new note.
  phone.prepare("UPDATE notes SET body = ? WHERE id = 'plan'").run("one\ntwo\nthree (offline)");
  phone
    .prepare("INSERT INTO notes (id, title, body) VALUES (?, ?, ?)")
    .run("trip", "Trip", "written before the upgrade");
  close(phone);

  // Both upgrade: the server converts its text to Yjs; the device converts nothing.
  await restartServer();
  const db = await openNodeDatabase(phoneFile);
  const client = createSyncClient({ db, url: server.syncUrl, getToken: () => token });
  const notes = createNotesApi(db);
  client.start();
  await client.whenSynced();
  const laptop = await device("laptop", token);
  const expected = [
    { title: "Plan", body: "one\ntwo\nthree (offline)" },
    { title: "Trip", body: "written before the upgrade" },
  ];
  const texts = async (api: typeof notes) =>
    (await api.list())
      .map(({ title, body }) => ({ title, body }))
      .sort((x, y) => x.title.localeCompare(y.title));
  await until(async () => JSON.stringify(await texts(laptop.notes)) === JSON.stringify(expected));
  await until(async () => JSON.stringify(await texts(notes)) === JSON.stringify(expected));

  // Typing on the upgraded device now goes through Yjs and merges with the other device.
  const doc = await notes.openDocument("plan");
  expect(doc.awaitingConversion).toBe(false);
  doc.body.insert(0, "> ");
  await doc.close();
  await laptop.notes.update("plan", { title: "Plan for Monday" });
  await client.whenSynced();
  await laptop.client.whenSynced();
  await until(
    async () =>
      (await laptop.notes.get("plan"))?.body === "> one\ntwo\nthree (offline)" &&
      (await notes.get("plan"))?.title === "Plan for Monday",
  );
  await client.stop();
  await db.close();
});
