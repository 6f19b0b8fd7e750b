import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
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
