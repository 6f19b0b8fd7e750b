import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "../testing/harness.test-helpers.js";
import { BACKUP_URL, startS3, type TestS3 } from "../testing/s3.test-helpers.js";
import type { UserDatabase } from "../user-db.js";
import { restoreFromBackup } from "./restore.js";

// Continuous backup to an S3-compatible store (s3rver in this process), and restore from it.
const ALL = new Uint8Array(16);
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("continuous backup to object storage", () => {
  let s3: TestS3;
  let server: Awaited<ReturnType<typeof testServer>> | null = null;
  const open: (RawClient | UserDatabase)[] = [];
  const track = <T extends RawClient | UserDatabase>(x: T): T => (open.push(x), x);
  afterEach(async () => {
    for (const x of open.splice(0)) x.close();
    await server?.close();
    server = null;
    await s3.stop();
  });

  const backedUpServer = (dataDir = tempDir()) =>
    testServer({
      dataDir,
      backup: { url: BACKUP_URL, intervalMs: 50, store: s3.store() },
    });

  /** A device writes `n` notes titled `<prefix> i` and the server acks them. */
  async function write(token: string, device: UserDatabase, prefix: string, n: number) {
    const before = device.dbVersion();
    for (let i = 0; i < n; i++)
      device.exec(
        `INSERT INTO note_versions (id, title) VALUES ('${prefix}-${i}', '${prefix} ${i}')`,
      );
    const c = track(await RawClient.sync(server!, token, device.siteId));
    c.sendChanges(device.readChanges(before, ALL, 1e6).changes);
    await c.next("ack", (a) => a.clientVersion === device.dbVersion());
    c.close();
  }

  /** Titles a new device downloads from the server. */
  async function titlesOnANewDevice(token: string): Promise<string[]> {
    const device = track(clientDb(tempDir(), "new"));
    const c = track(await RawClient.sync(server!, token, new Uint8Array(16).fill(9)));
    device.applyRestored(await c.changesUntil(c.welcome!.serverVersion));
    return device
      .query<{ title: string }>("SELECT title FROM note_versions ORDER BY title")
      .map((r) => r.title);
  }

  it("restores every account and note into an empty data directory, with a new incarnation", async () => {
    s3 = await startS3();
    server = await backedUpServer();
    const alice = await account(server, "alice");
    const bob = await account(server, "bob");
    await write(alice.token, track(clientDb(tempDir(), "alice-phone")), "alice", 30);
    await write(bob.token, track(clientDb(tempDir(), "bob-phone")), "bob", 5);
    const welcome = track(await RawClient.sync(server, alice.token, ALL)).welcome!;
    await server.backup!.flush();
    // More changes than a segment's worth later: the backup takes changes, not a new snapshot.
    await write(alice.token, track(clientDb(tempDir(), "alice-laptop")), "later", 3);
    await server.backup!.flush();
    const objects = await s3.store().list("users/");
    expect(objects.some((k) => k.includes("/changes-"))).toBe(true);
    await server.close();

    const lines: string[] = [];
    const dataDir = tempDir();
    const { users } = await restoreFromBackup({
      store: s3.store(),
      dataDir,
      progress: (l) => lines.push(l),
    });
    expect(users).toBe(2);
    expect(lines.join("\n")).toMatch(/accounts.db: 2 accounts/);
    expect(lines.filter((l) => /integrity ok/.test(l))).toHaveLength(2);

    server = await backedUpServer(dataDir);
    const login = await fetch(`${server.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "correct horse" }),
    });
    expect(login.status).toBe(200);
    const titles = await titlesOnANewDevice(alice.token);
    expect(titles).toHaveLength(33);
    expect(titles).toContain("later 2");
    expect(await titlesOnANewDevice(bob.token)).toHaveLength(5);
    const again = track(await RawClient.sync(server, alice.token, ALL, 0, welcome.incarnation));
    expect(hex(again.welcome!.incarnation)).not.toBe(hex(welcome.incarnation));
  });

  it("keeps syncing while the store is unreachable, and the backup catches up once it is back", async () => {
    s3 = await startS3();
    server = await backedUpServer();
    const alice = await account(server, "alice");
    await write(alice.token, track(clientDb(tempDir(), "phone")), "before", 3);
    await server.backup!.flush();

    await s3.stop();
    // Sync goes on: another device's notes are acked and reach a third device.
    await write(alice.token, track(clientDb(tempDir(), "laptop")), "during", 10);
    expect(await titlesOnANewDevice(alice.token)).toHaveLength(13);
    await expect(server.backup!.flush()).rejects.toThrow();
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(Number(/^notesync_backup_failures_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(0);
    expect(server.backup!.pending).toBeGreaterThan(0);

    await s3.restart();
    await server.backup!.flush();
    expect(server.backup!.pending).toBe(0);
    await server.close();
    const dataDir = tempDir();
    await restoreFromBackup({ store: s3.store(), dataDir });
    server = await backedUpServer(dataDir);
    expect(await titlesOnANewDevice(alice.token)).toHaveLength(13);
  });

  it("says clearly when there is nothing to restore, and never overwrites a data directory", async () => {
    s3 = await startS3();
    await expect(restoreFromBackup({ store: s3.store(), dataDir: tempDir() })).rejects.toThrow(
      /holds no NoteSync backup/,
    );
    const used = tempDir();
    fs.mkdirSync(path.join(used, "users"));
    fs.writeFileSync(path.join(used, "users", `${"a".repeat(32)}.db`), "");
    await expect(restoreFromBackup({ store: s3.store(), dataDir: used })).rejects.toThrow(
      /already holds user databases/,
    );
    await s3.stop();
    await expect(restoreFromBackup({ store: s3.store(), dataDir: tempDir() })).rejects.toThrow(
      /cannot list the backup store s3:\/\/backups\/notesync/,
    );
  });
});
