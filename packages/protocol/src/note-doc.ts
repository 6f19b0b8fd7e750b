import diff from "fast-diff";
import * as Y from "yjs";

/**
 * A note's text as a Yjs document: two `Y.Text`s, "title" and "body". Every replica stores the
 * document as rows of `note_updates` (one Yjs update each) and derives the plain text from them.
 * These helpers are the only place that knows the document's shape.
 */
export type NoteField = "title" | "body";
export const NOTE_FIELDS: readonly NoteField[] = ["title", "body"];

export interface NoteText {
  readonly title: string;
  readonly body: string;
}

/** Row ids of the schema-2 conversion and of later legacy edits start with this; compaction leaves them alone. */
export const LEGACY_ROW_PREFIX = "legacy";

/**
 * A new row id: 48 random bits, URL-safe (8 characters). Ids only need to differ among one
 * note's rows, and each row id travels twice (insert, then the merge's delete) per keystroke.
 */
export function newUpdateId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_");
}

/**
 * A new, empty document. Its guid is given: Yjs would otherwise make a random UUID with 36
 * calls to the random source, which made a document cost 76 us instead of 4 (a catch-up of
 * 10,000 notes spent most of its time there).
 */
export function newNoteDoc(): Y.Doc {
  return new Y.Doc({ guid: "note" });
}

export function readNoteText(doc: Y.Doc): NoteText {
  return { title: doc.getText("title").toString(), body: doc.getText("body").toString() };
}

/** A document holding every update given (in any order; duplicates are harmless). */
export function noteDocFromUpdates(updates: Iterable<Uint8Array>, origin?: unknown): Y.Doc {
  const doc = newNoteDoc();
  applyNoteUpdates(doc, updates, origin);
  return doc;
}

export function applyNoteUpdates(doc: Y.Doc, updates: Iterable<Uint8Array>, origin?: unknown) {
  doc.transact(() => {
    for (const u of updates) if (u.byteLength > 0) Y.applyUpdate(doc, u, origin);
  }, origin);
}

export function noteTextFromUpdates(updates: Iterable<Uint8Array>): NoteText {
  const doc = noteDocFromUpdates(updates);
  const text = readNoteText(doc);
  doc.destroy();
  return text;
}

/** Turns `text` into `next` with the smallest edit (a character diff), so concurrent edits elsewhere survive. */
export function replaceText(text: Y.Text, next: string): void {
  const current = text.toString();
  if (current === next) return;
  let index = 0;
  const apply = () => {
    for (const [op, chunk] of diff(current, next)) {
      if (op === diff.EQUAL) index += chunk.length;
      else if (op === diff.DELETE) text.delete(index, chunk.length);
      else {
        text.insert(index, chunk);
        index += chunk.length;
      }
    }
  };
  if (text.doc) text.doc.transact(apply);
  else apply();
}

/** The update that turns the document's fields into `next` (fields not given stay); null when nothing changes. */
export function textEditUpdate(doc: Y.Doc, next: Partial<NoteText>): Uint8Array | null {
  const changed = NOTE_FIELDS.filter(
    (f) => next[f] !== undefined && next[f] !== doc.getText(f).toString(),
  );
  if (changed.length === 0) return null;
  return captureUpdate(doc, () => {
    for (const field of changed) replaceText(doc.getText(field), next[field]!);
  });
}

/**
 * Runs `edit` in one transaction and returns exactly its update. (`encodeStateAsUpdate` with a
 * state vector would also carry every deletion the document ever had.)
 */
export function captureUpdate(doc: Y.Doc, edit: () => void, origin?: unknown): Uint8Array | null {
  let update: Uint8Array | null = null;
  const listen = (u: Uint8Array) => (update = update ? Y.mergeUpdates([update, u]) : u);
  doc.on("update", listen);
  try {
    doc.transact(edit, origin);
  } finally {
    doc.off("update", listen);
  }
  return update;
}

/** FNV-1a, 32 bits: a stable small hash of a text, the same on every replica. */
export function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The update that brings a schema-2 note's text into Yjs. Deterministic: the same note id and
 * text give the same bytes everywhere, so two conversions of one text merge into one text
 * instead of doubling it. Null for a note with no text.
 */
export function legacyConversionUpdate(noteId: string, text: NoteText): Uint8Array | null {
  if (text.title === "" && text.body === "") return null;
  const doc = newNoteDoc();
  doc.clientID = fnv1a(noteId); // the same on every replica for one note
  doc.transact(() => {
    if (text.title) doc.getText("title").insert(0, text.title);
    if (text.body) doc.getText("body").insert(0, text.body);
  });
  const update = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return update;
}

export interface UpdateRowSize {
  readonly id: string;
  readonly size: number;
}

/**
 * Which rows of a note to merge into one, or none. Rows pile up one per save; once there are
 * more than `maxRows` (legacy rows aside), the small ones are merged and rows larger than
 * everything smaller than them stay, so each update is rewritten a logarithmic number of times
 * and a compaction of a big note ships only its recent edits, not the whole document.
 */
export function planCompaction(rows: readonly UpdateRowSize[], maxRows: number): string[] {
  const candidates = rows.filter((r) => !r.id.startsWith(LEGACY_ROW_PREFIX));
  if (candidates.length <= maxRows) return [];
  const bySize = [...candidates].sort((a, b) => b.size - a.size || (a.id < b.id ? -1 : 1));
  let rest = bySize.reduce((sum, r) => sum + r.size, 0);
  let keep = 0;
  for (const r of bySize) {
    rest -= r.size;
    if (r.size < rest) break;
    keep++;
  }
  const merge = bySize.slice(keep);
  return (merge.length >= 2 ? merge : bySize).map((r) => r.id);
}

/**
 * One update equivalent to all of `updates`. With `complete` (every row of the note), the
 * result goes through a document so deleted text is garbage-collected; otherwise the updates
 * are merged as they are (they may depend on rows outside the set).
 */
export function mergeNoteUpdates(updates: readonly Uint8Array[], complete: boolean): Uint8Array {
  if (!complete) return Y.mergeUpdates(updates.filter((u) => u.byteLength > 0));
  const doc = noteDocFromUpdates(updates);
  const merged = Y.encodeStateAsUpdate(doc);
  doc.destroy();
  return merged;
}

export { Y };
