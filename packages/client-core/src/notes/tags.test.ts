import { expect, it } from "vitest";
import { device, signup, until, useWorld, type Device } from "../testing/world.test-helpers.js";

// Two devices of one user through a real server: tags sync, filter, and concurrent changes of
// one tag end as PROTOCOL.md §8.3 says.
useWorld();

const tagsOf = async (d: Device, id: string) => (await d.notes.get(id))?.tags.join(",") ?? null;
const synced = (a: Device, b: Device) =>
  Promise.all([a.client.whenSynced(), b.client.whenSynced()]);

it("gives a note several tags, lists and filters by them, and syncs them", async () => {
  const token = await signup();
  const laptop = await device("laptop", token);
  const phone = await device("phone", token);
  const plan = await laptop.notes.create({ title: "Plan", tags: ["Work", "#ideas"] });
  const shop = await laptop.notes.create({ title: "Shopping" });
  await laptop.notes.addTag(shop.id, "  home  errands ");
  await laptop.notes.addTag(shop.id, "work");
  await laptop.notes.addTag(shop.id, "#"); // nothing left after normalizing: ignored

  expect(await tagsOf(laptop, plan.id)).toBe("ideas,work");
  expect(await tagsOf(laptop, shop.id)).toBe("home-errands,work");
  expect(await laptop.notes.tags()).toEqual([
    { tag: "home-errands", count: 1 },
    { tag: "ideas", count: 1 },
    { tag: "work", count: 2 },
  ]);
  expect((await laptop.notes.list({ tag: "ideas" })).map((n) => n.title)).toEqual(["Plan"]);
  expect((await laptop.notes.search("shop", { tag: "work" })).map((n) => n.title)).toEqual([
    "Shopping",
  ]);
  expect(await laptop.notes.search("shop", { tag: "ideas" })).toEqual([]);

  await until(async () => (await tagsOf(phone, shop.id)) === "home-errands,work");
  await phone.notes.removeTag(shop.id, "Work");
  await until(async () => (await tagsOf(laptop, shop.id)) === "home-errands");
  expect(await laptop.notes.tags()).toContainEqual({ tag: "work", count: 1 });

  // A note in the trash does not count; deleted forever, its tags go on every device.
  await laptop.notes.trash(plan.id);
  expect((await laptop.notes.tags()).map((t) => t.tag)).toEqual(["home-errands"]);
  await laptop.notes.deleteForever(plan.id);
  await until(
    async () =>
      (await phone.db.query("SELECT 1 FROM note_tags WHERE note_id = ?", [plan.id])).length === 0,
  );
});

it("sorts by last edited, last created or title, pinned first, and keeps given dates", async () => {
  const d = await device("solo", await signup());
  await d.notes.create({ title: "banana", createdAt: 1000, updatedAt: 5000 });
  await d.notes.create({ title: "Apple", createdAt: 3000, updatedAt: 3000 });
  await d.notes.create({ title: "", createdAt: 2000, updatedAt: 4000 });
  await d.notes.create({ title: "cherry", createdAt: 500, updatedAt: 600, pinned: true });
  const titles = async (sort: "edited" | "created" | "title") =>
    (await d.notes.list({ sort })).map((n) => n.title);
  expect(await titles("edited")).toEqual(["cherry", "banana", "", "Apple"]);
  expect(await titles("created")).toEqual(["cherry", "Apple", "", "banana"]);
  expect(await titles("title")).toEqual(["cherry", "Apple", "banana", ""]);
  const banana = (await d.notes.list()).find((n) => n.title === "banana")!;
  expect([banana.createdAt, banana.updatedAt]).toEqual([1000, 5000]);
});

it("a tag added on one device and removed on another before they sync: the device that changed it more often wins", async () => {
  const token = await signup();
  const a = await device("a", token);
  const b = await device("b", token);
  const note = await a.notes.create({ title: "Shared", tags: ["keep", "drop"] });
  await until(async () => (await tagsOf(b, note.id)) === "drop,keep");
  await synced(a, b);
  await a.client.stop();
  await b.client.stop();

  // Offline, from the same state. keep: a removes it; b removes it and adds it back.
  await a.notes.removeTag(note.id, "keep");
  await b.notes.removeTag(note.id, "keep");
  await b.notes.addTag(note.id, "keep");
  // drop: b removes it; a removes it, adds it back, and removes it again.
  await b.notes.removeTag(note.id, "drop");
  await a.notes.removeTag(note.id, "drop");
  await a.notes.addTag(note.id, "drop");
  await a.notes.removeTag(note.id, "drop");
  // fresh, new on both: a adds it; b adds it and removes it.
  await a.notes.addTag(note.id, "fresh");
  await b.notes.addTag(note.id, "fresh");
  await b.notes.removeTag(note.id, "fresh");
  // again, new on both: each adds it once (the same change: no conflict).
  await a.notes.addTag(note.id, "again");
  await b.notes.addTag(note.id, "again");
  // Re-adding a tag a note has is no change at all, so it cannot outvote a removal.
  await a.notes.addTag(note.id, "again");
  await a.notes.addTag(note.id, "again");
  expect(await tagsOf(a, note.id)).toBe("again,fresh");
  expect(await tagsOf(b, note.id)).toBe("again,keep");

  a.client.start();
  b.client.start();
  await until(async () => (await tagsOf(a, note.id)) === "again,keep");
  await until(async () => (await tagsOf(b, note.id)) === "again,keep");
  await synced(a, b);
  expect(await tagsOf(a, note.id)).toBe("again,keep");
  expect(await tagsOf(b, note.id)).toBe("again,keep");
});

it("creates many notes at once (an import) with their tags and dates, in order", async () => {
  const d = await device("importer", await signup());
  const drafts = Array.from({ length: 450 }, (_, i) => ({
    title: `Note ${i}`,
    body: `body ${i}`,
    tags: i % 2 ? ["odd"] : [],
    createdAt: 1_000 + i,
    updatedAt: 2_000 + i,
  }));
  const ids = await d.notes.createMany(drafts);
  expect(ids).toHaveLength(450);
  const first = await d.notes.get(ids[1]!);
  expect(first).toMatchObject({ title: "Note 1", body: "body 1", tags: ["odd"], createdAt: 1_001 });
  expect(await d.notes.tags()).toEqual([{ tag: "odd", count: 225 }]);
  expect((await d.notes.search("body 449")).map((n) => n.title)).toEqual(["Note 449"]);
  // A search reads at most `limit` notes, as a list does, the best first (a tie: newest first).
  expect((await d.notes.search("body", { limit: 3 })).map((n) => n.title)).toEqual([
    "Note 449",
    "Note 448",
    "Note 447",
  ]);
  expect((await d.notes.search("body", { tag: "odd", limit: 2 })).map((n) => n.title)).toEqual([
    "Note 449",
    "Note 447",
  ]);
});
