import { bindParams, closeCrsqliteDatabase, openCrsqliteDatabase } from "@notesync/crsqlite-native";
import { NOTE_TEXT_SQL, normalizeTag, type NoteText } from "@notesync/protocol";
import type Database from "better-sqlite3";
import { UserDatabase } from "../user-db.js";
import type { ImportedDeletion, ImportedNote, ImportedVersion } from "./imported-note.js";
import { importTextRow, storedText, textKey } from "./note-text-import.js";

/** What one write did. */
export interface WriteCounts {
  /** Notes that did not exist before. */
  created: number;
  /** Existing notes the imported document replaced (it was newer). */
  updated: number;
  /** Imported notes identical to what was there, or older than it. */
  unchanged: number;
  /** Notes moved to the trash because the source deleted them. */
  trashed: number;
  /** Deletions of documents that never became notes here. */
  deletionsOfAbsent: number;
  /** Conflict versions added (the source's losing leaves, and the older of two differing texts). */
  versionsAdded: number;
  /** Documents whose notes were imported before and deleted for good here since: not brought back. */
  deletedHere: number;
}

export const emptyCounts = (): WriteCounts => ({
  created: 0,
  updated: 0,
  unchanged: 0,
  trashed: 0,
  deletionsOfAbsent: 0,
  versionsAdded: 0,
  deletedHere: 0,
});

export function addCounts(into: WriteCounts, more: WriteCounts): WriteCounts {
  for (const key of Object.keys(into) as (keyof WriteCounts)[]) into[key] += more[key];
  return into;
}

interface NoteRow {
  created_at: number | bigint;
  updated_at: number | bigint;
  deleted_at: number | bigint | null;
  pinned: number | bigint;
}

/** Where an import stopped, kept in the user's database in the same transaction as its notes. */
const CHECKPOINTS = `CREATE TABLE IF NOT EXISTS notesync_import_checkpoints (
  source TEXT PRIMARY KEY NOT NULL,
  position TEXT NOT NULL
)`;

/**
 * The texts each note was given or shown by an import: meeting one again (a re-run, after the
 * user edited the note here) is not a conflict.
 */
const IMPORTED_TEXTS = `CREATE TABLE IF NOT EXISTS notesync_import_texts (
  note_id TEXT NOT NULL,
  text_key TEXT NOT NULL,
  source TEXT NOT NULL,
  PRIMARY KEY (note_id, text_key, source)
)`;

/**
 * Writes imported notes into one user's database file, through the same schema and rows as the
 * server, from any process: a running server notices the commit (its file watcher and
 * `PRAGMA data_version`) and pushes the notes to the user's open devices.
 *
 * Rules, the same every run:
 * - a note keeps its source id, so a second import of a document meets the note it made;
 * - the newer of the stored and the imported note wins (`updatedAt`, then the text as a tie
 *   breaker); when their texts differ, the loser is kept as a conflict version;
 * - the source's own conflicts become conflict versions, each once (its key names it).
 */
export class ImportWriter {
  private readonly db: Database.Database;
  private readonly s;

