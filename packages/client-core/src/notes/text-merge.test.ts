import { describe, expect, it } from "vitest";
import { createNotesApi } from "./notes-api.js";
import {
  device,
  server,
  signup,
  until,
  useWorld,
  type Device,
} from "../testing/world.test-helpers.js";

// Node clients of one user against the real server: every character typed on either side survives.
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
  b.client.start();
  await Promise.all([a.client.whenSynced(), b.client.whenSynced()]);
  await until(async () => (await a.notes.get(id))?.body === (await b.notes.get(id))?.body);
}

describe("two devices editing one note", () => {
  it("keep both edits of the same line, with no conflict", async () => {
    const { a, b, id } = await twoDevicesWithNote("Shopping\n\nmilk");
    await a.notes.update(id, { body: "Shopping\n\noat milk" });
    await b.notes.update(id, { body: "Shopping\n\nmilk and honey" });
    await reconnectBoth(a, b, id);
    expect((await a.notes.get(id))!.body).toBe("Shopping\n\noat milk and honey");
    expect(await a.notes.conflicts(id)).toEqual([]);
    expect(await b.notes.conflicts(id)).toEqual([]);
  });

  it("type into open documents at once, and each sees the other's keystrokes as they land", async () => {
    const { a, b, id } = await twoDevicesWithNote("Hello");
    a.client.start();
    b.client.start();
    await Promise.all([a.client.whenSynced(), b.client.whenSynced()]);
    const [docA, docB] = await Promise.all([a.notes.openDocument(id), b.notes.openDocument(id)]);
    expect(docB.body.toString()).toBe("Hello");
    // Both type at the end of "Hello" before either hears of the other: both runs are kept,
    // each in one piece, in an order Yjs picks the same way everywhere.
    const typedA = " from a";
    const typedB = " and b";
    for (let i = 0; i < Math.max(typedA.length, typedB.length); i++) {
      if (i < typedA.length) docA.body.insert(5 + i, typedA[i]!);
      if (i < typedB.length) docB.body.insert(5 + i, typedB[i]!);
    }
    await Promise.all([docA.flush(), docB.flush()]);
    const either = ["Hello" + typedA + typedB, "Hello" + typedB + typedA];
    await until(
      async () =>
        either.includes(docA.body.toString()) && docB.body.toString() === docA.body.toString(),
    );
    const expected = docA.body.toString();
    // Then each keeps typing where its caret is, and sees the other's keystrokes as they land.
    docA.body.insert(expected.indexOf(typedA) + typedA.length, "!");
    docB.body.insert(expected.indexOf(typedB) + typedB.length, "?");
    await Promise.all([docA.flush(), docB.flush()]);
    const final = expected.replace(typedA, typedA + "!").replace(typedB, typedB + "?");
    await until(async () => docA.body.toString() === final && docB.body.toString() === final);
    await until(async () => (await b.notes.get(id))?.body === final);
    await Promise.all([docA.close(), docB.close()]);
    // Stored, not only in memory: a new document reads the same text.
    const again = await createNotesApi(b.db).openDocument(id);
    expect(again.body.toString()).toBe(final);
    await again.close();
  });

  it("merge 5,000-line notes edited offline on both devices while /healthz keeps answering", async () => {
    const lines = "\n".repeat(5000);
    const { a, b, id } = await twoDevicesWithNote(lines);
    await a.notes.update(id, { body: "top\n" + lines + "from a" });
    await b.notes.update(id, { body: lines.slice(0, 2500) + "middle from b" + lines.slice(2500) });
    let slowest = 0;
    let probing = true;
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        const res = await fetch(`${server.url}/healthz`);
        expect(res.status).toBe(200);
        slowest = Math.max(slowest, performance.now() - t);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await reconnectBoth(a, b, id);
    probing = false;
    await probe;
    const body = (await b.notes.get(id))!.body;
    expect(body.startsWith("top\n")).toBe(true);
    expect(body).toContain("middle from b");
    expect(body.endsWith("from a")).toBe(true);
    expect(body.length).toBe(lines.length + "top\nmiddle from bfrom a".length);
    expect(slowest).toBeLessThan(100);
  });
});

describe("search", () => {
  it("finds notes by word prefixes, accents aside, best matches first, never from the trash", async () => {
    const token = await signup();
    const a = await device("a", token);
    const plumber = await a.notes.create({ title: "Call the plumber", body: "kitchen sink" });
    await a.notes.create({ title: "Recipes", body: "Crème brûlée for the plumber's visit" });
    const trashed = await a.notes.create({ title: "plumber (old)" });
    await a.notes.trash(trashed.id);
    expect((await a.notes.search("plumb")).map((n) => n.title)).toEqual([
      "Call the plumber",
      "Recipes",
    ]);
    expect((await a.notes.search("creme")).map((n) => n.title)).toEqual(["Recipes"]);
    expect((await a.notes.search("kitch plumb")).map((n) => n.id)).toEqual([plumber.id]);
    expect(await a.notes.search('"')).toEqual([]);
    await a.notes.update(plumber.id, { body: "bathroom tap" });
    expect((await a.notes.search("kitchen")).map((n) => n.title)).toEqual([]);
  });
});

describe("note history", () => {
  it("restores an older body, and the restore reaches the other device", async () => {
    const token = await signup();
    const a = await device("a", token);
    const b = await device("b", token);
    let clock = 1_000_000;
    const notes = createNotesApi(a.db, { now: () => (clock += 10 * 60_000) }); // ten minutes between edits
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
