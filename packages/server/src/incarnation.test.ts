import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";
import type { UserDatabase } from "./user-db.js";

// PROTOCOL.md §4.1: the server's database incarnation, as raw frames see it.
const SITE = new Uint8Array(16).fill(5);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("database incarnations", () => {
  let server: Awaited<ReturnType<typeof testServer>> | null = null;
  const open: (RawClient | UserDatabase)[] = [];
  afterEach(async () => {
    for (const x of open.splice(0)) x.close();
    await server?.close();
  });
  const track = <T extends RawClient | UserDatabase>(x: T): T => (open.push(x), x);

  /** A user with one note pushed from a phone; returns the welcome a fresh device gets. */
  async function userWithANote() {
    server = await testServer();
    const alice = await account(server, "alice");
    const phone = track(clientDb(tempDir(), "phone"));
    phone.exec("INSERT INTO note_versions (id, title) VALUES ('n1', 'kept')");
    const a = track(await RawClient.sync(server, alice.token, phone.siteId));
    a.sendChanges(phone.readChanges(0, new Uint8Array(16), 1000).changes);
    await a.next("ack");
    const b = track(await RawClient.sync(server, alice.token, SITE));
    const rows = await b.changesUntil(b.welcome!.serverVersion);
    expect(rows.length).toBeGreaterThan(0);
    return { alice, welcome: b.welcome!, dataDir: server.dataDir };
  }

  it("keeps one incarnation across connections and restarts, and resumes a cursor of it", async () => {
    const { alice, welcome, dataDir } = await userWithANote();
    expect(welcome.incarnation).toHaveLength(16);
    await server!.close();
    server = await testServer({ dataDir });
    const again = track(
      await RawClient.sync(server, alice.token, SITE, welcome.serverVersion, welcome.incarnation),
    );
    expect(hex(again.welcome!.incarnation)).toBe(hex(welcome.incarnation));
    // At the head already: only the caught-up marker, no rows.
    expect(await again.next("changes")).toMatchObject({ changes: [] });
  });

  it("streams from 0 to a client whose cursor belongs to another incarnation", async () => {
    const { alice, welcome } = await userWithANote();
    const other = track(
      await RawClient.sync(server!, alice.token, SITE, welcome.serverVersion, new Uint8Array(16)),
    );
    expect(hex(other.welcome!.incarnation)).toBe(hex(welcome.incarnation));
    expect((await other.changesUntil(welcome.serverVersion)).length).toBeGreaterThan(0);
  });

  it("takes a new incarnation when a client saw more of this one than the database holds", async () => {
    const { alice, welcome } = await userWithANote();
    const ahead = track(
      await RawClient.sync(
        server!,
        alice.token,
        SITE,
        welcome.serverVersion + 50,
        welcome.incarnation,
      ),
    );
    expect(hex(ahead.welcome!.incarnation)).not.toBe(hex(welcome.incarnation));
    expect((await ahead.changesUntil(welcome.serverVersion)).length).toBeGreaterThan(0);
  });

  it("takes a new incarnation for a database file restored from a copy of the data directory", async () => {
    const { alice, welcome, dataDir } = await userWithANote();
    await server!.close();
    server = null;
    const copy = tempDir();
    fs.cpSync(dataDir, copy, { recursive: true });
    fs.rmSync(dataDir, { recursive: true });
    server = await testServer({ dataDir: copy });
    const c = track(
      await RawClient.sync(server, alice.token, SITE, welcome.serverVersion, welcome.incarnation),
    );
    expect(hex(c.welcome!.incarnation)).not.toBe(hex(welcome.incarnation));
    expect(fs.existsSync(path.join(copy, "users", `${alice.userId}.db`))).toBe(true);
    expect((await c.changesUntil(welcome.serverVersion)).length).toBeGreaterThan(0);
  });
});