  constructor(readonly file: string) {
    // The server's open brings the file to the current schema (and gives a new file its identity).
    new UserDatabase(file).close();
    this.db = openCrsqliteDatabase(file);
    this.db.exec(CHECKPOINTS);
    this.db.exec(IMPORTED_TEXTS);
    const db = this.db;
    this.s = {
      note: db.prepare(`SELECT created_at, updated_at, deleted_at, pinned FROM notes WHERE id = ?`),
      rows: db.prepare(`SELECT data FROM note_updates WHERE note_id = ? ORDER BY id`).pluck(),
      insertNote: db.prepare(
        `INSERT INTO notes (id, pinned, created_at, updated_at, deleted_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      insertRow: db.prepare(
        `INSERT INTO note_updates (note_id, id, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      upsertText: db.prepare(NOTE_TEXT_SQL.upsert),
      addTag: db.prepare(
        `INSERT INTO note_tags (note_id, tag, present) VALUES (?, ?, 1)
         ON CONFLICT (note_id, tag) DO UPDATE SET present = 1 WHERE present != 1`,
      ),
      addVersion: db.prepare(
        `INSERT INTO note_versions (id, note_id, kind, title, body, created_at)
         VALUES (?, ?, 'conflict', ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      ),
      trash: db.prepare(`UPDATE notes SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`),
      checkpoint: db.prepare(`SELECT position FROM notesync_import_checkpoints WHERE source = ?`),
      setCheckpoint: db.prepare(
        `INSERT INTO notesync_import_checkpoints (source, position) VALUES (?, ?)
         ON CONFLICT (source) DO UPDATE SET position = excluded.position`,
      ),
      seen: db.prepare(`SELECT 1 FROM notesync_import_texts WHERE note_id = ? AND text_key = ?`),
      seenFrom: db.prepare(
        `SELECT 1 FROM notesync_import_texts WHERE note_id = ? AND text_key = ? AND source = ?`,
      ),
      everImported: db.prepare(`SELECT 1 FROM notesync_import_texts WHERE note_id = ? LIMIT 1`),
      markSeen: db.prepare(
        `INSERT INTO notesync_import_texts (note_id, text_key, source) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
      ),
      clearCheckpoint: db.prepare(`DELETE FROM notesync_import_checkpoints WHERE source = ?`),
    };
  }

  /** Bytes the database takes (its pages), for the per-user storage limit. */
  sizeBytes(): number {
    return (
      (this.db.pragma("page_count", { simple: true }) as number) *
      (this.db.pragma("page_size", { simple: true }) as number)
    );
  }

  /** Where the import from `source` stopped last time, or null. */
  checkpoint(source: string): string | null {
    return (this.s.checkpoint.pluck().get(source) as string | undefined) ?? null;
  }

  clearCheckpoint(source: string): void {
    this.s.clearCheckpoint.run(source);
  }

  /**
   * Writes a batch from `source` (a name for where it came from, e.g. the CouchDB database's
   * URL) in one transaction, with the source's position after it when given: the notes and the
   * checkpoint land together or not at all.
   */
  write(
    source: string,
    notes: readonly ImportedNote[],
    deletions: readonly ImportedDeletion[] = [],
    position?: string,
  ): WriteCounts {
    const counts = emptyCounts();
    this.db
      .transaction(() => {
        for (const note of notes) this.writeNote(source, note, counts);
        for (const d of deletions) this.writeDeletion(d, counts);
        if (position !== undefined) this.s.setCheckpoint.run(source, position);
      })
      .immediate();
    return counts;
  }

  private run(stmt: Database.Statement, ...params: unknown[]): Database.RunResult {
    return stmt.run(...bindParams(params));
  }

  private writeNote(source: string, note: ImportedNote, counts: WriteCounts): void {
    const existing = this.s.note.get(note.id) as NoteRow | undefined;
    if (!existing && this.s.everImported.get(note.id) !== undefined) {
      // Imported before and deleted for good here since: the user's deletion stands.
      counts.deletedHere++;
      return;
    }
    const rows = this.s.rows.all(note.id) as Buffer[];
    const incoming: NoteText = { title: note.title, body: note.body };
    const incomingKey = textKey(incoming);
    const seenBefore = this.s.seen.get(note.id, incomingKey) !== undefined;
    this.s.markSeen.run(note.id, incomingKey, source);
    if (!existing) {
      this.run(
        this.s.insertNote,
        note.id,
        note.pinned ? 1 : 0,
        note.createdAt,
        note.updatedAt,
        note.deletedAt,
      );
      this.setText(note.id, rows, incoming);
      this.addTags(note);
      counts.created++;
    } else {
      const stored = storedText(rows);
      const storedUpdated = Number(existing.updated_at);
      const sameText = stored.title === incoming.title && stored.body === incoming.body;
      const incomingWins =
        note.updatedAt > storedUpdated ||
        (note.updatedAt === storedUpdated && !sameText && joined(incoming) > joined(stored));
      if (incomingWins) {
        // Text an earlier import from this source wrote is its own older state, not a
        // competing edit (another source's text is: the older of the two is kept).
        const ownOlderState = this.s.seenFrom.get(note.id, textKey(stored), source) !== undefined;
        if (!sameText && !ownOlderState) this.keepVersion(note.id, stored, storedUpdated, counts);
        this.setText(note.id, rows, incoming);
        this.updateMetadata(note, existing);
        this.addTags(note);
        counts.updated++;
      } else {
        if (!sameText && !seenBefore) this.keepVersion(note.id, incoming, note.updatedAt, counts);
        counts.unchanged++;
      }
    }
    for (const v of note.conflicts)
      if (v.title !== note.title || v.body !== note.body) this.keepConflict(note.id, v, counts);
  }

  private setText(noteId: string, rows: readonly Uint8Array[], text: NoteText): void {
    const row = importTextRow(noteId, rows, text);
    if (row) this.run(this.s.insertRow, noteId, row.id, row.data);
    const final = row?.text ?? storedText(rows);
    this.run(this.s.upsertText, noteId, final.title, final.body);
  }

  private updateMetadata(note: ImportedNote, existing: NoteRow): void {
    const wanted: Record<string, number | null> = {
      pinned: note.pinned ? 1 : 0,
      created_at: note.createdAt,
      updated_at: note.updatedAt,
      deleted_at: note.deletedAt,
    };
    const current: Record<string, number | null> = {
      pinned: Number(existing.pinned),
      created_at: Number(existing.created_at),
      updated_at: Number(existing.updated_at),
      deleted_at: existing.deleted_at === null ? null : Number(existing.deleted_at),
    };
    // Only columns that change are written: an unchanged write would still win a concurrent edit.
    const changed = Object.keys(wanted).filter((c) => wanted[c] !== current[c]);
    if (changed.length === 0) return;
    this.run(
      this.db.prepare(`UPDATE notes SET ${changed.map((c) => `${c} = ?`).join(", ")} WHERE id = ?`),
      ...changed.map((c) => wanted[c]),
      note.id,
    );
  }

  private addTags(note: ImportedNote): void {
    for (const tag of new Set(note.tags.map(normalizeTag).filter(Boolean)))
      this.run(this.s.addTag, note.id, tag);
  }

  /** The older of two differing texts of a note, as a conflict version (once per text). */
  private keepVersion(noteId: string, text: NoteText, updatedAt: number, counts: WriteCounts) {
    if (text.title === "" && text.body === "") return;
    const id = `import:${noteId}:${textKey(text)}`;
    const added = this.run(this.s.addVersion, id, noteId, text.title, text.body, updatedAt);
    counts.versionsAdded += added.changes;
  }

  private keepConflict(noteId: string, v: ImportedVersion, counts: WriteCounts): void {
    const id = `import:${noteId}:${v.key}`;
    const added = this.run(this.s.addVersion, id, noteId, v.title, v.body, v.updatedAt);
    counts.versionsAdded += added.changes;
  }

  private writeDeletion(d: ImportedDeletion, counts: WriteCounts): void {
    const existing = this.s.note.get(d.id) as NoteRow | undefined;
    if (!existing) {
      counts.deletionsOfAbsent++;
      return;
    }
    // The source keeps no time for a deletion: the note's last edit is the one it has.
    const trashed = this.run(this.s.trash, Number(existing.updated_at), d.id);
    if (trashed.changes > 0) counts.trashed++;
    else counts.unchanged++;
  }

  close(): void {
    closeCrsqliteDatabase(this.db);
  }
}

const joined = (t: NoteText) => `${t.title}\n${t.body}`;
