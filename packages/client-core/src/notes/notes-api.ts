import {
  FTS_CATCH_UP,
  NOTE_TEXT_SQL,
  Y,
  newNoteDoc,
  newUpdateId,
  normalizeTag,
  readNoteText,
  textEditUpdate,
  type NoteText,
} from "@notesync/protocol";
import type { ChangeEvent, Database, SqlExecutor, Statement } from "../database.js";
import { openNoteDocument, STORED_ORIGIN, type NoteDocument } from "./note-document.js";
import { refreshNoteText } from "./note-text.js";

export interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly pinned: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was moved to the trash; null for a note not in the trash. */
  readonly deletedAt: number | null;
  /** Its tags (normalized, see `normalizeTag`), in alphabetical order. */
  readonly tags: readonly string[];
}

/** A note's title and body, and the fields a frontend may set. */
export interface NoteDraft {
  /** For `create`: an id chosen by the caller (a UI that shows the note before it is stored). */
  readonly id?: string;
  readonly title?: string;
  readonly body?: string;
  readonly pinned?: boolean;
}

/** What `create` may set besides a draft: an imported note keeps its tags and its dates. */
export interface NewNote extends NoteDraft {
  readonly tags?: readonly string[];
  /** ms since the epoch; default now. */
  readonly createdAt?: number;
  /** ms since the epoch; default `createdAt`. */
  readonly updatedAt?: number;
}

/** The order of `list` and `search` after pinned notes: last edited, last created, or by title (A-Z, untitled last). */
export type NoteSort = "edited" | "created" | "title";

export interface ListOptions {
  readonly sort?: NoteSort;
  /** Only notes with this tag. */
  readonly tag?: string;
  /** At most this many, from the top (a screenful, or the part of a long list it shows). */
  readonly limit?: number;
}

/** A tag and how many notes outside the trash have it. */
export interface TagCount {
  readonly tag: string;
  readonly count: number;
}

/** An earlier or a competing version of a note (table note_versions, synced). */
export interface NoteVersion {
  readonly id: string;
  readonly noteId: string;
  /** `conflict`: an edit made at the same time on another device that lost; `history`: an earlier version. */
  readonly kind: "conflict" | "history";
  readonly title: string;
  readonly body: string;
  readonly createdAt: number;
  readonly resolvedAt: number | null;
}

/** A snapshot of a note goes to its history at most this often while it is being edited. */
export const HISTORY_INTERVAL_MS = 5 * 60_000;
/** History versions kept per note. */
export const HISTORY_PER_NOTE = 20;

/** The queries every frontend shares. All writes are local first; the sync engine carries them. */
export interface NotesApi {
  create(draft?: NewNote): Promise<Note>;
  /**
   * Creates many notes (an import) in few transactions: 1,000 one by one take over a minute in
   * a browser, where each transaction is a durable IndexedDB write. Returns their ids in order.
   */
  createMany(drafts: readonly NewNote[]): Promise<string[]>;
  /**
   * Changes only the fields given. A new title or body becomes the smallest Yjs edit that turns
   * the current text into it, so edits made elsewhere in the meantime are kept.
   */
  update(id: string, patch: NoteDraft): Promise<void>;
  /**
   * The note's live Yjs document, for editor bindings (CodeMirror, ProseMirror, a textarea):
   * edits of its `Y.Text`s are saved as they happen, and edits from elsewhere arrive as deltas.
   * Close it when the editor goes away.
   */
  openDocument(id: string): Promise<NoteDocument>;
  get(id: string): Promise<Note | null>;
  /** Notes not in the trash: pinned first, then by `sort` (default: most recently edited). */
  list(options?: ListOptions): Promise<Note[]>;
  /** Notes in the trash, most recently trashed first. */
  listTrash(): Promise<Note[]>;
  /**
   * Notes outside the trash whose title or body has a word starting with each word of `text`
   * (case- and accent-insensitive), best matches first (full-text index, bm25); only those
   * with `options.tag` when given.
   */
  search(text: string, options?: ListOptions): Promise<Note[]>;
  /**
   * Gives the note the tag (normalized; an empty one is ignored). Adding and removing flip one
   * flag per (note, tag): concurrent changes of one tag merge last-writer-wins (PROTOCOL.md §8.3).
   */
  addTag(noteId: string, tag: string): Promise<void>;
  removeTag(noteId: string, tag: string): Promise<void>;
  /** Every tag of a note outside the trash, alphabetically, with its number of notes. */
  tags(): Promise<TagCount[]>;
  trash(id: string): Promise<void>;
  restore(id: string): Promise<void>;
  /** Deletes the note on every device. */
  deleteForever(id: string): Promise<void>;
  emptyTrash(): Promise<void>;
  /** Ids of notes with open conflicts. */
  conflictedNoteIds(): Promise<Set<string>>;
  /** Open conflicts (competing edits that lost), newest first. */
  conflicts(noteId: string): Promise<NoteVersion[]>;
  /** Earlier versions, newest first. */
  history(noteId: string): Promise<NoteVersion[]>;
  /** Makes the note read as `versionId` (a conflict or a history version); the current text goes to history. */
  useVersion(versionId: string): Promise<void>;
  /** Keeps a conflict version as a separate note, and the note as it is. */
  keepBoth(versionId: string): Promise<Note>;
  /** Keeps the note as it is and closes the conflict. */
  dismissConflict(versionId: string): Promise<void>;
}

