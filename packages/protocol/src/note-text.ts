import type { Change } from "./frames.js";
import * as Y from "yjs";
import { newNoteDoc, readNoteText, type NoteField, type NoteText } from "./note-doc.js";
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
  rowIdsOf: `SELECT id FROM note_updates WHERE note_id = ?`,
} as const;

/**
 * cr-sqlite keeps a tombstone for every deleted row forever; merged `note_updates` rows would
 * leave one per keystroke. These statements drop the tombstones of deleted update rows up to a
 * version (the one parameter of each). A replica that never learns of such a deletion keeps a row
 * whose content is also in the merged row: Yjs applies it twice harmlessly. Never the newest
 * version: cr-sqlite derives its clock from the largest version it still holds, and a clock
 * that went back would hand out versions that peers' cursors have already passed.
 */
export const PURGE_UPDATE_TOMBSTONES = [
  `DELETE FROM note_updates__crsql_pks WHERE __crsql_key IN (
     SELECT key FROM note_updates__crsql_clock WHERE col_name = '-1' AND col_version % 2 = 0
       AND db_version <= ? AND db_version < crsql_db_version())`,
  `DELETE FROM note_updates__crsql_clock WHERE col_name = '-1' AND col_version % 2 = 0
     AND db_version <= ? AND db_version < crsql_db_version()`,
] as const;

/**
 * Notes' documents kept in memory between batches, so that deriving the text after a keystroke
 * applies that keystroke's row, not the whole document again. Bounded; the least recently used
 * document goes first.
 */
export class NoteDocCache {
  private readonly docs = new Map<string, { doc: Y.Doc; rows: Set<string> }>();

  constructor(private readonly max = 32) {}

  /** The ids of the rows the cached document holds, or undefined when it is not cached. */
  rowsOf(noteId: string): ReadonlySet<string> | undefined {
    return this.docs.get(noteId)?.rows;
  }

  /**
   * The note's text once `fresh` rows (those not in `rowsOf`) are applied; `present` is every
   * row id the note has now (rows merged away are forgotten).
   */
  update(
    noteId: string,
    present: readonly string[],
    fresh: readonly { id: string; data: Uint8Array }[],
  ): NoteText {
    let entry = this.docs.get(noteId);
    this.docs.delete(noteId);
    if (!entry) entry = { doc: newNoteDoc(), rows: new Set() };
    this.docs.set(noteId, entry);
    const { doc } = entry;
    doc.transact(() => {
      for (const r of fresh) if (r.data.byteLength > 0) Y.applyUpdate(doc, r.data);
    });
    entry.rows = new Set(present);
    if (this.docs.size > this.max) {
      const [oldest] = this.docs.keys();
      this.forget(oldest!);
    }
    return readNoteText(doc);
  }

  /** Drops everything (after a transaction that fed the cache rolled back). */
  clear(): void {
    for (const id of [...this.docs.keys()]) this.forget(id);
  }

  forget(noteId: string): void {
    this.docs.get(noteId)?.doc.destroy();
    this.docs.delete(noteId);
  }
}

/** What a batch of replicated changes did to notes' text. */
export interface TextTouches {
  /** Notes whose text must be derived again. */
  readonly notes: Set<string>;
  /** Notes that gained `note_updates` rows (candidates for compaction). */
  readonly withNewRows: Set<string>;
  /** Whether `note_updates` rows were deleted (merged away): their tombstones can go. */
  readonly deletedRows: boolean;
  /** Edits of the schema-2 text columns: `[noteId, field, text]`. */
  readonly legacyEdits: [string, NoteField, string][];
}

export function textTouchedBy(changes: readonly Change[]): TextTouches {
  const touches = {
    notes: new Set<string>(),
    withNewRows: new Set<string>(),
    deletedRows: false,
    legacyEdits: [] as [string, NoteField, string][],
  };
  for (const c of changes) {
    if (c.table !== "notes" && c.table !== "note_updates") continue;
    const key = unpackPk(c.pk);
    const noteId = key?.[0];
    if (typeof noteId !== "string") continue;
    if (c.table === "note_updates") {
      touches.notes.add(noteId);
      if (c.cid === "data") touches.withNewRows.add(noteId);
      else if (c.cid === "-1" && c.cl % 2 === 0) touches.deletedRows = true;
    } else if (c.cid === "title" || c.cid === "body") {
      touches.notes.add(noteId);
      if (typeof c.val === "string") touches.legacyEdits.push([noteId, c.cid, c.val]);
    } else if (c.cid === "-1") {
      touches.notes.add(noteId); // created or deleted
    }
  }
  return touches;
}
