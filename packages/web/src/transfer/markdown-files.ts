import { normalizeTag } from "@notesync/protocol";
import { strFromU8, strToU8, unzipSync, zipSync, type Zippable } from "fflate";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";

/**
 * Notes as markdown files, the format of export and import: one `.md` file a note, with YAML
 * front matter holding what is not text (title, tags, dates), and the body below as it was
 * typed. Import also reads what other apps export: Obsidian (file name as title, `tags` in the
 * front matter, else `#tags` in the text), Bear (`# Title` on the first line, `#tags` in the
 * text), Simplenote (`.txt`, title on the first line), in a zip or as loose files.
 */
export interface NoteFile {
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
  /** ms since the epoch; absent when the file does not say (the caller picks a date). */
  readonly createdAt?: number;
  readonly updatedAt?: number;
  readonly pinned?: boolean;
}

/** What export needs of a note. */
export interface ExportedNote {
  readonly title: string;
  readonly body: string;
  readonly tags: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly pinned: boolean;
}

/** One note as a markdown file with front matter. */
export function noteToMarkdown(note: ExportedNote): string {
  const meta: Record<string, unknown> = {
    title: note.title,
    tags: [...note.tags],
    created: new Date(note.createdAt).toISOString(),
    updated: new Date(note.updatedAt).toISOString(),
  };
  if (note.pinned) meta.pinned = true;
  return `---\n${stringifyYaml(meta, { lineWidth: 0 })}---\n${note.body}`;
}