interface NoteRow {
  id: string;
  title: string;
  body: string;
  pinned: number;
  created_at: number;
  updated_at: number;
  deleted_at: number | null;
  tags: string | null;
}

/** Separates tags in the `tags` column of a query (a control character, never in a tag). */
const TAG_SEPARATOR = "\u001f";

/** Text comes from note_text (derived from the Yjs rows), metadata from notes. */
const COLUMNS = `n.id AS id, coalesce(t.title, '') AS title, coalesce(t.body, '') AS body, n.pinned AS pinned, n.created_at AS created_at, n.updated_at AS updated_at, n.deleted_at AS deleted_at,
  (SELECT group_concat(tag, char(31)) FROM note_tags g WHERE g.note_id = n.id AND g.present = 1) AS tags`;
const FROM = "notes n LEFT JOIN note_text t ON t.note_id = n.id";
const toNote = (r: NoteRow): Note => ({
  id: r.id,
  title: r.title,
  body: r.body,
  pinned: Number(r.pinned) !== 0,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
  tags: r.tags ? r.tags.split(TAG_SEPARATOR).sort() : [],
});

const ORDER: Record<NoteSort, string> = {
  edited: "n.updated_at DESC",
  created: "n.created_at DESC",
  title: "coalesce(t.title, '') = '', coalesce(t.title, '') COLLATE NOCASE, n.updated_at DESC",
};
/** `AND` clause (and its parameter) that keeps only notes with `tag`. */
const tagFilter = (tag: string | undefined): [string, unknown[]] =>
  tag
    ? [
        "AND EXISTS (SELECT 1 FROM note_tags g WHERE g.note_id = n.id AND g.tag = ? AND g.present = 1)",
        [tag],
      ]
    : ["", []];

interface VersionRow {
  id: string;
  note_id: string;
  kind: string;
  title: string;
  body: string;
  created_at: number;
  resolved_at: number | null;
}
const toVersion = (r: VersionRow): NoteVersion => ({
  id: r.id,
  noteId: r.note_id,
  kind: r.kind === "conflict" ? "conflict" : "history",
  title: r.title,
  body: r.body,
  createdAt: Number(r.created_at),
  resolvedAt: r.resolved_at === null ? null : Number(r.resolved_at),
});
const VERSION_COLUMNS = "id, note_id, kind, title, body, created_at, resolved_at";

/** Notes written per transaction by `createMany`. */
const CREATE_BATCH = 200;

/** Each word as a quoted FTS5 prefix query: `"plumb"* "kitch"*`; quotes inside are doubled. */
const ftsQuery = (words: readonly string[]) =>
  words.map((w) => `"${w.replace(/"/g, '""')}"*`).join(" ");

export interface NotesApiOptions {
  readonly now?: () => number;
  /**
   * Where writes of other tabs and of the sync engine are announced: pass the sync client's
   * `on("change", ...)` so open documents see them. Defaults to this database's own writes.
   */
  readonly onChange?: (listener: (e: ChangeEvent) => void) => () => void;
}

