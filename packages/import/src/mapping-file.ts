import { NoteMapper, fieldMapping, type MapFunction } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The mapper a `--mapping` file describes: a `.json` file of document field names per note field
 * (`{ "title": "subject", "body": ["text", "content"] }`), or a JavaScript module whose default
 * export is either such an object or a function from a document to some of the note's fields
 * (the fields it leaves out come from the defaults). No file: the defaults.
 */
export async function loadMapper(file: string | undefined): Promise<NoteMapper> {
  if (!file) return new NoteMapper();
  const full = path.resolve(file);
  if (!fs.existsSync(full)) throw new Error(`mapping file ${file} does not exist`);
  if (full.endsWith(".json")) {
    let overrides: unknown;
    try {
      overrides = JSON.parse(fs.readFileSync(full, "utf8"));
    } catch (err) {
      throw new Error(`mapping file ${file} is not JSON: ${(err as Error).message}`, {
        cause: err,
      });
    }
    return mapperFrom(overrides, file);
  }
  const loaded = ((await import(pathToFileURL(full).href)) as { default?: unknown }).default;
  if (typeof loaded === "function") return new NoteMapper({}, loaded as MapFunction);
  return mapperFrom(loaded, file);
}

function mapperFrom(overrides: unknown, file: string): NoteMapper {
  if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides))
    throw new Error(`mapping file ${file} must hold an object of note fields to document fields`);
  try {
    fieldMapping(overrides);
  } catch (err) {
    throw new Error(`mapping file ${file}: ${(err as Error).message}`, { cause: err });
  }
  return new NoteMapper(overrides);
}
