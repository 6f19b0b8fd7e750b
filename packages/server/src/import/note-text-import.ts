import { Y, newNoteDoc, readNoteText, textEditUpdate, type NoteText } from "@notesync/protocol";
import crypto from "node:crypto";

/** Row ids of imported text start with this. */
export const IMPORT_ROW_PREFIX = "import-";

const digest = (parts: readonly (string | Uint8Array)[]) => {
  const hash = crypto.createHash("sha256");
  for (const p of parts) hash.update(p).update("\u0000");
  return hash.digest();
};

/**
 * The Yjs row that turns a note's stored text (`rows`, its `note_updates`) into `next`, or null
 * when it already reads so. Deterministic: the Yjs client id and the row id come from the note,
 * the document's state and the new text, so two imports of the same text into the same state
 * make the same bytes (which merge as one) instead of two copies of the text. Different states
 * or texts give different client ids, so two such edits never reuse one client's clock.
 */
export function importTextRow(
  noteId: string,
  rows: readonly Uint8Array[],
  next: NoteText,
): { id: string; data: Uint8Array; text: NoteText } | null {
  const doc = newNoteDoc();
  try {
    doc.transact(() => rows.forEach((r) => r.byteLength > 0 && Y.applyUpdate(doc, r)));
    const state = Y.encodeStateVector(doc);
    const key = digest([noteId, state, next.title, next.body]);
    doc.clientID = key.readUInt32BE(0);
    const data = textEditUpdate(doc, next);
    if (!data) return null;
    return {
      id: `${IMPORT_ROW_PREFIX}${key.subarray(4, 16).toString("base64url")}`,
      data,
      text: readNoteText(doc),
    };
  } finally {
    doc.destroy();
  }
}

/** The text the stored rows make. */
export function storedText(rows: readonly Uint8Array[]): NoteText {
  const doc = newNoteDoc();
  doc.transact(() => rows.forEach((r) => r.byteLength > 0 && Y.applyUpdate(doc, r)));
  const text = readNoteText(doc);
  doc.destroy();
  return text;
}

/** A short stable name for a text (a version's id part). */
export const textKey = (text: NoteText) =>
  digest([text.title, text.body]).subarray(0, 12).toString("base64url");
