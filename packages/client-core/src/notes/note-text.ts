import {
  NOTE_TEXT_SQL,
  NoteDocCache,
  PURGE_UPDATE_TOMBSTONES,
  noteTextFromUpdates,
  textTouchedBy,
  type Change,
  type NoteText,
} from "@notesync/protocol";
import type { SqlExecutor } from "../database.js";

/**
 * Derives `note_text` again for these notes: from their Yjs rows (applying only the rows the
 * cached document lacks), or from the legacy columns while a note has none.
 */
export async function refreshNoteText(
  tx: SqlExecutor,
  noteIds: Iterable<string>,
  docs = new NoteDocCache(),
): Promise<void> {
  for (const id of noteIds) {
    const [legacy] = await tx.query<NoteText>(NOTE_TEXT_SQL.legacyText, [id]);
    const ids = legacy
      ? (await tx.query<{ id: string }>(NOTE_TEXT_SQL.rowIdsOf, [id])).map((r) => r.id)
      : [];
    if (!legacy || ids.length === 0) {
      docs.forget(id);
      if (legacy) await tx.exec(NOTE_TEXT_SQL.upsert, [id, legacy.title, legacy.body]);
      else await tx.exec(NOTE_TEXT_SQL.remove, [id]);
      continue;
    }
    const known = docs.rowsOf(id);
    const missing = ids.filter((r) => !known?.has(r));
    const fresh =
      missing.length === 0
        ? []
        : await tx.query<{ id: string; data: Uint8Array }>(
            `SELECT id, data FROM note_updates WHERE note_id = ? AND id IN (${missing.map(() => "?").join(",")})`,
            [id, ...missing],
          );
    const text = docs.update(id, ids, fresh);
    await tx.exec(NOTE_TEXT_SQL.upsert, [id, text.title, text.body]);
  }
}

/** Above this many notes in one batch (a catch-up), their text is derived with a few queries per page of notes. */
const MANY_NOTES = 16;
const PAGE = 500;

/** `refreshNoteText` for many notes at once: every row of a page of notes in one query. */
async function refreshManyNotes(tx: SqlExecutor, noteIds: readonly string[]): Promise<void> {
  for (let i = 0; i < noteIds.length; i += PAGE) {
    const page = noteIds.slice(i, i + PAGE);
    const marks = page.map(() => "?").join(",");
    const legacy = new Map(
      (
        await tx.query<NoteText & { id: string }>(
          `SELECT id, title, body FROM notes WHERE id IN (${marks})`,
          page,
        )
      ).map((r) => [r.id, r]),
    );
    const updates = new Map<string, Uint8Array[]>();
    for (const r of await tx.query<{ note_id: string; data: Uint8Array }>(
      `SELECT note_id, data FROM note_updates WHERE note_id IN (${marks})`,
      page,
    ))
      updates.set(r.note_id, [...(updates.get(r.note_id) ?? []), r.data]);
    const upserts: unknown[][] = [];
    const removals: unknown[][] = [];
    for (const id of page) {
      const rows = updates.get(id);
      const old = legacy.get(id);
      if (!old) removals.push([id]);
      else {
        const text = rows ? noteTextFromUpdates(rows) : old;
        upserts.push([id, text.title, text.body]);
      }
    }
    if (upserts.length > 0) await tx.execMany(NOTE_TEXT_SQL.upsert, upserts);
    if (removals.length > 0) await tx.execMany(NOTE_TEXT_SQL.remove, removals);
  }
}

/**
 * Call inside the transaction that applied `changes` from the server: the text of the notes
 * they touched, and the tombstones of update rows the server merged away (a client's clock is
 * its own; nothing waits for its deletions).
 */
export async function refreshTextAfterApply(
  tx: SqlExecutor,
  changes: readonly Change[],
  docs: NoteDocCache,
): Promise<void> {
  const touched = textTouchedBy(changes);
  if (touched.notes.size > MANY_NOTES) {
    for (const id of touched.notes) docs.forget(id);
    await refreshManyNotes(tx, [...touched.notes]);
  } else if (touched.notes.size > 0) await refreshNoteText(tx, touched.notes, docs);
  if (touched.deletedRows)
    for (const sql of PURGE_UPDATE_TOMBSTONES) await tx.exec(sql, [Number.MAX_SAFE_INTEGER]);
}
