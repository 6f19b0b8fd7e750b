import { strToU8, zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import {
  exportZip,
  inlineTags,
  noteToMarkdown,
  parseNoteFile,
  readImport,
  type ExportedNote,
} from "./markdown-files";

const note: ExportedNote = {
  title: "Trip: Lisbon / Porto?",
  body: "---\nnot front matter\n---\n# Day 1\n\n**Tram 28**, then #food at 8.\n",
  tags: ["travel", "2024/spring"],
  createdAt: Date.UTC(2024, 2, 1, 9, 30, 15, 123),
  updatedAt: Date.UTC(2024, 3, 2, 18, 0, 0, 7),
  pinned: true,
};

describe("export", () => {
  it("writes front matter with title, tags and dates, then the body unchanged", () => {
    expect(noteToMarkdown(note)).toBe(
      [
        "---",
        'title: "Trip: Lisbon / Porto?"',
        "tags:",
        "  - travel",
        "  - 2024/spring",
        "created: 2024-03-01T09:30:15.123Z",
        "updated: 2024-04-02T18:00:00.007Z",
        "pinned: true",
        "---",
        note.body,
      ].join("\n"),
    );
  });

  it("round-trips every note through a zip: same title, body, tags and dates", () => {
    const untitled = { ...note, title: "", body: "", tags: [], pinned: false };
    const zip = exportZip([note, note, untitled]);
    const { notes, skipped } = readImport([{ path: "export.zip", data: zip }]);
    expect(skipped).toEqual([]);
    const { pinned, ...rest } = note;
    expect(notes).toEqual([
      { ...rest, pinned },
      { ...rest, pinned },
      { title: "", body: "", tags: [], createdAt: note.createdAt, updatedAt: note.updatedAt },
    ]);
  });
});

describe("import", () => {
  it("reads an Obsidian vault: file name as title, tags from the front matter or else the text, settings skipped", () => {
    const vault = zipSync({
      "Vault/Projects/Garden plan.md": strToU8(
        "---\ntags: [garden, Projects/Home]\ncreated: 2023-05-04\naliases: [beds]\n---\nRaised beds, see [[Soil]] #todo\n\n```\n#not-a-tag\n```\n",
      ),
      "Vault/Soil.md": strToU8("Loam and compost. #garden"),
      "Vault/.obsidian/app.json": strToU8("{}"),
      "Vault/attachments/bed.png": new Uint8Array([137, 80, 78, 71]),
    });
    const { notes, skipped } = readImport([{ path: "Vault.zip", data: vault }]);
    expect(skipped).toEqual(["Vault/attachments/bed.png"]);
    expect(notes).toEqual([
      {
        title: "Garden plan",
        body: "Raised beds, see [[Soil]] #todo\n\n```\n#not-a-tag\n```\n",
        tags: ["garden", "projects/home"],
        createdAt: Date.UTC(2023, 4, 4),
        updatedAt: Date.UTC(2023, 4, 4),
      },
      { title: "Soil", body: "Loam and compost. #garden", tags: ["garden"] },
    ]);
  });

  it("reads Bear's markdown: the first heading is the title, #tags and #nested/tags kept", () => {
    const bear = parseNoteFile(
      "Bear Notes/Recipes.md",
      "# Pancakes\n\nFlour, eggs, milk.\n#recipes/breakfast #quick\n",
      Date.UTC(2022, 0, 1),
    );
    expect(bear).toEqual({
      title: "Pancakes",
      body: "Flour, eggs, milk.\n#recipes/breakfast #quick\n",
      tags: ["recipes/breakfast", "quick"],
      createdAt: Date.UTC(2022, 0, 1),
      updatedAt: Date.UTC(2022, 0, 1),
    });
  });

  it("reads Simplenote's text files: the first line is the title", () => {
    expect(parseNoteFile("notes/abc.txt", "Call mum\r\n\r\nSunday after lunch")).toEqual({
      title: "Call mum",
      body: "Sunday after lunch",
      tags: [],
    });
  });

  it("treats front matter that is not YAML as text, and finds tags only at word starts", () => {
    expect(parseNoteFile("x.md", "---\n: : [\n---\nbody").body).toBe("---\n: : [\n---\nbody");
    expect(inlineTags("# Heading\nissue#4 #1 (#ok) `#code` #a-b_c/d/ end#")).toEqual([
      "ok",
      "a-b_c/d",
    ]);
  });
});
