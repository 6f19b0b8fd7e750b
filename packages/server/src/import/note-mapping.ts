import { MAX_IMPORTED_TEXT, type ImportedNote } from "./imported-note.js";

/** A note's fields as a mapping produces them, before the conflicts are attached. */
export type MappedNote = Omit<ImportedNote, "conflicts">;

/** The fields a note takes from a document. */
export const NOTE_FIELDS = [
  "id",
  "title",
  "body",
  "createdAt",
  "updatedAt",
  "deleted",
  "deletedAt",
  "pinned",
  "tags",
] as const;
export type NoteFieldName = (typeof NOTE_FIELDS)[number];

/** For each note field, the document fields (dotted paths allowed) to take it from, first present wins. */
export type FieldMapping = Readonly<Record<NoteFieldName, readonly string[]>>;

/** Names that cover the common shapes of notes documents (PouchDB apps, PowerSync tables). */
export const DEFAULT_FIELDS: FieldMapping = {
  id: ["_id", "id", "uuid", "note_id"],
  title: ["title", "name", "subject"],
  body: ["body", "content", "text", "markdown", "note"],
  createdAt: ["createdAt", "created_at", "created", "dateCreated", "date_created", "ctime"],
  updatedAt: [
    "updatedAt",
    "updated_at",
    "updated",
    "modifiedAt",
    "modified_at",
    "modified",
    "lastModified",
    "last_modified",
    "dateModified",
    "mtime",
  ],
  deleted: ["deleted", "isDeleted", "is_deleted", "trashed", "is_trashed"],
  deletedAt: ["deletedAt", "deleted_at", "trashedAt", "trashed_at"],
  pinned: ["pinned", "isPinned", "is_pinned", "starred", "favorite"],
  tags: ["tags", "labels"],
};

/**
 * What a mapping file may say: for some note fields, the document fields to read instead of the
 * defaults (a name or a list of names).
 */
export type FieldOverrides = Partial<Record<NoteFieldName, string | readonly string[]>>;

/** A JavaScript mapping: the note's fields from a document; fields it leaves out come from the defaults. */
export type MapFunction = (
  doc: Readonly<Record<string, unknown>>,
) => Partial<Record<NoteFieldName, unknown>> | null | undefined;

export type MapResult = { ok: true; note: MappedNote } | { ok: false; reason: string };

/** The mapping's fields: the defaults with `overrides` in their place. Throws on an unknown field name. */
export function fieldMapping(overrides: FieldOverrides = {}): FieldMapping {
  const fields: Record<string, readonly string[]> = { ...DEFAULT_FIELDS };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(NOTE_FIELDS as readonly string[]).includes(key))
      throw new Error(`unknown note field ${JSON.stringify(key)}; use ${NOTE_FIELDS.join(", ")}`);
    const names = typeof value === "string" ? [value] : value;
    if (!Array.isArray(names) || names.some((n) => typeof n !== "string" || n === ""))
      throw new Error(`${key} must name a document field or a list of them`);
    fields[key] = names as string[];
  }
  return fields as FieldMapping;
}

class MappingError extends Error {}

const valueAt = (doc: Readonly<Record<string, unknown>>, path: string): unknown => {
  let value: unknown = doc;
  for (const part of path.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
};

const firstPresent = (doc: Readonly<Record<string, unknown>>, names: readonly string[]) => {
  for (const name of names) {
    const value = valueAt(doc, name);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
};

function asText(value: unknown, field: string): string {
  let text: string;
  if (value === undefined) text = "";
  else if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "bigint") text = String(value);
  else if (value instanceof Uint8Array)
    text = new TextDecoder("utf-8", { fatal: true }).decode(value);
  else if (Array.isArray(value) && value.every((v) => typeof v === "string"))
    text = value.join("\n");
  else throw new MappingError(`${field} is ${describe(value)}, not text`);
  if (text.length > MAX_IMPORTED_TEXT)
    throw new MappingError(`${field} has ${text.length} characters (at most ${MAX_IMPORTED_TEXT})`);
  return text;
}

/** Numbers below this are seconds since the epoch, above it milliseconds (1e11 s is the year 5138). */
const SECONDS_BELOW = 1e11;

function asTime(value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  let ms: number;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === "number" || typeof value === "bigint") ms = epochNumber(Number(value));
  else if (typeof value === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(value))
    ms = epochNumber(Number(value));
  else if (typeof value === "string") ms = Date.parse(value);
  else throw new MappingError(`${field} is ${describe(value)}, not a time`);
  if (!Number.isFinite(ms))
    throw new MappingError(`${field} ${JSON.stringify(value)} is not a time`);
  return Math.round(ms);
}

