import {
  INSERT_CHANGE,
  SELECT_CHANGES,
  changeParams,
  objectToChange,
  type ChangeRowObject,
} from "@notesync/protocol";
import type { Database } from "./database.js";

/**
 * The contract every database adapter must pass, whatever runs it: vitest runs it against the
 * Node adapter, and a page in real Chromium against the wasm adapter (e2e/tests/adapter-contract).
 * `open(name)` opens (creating if needed) the database called `name`; opening a name again after
 * closing it must reopen the same database.
 */
export type OpenDatabase = (name: string) => Promise<Database>;

export interface ContractCase {
  readonly name: string;
  run(open: OpenDatabase, unique: string): Promise<void>;
}

function check(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(message);
}
const show = (v: unknown) =>
  JSON.stringify(v, (_k, x: unknown) =>
    typeof x === "bigint"
      ? `${x}n`
      : x instanceof Uint8Array
        ? `bytes(${Array.from(x).join(",")})`
        : x,
  );
function same(actual: unknown, expected: unknown, what: string): void {
  check(
    show(actual) === show(expected),
    `${what}: expected ${show(expected)}, got ${show(actual)}`,
  );
}

/** Sends every change of `from` to `to` the way the sync engine does. */
async function exchange(from: Database, to: Database): Promise<void> {
  const rows = await from.query<ChangeRowObject>(SELECT_CHANGES);
  await to.transaction(async (tx) => {
    await tx.execMany(
      INSERT_CHANGE,
      rows.map((r) => changeParams(objectToChange(r))),
    );
  });
}

const TYPED = `SELECT id, title, typeof(title) AS title_t, body, typeof(body) AS body_t, pinned, typeof(pinned) AS pinned_t,
  position, typeof(position) AS position_t, deleted_at, typeof(deleted_at) AS deleted_t FROM notes ORDER BY id`;

