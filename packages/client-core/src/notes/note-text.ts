import {
  NOTE_TEXT_SQL,
  NoteDocCache,
  PURGE_UPDATE_TOMBSTONES,
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
  if (touched.notes.size > 0) await refreshNoteText(tx, touched.notes, docs);
  if (touched.deletedRows)
    for (const sql of PURGE_UPDATE_TOMBSTONES)
      await tx.exec(sql, [Number.MAX_SAFE_INTEGER]);
}
