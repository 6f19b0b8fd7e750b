import { restoreFromBackup, s3Store } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import S3rver from "s3rver";
import { describe, expect, it } from "vitest";
import {
  configureServer,
  device,
  dir,
  restartServer,
  server,
  shutdown,
  signup,
  table,
  until,
  useWorld,
} from "../testing/world.test-helpers.js";

// Issue 15's scenario with a real server, real files and real WebSockets: the server's data
// directory goes back to an older copy; the devices that survive give back what it forgot.
useWorld();

const count = (d: Awaited<ReturnType<typeof device>>, n: number) => async () =>
  (await d.notes.list()).length === n;

describe("a server restored from an older copy of its data directory", () => {
  for (const writesFirst of [false, true]) {
    it(`loses no note that a surviving device holds${writesFirst ? ", even when it takes new writes before the old devices return" : ""}`, async () => {
      const token = await signup();
      const a = await device("a", token);
      const b = await device("b", token);
      for (let i = 0; i < 3; i++) await a.notes.create({ title: `before the backup ${i}` });
      await a.client.whenSynced();
      await until(count(b, 3));

      // The backup: a copy of the data directory, taken with the server stopped.
      const dataDir = path.join(dir, "server");
      const port = server.port; // devices reconnect to the same address
      const backup = path.join(dir, "backup");
      await server.close();
      fs.cpSync(dataDir, backup, { recursive: true });
      await restartServer(port);

      // After the backup: a writes and edits; b receives it all; then a is lost.
      for (let i = 0; i < 5; i++) await a.notes.create({ title: `after the backup ${i}` });
      const [first] = await a.notes.list();
      await a.notes.update(first!.id, { body: "edited after the backup" });
      await a.client.whenSynced();
      await until(count(b, 8));
      await until(async () => JSON.stringify(await table(a)) === JSON.stringify(await table(b)));
      await shutdown(a);
      fs.rmSync(a.file);
      await b.client.stop();

      // The disk is restored from the backup.
      await server.close();
      fs.rmSync(dataDir, { recursive: true });
      fs.cpSync(backup, dataDir, { recursive: true });
      await restartServer(port);

      let expected = 8;
      if (writesFirst) {
        // A new device writes to the restored server first, pushing its versions past the old cursors.
        const d = await device("d", token);
        await until(count(d, 3));
        for (let i = 0; i < 12; i++) await d.notes.create({ title: `after the restore ${i}` });
        await d.client.whenSynced();
        expected += 12;
      }

      b.client.start();
      await until(count(b, expected), 15_000);
      await b.client.whenSynced();
      const c = await device("c", token);
      await until(count(c, expected), 15_000);
      await c.client.whenSynced();
      const [tb, tc] = await Promise.all([table(b), table(c)]);
      expect(tc).toEqual(tb);
      expect(
        tb.filter((n) => (n as { body: string }).body === "edited after the backup"),
      ).toHaveLength(1);
    }, 40_000);
  }
});

describe("a server restored from object storage after its disk was lost", () => {
  it("loses no note that a surviving device holds, though the backup missed the last minutes", async () => {
    // An S3-compatible store in this process (s3rver: no S3 here) that the server backs up to.
    const s3Dir = path.join(dir, "s3");
    const start = (port = 0) =>
      new S3rver({
        address: "127.0.0.1",
        port,
        silent: true,
        directory: s3Dir,
        configureBuckets: [{ name: "b" }],
      });
    let s3 = start();
    const { port: s3Port } = await s3.run();
    const store = s3Store({
      url: "s3://b/notesync",
      endpoint: `http://127.0.0.1:${s3Port}`,
      env: { AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" },
    });
    const port = server.port;
    await server.close();
    configureServer({ backup: { url: "s3://b/notesync", intervalMs: 20, store } });
    await restartServer(port);

    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    for (let i = 0; i < 3; i++) await a.notes.create({ title: `backed up ${i}` });
    await a.client.whenSynced();
    await until(count(b, 3));
    await server.backup!.flush();

    // The store becomes unreachable: what follows never reaches the backup.
    await s3.close();
    for (let i = 0; i < 5; i++) await a.notes.create({ title: `not backed up ${i}` });
    await a.client.whenSynced();
    await until(count(b, 8));
    await shutdown(a);
    fs.rmSync(a.file);
    await b.client.stop();

    // The server's disk is lost; a new one is rebuilt from the store.
    await server.close().catch(() => undefined);
    fs.rmSync(path.join(dir, "server"), { recursive: true });
    s3 = start(s3Port);
    await s3.run();
    const lines: string[] = [];
    await restoreFromBackup({
      store,
      dataDir: path.join(dir, "server"),
      progress: (l) => lines.push(l),
    });
    expect(lines.join("\n")).toMatch(/3 notes, .*integrity ok/);
    await restartServer(port);

    b.client.start();
    await b.client.whenSynced();
    const c = await device("c", token);
    await until(count(c, 8), 15_000);
    await c.client.whenSynced();
    expect(await table(c)).toEqual(await table(b));
    await s3.close();
  }, 40_000);
});