/** A file name for a title: no path separators or characters other systems refuse. */
function fileNameFor(title: string): string {
  const base = title
    .replace(/[\\/:*?"<>|#^[\]]+/g, " ")
    .replace(/\p{Cc}+/gu, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, 100)
    .replace(/^\.+/, "");
  return base || "Untitled";
}

/** Every note as `<title>.md` in one zip (titles that repeat get " 2", " 3"...). */
export function exportZip(notes: readonly ExportedNote[]): Uint8Array {
  const files: Zippable = {};
  const used = new Set<string>();
  for (const note of notes) {
    const base = fileNameFor(note.title);
    let name = `${base}.md`;
    for (let n = 2; used.has(name.toLowerCase()); n++) name = `${base} ${n}.md`;
    used.add(name.toLowerCase());
    files[name] = [strToU8(noteToMarkdown(note)), { mtime: new Date(note.updatedAt) }];
  }
  return zipSync(files, { level: 6 });
}

const FRONT_MATTER = /^\uFEFF?---[ \t]*\r?\n([\s\S]*?)\r?\n(?:---|\.\.\.)[ \t]*(?:\r?\n|$)/;

/** A date from front matter: an ISO string, a date, or ms/seconds since the epoch. */
function dateOf(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value === "number" && Number.isFinite(value))
    return value < 1e11 ? value * 1000 : value;
  if (typeof value === "string" && value.trim()) {
    const t = Date.parse(value.trim());
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}

function firstDate(meta: Record<string, unknown>, keys: readonly string[]): number | undefined {
  for (const key of keys) {
    const found = Object.keys(meta).find((k) => k.toLowerCase() === key);
    const t = found === undefined ? undefined : dateOf(meta[found]);
    if (t !== undefined) return t;
  }
  return undefined;
}

/** Tags from front matter: a list, or one string of tags separated by commas or spaces. */
function metaTags(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap((v) => (typeof v === "string" ? [v] : []));
  if (typeof value === "string") return value.split(/[,\s]+/);
  return [];
}

/**
 * `#tags` written in the text, as Bear and Obsidian use them: `#` at the start of a word, then
 * letters, digits, `_`, `-` or `/`, not only digits (`#1` is a number). Code is skipped, and a
 * heading's `# ` (with a space) is not a tag.
 */
export function inlineTags(body: string): string[] {
  const prose = body.replace(/```[\s\S]*?```/g, " ").replace(/`[^`\n]*`/g, " ");
  const tags: string[] = [];
  for (const m of prose.matchAll(/(?:^|[\s(])#([\p{L}\p{N}_\-/]*[\p{L}_][\p{L}\p{N}_\-/]*)/gu))
    tags.push(m[1]!.replace(/\/+$/, ""));
  return tags;
}

const unique = (tags: readonly string[]) => [...new Set(tags.map(normalizeTag).filter(Boolean))];

/** Reads one markdown or text file. `lastModified` (the file's) stands in for missing dates. */
export function parseNoteFile(path: string, text: string, lastModified?: number): NoteFile {
  const name = path.split("/").pop() ?? path;
  const stem = name.replace(/\.(md|markdown|txt)$/i, "");
  let meta: Record<string, unknown> = {};
  let body = text.replace(/^\uFEFF/, "");
  const fm = FRONT_MATTER.exec(body);
  if (fm) {
    try {
      const parsed: unknown = parseYaml(fm[1]!);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        meta = parsed as Record<string, unknown>;
        body = body.slice(fm[0].length);
      }
    } catch {
      // Not YAML after all: the file is all body.
    }
  }
  body = body.replace(/\r\n/g, "\n");
  let title: string;
  if (typeof meta.title === "string") title = meta.title;
  else {
    // Bear and many others: the first line is "# Title". Simplenote: the first line is the title.
    const first = /^\s*(.*)(?:\n|$)/.exec(body);
    const heading = first && /^#\s+(.+?)\s*#*\s*$/.exec(first[1]!);
    if (heading) {
      title = heading[1]!;
      body = body.slice(first[0].length).replace(/^\s*\n/, "");
    } else if (/\.txt$/i.test(name) && first?.[1]?.trim()) {
      title = first[1].trim();
      body = body.slice(first[0].length).replace(/^\s*\n/, "");
    } else title = stem;
  }
  const created = firstDate(meta, ["created", "date", "created_at", "createdat", "creation date"]);
  const updated = firstDate(meta, [
    "updated",
    "modified",
    "updated_at",
    "updatedat",
    "lastmod",
    "last modified",
    "modification date",
  ]);
  const tagKey = ["tags", "tag", "keywords"].find((k) => meta[k] !== undefined);
  const createdAt = created ?? updated ?? lastModified;
  const updatedAt = updated ?? lastModified ?? created;
  return {
    title,
    body,
    // Tags in the front matter are the note's tags (an exported note may say #food in its
    // text without having the tag); without them, the #tags in the text are.
    tags: unique(tagKey ? metaTags(meta[tagKey]) : inlineTags(body)),
    ...(createdAt !== undefined && { createdAt }),
    ...(updatedAt !== undefined && { updatedAt: Math.max(updatedAt, createdAt ?? updatedAt) }),
    ...(meta.pinned === true && { pinned: true }),
  };
}

const NOTE_FILE = /\.(md|markdown|txt)$/i;
/** Files of other apps' exports that are not notes (Obsidian's settings, macOS' metadata). */
const IGNORED = /(^|\/)(\.obsidian|\.trash|__MACOSX|\.DS_Store)(\/|$)|(^|\/)\._/;

/** A file to import: its path (in a folder or zip), its bytes, when it was last modified. */
export interface ImportSource {
  readonly path: string;
  readonly data: Uint8Array;
  readonly lastModified?: number;
}

export interface ImportResult {
  readonly notes: NoteFile[];
  /** Files that are not notes (images, PDFs, settings): left out. */
  readonly skipped: string[];
}

/** Reads the notes out of zips and markdown or text files (zips inside are opened too). */
export function readImport(sources: readonly ImportSource[]): ImportResult {
  const notes: NoteFile[] = [];
  const skipped: string[] = [];
  const visit = (source: ImportSource) => {
    if (IGNORED.test(source.path)) return;
    if (/\.zip$/i.test(source.path)) {
      let entries: Record<string, Uint8Array>;
      try {
        entries = unzipSync(source.data);
      } catch {
        skipped.push(source.path);
        return;
      }
      for (const [path, data] of Object.entries(entries))
        if (!path.endsWith("/")) visit({ path, data });
    } else if (NOTE_FILE.test(source.path))
      notes.push(parseNoteFile(source.path, strFromU8(source.data), source.lastModified));
    else skipped.push(source.path);
  };
  sources.forEach(visit);
  return { notes, skipped };
}
