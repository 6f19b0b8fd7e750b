import {
  LEGACY_ROW_PREFIX,
  NOTE_TEXT_SQL,
  NoteDocCache,
  PURGE_UPDATE_TOMBSTONES,
  Y,
  fnv1a,
  legacyConversionUpdate,
  mergeNoteUpdates,
  newNoteDoc,
  newUpdateId,
  planCompaction,
  textEditUpdate,
  textTouchedBy,
  type Change,
  type NoteField,
} from "@notesync/protocol";
import type Database from "better-sqlite3";

/** Update rows a note may have before the server merges the small ones (legacy rows aside). */
export const DEFAULT_MAX_UPDATE_ROWS = 64;

/** Names a legacy edit's row by its text, so the same edit sent twice lands once. */
const textHash = (text: string) => `${fnv1a(text).toString(16)}${text.length.toString(16)}`;

/**
 * The server's part in keeping note text whole, run inside the transaction that applies a
 * client's changes:
 * - edits of the schema-2 text columns (sent by a device that was offline across the upgrade)
 *   become Yjs edits made against the conversion, so they merge with everything since;
 * - a note with more than `maxRows` update rows has its small rows merged into one;
 * - `note_text` follows.
 * The server is the only replica that creates Yjs items on a user's behalf (the conversion of
 * schema-2 text), so no text can be converted twice.
 */
export class NoteTextKeeper {
  private readonly s;
  private readonly docs = new NoteDocCache();

  constructor(
    db: Database.Database,
    private readonly maxRows = DEFAULT_MAX_UPDATE_ROWS,
  ) {
    this.s = {
      rowIdsOf: db.prepare(NOTE_TEXT_SQL.rowIdsOf).pluck(),
      sizesOf: db.prepare(`SELECT id, length(data) AS size FROM note_updates WHERE note_id = ?`),
      dataOf: db.prepare(`SELECT data FROM note_updates WHERE note_id = ? AND id = ?`).pluck(),
      hasRow: db.prepare(`SELECT 1 FROM note_updates WHERE note_id = ? AND id = ?`).pluck(),
      insertRow: db.prepare(`INSERT INTO note_updates (note_id, id, data) VALUES (?, ?, ?)`),
      deleteRow: db.prepare(`DELETE FROM note_updates WHERE note_id = ? AND id = ?`),
      legacyText: db.prepare(NOTE_TEXT_SQL.legacyText),
      legacyNotes: db.prepare(`SELECT id, title, body FROM notes WHERE title != '' OR body != ''`),
      upsert: db.prepare(NOTE_TEXT_SQL.upsert),
      remove: db.prepare(NOTE_TEXT_SQL.remove),
      purge: PURGE_UPDATE_TOMBSTONES.map((sql) => db.prepare(sql)),
      // The oldest server version every device seen lately has applied: deletions up to it
      // have reached them all.
      ackedByAll: db
        .prepare(`SELECT min(server_version) FROM notesync_client_acks WHERE seen_at > ?`)
        .pluck()
        .safeIntegers(true),
    };
  }

  /** Schema 2 -> 3: each note's text becomes its document's first row, made the same way everywhere. */
  convertSchema2(): number {
    let converted = 0;
    for (const n of this.s.legacyNotes.all() as { id: string; title: string; body: string }[]) {
      const update = legacyConversionUpdate(n.id, n);
      if (!update || this.s.hasRow.get(n.id, LEGACY_ROW_PREFIX)) continue;
      this.s.insertRow.run(n.id, LEGACY_ROW_PREFIX, update);
      converted++;
    }
    return converted;
  }

  /** Call inside the applying transaction, after the changes went in. */
  afterApply(changes: readonly Change[]): void {
    const touched = textTouchedBy(changes);
    for (const [noteId, field, text] of touched.legacyEdits)
      this.applyLegacyEdit(noteId, field, text);
    let compacted = false;
    for (const noteId of touched.withNewRows) compacted = this.compact(noteId) || compacted;
    if (compacted) this.purgeTombstones();
    for (const noteId of touched.notes) this.refresh(noteId);
  }

  /** The transaction that fed the cached documents rolled back. */
  rolledBack(): void {
    this.docs.clear();
  }

  /** How long a device that stopped syncing holds back the purge of deletions it has not seen. */
  static readonly ACK_RETENTION_MS = 30 * 24 * 3600_000;

  /** Drops the tombstones of merged rows that every device seen lately has acknowledged. */
  purgeTombstones(): void {
    const upTo = this.s.ackedByAll.get(Date.now() - NoteTextKeeper.ACK_RETENTION_MS) as
      bigint | null;
    if (upTo === null) return;
    for (const stmt of this.s.purge) stmt.run(upTo);
  }

  /**
   * A schema-2 edit of `field` to `text`: the difference between the converted text and
   * `text`, made as a Yjs edit of the conversion, so it merges with edits made since as if it
   * had happened concurrently with them.
   */
  private applyLegacyEdit(noteId: string, field: NoteField, text: string): void {
    const id = `${LEGACY_ROW_PREFIX}-${field}-${textHash(text)}`;
    if (this.s.hasRow.get(noteId, id)) return;
    const base = newNoteDoc();
    const conversion = this.s.dataOf.get(noteId, LEGACY_ROW_PREFIX) as Buffer | undefined;
    if (conversion) Y.applyUpdate(base, conversion);
    const update = textEditUpdate(base, { [field]: text });
    base.destroy();
    if (update) this.s.insertRow.run(noteId, id, update);
  }

  private compact(noteId: string): boolean {
    const sizes = this.s.sizesOf.all(noteId) as { id: string; size: number }[];
    const ids = planCompaction(sizes, this.maxRows);
    if (ids.length === 0) return false;
    const updates = ids.map((id) => this.s.dataOf.get(noteId, id) as Buffer);
    const merged = mergeNoteUpdates(updates, ids.length === sizes.length);
    for (const id of ids) this.s.deleteRow.run(noteId, id);
    this.s.insertRow.run(noteId, newUpdateId(), merged);
    return true;
  }

  private refresh(noteId: string): void {
    const legacy = this.s.legacyText.get(noteId) as { title: string; body: string } | undefined;
    const ids = legacy ? (this.s.rowIdsOf.all(noteId) as string[]) : [];
    if (!legacy || ids.length === 0) {
      this.docs.forget(noteId);
      if (legacy) this.s.upsert.run(noteId, legacy.title, legacy.body);
      else this.s.remove.run(noteId);
      return;
    }
    const known = this.docs.rowsOf(noteId);
    const fresh = ids
      .filter((id) => !known?.has(id))
      .map((id) => ({ id, data: this.s.dataOf.get(noteId, id) as Buffer }));
    const text = this.docs.update(noteId, ids, fresh);
    this.s.upsert.run(noteId, text.title, text.body);
  }
}
