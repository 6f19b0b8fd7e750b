import { NoteMapper, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import pg from "pg";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { DataDirectory } from "./accounts.js";
import { importCouchDb } from "./couchdb-import.js";
import { importPostgres } from "./postgres-import.js";
import { cli } from "./testing/cli.test-helpers.js";
import { startCouchStandIn } from "./testing/couch.test-helpers.js";
import { startPostgres, type Postgres } from "./testing/postgres.test-helpers.js";
import {
  dbVersion,
  device,
  replicatedRows,
  signIn,
  startNoteSync,
  tempDir,
  type Device,
} from "./testing/notesync.test-helpers.js";

const PASSWORD = "correct horse battery";
const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

// A table as a PowerSync app keeps it: uuid keys, an owner column, timestamptz, a soft delete,
// and types pg hands over in their own shapes (bigint and numeric as strings, bytea as Buffer).
const SCHEMA = `CREATE TABLE notes (
  id uuid PRIMARY KEY,
  owner_id text,
  title text,
  content text,
  body_bytes bytea,
  created_at timestamptz NOT NULL,
  updated_ms bigint NOT NULL,
  deleted_at timestamptz,
  pinned boolean NOT NULL DEFAULT false,
  tags text[] NOT NULL DEFAULT '{}',
  priority numeric
)`;

let postgres: Postgres;
let db: pg.Client;
let dir: string;
let dataDir: string;
let server: RunningServer;
const devices: Device[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(() => postgres.stop());

beforeEach(async () => {
  db = new pg.Client({ connectionString: postgres.url });
  await db.connect();
  await db.query("DROP TABLE IF EXISTS notes");
  await db.query(SCHEMA);
  const row = `INSERT INTO notes (id, owner_id, title, content, body_bytes, created_at, updated_ms, deleted_at, pinned, tags, priority)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;
  const at = (iso: string) => new Date(iso);
  await db.query(row, [
    ID(1),
    "u-alice",
    "Shopping",
    "bread",
    null,
    at("2025-03-01T08:00:00.123456Z"),
    "1740816000500",
    null,
    true,
    ["home"],
    "1.5",
  ]);
  await db.query(row, [
    ID(2),
    "u-alice",
    "Binary body",
    null,
    Buffer.from("stored as bytea ✓"),
    at("2025-03-02T08:00:00Z"),
    "1740902400000",
    null,
    false,
    [],
    null,
  ]);
  await db.query(row, [
    ID(3),
    "u-alice",
    "Gone",
    "soft deleted",
    null,
    at("2025-03-03T08:00:00Z"),
    "1740988800000",
    at("2025-03-04T08:00:00Z"),
    false,
    [],
    null,
  ]);
  await db.query(row, [
    ID(4),
    "u-bob",
    "Bob's",
    "only bob sees this",
    null,
    at("2025-03-05T08:00:00Z"),
    "1741161600000",
    null,
    false,
    ["work", "q1"],
    "99999999999999999999.5",
  ]);
  await db.query(row, [
    ID(50),
    null,
    "Orphan",
    "no owner",
    null,
    at("2025-03-06T08:00:00Z"),
    "1741248000000",
    null,
    false,
    [],
    null,
  ]);
  for (let i = 10; i < 40; i++)
    await db.query(row, [
      ID(i),
      "u-alice",
      `Row ${i}`,
      `body ${i}`,
      null,
      at("2025-04-01T00:00:00Z"),
      String(1743465600000 + i),
      null,
      false,
      [],
      null,
    ]);
  dir = tempDir();
  dataDir = path.join(dir, "data");
  server = await startNoteSync(dataDir);
});

afterEach(async () => {
  for (const d of devices.splice(0)) await d.close();
  await server.close();
  await db.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const mappingFile = () => {
  const file = path.join(dir, "mapping.json");
  fs.writeFileSync(
    file,
    JSON.stringify({ body: ["content", "body_bytes"], updatedAt: "updated_ms" }),
  );
  return file;
};

const ownersFile = () => {
  const file = path.join(dir, "owners.json");
  fs.writeFileSync(file, JSON.stringify({ "u-alice": "alice", "u-bob": "bob" }));
  return file;
};

async function deviceOf(username: string, password: string) {
  const { token } = await signIn(server, username, password);
  const d = await device(server, token, dir);
  devices.push(d);
  return d;
}

it("imports a PowerSync table for many users from one snapshot; a second run changes nothing", async () => {
  const passwords = path.join(dir, "passwords");
  fs.writeFileSync(passwords, "alice:alice's new password\nbob:bob's new password\n");
  const owners = ownersFile();
  const args = [
    "postgres",
    postgres.url,
    "--table",
    "public.notes",
    "--owner-column",
    "owner_id",
    "--owner-map",
    owners,
    "--mapping",
    mappingFile(),
    "--password-file",
    passwords,
    "--data-dir",
    dataDir,
    "--batch-size",
    "7",
  ];
  const run = await cli(args);
  expect(run.stderr).toContain("created the account alice");
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("notes created:           34");
  expect(run.stdout).toContain(`${ID(50)}: owner_id is null: no user to give it to`);

  const alice = await deviceOf("alice", "alice's new password");
  const bob = await deviceOf("bob", "bob's new password");
  const aliceNotes = await alice.notes.list();
  expect(aliceNotes).toHaveLength(32);
  expect(aliceNotes[0]).toEqual({
    id: ID(1),
    title: "Shopping",
    body: "bread",
    pinned: true,
    createdAt: Date.parse("2025-03-01T08:00:00.123Z"),
    updatedAt: 1740816000500,
    deletedAt: null,
    tags: ["home"],
  });
  expect((await alice.notes.get(ID(2)))!.body).toBe("stored as bytea ✓");
  expect((await alice.notes.listTrash()).map((n) => [n.id, n.deletedAt])).toEqual([
    [ID(3), Date.parse("2025-03-04T08:00:00Z")],
  ]);
  expect((await bob.notes.list()).map((n) => [n.title, n.body, n.tags])).toEqual([
    ["Bob's", "only bob sees this", ["q1", "work"]],
  ]);

  const aliceFile = path.join(
    dataDir,
    "users",
    `${(await signIn(server, "alice", "alice's new password")).userId}.db`,
  );
  const before = dbVersion(aliceFile);
  const again = await cli(args);
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("notes created:           0");
  expect(again.stdout).toContain("notes unchanged:         34");
  expect(dbVersion(aliceFile)).toBe(before);
});

it("a wrong table or column stops the import with Postgres's reason, before any account is made", async () => {
  const passwords = path.join(dir, "pw");
  fs.writeFileSync(passwords, "a long enough password\n");
  const base = ["postgres", postgres.url, "--user", "dave", "--password-file", passwords];
  const noColumn = await cli([
    ...base,
    "--table",
    "notes",
    "--key-column",
    "nope",
    "--data-dir",
    dataDir,
  ]);
  expect(noColumn.code).toBe(1);
  expect(noColumn.stderr).toContain('column "nope" does not exist');
  const noTable = await cli([...base, "--table", "notez", "--data-dir", dataDir]);
  expect(noTable.stderr).toContain('relation "notez" does not exist');
  // Many owners: one without a password stops it before any of them gets an account.
  fs.writeFileSync(passwords, "alice:alice's new password\n");
  const missing = await cli([
    ...["postgres", postgres.url, "--table", "notes", "--owner-column", "owner_id"],
    ...["--owner-map", ownersFile(), "--password-file", passwords, "--data-dir", dataDir],
  ]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toContain('has no line "bob:<password>" for the new account bob');
  const data = new DataDirectory(dataDir);
  try {
    expect(await data.userIdOf("alice")).toBeNull();
    expect(await data.userIdOf("dave")).toBeNull();
  } finally {
    data.close();
  }
});

it("an import cut off halfway (its connection terminated) and run again ends identical to an uninterrupted one", async () => {
  const data = new DataDirectory(dataDir);
  try {
    const whole = await data.user("whole", () => Promise.resolve(PASSWORD));
    const cut = await data.user("cut", () => Promise.resolve(PASSWORD));
    const run = async (userId: string, onProgress?: () => Promise<void>) => {
      const writer = data.writerFor(userId);
      try {
        return await importPostgres({
          connectionString: postgres.url,
          table: "notes",
          mapper: new NoteMapper({ body: ["content", "body_bytes"], updatedAt: "updated_ms" }),
          batchSize: 5,
          writersFor: () => Promise.resolve(new Map([[null, writer]])),
          onProgress,
        });
      } finally {
        writer.close();
      }
    };
    await run(whole.id);
    let pages = 0;
    await expect(
      run(cut.id, async () => {
        if (++pages === 3)
          await db.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'notesync-import'",
          );
      }),
    ).rejects.toThrow(/terminat/);
    const file = (id: string) => path.join(dataDir, "users", `${id}.db`);
    expect(replicatedRows(file(cut.id)).notes).toHaveLength(15);
    await run(cut.id);
    expect(replicatedRows(file(cut.id))).toEqual(replicatedRows(file(whole.id)));
  } finally {
    data.close();
  }
});

it("a note in both CouchDB and Postgres converges: the newer wins, the other is kept as a conflict version", async () => {
  const couch = await startCouchStandIn();
  const data = new DataDirectory(dataDir);
  try {
    await couch.request("PUT", "/old");
    await couch.request("POST", "/old/_bulk_docs", {
      docs: [{ _id: ID(1), title: "Shopping", body: "bread, butter", updatedAt: 1740816000000 }],
    });
    const user = await data.user("both", () => Promise.resolve(PASSWORD));
    const writer = data.writerFor(user.id);
    try {
      await importCouchDb({ url: `${couch.url}/old`, writer, mapper: new NoteMapper() });
      const fromPostgres = await importPostgres({
        connectionString: postgres.url,
        table: "notes",
        mapper: new NoteMapper({ body: ["content", "body_bytes"], updatedAt: "updated_ms" }),
        writersFor: () => Promise.resolve(new Map([[null, writer]])),
      });
      expect(fromPostgres.counts).toMatchObject({ created: 34, updated: 1, versionsAdded: 1 });
    } finally {
      writer.close();
    }
    const phone = await deviceOf("both", PASSWORD);
    expect((await phone.notes.get(ID(1)))!.body).toBe("bread");
    expect((await phone.notes.conflicts(ID(1))).map((v) => [v.body, v.createdAt])).toEqual([
      ["bread, butter", 1740816000000],
    ]);
  } finally {
    data.close();
    await couch.close();
  }
});
