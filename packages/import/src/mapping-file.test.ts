import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadMapper } from "./mapping-file.js";
import { tempDir } from "./testing/notesync.test-helpers.js";

let dir: string;
beforeEach(() => (dir = tempDir()));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

it("reads a JSON mapping and a JavaScript one (an object or a function)", async () => {
  const doc = { _id: "a", heading: "H", text: "T", kind: "memo" };
  const json = await loadMapper(write("m.json", '{ "title": "heading", "body": ["text"] }'));
  expect(json.map(doc)).toMatchObject({ note: { title: "H", body: "T" } });
  const fn = await loadMapper(
    write("m.mjs", "export default (doc) => ({ title: doc.kind.toUpperCase() });"),
  );
  expect(fn.map(doc)).toMatchObject({ note: { title: "MEMO", body: "T" } });
  const object = await loadMapper(write("o.mjs", 'export default { title: "kind" };'));
  expect(object.map(doc)).toMatchObject({ note: { title: "memo" } });
});

it("says what is wrong with a mapping file", async () => {
  await expect(loadMapper(path.join(dir, "none.json"))).rejects.toThrow("does not exist");
  await expect(loadMapper(write("bad.json", "{ title:"))).rejects.toThrow("is not JSON");
  await expect(loadMapper(write("list.json", "[]"))).rejects.toThrow("must hold an object");
  await expect(loadMapper(write("typo.json", '{ "titel": "x" }'))).rejects.toThrow(
    'unknown note field "titel"',
  );
});
