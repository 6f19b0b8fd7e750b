import BetterSqlite3 from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { SYNC_STATE_TABLE } from "../database.js";
import { SyncErrorCode } from "../sync/status.js";
import {
  device,
  dir,
  shutdown,
  signup,
  until,
  useWorld,
  waitFor,
  type Device,
} from "../testing/world.test-helpers.js";

// A database file copied to a second machine carries the first one's site id (issue 13, finding 3).
useWorld();

const titles = async (d: Device) =>
  (await d.notes.list()).map((n) => n.title).sort((a, b) => a.localeCompare(b));

/** Copies `from`'s file (closed first, so the copy is complete) to `<name>.db`. */
async function copyOf(from: Device, name: string): Promise<string> {
  await shutdown(from);
  const target = path.join(dir, `${name}.db`);
  fs.copyFileSync(from.file, target);
  return target;
}

describe("a copied database file", () => {
  it("takes a new site id when opened, so both copies' offline notes reach everyone", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const token = await signup();
    const first = await device("laptop", token);
    await first.notes.create({ title: "Before the copy" });
    await first.client.whenSynced();
    await copyOf(first, "desktop");
    const laptop = await device("laptop", token, false);
    const desktop = await device("desktop", token, false);
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/desktop\.db is a copy of another database file/),
    ]);
    expect(Buffer.from(desktop.db.siteId).equals(Buffer.from(laptop.db.siteId))).toBe(false);
    // Both work offline, then sync.
    await laptop.notes.create({ title: "Written on the laptop" });
    await desktop.notes.create({ title: "Written on the desktop" });
    laptop.client.start();
    desktop.client.start();
    await Promise.all([laptop.client.whenSynced(), desktop.client.whenSynced()]);
    const phone = await device("phone", token);
    const all = ["Before the copy", "Written on the desktop", "Written on the laptop"];
    for (const d of [laptop, desktop, phone])
      await until(async () => JSON.stringify(await titles(d)) === JSON.stringify(all));
    warn.mockRestore();
  });

  it("refuses to sync, saying why, when a copy slipped past that check", async () => {
    const token = await signup();
    const first = await device("laptop", token);
    await first.notes.create({ title: "Before the copy" });
    await first.client.whenSynced();
    const copy = await copyOf(first, "desktop");
    // As if the copy had been made by a tool that also copied the file's recorded identity.
    const raw = new BetterSqlite3(copy);
    raw.prepare(`DELETE FROM ${SYNC_STATE_TABLE} WHERE key = 'file_identity'`).run();
    raw.close();
    const laptop = await device("laptop", token);
    for (let i = 0; i < 3; i++) await laptop.notes.create({ title: `Laptop ${i}` });
    await laptop.client.whenSynced();

    const desktop = await device("desktop", token);
    const status = await waitFor(desktop.client, (s) => s.state === "error");
    expect(status.error?.code).toBe(SyncErrorCode.DuplicateSite);
    expect(status.error?.message).toMatch(/another copy of this database is syncing/);
    // Nothing of the desktop's reached the server under the laptop's identity.
    expect(await titles(laptop)).toEqual(["Before the copy", "Laptop 0", "Laptop 1", "Laptop 2"]);
  });
});
