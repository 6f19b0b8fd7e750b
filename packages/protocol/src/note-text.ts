import type { Change } from "./frames.js";
import { noteTextFromUpdates, type NoteField, type NoteText } from "./note-doc.js";
import { unpackPk } from "./packed-pk.js";

/**
 * Keeping `note_text` (local on every replica) equal to what the replicated rows say. The same
 * SQL runs on the server (better-sqlite3) and in clients (either adapter); each side does its
 * own I/O around these statements and `derivedNoteText`.
 */
export const NOTE_TEXT_SQL = {
  updatesOf: `SELECT id, data FROM note_updates WHERE note_id = ?`,
  legacyText: `SELECT title, body FROM notes WHERE id = ?`,
  upsert: `INSERT INTO note_text (note_id, title, body) VALUES (?, ?, ?)
    ON CONFLICT (note_id) DO UPDATE SET title = excluded.title, body = excluded.body
    WHERE title IS NOT excluded.title OR body IS NOT excluded.body`,
  remove: `DELETE FROM note_text WHERE note_id = ?`,
} as const;

/**
 * A note's plain text: its Yjs document once it has rows, the schema-2 columns until then, or
 * null when the note is gone.
 */
export function derivedNoteText(
  updates: readonly Uint8Array[],
  legacy: NoteText | undefined,
): NoteText | null {
  if (updates.length > 0) return noteTextFromUpdates(updates);
  return legacy ?? null;
}

/** What a batch of replicated changes did to notes' text. */
export interface TextTouches {
  /** Notes whose text must be derived again. */
  readonly notes: Set<string>;
  /** Notes that gained `note_updates` rows (candidates for compaction). */
  readonly withNewRows: Set<string>;
  /** Edits of the schema-2 text columns: `[noteId, field, text]`. */
  readonly legacyEdits: [string, NoteField, string][];
}

export function textTouchedBy(changes: readonly Change[]): TextTouches {
  const touches: TextTouches = { notes: new Set(), withNewRows: new Set(), legacyEdits: [] };
  for (const c of changes) {
    if (c.table !== "notes" && c.table !== "note_updates") continue;
    const key = unpackPk(c.pk);
    const noteId = key?.[0];
    if (typeof noteId !== "string") continue;
    if (c.table === "note_updates") {
      touches.notes.add(noteId);
      if (c.cid === "data") touches.withNewRows.add(noteId);
    } else if (c.cid === "title" || c.cid === "body") {
      touches.notes.add(noteId);
      if (typeof c.val === "string") touches.legacyEdits.push([noteId, c.cid, c.val]);
    } else if (c.cid === "-1") {
      touches.notes.add(noteId); // created or deleted
    }
  }
  return touches;
}
