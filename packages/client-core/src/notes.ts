import type { Database, SqlExecutor } from "./database.js";

export interface Note {
  readonly id: string;
  readonly title: string;
  readonly body: string;
  readonly pinned: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was moved to the trash; null for a note not in the trash. */
  readonly deletedAt: number | null;
}

export interface NoteDraft {
  /** For `create`: an id chosen by the caller (a UI that shows the note before it is stored). */
  readonly id?: string;
  readonly title?: string;
  readonly body?: string;
  readonly pinned?: boolean;
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
  create(draft?: NoteDraft): Promise<Note>;
  /** Changes only the fields given. */
  update(id: string, patch: NoteDraft): Promise<void>;
  get(id: string): Promise<Note | null>;
  /** Notes not in the trash: pinned first, then most recently edited. */
  list(): Promise<Note[]>;
  /** Notes in the trash, most recently trashed first. */
  listTrash(): Promise<Note[]>;
  /** Notes whose title or body contains every word of `text` (case-insensitive), outside the trash. */
  search(text: string): Promise<Note[]>;
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
}

const COLUMNS = "id, title, body, pinned, created_at, updated_at, deleted_at";
const toNote = (r: NoteRow): Note => ({
  id: r.id,
  title: r.title,
  body: r.body,
  pinned: Number(r.pinned) !== 0,
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
  deletedAt: r.deleted_at === null ? null : Number(r.deleted_at),
});

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

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createNotesApi(db: Database, now: () => number = Date.now): NotesApi {
  const rows = async (sql: string, params: unknown[] = []) =>
    (await db.query<NoteRow>(sql, params)).map(toNote);
  const versions = async (sql: string, params: unknown[]) =>
    (await db.query<VersionRow>(sql, params)).map(toVersion);
  const version = async (id: string) => {
    const [v] = await versions(`SELECT ${VERSION_COLUMNS} FROM note_versions WHERE id = ?`, [id]);
    if (!v) throw new Error(`no version ${id}`);
    return v;
  };

  /** Saves the note as it is now into its history, unless a snapshot is recent (or `force`) or the note is empty. */
  async function snapshot(tx: SqlExecutor, id: string, force: boolean): Promise<void> {
    const t = now();
    if (!force) {
      const [last] = await tx.query<{ t: number | null }>(
        `SELECT max(created_at) AS t FROM note_versions WHERE note_id = ? AND kind = 'history'`,
        [id],
      );
      if (last?.t != null && t - Number(last.t) < HISTORY_INTERVAL_MS) return;
    }
    await tx.exec(
      `INSERT INTO note_versions (id, note_id, kind, title, body, created_at)
       SELECT ?, id, 'history', title, body, ? FROM notes WHERE id = ? AND (title != '' OR body != '')`,
      [crypto.randomUUID(), t, id],
    );
    await tx.exec(
      `DELETE FROM note_versions WHERE note_id = ? AND kind = 'history' AND id NOT IN (
         SELECT id FROM note_versions WHERE note_id = ? AND kind = 'history' ORDER BY created_at DESC LIMIT ${HISTORY_PER_NOTE})`,
      [id, id],
    );
  }

  const api: NotesApi = {
    async create(draft = {}) {
      const id = draft.id ?? crypto.randomUUID();
      const t = now();
      await db.exec(
        `INSERT INTO notes (id, title, body, pinned, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
        [id, draft.title ?? "", draft.body ?? "", draft.pinned ? 1 : 0, t, t],
      );
      return (await api.get(id))!;
    },
    async update(id, patch) {
      const fields: [string, unknown][] = [];
      if (patch.title !== undefined) fields.push(["title", patch.title]);
      if (patch.body !== undefined) fields.push(["body", patch.body]);
      if (patch.pinned !== undefined) fields.push(["pinned", patch.pinned ? 1 : 0]);
      if (fields.length === 0) return;
      const sets = fields.map(([column]) => `${column} = ?`);
      const params = fields.map(([, value]) => value);
      await db.transaction(async (tx) => {
        if (patch.title !== undefined || patch.body !== undefined) await snapshot(tx, id, false);
        await tx.exec(`UPDATE notes SET ${sets.join(", ")}, updated_at = ? WHERE id = ?`, [
          ...params,
          now(),
          id,
        ]);
      });
    },
    async get(id) {
      return (await rows(`SELECT ${COLUMNS} FROM notes WHERE id = ?`, [id]))[0] ?? null;
    },
    list: () =>
      rows(
        `SELECT ${COLUMNS} FROM notes WHERE deleted_at IS NULL ORDER BY pinned DESC, updated_at DESC, id`,
      ),
    listTrash: () =>
      rows(
        `SELECT ${COLUMNS} FROM notes WHERE deleted_at IS NOT NULL ORDER BY deleted_at DESC, id`,
      ),
    async search(text) {
      const words = text.trim().split(/\s+/).filter(Boolean);
      if (words.length === 0) return api.list();
      const where = words
        .map(() => `(title LIKE ? ESCAPE '\\' OR body LIKE ? ESCAPE '\\')`)
        .join(" AND ");
      const params = words.flatMap((w) => [`%${escapeLike(w)}%`, `%${escapeLike(w)}%`]);
      return rows(
        `SELECT ${COLUMNS} FROM notes WHERE deleted_at IS NULL AND ${where} ORDER BY pinned DESC, updated_at DESC, id`,
        params,
      );
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
      await db.exec(`DELETE FROM notes WHERE id = ?`, [id]);
    },
    async emptyTrash() {
      await db.exec(`DELETE FROM notes WHERE deleted_at IS NOT NULL`);
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
        await tx.exec(
          `UPDATE notes SET title = ?, body = ?, updated_at = ?, deleted_at = NULL WHERE id = ?`,
          [v.title, v.body, now(), v.noteId],
        );
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