const epochNumber = (n: number) => (Math.abs(n) < SECONDS_BELOW ? n * 1000 : n);

function asFlag(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "number" || typeof value === "bigint") return Number(value) !== 0;
  if (typeof value === "string") {
    const v = value.trim().toLowerCase();
    if (["true", "t", "1", "yes", "y"].includes(v)) return true;
    if (["false", "f", "0", "no", "n", ""].includes(v)) return false;
  }
  throw new MappingError(`${field} is ${describe(value)}, not true or false`);
}

function asTags(value: unknown, field: string): string[] {
  if (value === undefined) return [];
  if (typeof value === "string") {
    const trimmed = value.trim();
    if (trimmed.startsWith("[")) return asTags(parseJson(trimmed, field), field);
    return trimmed.split(/[,\s]+/).filter(Boolean);
  }
  if (Array.isArray(value) && value.every((t) => typeof t === "string")) return value;
  throw new MappingError(`${field} is ${describe(value)}, not a list of tags`);
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new MappingError(`${field} is not a JSON list of tags`);
  }
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return "a list";
  if (value === null) return "null";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/**
 * Turns source documents into notes. Deterministic: the same document gives the same note, with
 * times only from the document (a document without any time gets 0, and says so).
 */
export class NoteMapper {
  private readonly fields: FieldMapping;

  constructor(
    overrides: FieldOverrides = {},
    private readonly mapFunction: MapFunction | null = null,
  ) {
    this.fields = fieldMapping(overrides);
  }

  /** The note `doc` maps to; `id` (a CouchDB `_id`, a table's key) wins over the mapped one. */
  map(doc: unknown, id?: string): MapResult {
    if (doc === null || typeof doc !== "object" || Array.isArray(doc))
      return { ok: false, reason: `the document is ${describe(doc)}, not an object` };
    const record = doc as Readonly<Record<string, unknown>>;
    try {
      const custom = this.mapFunction ? (this.mapFunction(record) ?? {}) : {};
      const get = (field: NoteFieldName) =>
        field in custom ? (custom[field] ?? undefined) : firstPresent(record, this.fields[field]);
      const noteId = id ?? asText(get("id"), "id");
      if (noteId === "") return { ok: false, reason: "it has no id" };
      const created = asTime(get("createdAt"), "createdAt");
      const updated = asTime(get("updatedAt"), "updatedAt");
      const createdAt = created ?? updated ?? 0;
      const updatedAt = updated ?? createdAt;
      const deletedTime = asTime(get("deletedAt"), "deletedAt");
      const deleted = deletedTime !== undefined || asFlag(get("deleted"), "deleted");
      return {
        ok: true,
        note: {
          id: noteId,
          title: asText(get("title"), "title"),
          body: asText(get("body"), "body"),
          createdAt,
          updatedAt,
          deletedAt: deleted ? (deletedTime ?? updatedAt) : null,
          pinned: asFlag(get("pinned"), "pinned"),
          tags: asTags(get("tags"), "tags"),
        },
      };
    } catch (err) {
      if (err instanceof MappingError || err instanceof TypeError)
        return { ok: false, reason: err.message };
      throw err;
    }
  }
}
