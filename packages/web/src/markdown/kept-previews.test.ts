import { describe, expect, it } from "vitest";
import { forgetKeptPreviews, keepPreviews, keptPreviews } from "./kept-previews";

/** localStorage's interface over a Map (vitest runs in Node here). */
function memoryStorage(): Storage {
  const items = new Map<string, string>();
  return {
    get length() {
      return items.size;
    },
    clear: () => items.clear(),
    getItem: (key) => items.get(key) ?? null,
    key: (i) => [...items.keys()][i] ?? null,
    removeItem: (key) => void items.delete(key),
    setItem: (key, value) => void items.set(key, String(value)),
  };
}

describe("kept previews", () => {
  it("come back for the build that kept them, and for no other", () => {
    const storage = memoryStorage();
    keepPreviews(storage, "/assets/app-1.js", [["**Tram 28**", "<strong>Tram 28</strong>"]]);
    expect(keptPreviews(storage, "/assets/app-1.js")).toEqual([
      ["**Tram 28**", "<strong>Tram 28</strong>"],
    ]);
    expect(keptPreviews(storage, "/assets/app-2.js")).toEqual([]);
  });

  it("replace what was kept before, and are gone once forgotten (a sign-out)", () => {
    const storage = memoryStorage();
    keepPreviews(storage, "b", [["one", "one"]]);
    keepPreviews(storage, "b", [["two", "two"]]);
    expect(keptPreviews(storage, "b")).toEqual([["two", "two"]]);
    forgetKeptPreviews(storage);
    expect(keptPreviews(storage, "b")).toEqual([]);
  });

  it("are none when what is stored is not theirs or not readable", () => {
    const storage = memoryStorage();
    storage.setItem("notesync:previews", "{not json");
    expect(keptPreviews(storage, "b")).toEqual([]);
    storage.setItem("notesync:previews", JSON.stringify({ build: "b", previews: "x" }));
    expect(keptPreviews(storage, "b")).toEqual([]);
    storage.setItem(
      "notesync:previews",
      JSON.stringify({ build: "b", previews: [["ok", "ok"], ["no html"], [1, "x"], "x"] }),
    );
    expect(keptPreviews(storage, "b")).toEqual([["ok", "ok"]]);
  });

  it("come back only as HTML the sanitizer could have made, so nothing else written there runs", () => {
    const storage = memoryStorage();
    keepPreviews(storage, "b", [
      ["ok", "Some <strong>bold</strong> &amp; <em>x</em> &lt;img&gt;"],
      ["img", '<img src="x" onerror="alert(1)">'],
      ["attr", '<strong onclick="alert(1)">x</strong>'],
      ["script", "<script>alert(1)</script>"],
    ]);
    expect(keptPreviews(storage, "b")).toEqual([
      ["ok", "Some <strong>bold</strong> &amp; <em>x</em> &lt;img&gt;"],
    ]);
  });

  it("keeping fails quietly when storage refuses (full, or disabled)", () => {
    const storage = memoryStorage();
    storage.setItem = () => {
      throw new DOMException("quota", "QuotaExceededError");
    };
    expect(() => keepPreviews(storage, "b", [["a", "a"]])).not.toThrow();
  });
});
