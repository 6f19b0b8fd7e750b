import { NOTE_TEXT_SQL, Y, newNoteDoc, newUpdateId, readNoteText } from "@notesync/protocol";
import { coalesced } from "../coalesce.js";
import type { ChangeEvent, Database, Statement } from "../database.js";

/**
 * While typing, the note's "edited" time is written at most this often: it is one more change
 * on the wire and on disk per save, and a list sorted by it need not move every keystroke.
 */
export const EDITED_AT_EVERY_MS = 5_000;

/** The origin of Yjs transactions that bring stored rows into a document (not edits to save). */
export const STORED_ORIGIN = Symbol("notesync:stored");

/**
 * One note's live Yjs document, for editor bindings. Edits made to `title` and `body` (with
 * any origin but `STORED_ORIGIN`) are saved at once as one row per write (the edits made while
 * a write is under way go in the next); rows written by other tabs, devices or the server come
 * in as Yjs updates, so a binding sees a delta and keeps its caret where the user is typing.
 * Nothing here ever replaces the text with a query result.
 */
export interface NoteDocument {
  readonly noteId: string;
  readonly doc: Y.Doc;
  readonly title: Y.Text;
  readonly body: Y.Text;
  /**
   * The note still has its schema-2 text and the server has not converted it into Yjs yet:
   * show the text, but edit only once this turns false (the "state" event says when).
   */
  readonly awaitingConversion: boolean;
  /** Edits made here that are not in the database yet. */
  readonly unsaved: boolean;
  /** "saved": every edit so far is stored. "state": `awaitingConversion` or `unsaved` changed. */
  on(event: "saved" | "state", listener: () => void): () => void;
  /** Resolves once every edit made so far is stored. */
  flush(): Promise<void>;
  /** Stores what is unsaved and stops following the database. */
  close(): Promise<void>;
}

export interface NoteDocumentOptions {
  readonly db: Database;
  /** Where writes of other tabs and of the sync engine are announced (a sync client's "change"). */
  readonly onChange: (listener: (e: ChangeEvent) => void) => () => void;
  readonly now: () => number;
  /** Statements that run first in each save's transaction, before the row goes in (history snapshots). */
  readonly beforeSave?: () => readonly Statement[];
}

export async function openNoteDocument(
  noteId: string,
  options: NoteDocumentOptions,
): Promise<NoteDocument> {
  const { db, now } = options;
  const doc = newNoteDoc();
  const title = doc.getText("title");
  const body = doc.getText("body");
  const known = new Set<string>();
  let pending: Uint8Array[] = [];
  let awaitingConversion = false;
  let closed = false;
  const listeners = { saved: new Set<() => void>(), state: new Set<() => void>() };
  const emit = (event: keyof typeof listeners) => listeners[event].forEach((l) => l());

  /** Brings in rows this document has not seen (another tab's, the server's, a compaction's). */
  const pull = coalesced(async () => {
    if (closed) return;
    const rows = await db.query<{ id: string }>(`SELECT id FROM note_updates WHERE note_id = ?`, [
      noteId,
    ]);
    const fresh = rows.filter((r) => !known.has(r.id)).map((r) => r.id);
    if (fresh.length > 0) {
      const data = await db.query<{ id: string; data: Uint8Array }>(
        `SELECT id, data FROM note_updates WHERE note_id = ? AND id IN (${fresh.map(() => "?").join(",")})`,
        [noteId, ...fresh],
      );
      doc.transact(() => {
        for (const r of data) if (r.data.byteLength > 0) Y.applyUpdate(doc, r.data, STORED_ORIGIN);
      }, STORED_ORIGIN);
    }
    // Forget rows merged away by a compaction, keep the ones this document is writing.
    const present = new Set(rows.map((r) => r.id));
    for (const id of known) if (!present.has(id) && !writing.has(id)) known.delete(id);
    for (const id of present) known.add(id);
    const waiting = rows.length === 0 && (await hasLegacyText());
    if (waiting !== awaitingConversion) {
      awaitingConversion = waiting;
      emit("state");
    }
  });

  async function hasLegacyText(): Promise<boolean> {
    const [row] = await db.query<{ title: string; body: string }>(NOTE_TEXT_SQL.legacyText, [
      noteId,
    ]);
    return row !== undefined && (row.title !== "" || row.body !== "");
  }

  const writing = new Set<string>();
  let editedAtWritten = -Infinity;
  const save = coalesced(async () => {
    if (pending.length === 0) return;
    const updates = pending;
    pending = [];
    const id = newUpdateId();
    writing.add(id);
    known.add(id);
    const data = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates);
    const text = readNoteText(doc);
    const t = now();
    let editedAt = editedAtWritten;
    const statements: Statement[] = [
      ...(options.beforeSave?.() ?? []),
      {
        sql: `INSERT INTO note_updates (note_id, id, data) VALUES (?, ?, ?)`,
        params: [noteId, id, data],
      },
      { sql: NOTE_TEXT_SQL.upsert, params: [noteId, text.title, text.body] },
    ];
    if (t - editedAtWritten >= EDITED_AT_EVERY_MS) {
      statements.push({ sql: `UPDATE notes SET updated_at = ? WHERE id = ?`, params: [t, noteId] });
      editedAt = t;
    }
    try {
      // One call: in a browser, one message to the database's worker per keystroke saved.
      await db.batch(statements, { tables: ["note_updates", "notes"] });
      editedAtWritten = editedAt;
    } catch (err) {
      known.delete(id);
      pending = [...updates, ...pending]; // kept for the next write
      throw err;
    } finally {
      writing.delete(id);
    }
    if (pending.length === 0) {
      emit("state");
      emit("saved");
    }
  });

  doc.on("update", (update: Uint8Array, origin: unknown) => {
    if (origin === STORED_ORIGIN) return;
    const wasClean = pending.length === 0;
    pending.push(update);
    void save().catch((err: unknown) => console.error("notesync: saving a note failed", err));
    // Told once the save is under way: its message to the database goes out before the page
    // draws the note as unsaved (a keystroke's save waited behind that render).
    if (wasClean) emit("state");
  });

  const unsubscribe = options.onChange((e) => {
    if (e.tables.includes("note_updates")) void pull();
  });
  await pull();

  return {
    noteId,
    doc,
    title,
    body,
    get awaitingConversion() {
      return awaitingConversion;
    },
    get unsaved() {
      return pending.length > 0 || writing.size > 0;
    },
    on(event, listener) {
      listeners[event].add(listener);
      return () => listeners[event].delete(listener);
    },
    async flush() {
      while (pending.length > 0 || writing.size > 0) await save();
    },
    async close() {
      unsubscribe();
      while (pending.length > 0 || writing.size > 0) await save();
      closed = true;
      doc.destroy();
    },
  };
}
