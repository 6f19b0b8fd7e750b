import type { Database } from "./database.js";

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

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

export function createNotesApi(db: Database, now: () => number = Date.now): NotesApi {
  const rows = async (sql: string, params: unknown[] = []) =>
    (await db.query<NoteRow>(sql, params)).map(toNote);
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
      await db.exec(`UPDATE notes SET ${sets.join(", ")}, updated_at = ? WHERE id = ?`, [
        ...params,
        now(),
        id,
      ]);
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
  };
  return api;
}
