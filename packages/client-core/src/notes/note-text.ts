import { NOTE_TEXT_SQL, derivedNoteText, textTouchedBy, type Change } from "@notesync/protocol";
import type { SqlExecutor } from "../database.js";

/** Derives `note_text` again for these notes, from their Yjs rows (or legacy columns). */
export async function refreshNoteText(tx: SqlExecutor, noteIds: Iterable<string>): Promise<void> {
  for (const id of noteIds) {
    const rows = await tx.query<{ data: Uint8Array }>(NOTE_TEXT_SQL.updatesOf, [id]);
    const [legacy] = await tx.query<{ title: string; body: string }>(NOTE_TEXT_SQL.legacyText, [
      id,
    ]);
    const text = legacy
      ? derivedNoteText(
          rows.map((r) => r.data),
          legacy,
        )
      : null;
    if (text) await tx.exec(NOTE_TEXT_SQL.upsert, [id, text.title, text.body]);
    else await tx.exec(NOTE_TEXT_SQL.remove, [id]);
  }
}

/** Call inside the transaction that applied `changes` from the server. */
export async function refreshTextAfterApply(
  tx: SqlExecutor,
  changes: readonly Change[],
): Promise<void> {
  const { notes } = textTouchedBy(changes);
  if (notes.size > 0) await refreshNoteText(tx, notes);
}
