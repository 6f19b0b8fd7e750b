import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { loadCrsqlite } from "./index.js";

// The build patches cr-sqlite's key parser so that a malformed packed primary key is an error
// of the statement that carries it, not a Rust panic that aborts the whole process (the
// server refuses such keys before they get here; this is the second line of defence).

describe("malformed packed primary keys given to the extension itself", () => {
  it("fail the statement and leave the database usable", () => {
    const db = new Database(":memory:");
    loadCrsqlite(db);
    db.exec(
      `CREATE TABLE notes (id TEXT PRIMARY KEY NOT NULL, title TEXT NOT NULL DEFAULT ''); SELECT crsql_as_crr('notes')`,
    );
    const insert = db.prepare(
      `INSERT INTO crsql_changes ("table", pk, cid, val, col_version, db_version, site_id, cl, seq)
       VALUES ('notes', ?, 'title', 'x', 1, 1, randomblob(16), 1, 0)`,
    );
    const hex = (h: string) => Buffer.from(h, "hex");
    // empty, no columns, a 9-byte integer, a 9-byte text length
    for (const pk of ["", "00", "0149ffffffffffffffffff", "014bffffffffffffffffff41"])
      expect(() => insert.run(hex(pk)), pk).toThrow();
    insert.run(hex("010b026e31")); // a good key still goes in
    expect(db.prepare("SELECT id, title FROM notes").all()).toEqual([{ id: "n1", title: "x" }]);
    db.prepare("SELECT crsql_finalize()").get();
    db.close();
  });
});