export const adapterContract: readonly ContractCase[] = [
  {
    name: "exec binds parameters and query returns rows as objects",
    async run(open, u) {
      const db = await open(`${u}-exec`);
      await db.exec("INSERT INTO notes (id, title, pinned) VALUES (?, ?, ?)", ["n1", "first", 1]);
      await db.exec("INSERT INTO notes (id, title) VALUES ('n2', 'second')");
      const rows = await db.query<{ id: string; title: string; pinned: number }>(
        "SELECT id, title, pinned FROM notes WHERE title LIKE ? ORDER BY id",
        ["%"],
      );
      same(
        rows,
        [
          { id: "n1", title: "first", pinned: 1 },
          { id: "n2", title: "second", pinned: 0 },
        ],
        "rows",
      );
      await db.close();
    },
  },
  {
    name: "JS numbers bind by value: integral as INTEGER (better-sqlite3 alone binds them as REAL), others as REAL",
    async run(open, u) {
      const db = await open(`${u}-bind`);
      const rows = await db.query<Record<string, unknown>>(
        "SELECT typeof(?) AS small, typeof(?) AS big, typeof(?) AS huge, typeof(?) AS real, typeof(?) AS text, typeof(?) AS blob, typeof(?) AS absent",
        [43, 1700000000000, 2n ** 60n, 43.5, "43", new Uint8Array([1]), null],
      );
      same(
        rows,
        [
          {
            small: "integer",
            big: "integer",
            huge: "integer",
            real: "real",
            text: "text",
            blob: "blob",
            absent: "null",
          },
        ],
        "typeof bound values",
      );
      await db.close();
    },
  },
  {
    name: "a transaction commits together, and a thrown error rolls all of it back",
    async run(open, u) {
      const db = await open(`${u}-tx`);
      await db.transaction(async (tx) => {
        await tx.exec("INSERT INTO notes (id) VALUES ('a')");
        await tx.exec("INSERT INTO notes (id) VALUES ('b')");
      });
      let thrown = false;
      try {
        await db.transaction(async (tx) => {
          await tx.exec("INSERT INTO notes (id) VALUES ('c')");
          await tx.exec("UPDATE notes SET title = 'changed' WHERE id = 'a'");
          throw new Error("boom");
        });
      } catch (err) {
        thrown = (err as Error).message === "boom";
      }
      check(thrown, "the error thrown inside the transaction reaches the caller");
      same(
        await db.query("SELECT id, title FROM notes ORDER BY id"),
        [
          { id: "a", title: "" },
          { id: "b", title: "" },
        ],
        "after rollback",
      );
      await db.exec("INSERT INTO notes (id) VALUES ('d')");
      same(
        (await db.query<{ n: number }>("SELECT count(*) AS n FROM notes"))[0]!.n,
        3,
        "the database works after a rollback",
      );
      await db.close();
    },
  },
  {
    name: "the site id is 16 bytes and stays the same when the database is reopened, with its data",
    async run(open, u) {
      let db = await open(`${u}-site`);
      const site = db.siteId;
      check(site instanceof Uint8Array && site.length === 16, "site id is 16 bytes");
      await db.exec("INSERT INTO notes (id, title) VALUES ('kept', 'still here')");
      await db.close();
      db = await open(`${u}-site`);
      same(db.siteId, site, "site id after reopen");
      same(
        await db.query("SELECT title FROM notes"),
        [{ title: "still here" }],
        "data after reopen",
      );
      await db.close();
    },
  },
  {
    name: "values keep their SQLite type through crsql_changes: INTEGER beyond 2^53, REAL, unicode TEXT, BLOB, NULL",
    async run(open, u) {
      const a = await open(`${u}-types-a`);
      const b = await open(`${u}-types-b`);
      await a.exec(`INSERT INTO notes (id, title, body, pinned, position, deleted_at)
        VALUES ('t', 'Grüße 📝 ∑', x'00ff10', 9007199254740993, 2.0, NULL)`);
      const rows = await a.query<Record<string, unknown>>(TYPED);
      same(rows[0]!.pinned, 9007199254740993n, "an INTEGER beyond 2^53 reads as bigint");
      same(rows[0]!.position, 2, "a REAL reads as a number");
      check(rows[0]!.body instanceof Uint8Array, "a BLOB reads as Uint8Array");
      await exchange(a, b);
      same(await b.query(TYPED), rows, "values and types after applying the changes");
      same(rows[0]!.pinned_t, "integer", "typeof pinned");
      same(rows[0]!.position_t, "real", "typeof position");
      same(rows[0]!.body_t, "blob", "typeof body");
      same(rows[0]!.deleted_t, "null", "typeof deleted_at");
      await a.close();
      await b.close();
    },
  },
  {
    name: "two replicas converge after concurrent edits of every column type, a delete and a re-insert",
    async run(open, u) {
      const a = await open(`${u}-conv-a`);
      const b = await open(`${u}-conv-b`);
      await a.exec("INSERT INTO notes (id, title) VALUES ('x', 'base'), ('gone', 'doomed')");
      await exchange(a, b);
      await a.exec(
        "UPDATE notes SET title = 'from a', body = x'01', pinned = 42, position = 1.5, deleted_at = 5 WHERE id = 'x'",
      );
      await b.exec(
        "UPDATE notes SET title = 'from b', body = x'02', pinned = 43, position = 2.0, deleted_at = NULL WHERE id = 'x'",
      );
      await b.exec("DELETE FROM notes WHERE id = 'gone'");
      await a.exec("INSERT INTO notes (id, title) VALUES ('y', 'only a')");
      await exchange(a, b);
      await exchange(b, a);
      const [ra, rb] = [await a.query(TYPED), await b.query(TYPED)];
      same(rb, ra, "replicas after exchanging both ways");
      same(
        (ra as { id: string }[]).map((r) => r.id),
        ["x", "y"],
        "rows",
      );
      await a.close();
      await b.close();
    },
  },
];
