import { describe, expect, it } from "vitest";
import { createNotesApi } from "./notes.js";
import { device, signup, until, useWorld, type Device } from "./testing/world.test-helpers.js";

// Two Node clients of one user edit the same note while offline, against the real server.
useWorld();

async function twoDevicesWithNote(body: string) {
  const token = await signup();
  const a = await device("a", token);
  const b = await device("b", token);
  const note = await a.notes.create({ title: "Plans", body });
  await a.client.whenSynced();
  await until(async () => (await b.notes.get(note.id))?.body === body);
  await b.client.whenSynced();
  await Promise.all([a.client.stop(), b.client.stop()]);
  return { a, b, id: note.id };
}

async function reconnectBoth(a: Device, b: Device, id: string) {
  a.client.start();
  await a.client.whenSynced();
  b.client.start();
  await b.client.whenSynced();
  const same = async () => {
    const [na, nb] = [await a.notes.get(id), await b.notes.get(id)];
    const [ca, cb] = [await a.notes.conflicts(id), await b.notes.conflicts(id)];
    return na?.body === nb?.body && JSON.stringify(ca) === JSON.stringify(cb);
  };
  await until(same);
}

describe("concurrent edits of one note", () => {
  it("keep the losing edit of the same paragraph as a conflict version on both devices", async () => {
    const { a, b, id } = await twoDevicesWithNote("Shopping\n\nmilk");
    await a.notes.update(id, { body: "Shopping\n\noat milk" });
    await b.notes.update(id, { body: "Shopping\n\nsoy milk" });
    await reconnectBoth(a, b, id);
    await until(
      async () =>
        (await a.notes.conflicts(id)).length === 1 && (await b.notes.conflicts(id)).length === 1,
    );

    const note = (await a.notes.get(id))!;
    const [conflict] = await b.notes.conflicts(id);
    expect((await b.notes.get(id))!.body).toBe(note.body);
    // Both edits survive: one as the note, the other as its conflict version.
    expect([note.body, conflict!.body].sort()).toEqual([
      "Shopping\n\noat milk",
      "Shopping\n\nsoy milk",
    ]);
    expect(conflict!.title).toBe("Plans");
  });

  it("merge edits of different paragraphs, and keep the versions from before the merge", async () => {
    const { a, b, id } = await twoDevicesWithNote(
      "Monday: gym\n\nTuesday: free\n\nWednesday: dentist",
    );
    await a.notes.update(id, { body: "Monday: gym at 7\n\nTuesday: free\n\nWednesday: dentist" });
    await b.notes.update(id, { body: "Monday: gym\n\nTuesday: free\n\nWednesday: dentist at 3pm" });
    await reconnectBoth(a, b, id);
    const merged = "Monday: gym at 7\n\nTuesday: free\n\nWednesday: dentist at 3pm";
    await until(
      async () =>
        (await a.notes.get(id))?.body === merged && (await b.notes.get(id))?.body === merged,
    );
    expect(await a.notes.conflicts(id)).toEqual([]);
    const history = (await b.notes.history(id)).map((v) => v.body);
    expect(history).toContain("Monday: gym at 7\n\nTuesday: free\n\nWednesday: dentist");
    expect(history).toContain("Monday: gym\n\nTuesday: free\n\nWednesday: dentist at 3pm");
  });

  it("resolve a conflict by keeping both: the losing text becomes a note of its own everywhere", async () => {
    const { a, b, id } = await twoDevicesWithNote("draft");
    await a.notes.update(id, { body: "draft from a" });
    await b.notes.update(id, { body: "draft from b" });
    await reconnectBoth(a, b, id);
    await until(async () => (await a.notes.conflicts(id)).length === 1);
    const [conflict] = await a.notes.conflicts(id);
    const copy = await a.notes.keepBoth(conflict!.id);
    await until(
      async () =>
        (await b.notes.get(copy.id))?.body === conflict!.body &&
        (await b.notes.conflicts(id)).length === 0,
    );
    expect((await b.notes.list()).map((n) => n.title).sort()).toEqual([
      "Plans",
      "Plans (conflicted copy)",
    ]);
  });
});

describe("note history", () => {
  it("restores an older body, and the restore reaches the other device", async () => {
    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    let clock = 1_000_000;
    const notes = createNotesApi(a.db, () => (clock += 10 * 60_000)); // ten minutes between edits
    const note = await notes.create({ title: "Essay", body: "first draft" });
    await notes.update(note.id, { body: "second draft" });
    await notes.update(note.id, { body: "third draft" });
    const history = await notes.history(note.id);
    expect(history.map((v) => v.body)).toEqual(["second draft", "first draft"]);

    // A note that was empty until now has no earlier version worth keeping.
    const fresh = await notes.create();
    await notes.update(fresh.id, { title: "Typed at once" });
    expect(await notes.history(fresh.id)).toEqual([]);

    await notes.useVersion(history.find((v) => v.body === "first draft")!.id);
    expect((await notes.get(note.id))!.body).toBe("first draft");
    await a.client.whenSynced();
    await until(async () => (await b.notes.get(note.id))?.body === "first draft");
    // The text it replaced is in the history too, so the restore can be undone.
    expect((await b.notes.history(note.id)).map((v) => v.body)).toContain("third draft");
  });
});
