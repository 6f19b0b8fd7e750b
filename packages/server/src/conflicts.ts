import type { Change } from "@notesync/protocol";
import type Database from "better-sqlite3";
import { mergeText } from "./text-merge.js";

/** Columns of `notes` whose concurrent edits are merged or kept, never dropped. */
const TEXT_COLUMNS = new Set(["title", "body"]);
/** Earlier values kept per cell, to find the common ancestor of two concurrent edits. */
const BASES_PER_CELL = 50;
/** History versions kept per note (synced rows in note_versions). */
export const HISTORY_PER_NOTE = 20;

/** Server-local (not replicated): each text cell's earlier values, with the server version they had. */
export const TEXT_HISTORY_DDL = `CREATE TABLE IF NOT EXISTS notesync_text_history (
  pk BLOB NOT NULL, cid TEXT NOT NULL, db_version INTEGER NOT NULL, val TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notesync_text_history_cell ON notesync_text_history (pk, cid, db_version)`;

interface Cell {
  val: unknown;
  site_id: Buffer;
  db_version: bigint;
}

/** A text cell about to take an incoming value from a writer that had not seen the current one. */
interface Concurrent {
  readonly pk: Buffer;
  readonly noteId: string;
  readonly cid: "title" | "body";
  readonly current: string;
  readonly incoming: string;
  readonly incomingSite: Buffer;
  readonly currentSite: Buffer;
  readonly base: string | undefined;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/**
 * cr-sqlite settles two concurrent edits of one cell by last-writer-wins and drops the loser.
 * Around each batch from a client this finds the text cells where that happens: the cell's
 * current value came from another site after the last server version the writer had seen.
 * Afterwards it merges the two edits line by line against their common ancestor when they touch
 * different lines (keeping both originals as history), and otherwise keeps the losing text as a
 * conflict version that syncs to every device.
 */
export class ConflictKeeper {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      // Reads cr-sqlite 0.16's clock tables directly: crsql_changes has no index on pk, so looking
      // a cell up through it scans every change (quadratic over a batch).
      cellOf: Object.fromEntries(
        ["title", "body"].map((cid) => [
          cid,
          db
            .prepare(
              `SELECT n.${cid} AS val, c.db_version, coalesce(s.site_id, crsql_site_id()) AS site_id
               FROM notes__crsql_pks p
               JOIN notes__crsql_clock c ON c.key = p.__crsql_key AND c.col_name = '${cid}'
               JOIN notes n ON n.id = p.id
               LEFT JOIN crsql_site_id s ON s.ordinal = c.site_id AND c.site_id != 0
               WHERE p.id = ?`,
            )
            .safeIntegers(true),
        ]),
      ) as Record<"title" | "body", Database.Statement>,
      remember: db.prepare(
        `INSERT INTO notesync_text_history (pk, cid, db_version, val) VALUES (?, ?, ?, ?)`,
      ),
      base: db
        .prepare(
          `SELECT val FROM notesync_text_history WHERE pk = ? AND cid = ? AND db_version <= ? ORDER BY db_version DESC LIMIT 1`,
        )
        .pluck(),
      trimBases: db.prepare(`DELETE FROM notesync_text_history WHERE rowid IN (
        SELECT rowid FROM notesync_text_history WHERE pk = ? AND cid = ? ORDER BY db_version DESC LIMIT -1 OFFSET ${BASES_PER_CELL})`),
      noteId: db.prepare(`SELECT cell FROM crsql_unpack_columns(?)`).pluck(),
      note: db.prepare(`SELECT title, body FROM notes WHERE id = ?`),
      saveVersion:
        db.prepare(`INSERT INTO note_versions (id, note_id, kind, title, body, created_at, resolved_at)
        VALUES (?, ?, ?, ?, ?, ?, NULL)
        ON CONFLICT (id) DO UPDATE SET title = excluded.title, body = excluded.body, created_at = excluded.created_at, resolved_at = NULL`),
      trimHistory:
        db.prepare(`DELETE FROM note_versions WHERE note_id = ? AND kind = 'history' AND id NOT IN (
        SELECT id FROM note_versions WHERE note_id = ? AND kind = 'history' ORDER BY created_at DESC LIMIT ${HISTORY_PER_NOTE})`),
      setTitle: db.prepare(`UPDATE notes SET title = ?, updated_at = ? WHERE id = ?`),
      setBody: db.prepare(`UPDATE notes SET body = ?, updated_at = ? WHERE id = ?`),
    };
  }

  /**
   * Call inside the applying transaction, before the changes go in. `seenVersion` is the last
   * server version the writing client had applied (server clock).
   */
  before(changes: readonly Change[], seenVersion: number): Concurrent[] {
    const found: Concurrent[] = [];
    for (const c of changes) {
      if (c.table !== "notes" || !TEXT_COLUMNS.has(c.cid) || typeof c.val !== "string") continue;
      const pk = Buffer.from(c.pk);
      const noteId = this.s.noteId.get(pk) as string | undefined;
      const cur =
        noteId === undefined
          ? undefined
          : (this.s.cellOf[c.cid as "title" | "body"].get(noteId) as Cell | undefined);
      if (!cur || typeof cur.val !== "string" || cur.val === c.val) continue;
      // Every value about to be replaced may be a later edit's common ancestor.
      this.s.remember.run(pk, c.cid, cur.db_version, cur.val);
      this.s.trimBases.run(pk, c.cid);
      const incomingSite = Buffer.from(c.siteId);
      if (incomingSite.equals(cur.site_id) || Number(cur.db_version) <= seenVersion) continue;
      found.push({
        pk,
        noteId: noteId!,
        cid: c.cid as "title" | "body",
        current: cur.val,
        incoming: c.val,
        incomingSite,
        currentSite: cur.site_id,
        base: (this.s.base.get(pk, c.cid, BigInt(seenVersion)) as string | undefined) ?? undefined,
      });
    }
    return found;
  }

  /** Call inside the same transaction, after the changes went in. */
  after(found: readonly Concurrent[], now = Date.now()): void {
    for (const f of found) {
      const cell = this.s.cellOf[f.cid].get(f.noteId) as Cell | undefined;
      if (!cell) continue; // the row was deleted
      const winner = cell.val;
      const loser = winner === f.incoming ? f.current : winner === f.current ? f.incoming : null;
      if (loser === null) continue;
      const loserSite = winner === f.incoming ? f.currentSite : f.incomingSite;
      const noteId = f.noteId;
      const note = this.s.note.get(noteId) as { title: string; body: string } | undefined;
      if (!note) continue;
      const asVersion = (text: string) =>
        f.cid === "title" ? { title: text, body: note.body } : { title: note.title, body: text };
      const merged = f.base === undefined ? null : mergeText(f.base, f.current, f.incoming);
      if (merged !== null) {
        for (const [text, site] of [
          [f.current, f.currentSite],
          [f.incoming, f.incomingSite],
        ] as const) {
          const v = asVersion(text);
          this.s.saveVersion.run(
            `premerge:${noteId}:${f.cid}:${hex(site)}:${now}`,
            noteId,
            "history",
            v.title,
            v.body,
            now,
          );
        }
        this.s.trimHistory.run(noteId, noteId);
        if (merged !== winner)
          (f.cid === "title" ? this.s.setTitle : this.s.setBody).run(merged, now, noteId);
      } else {
        const v = asVersion(loser);
        // One open conflict per note, field and losing device: a later losing edit replaces it.
        this.s.saveVersion.run(
          `conflict:${noteId}:${f.cid}:${hex(loserSite)}`,
          noteId,
          "conflict",
          v.title,
          v.body,
          now,
        );
      }
    }
  }
}
