import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadCrsqlite } from "./index.js";

// Two real database files with the extension found by the loader, exchanging crsql_changes by hand.
type Db = Database.Database;
const CHANGE_COLUMNS = `"table", pk, cid, val, col_version, db_version, site_id, cl, seq`;

function open(file: string): Db {
  const db = new Database(file);
  loadCrsqlite(db);
  db.exec(`CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL DEFAULT '', body TEXT NOT NULL DEFAULT '',
    pinned INTEGER NOT NULL DEFAULT 0, position REAL NOT NULL DEFAULT 0)`);
  db.prepare("SELECT crsql_as_crr('notes')").get();
  return db;
}

function close(db: Db): void {
  db.prepare("SELECT crsql_finalize()").get();
  db.close();
}

/** Sends every change `from` made or merged that `to` may lack, with integers kept as BigInt. */
function sync(from: Db, to: Db): void {
  const rows = from
    .prepare(`SELECT ${CHANGE_COLUMNS} FROM crsql_changes`)
    .safeIntegers(true)
    .raw(true)
    .all() as unknown[][];
  const insert = to.prepare(
    `INSERT INTO crsql_changes (${CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  to.transaction(() => rows.forEach((row) => insert.run(...row)))();
}

function notes(db: Db): unknown[] {
  return db
    .prepare("SELECT id, title, body, pinned, typeof(pinned) AS t FROM notes ORDER BY id")
    .safeIntegers(true)
    .all();
}

describe("native cr-sqlite through the loader", () => {
  let dir: string;
  let a: Db;
  let b: Db;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-crsqlite-"));
    a = open(path.join(dir, "a.db"));
    b = open(path.join(dir, "b.db"));
  });
  afterEach(() => {
    close(a);
    close(b);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("makes a CRR with the one-argument crsql_as_crr and gives each database its own site id", () => {
    const siteA = a.prepare("SELECT crsql_site_id() AS s").get() as { s: Buffer };
    const siteB = b.prepare("SELECT crsql_site_id() AS s").get() as { s: Buffer };
    expect(siteA.s).toHaveLength(16);
    expect(Buffer.compare(siteA.s, siteB.s)).not.toBe(0);
  });

  it("converges after edits on both sides, a concurrent edit of one cell, and a delete", () => {
    a.exec(
      "INSERT INTO notes (id, title, body) VALUES ('n1', 'from a', 'a body'), ('n2', 'doomed', '')",
    );
    b.exec("INSERT INTO notes (id, title, body) VALUES ('n3', 'from b', 'b body')");
    sync(a, b);
    sync(b, a);
    expect(notes(a)).toEqual(notes(b));
    expect(notes(a)).toHaveLength(3);

    // Concurrent edits of the same cell and of an integer column, then a delete on one side.
    a.exec("UPDATE notes SET body = 'a wins?', pinned = 1 WHERE id = 'n1'");
    b.exec("UPDATE notes SET body = 'b wins?', pinned = 2 WHERE id = 'n1'");
    b.exec("DELETE FROM notes WHERE id = 'n2'");
    sync(a, b);
    sync(b, a);

    expect(notes(a)).toEqual(notes(b));
    const ids = (notes(a) as { id: string }[]).map((n) => n.id);
    expect(ids).toEqual(["n1", "n3"]);
    const n1 = notes(a)[0] as { body: string; t: string };
    expect(["a wins?", "b wins?"]).toContain(n1.body);
    expect(n1.t).toBe("integer");
  });

  it("forks replicas when integers are read as JS numbers: why sync() reads with safeIntegers", () => {
    a.exec("INSERT INTO notes (id) VALUES ('n1')");
    sync(a, b);
    a.exec("UPDATE notes SET pinned = 42 WHERE id = 'n1'");
    b.exec("UPDATE notes SET pinned = 43 WHERE id = 'n1'");
    const syncAsNumbers = (from: Db, to: Db) => {
      const rows = from
        .prepare(`SELECT ${CHANGE_COLUMNS} FROM crsql_changes`)
        .raw(true)
        .all() as unknown[][];
      const insert = to.prepare(
        `INSERT INTO crsql_changes (${CHANGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      to.transaction(() => rows.forEach((row) => insert.run(...row)))();
    };
    syncAsNumbers(a, b);
    syncAsNumbers(b, a);
    // Each side's INTEGER beats the other's value that arrived as REAL: they never converge.
    expect(notes(a)).not.toEqual(notes(b));
  });
});