export function createNotesApi(db: Database, options: NotesApiOptions = {}): NotesApi {
  const now = options.now ?? Date.now;
  const onChange = options.onChange ?? ((l) => db.onChange(l));
  const rows = async (sql: string, params: unknown[] = []) =>
    (await db.query<NoteRow>(sql, params)).map(toNote);
  const versions = async (sql: string, params: unknown[]) =>
    (await db.query<VersionRow>(sql, params)).map(toVersion);
  const version = async (id: string) => {
    const [v] = await versions(`SELECT ${VERSION_COLUMNS} FROM note_versions WHERE id = ?`, [id]);
    if (!v) throw new Error(`no version ${id}`);
    return v;
  };

  /**
   * A history version of the note as it is now, and the oldest beyond HISTORY_PER_NOTE dropped;
   * unless `force`, only when its last history version is HISTORY_INTERVAL_MS old or more.
   */
  function snapshotStatements(id: string, force: boolean): Statement[] {
    const t = now();
    const due = force
      ? ""
      : `AND NOT EXISTS (SELECT 1 FROM note_versions WHERE note_id = ? AND kind = 'history' AND created_at > ?)`;
    return [
      {
        sql: `INSERT INTO note_versions (id, note_id, kind, title, body, created_at)
         SELECT ?, note_id, 'history', title, body, ? FROM note_text WHERE note_id = ? AND (title != '' OR body != '') ${due}`,
        params: [crypto.randomUUID(), t, id, ...(force ? [] : [id, t - HISTORY_INTERVAL_MS])],
      },
      {
        sql: `DELETE FROM note_versions WHERE note_id = ? AND kind = 'history' AND id NOT IN (
         SELECT id FROM note_versions WHERE note_id = ? AND kind = 'history' ORDER BY created_at DESC LIMIT ${HISTORY_PER_NOTE})`,
        params: [id, id],
      },
    ];
  }

  /** Saves the note as it is now into its history (see `snapshotStatements`). */
  async function snapshot(tx: SqlExecutor, id: string, force: boolean): Promise<void> {
    for (const s of snapshotStatements(id, force)) await tx.exec(s.sql, s.params);
  }

  /**
   * Writes `text` (fields given) into the note's document inside `tx`. A note that still holds
   * schema-2 text the server has not converted keeps being written the schema-2 way (the
   * server turns that into a Yjs edit): creating Yjs text here would double it on merge.
   */
  async function writeText(tx: SqlExecutor, id: string, text: Partial<NoteText>): Promise<void> {
    const rows = await tx.query<{ data: Uint8Array }>(NOTE_TEXT_SQL.updatesOf, [id]);
    if (rows.length === 0) {
      const [legacy] = await tx.query<NoteText>(NOTE_TEXT_SQL.legacyText, [id]);
      if (legacy && (legacy.title !== "" || legacy.body !== "")) {
        const sets = Object.keys(text).map((f) => `${f} = ?`);
        await tx.exec(`UPDATE notes SET ${sets.join(", ")} WHERE id = ?`, [
          ...Object.values(text),
          id,
        ]);
        await refreshNoteText(tx, [id]);
        return;
      }
    }
    const doc = newNoteDoc();
    doc.transact(() => rows.forEach((r) => Y.applyUpdate(doc, r.data, STORED_ORIGIN)));
    const update = textEditUpdate(doc, text);
    const next = readNoteText(doc);
    doc.destroy();
    if (!update) return;
    await tx.exec(`INSERT INTO note_updates (note_id, id, data) VALUES (?, ?, ?)`, [
      id,
      newUpdateId(),
      update,
    ]);
    // The document already holds every row: its text is the note's, no second read needed.
    await tx.exec(NOTE_TEXT_SQL.upsert, [id, next.title, next.body]);
  }

  const textOf = (draft: NoteDraft): Partial<NoteText> => ({
    ...(draft.title !== undefined && { title: draft.title }),
    ...(draft.body !== undefined && { body: draft.body }),
  });

  const api: NotesApi = {
    async create(draft = {}) {
      const [id] = await api.createMany([draft]);
      return (await api.get(id!))!;
    },
    async createMany(drafts) {
      const ids: string[] = [];
      for (let i = 0; i < drafts.length; i += CREATE_BATCH) {
        const batch = drafts.slice(i, i + CREATE_BATCH);
        const tagged = batch.some((d) => (d.tags ?? []).length > 0);
        await db.transaction(
          async (tx) => {
            for (const draft of batch) {
              const id = draft.id ?? crypto.randomUUID();
              const created = draft.createdAt ?? now();
              const tags = [...new Set((draft.tags ?? []).map(normalizeTag).filter(Boolean))];
              await tx.exec(
                `INSERT INTO notes (id, pinned, created_at, updated_at) VALUES (?, ?, ?, ?)`,
                [id, draft.pinned ? 1 : 0, created, draft.updatedAt ?? created],
              );
              await tx.exec(NOTE_TEXT_SQL.upsert, [id, "", ""]);
              await writeText(tx, id, textOf(draft));
              for (const tag of tags)
                await tx.exec(`INSERT INTO note_tags (note_id, tag, present) VALUES (?, ?, 1)`, [
                  id,
                  tag,
                ]);
              ids.push(id);
            }
          },
          { tables: ["notes", "note_updates", ...(tagged ? ["note_tags"] : [])] },
        );
      }
      return ids;
    },
    async update(id, patch) {
      const text = textOf(patch);
      const hasText = Object.keys(text).length > 0;
      if (!hasText && patch.pinned === undefined) return;
      await db.transaction(async (tx) => {
        if (hasText) {
          await snapshot(tx, id, false);
          await writeText(tx, id, text);
        }
        const pinned = patch.pinned === undefined ? [] : [patch.pinned ? 1 : 0];
        await tx.exec(
          `UPDATE notes SET ${pinned.length ? "pinned = ?, " : ""}updated_at = ? WHERE id = ?`,
          [...pinned, now(), id],
        );
      });
    },
    openDocument(id) {
      let lastCheck = -Infinity;
      return openNoteDocument(id, {
        db,
        onChange,
        now,
        // A history snapshot before the first edit in any HISTORY_INTERVAL_MS, checked at most that often.
        beforeSave: () => {
          const t = now();
          if (t - lastCheck < HISTORY_INTERVAL_MS) return [];
          lastCheck = t;
          return snapshotStatements(id, false);
        },
      });
    },
    async get(id) {
      return (await rows(`SELECT ${COLUMNS} FROM ${FROM} WHERE n.id = ?`, [id]))[0] ?? null;
    },
    list: (options = {}) => {
      const [filter, params] = tagFilter(options.tag);
      const limit = options.limit === undefined ? "" : "LIMIT ?";
      return rows(
        `SELECT ${COLUMNS} FROM ${FROM} WHERE n.deleted_at IS NULL ${filter}
         ORDER BY n.pinned DESC, ${ORDER[options.sort ?? "edited"]}, n.id ${limit}`,
        options.limit === undefined ? params : [...params, options.limit],
      );
    },
    listTrash: () =>
      rows(
        `SELECT ${COLUMNS} FROM ${FROM} WHERE n.deleted_at IS NOT NULL ORDER BY n.deleted_at DESC, n.id`,
      ),
    async search(text, options = {}) {
      const words = text.split(/[^\p{L}\p{N}]+/u).filter(Boolean);
      if (words.length === 0) return text.trim() ? [] : api.list(options);
      const [filter, params] = tagFilter(options.tag);
      if ((await db.query(`SELECT 1 FROM note_fts_stale LIMIT 1`)).length > 0)
        await db.transaction(async (tx) => {
          for (const sql of FTS_CATCH_UP) await tx.exec(sql);
        });
      const limit = options.limit === undefined ? "" : "LIMIT ?";
      return rows(
        `SELECT ${COLUMNS} FROM note_fts f JOIN note_text t ON t.rowid = f.rowid JOIN notes n ON n.id = t.note_id
         WHERE note_fts MATCH ? AND n.deleted_at IS NULL ${filter} ORDER BY n.pinned DESC, bm25(note_fts, 2.0, 1.0), n.updated_at DESC, n.id ${limit}`,
        [ftsQuery(words), ...params, ...(options.limit === undefined ? [] : [options.limit])],
      );
    },
    async addTag(noteId, typed) {
      const tag = normalizeTag(typed);
      if (!tag) return;
      await db.transaction(async (tx) => {
        // Only a real change is written: setting the flag it already has would count as a
        // write and win a concurrent removal elsewhere.
        await tx.exec(
          `INSERT INTO note_tags (note_id, tag, present) VALUES (?, ?, 1)
           ON CONFLICT (note_id, tag) DO UPDATE SET present = 1 WHERE present != 1`,
          [noteId, tag],
        );
        await tx.exec(`UPDATE notes SET updated_at = ? WHERE id = ?`, [now(), noteId]);
      });
    },
    async removeTag(noteId, typed) {
      const tag = normalizeTag(typed);
      await db.transaction(async (tx) => {
        await tx.exec(
          `UPDATE note_tags SET present = 0 WHERE note_id = ? AND tag = ? AND present != 0`,
          [noteId, tag],
        );
        await tx.exec(`UPDATE notes SET updated_at = ? WHERE id = ?`, [now(), noteId]);
      });
    },
    async tags() {
      const found = await db.query<{ tag: string; count: number }>(
        `SELECT g.tag AS tag, count(*) AS count FROM note_tags g JOIN notes n ON n.id = g.note_id
         WHERE g.present = 1 AND n.deleted_at IS NULL GROUP BY g.tag ORDER BY g.tag`,
      );
      return found.map((r) => ({ tag: r.tag, count: Number(r.count) }));
    },
    async trash(id) {
      await db.exec(`UPDATE notes SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, [
        now(),
        id,
      ]);
    },
    async restore(id) {
      await db.exec(`UPDATE notes SET deleted_at = NULL, updated_at = ? WHERE id = ?`, [now(), id]);
    },
    async deleteForever(id) {
      await db.transaction(async (tx) => {
        await tx.exec(`DELETE FROM note_updates WHERE note_id = ?`, [id]);
        await tx.exec(`DELETE FROM note_tags WHERE note_id = ?`, [id]);
        await tx.exec(`DELETE FROM notes WHERE id = ?`, [id]);
        await tx.exec(NOTE_TEXT_SQL.remove, [id]);
      });
    },
    async emptyTrash() {
      await db.transaction(async (tx) => {
        await tx.exec(
          `DELETE FROM note_updates WHERE note_id IN (SELECT id FROM notes WHERE deleted_at IS NOT NULL)`,
        );
        await tx.exec(
          `DELETE FROM note_text WHERE note_id IN (SELECT id FROM notes WHERE deleted_at IS NOT NULL)`,
        );
        await tx.exec(
          `DELETE FROM note_tags WHERE note_id IN (SELECT id FROM notes WHERE deleted_at IS NOT NULL)`,
        );
        await tx.exec(`DELETE FROM notes WHERE deleted_at IS NOT NULL`);
      });
    },
    async conflictedNoteIds() {
      const rows = await db.query<{ note_id: string }>(
        `SELECT DISTINCT note_id FROM note_versions WHERE kind = 'conflict' AND resolved_at IS NULL`,
      );
      return new Set(rows.map((r) => r.note_id));
    },
    conflicts: (noteId) =>
      versions(
        `SELECT ${VERSION_COLUMNS} FROM note_versions WHERE note_id = ? AND kind = 'conflict' AND resolved_at IS NULL ORDER BY created_at DESC, id`,
        [noteId],
      ),
    history: (noteId) =>
      versions(
        `SELECT ${VERSION_COLUMNS} FROM note_versions WHERE note_id = ? AND kind = 'history' ORDER BY created_at DESC, id`,
        [noteId],
      ),
    async useVersion(versionId) {
      const v = await version(versionId);
      await db.transaction(async (tx) => {
        await snapshot(tx, v.noteId, true);
        await writeText(tx, v.noteId, { title: v.title, body: v.body });
        await tx.exec(`UPDATE notes SET updated_at = ?, deleted_at = NULL WHERE id = ?`, [
          now(),
          v.noteId,
        ]);
        if (v.kind === "conflict")
          await tx.exec(`UPDATE note_versions SET resolved_at = ? WHERE id = ?`, [now(), v.id]);
      });
    },
    async keepBoth(versionId) {
      const v = await version(versionId);
      const copy = await api.create({
        title: `${v.title || "Untitled"} (conflicted copy)`,
        body: v.body,
      });
      await db.exec(`UPDATE note_versions SET resolved_at = ? WHERE id = ?`, [now(), v.id]);
      return copy;
    },
    async dismissConflict(versionId) {
      await db.exec(`UPDATE note_versions SET resolved_at = ? WHERE id = ?`, [now(), versionId]);
    },
  };
  return api;
}
