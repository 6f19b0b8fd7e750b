import { FakeClock } from "@notesync/protocol/testing";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { DbCache } from "./db-cache.js";
import type { HubMember } from "./sync/user-hub.js";
import { tempDir } from "./testing/harness.test-helpers.js";

const member = (failures: Error[] = []): HubMember => ({
  siteId: new Uint8Array(16),
  offerLive: () => true,
  pump: () => undefined,
  fail: (err) => failures.push(err),
});
const smallCache = (clock = new FakeClock()) =>
  new DbCache({
    clock,
    dir: tempDir(),
    maxOpen: 2,
    idleMs: 60_000,
    targetFrameBytes: 65536,
    log: pino({ level: "silent" }),
  });
const user = (n: number) => n.toString(16).padStart(32, "0");

describe("DbCache", () => {
  let cache: DbCache;
  afterEach(() => cache.close());

  it("keeps databases with connections open past the limit, and closes idle ones first", () => {
    cache = smallCache();
    const a = cache.open(user(1));
    a.members.add(member());
    const b = cache.open(user(2));
    b.members.add(member());
    // Over the limit, but every open database is in use: the new one must work.
    const c = cache.open(user(3));
    expect(c.db.dbVersion()).toBe(0);
    expect(cache.openCount).toBe(3);
    c.members.add(member());

    a.members.clear();
    const d = cache.open(user(4));
    expect(d.db.dbVersion()).toBe(0);
    expect(() => a.db.dbVersion()).toThrow(/not open/);
    expect(b.db.dbVersion()).toBe(0);
    expect(cache.openCount).toBe(3);
  });

  it("refuses user ids that are not server-made", () => {
    cache = smallCache();
    expect(() => cache.open("../../etc/passwd")).toThrow(/invalid user id/);
  });

  it("closes one user's database and connections when it fails outside a request, and serves the rest", () => {
    const clock = new FakeClock();
    cache = smallCache(clock);
    const broken = cache.open(user(1));
    const failures: Error[] = [];
    broken.members.add(member(failures));
    const fine = cache.open(user(2));
    fine.members.add(member());
    // The file went bad under the open connection (SQLite reports SQLITE_CORRUPT).
    broken.db.dataVersion = () => {
      throw Object.assign(new Error("database disk image is malformed"), {
        code: "SQLITE_CORRUPT",
      });
    };
    // A file event (another process wrote) and a commit elsewhere both look at it: neither throws.
    broken.noticeFileWrite();
    cache.noticeCommitElsewhere(user(1));
    expect(failures).toHaveLength(1);
    expect(failures[0]!.message).toMatch(/could not be read \(database disk image is malformed\)/);
    expect(cache.openCount).toBe(1);
    clock.advance(200); // the rechecks after a file event
    expect(failures).toHaveLength(1);
    // The other user's database still works, and the broken one can be opened afresh.
    expect(fine.db.dbVersion()).toBe(0);
    expect(cache.open(user(1)).db.dbVersion()).toBe(0);
  });
});
