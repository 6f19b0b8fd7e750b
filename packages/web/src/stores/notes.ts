import {
  coalesced,
  createCrossTabSyncClient,
  createNotesApi,
  INITIAL_STATUS,
  deleteBrowserDatabase,
  type BrowserDatabase,
  type Note,
  type NoteDocument,
  type NoteSort,
  type NotesApi,
  type TagCount,
  type NoteVersion,
  type SyncClient,
  type SyncStatus,
} from "@notesync/client-core/browser";
import { defineStore } from "pinia";
import { computed, ref, shallowRef } from "vue";
import { databaseName, openLocalDatabase } from "../local-database";
import type { Session } from "./session";

export type View = "notes" | "trash";

/**
 * Notes the list draws at once, a screenful with room to scroll (the rest follow when the
 * browser is idle): drawing 100 took 60-110 ms of a returning user's start-up.
 */
export const FIRST_SCREEN = 30;
/**
 * Notes read beyond those the list renders, so that scrolling finds them read. The list is read
 * again on every change shown, so it reads a window of it, not every note: with 10,000 notes,
 * reading all of them on each keystroke synced in from another device made it show there
 * 213 ms after the key (median; 393 ms p95), against about 20 ms with a few notes.
 */
export const READ_AHEAD = 100;

/** The replicated tables whose changes the screen shows. */
const LISTED_TABLES = new Set(["notes", "note_versions", "note_updates", "note_tags"]);
/**
 * Keystrokes typed in this browser change only the open note's title and preview in the list:
 * it is read again at most this often while typing, not per key (reading the list of 10,000
 * notes takes a quarter of a second, and the sync engine's reads would wait behind it).
 */
const TYPING_REFRESH_MS = 200;

const SORT_KEY = "notesync:sort";
const SORTS: readonly NoteSort[] = ["edited", "created", "title"];
function loadSort(): NoteSort {
  const stored = localStorage.getItem(SORT_KEY);
  return SORTS.find((s) => s === stored) ?? "edited";
}

/**
 * The notes the screen shows, and the sync status. Re-queries whenever client-core reports a
 * change to `notes`, whether from this tab, another tab, or the server. Holds no sync logic.
 */
/** What the status says before a sync client reports its own. */
const CONNECTING: SyncStatus = { ...INITIAL_STATUS, state: "connecting" };

export const useNotesStore = defineStore("notes", () => {
  const notes = ref<Note[]>([]);
  const view = ref<View>("notes");
  const query = ref("");
  const selectedId = ref<string | null>(null);
  /** The tag the list is filtered by; null for all notes. */
  const tag = ref<string | null>(null);
  const sort = ref<NoteSort>(loadSort());
  const tags = shallowRef<TagCount[]>([]);
  const status = shallowRef<SyncStatus>(CONNECTING);
  const ready = ref(false);
  /** The list has been read since the database opened (its first screen, at least). */
  const listRead = ref(false);
  const openError = ref("");
  const recentlyTrashed = ref<Note | null>(null);
  const conflicted = shallowRef<Set<string>>(new Set());
  /** Open conflicts and history of the selected note. */
  const conflicts = shallowRef<NoteVersion[]>([]);
  const history = shallowRef<NoteVersion[]>([]);
  let db: BrowserDatabase | null = null;
  let api: NotesApi | null = null;
  let client: SyncClient | null = null;
  const cleanups: (() => void)[] = [];
  let typingRefresh: ReturnType<typeof setTimeout> | null = null;

  /**
   * Resolves once the local database is open. Controls can be used before that (keyboard
   * shortcuts at once; the screen is drawn at 800 ms at the latest when the database is slow to
   * open); what they ask for waits here instead of being dropped (a "New note" made at once).
   */
  let markOpen: () => void = () => undefined;
  let opened = new Promise<void>((resolve) => (markOpen = resolve));
  /** Notes shown before their row is written, kept in the list until it is. */
  const creating = new Map<string, Note>();
  /** Notes made with "New note" in this tab: left empty, they are removed when closed. */
  const createdHere = new Set<string>();
  /** The writes of notes made with "New note", until stored. */
  const storing = new Map<string, Promise<void>>();

  /** How many notes of the list or a search (not of the trash) are read; see READ_AHEAD. */
  let windowSize = FIRST_SCREEN + READ_AHEAD;
  /** Whether the list has more notes than those read. */
  const hasMore = ref(false);
  /** The selected note when it is in the list but past the notes read (the order changed, say). */
  const selectedBeyond = shallowRef<Note | null>(null);
  const selected = computed(
    () =>
      notes.value.find((n) => n.id === selectedId.value) ??
      (selectedBeyond.value?.id === selectedId.value ? selectedBeyond.value : null),
  );

  /** Re-queries what the screen shows; a burst of changes costs at most one extra query. */
  const refresh = coalesced(async () => {
    const q = api;
    if (!q) return;
    try {
      // What the list is asked for; if any of it changes meanwhile, this run's result is stale
      // and the run that change asked for (coalesced: right after this one) shows the list.
      const asked = { view: view.value, query: query.value, sort: sort.value, tag: tag.value };
      const options = { sort: asked.sort, ...(asked.tag !== null && { tag: asked.tag }) };
      const plainList = asked.view === "notes" && !asked.query.trim();
      const stillAsked = () =>
        q === api &&
        JSON.stringify({
          view: view.value,
          query: query.value,
          sort: sort.value,
          tag: tag.value,
        }) === JSON.stringify(asked);
      // Notes made with "New note" and not stored yet (or stored after the list was read):
      // looked up at the last moment, so a new note never drops out of the list.
      const show = (list: Note[]) => {
        const unstored = plainList
          ? [...creating.values()].filter((n) => !list.some((s) => s.id === n.id))
          : [];
        notes.value = [...unstored, ...list];
      };
      let list: Note[];
      let more = false;
      if (asked.view === "trash") list = await q.listTrash();
      else
        ({ list, more } = await readWindow((limit) =>
          asked.query.trim()
            ? q.search(asked.query, { ...options, limit })
            : q.list({ ...options, limit }),
        ));
      const id = selectedId.value;
      /** The selected note when `list` (cut short if `more`) leaves it out but the whole has it. */
      const pastWindow = async (list: Note[], more: boolean, tagShown: string | null) => {
        if (!more || id === null || list.some((n) => n.id === id)) return null;
        if (!asked.query.trim()) return inList(q, id, tagShown);
        // Whether it matches is the search's to say: read whole, as before the window, in this
        // rare case (a note open that ranks past the results read).
        const all = await q.search(asked.query, tagShown === null ? {} : { tag: tagShown });
        return all.find((n) => n.id === id) ?? null;
      };
      // Read before the list is shown, or its editor would close and open again.
      let beyond = asked.view === "trash" ? null : await pastWindow(list, more, asked.tag);
      const showList = (list: Note[]) => {
        show(list);
        listRead.value = true;
        hasMore.value = more;
        selectedBeyond.value = beyond;
      };
      // Shown before the tags, conflicts and history are read (an edit from another device shows
      // a few queries sooner), unless the tag filter may turn out to be gone.
      const shownEarly = asked.tag === null && stillAsked();
      if (shownEarly) showList(list);
      const allTags = await q.tags();
      // A filter by a tag no note has any more would show an empty list with no way to see why.
      const tagGone = asked.tag !== null && !allTags.some((t) => t.tag === asked.tag);
      if (tagGone && plainList) {
        resetWindow();
        ({ list, more } = await readWindow((limit) => q.list({ sort: asked.sort, limit })));
        beyond = await pastWindow(list, more, null);
      }
      const conflictedIds = await q.conflictedNoteIds();
      const openConflicts = id ? await q.conflicts(id) : [];
      const versions = id ? await q.history(id) : [];
      // Closed meanwhile (signed out, a new token), or asked for something else: stale.
      if (!stillAsked()) return;
      if (!shownEarly) showList(list);
      tags.value = allTags;
      if (tagGone) tag.value = null;
      conflicted.value = conflictedIds;
      conflicts.value = openConflicts;
      history.value = versions;
    } catch (err) {
      // The database was closed under the query (sign-out, a new token): nothing to show.
      if (q === api) throw err;
    }
  });

  /** The window's notes of what `read` gives (asked for one more), and whether it had more. */
  async function readWindow(
    read: (limit: number) => Promise<Note[]>,
  ): Promise<{ list: Note[]; more: boolean }> {
    const size = windowSize;
    const list = await read(size + 1);
    return { list: list.slice(0, size), more: list.length > size };
  }

  /** The note `id` if the list (not in the trash, with the tag it shows) has it. */
  async function inList(q: NotesApi, id: string, tagShown: string | null): Promise<Note | null> {
    const note = await q.get(id);
    if (!note || note.deletedAt !== null) return null;
    return tagShown === null || note.tags.includes(tagShown) ? note : null;
  }

  /** The list renders `count` notes: they are read, and READ_AHEAD more if the list has them. */
  async function readAtLeast(count: number): Promise<void> {
    if (count + READ_AHEAD <= windowSize) return;
    windowSize = count + READ_AHEAD;
    if (hasMore.value) await refresh();
  }

  /** Another list (a search, a tag, the trash, another order) is read from its top again. */
  function resetWindow(): void {
    windowSize = FIRST_SCREEN + READ_AHEAD;
  }

  /**
   * At start-up, the top of the list before the whole of it: with 10,000 notes, reading all of
   * them took 250-380 ms of a returning user's start-up in a browser, a screenful a few.
   */
  async function showFirstScreen(q: NotesApi): Promise<void> {
    if (view.value !== "notes" || query.value.trim()) return;
    const first = await q.list({
      sort: sort.value,
      ...(tag.value !== null && { tag: tag.value }),
      limit: FIRST_SCREEN,
    });
    performance.mark("notesync:first-screen");
    // Unless something was shown meanwhile (a note made with New note, a refresh).
    if (q !== api) return;
    if (notes.value.length === 0) notes.value = first;
    listRead.value = true;
  }

  /** The last close: the database must be closed before it is opened again (a new token). */
  let closing: Promise<void> = Promise.resolve();

  /** Counts opens and closes: an open that a close (or another open) overtook stops there. */
  let openRun = 0;

  async function open(session: Session): Promise<void> {
    const run = ++openRun;
    await closing;
    if (run !== openRun) return;
    let opening: BrowserDatabase;
    try {
      opening = await openLocalDatabase(session.userId);
    } catch (err) {
      if (run === openRun)
        openError.value = `could not open the local database: ${(err as Error).message}`;
      return;
    }
    // Closed meanwhile (signed out, another user, a new token): this database is no one's.
    if (run !== openRun) {
      await opening.close().catch(() => undefined);
      return;
    }
    db = opening;
    try {
      await startUsing(session, opening, () => run === openRun);
    } catch (err) {
      if (run === openRun)
        openError.value = `could not read the local database: ${(err as Error).message}`;
    }
  }

  /**
   * Syncs the open database and reads the list, unless it is closed meanwhile (`stillOpen`);
   * throws what stops either.
   */
  async function startUsing(
    session: Session,
    database: BrowserDatabase,
    stillOpen: () => boolean,
  ): Promise<void> {
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sync?user=${session.userId}`;
    const sync = createCrossTabSyncClient({
      name: databaseName(session.userId),
      db: database,
      url,
      getToken: () => session.token,
    });
    client = sync;
    // Open documents learn of other tabs' and the server's writes from the sync client.
    api = createNotesApi(database, { onChange: (listener) => sync.on("change", listener) });
    const firstScreen = showFirstScreen(api);
    markOpen();
    // A handle for debugging and for the end-to-end tests (integrity checks run SQL through it).
    (window as unknown as { __notesync?: unknown }).__notesync = {
      db: database,
      storage: database.storage,
      sync,
    };
    cleanups.push(
      sync.on("change", (e) => {
        if (!e.tables.some((t) => LISTED_TABLES.has(t))) return;
        if (e.origin === "local" && e.tables.every((t) => t === "note_updates")) {
          typingRefresh ??= setTimeout(() => {
            typingRefresh = null;
            void refresh();
          }, TYPING_REFRESH_MS);
          return;
        }
        void refresh();
      }),
      () => {
        if (typingRefresh !== null) clearTimeout(typingRefresh);
        typingRefresh = null;
      },
      sync.on("status", (s) => (status.value = s)),
    );
    const reconnect = () => client?.reconnectNow();
    window.addEventListener("online", reconnect);
    window.addEventListener("offline", reconnect);
    cleanups.push(
      () => window.removeEventListener("online", reconnect),
      () => window.removeEventListener("offline", reconnect),
    );
    // The list first: the engine's start reads the database too (its cursors, what waits to go).
    await firstScreen.catch(() => undefined); // the whole list's query says what is wrong
    if (!stillOpen()) return;
    sync.start();
    status.value = sync.status;
    await refresh();
    if (stillOpen()) ready.value = true;
  }

  /** Stops syncing and closes the database; safe to call twice. */
  function close(): Promise<void> {
    openRun++;
    cleanups.splice(0).forEach((c) => c());
    const [closingClient, closingDb] = [client, db];
    client = null;
    db = null;
    api = null;
    status.value = CONNECTING;
    notes.value = [];
    hasMore.value = false;
    selectedBeyond.value = null;
    resetWindow();
    selectedId.value = null;
    ready.value = false;
    listRead.value = false;
    creating.clear();
    createdHere.clear();
    opened = new Promise<void>((resolve) => (markOpen = resolve));
    const previous = closing;
    closing = (async () => {
      await previous;
      await closingClient?.stop();
      await closingDb?.close();
    })();
    return closing;
  }

  /** Closes the database and deletes it from this browser: the notes stay only on the server. */
  async function removeLocalCopy(userId: string): Promise<void> {
    await close();
    await deleteBrowserDatabase(databaseName(userId));
  }

  /** Every note outside the trash, with what an export needs. */
  async function allNotes(): Promise<Note[]> {
    await opened;
    return api ? api.list({ sort: "created" }) : [];
  }

  /**
   * Adds notes (an import), each with its own dates and tags. A note whose title and text are
   * already those of a note here is skipped, so importing one file twice adds it once.
   */
  async function importNotes(
    files: readonly {
      title: string;
      body: string;
      tags: readonly string[];
      createdAt?: number;
      updatedAt?: number;
      pinned?: boolean;
    }[],
  ): Promise<{ added: number; duplicates: number }> {
    await opened;
    if (!api) throw new Error("the notes are not open");
    const existing = new Set((await api.list()).map((n) => `${n.title}\u0000${n.body}`));
    const fresh = files.filter((f) => {
      const key = `${f.title}\u0000${f.body}`;
      if (existing.has(key)) return false;
      existing.add(key);
      return true;
    });
    await api.createMany(fresh);
    const added = fresh.length;
    const duplicates = files.length - added;
    await refresh();
    return { added, duplicates };
  }

  /** Shows the new, empty note at once, so typing right after "New note" lands in it. */
  async function createNote(): Promise<Note | null> {
    const t = Date.now();
    const note: Note = {
      id: crypto.randomUUID(),
      title: "",
      body: "",
      pinned: false,
      createdAt: t,
      updatedAt: t,
      deletedAt: null,
      tags: tag.value !== null ? [tag.value] : [],
    };
    if (view.value !== "notes" || query.value !== "") resetWindow();
    view.value = "notes";
    query.value = "";
    notes.value = [note, ...notes.value];
    selectedId.value = note.id;
    creating.set(note.id, note);
    createdHere.add(note.id);
    const stored = (async () => {
      await opened;
      await api!.create({ id: note.id, tags: note.tags });
    })();
    storing.set(note.id, stored);
    try {
      await stored;
      // Listed as unstored until a query that started after the write has shown it: a query
      // already under way may have read the list just before the note was stored.
      await refresh();
    } finally {
      creating.delete(note.id);
      storing.delete(note.id);
    }
    return note;
  }

  async function save(id: string, patch: { pinned?: boolean }): Promise<void> {
    await opened;
    await api?.update(id, patch);
  }

  /**
   * A note made here with "New note" and left with no title and no text is removed when its
   * editor closes, instead of piling up as "Untitled" in every device's list.
   */
  async function discardIfEmpty(id: string): Promise<void> {
    if (!createdHere.delete(id)) return;
    // Left before it was even stored: wait for that, or the empty note would appear after.
    await storing.get(id)?.catch(() => undefined);
    await opened;
    const note = await api?.get(id);
    if (!note || note.title !== "" || note.body !== "") return;
    creating.delete(id);
    await api?.deleteForever(id);
    await refresh();
  }

  /** The note's live Yjs document, for the editor (which closes it). */
  async function openDocument(id: string): Promise<NoteDocument> {
    await opened;
    if (!api) throw new Error("the notes are not open");
    return api.openDocument(id);
  }

  async function trash(id: string): Promise<void> {
    recentlyTrashed.value =
      notes.value.find((n) => n.id === id) ??
      (selectedBeyond.value?.id === id ? selectedBeyond.value : null);
    await api?.trash(id);
    if (selectedId.value === id) selectedId.value = null;
  }

  async function restore(id: string): Promise<void> {
    await api?.restore(id);
    if (recentlyTrashed.value?.id === id) recentlyTrashed.value = null;
  }

  async function deleteForever(id: string): Promise<void> {
    await api?.deleteForever(id);
    if (selectedId.value === id) selectedId.value = null;
  }

  /** Deletes every note in the trash, on every device. */
  async function emptyTrash(): Promise<void> {
    await opened;
    await api?.emptyTrash();
    selectedId.value = null;
    await refresh();
  }

  async function addTag(id: string, name: string): Promise<void> {
    await opened;
    await api?.addTag(id, name);
  }

  async function removeTag(id: string, name: string): Promise<void> {
    await opened;
    await api?.removeTag(id, name);
  }

  /** Shows only the notes with `name` (null: all notes). */
  async function setTag(name: string | null): Promise<void> {
    resetWindow();
    tag.value = name;
    view.value = "notes";
    await refresh();
  }

  async function setSort(next: NoteSort): Promise<void> {
    resetWindow();
    sort.value = next;
    localStorage.setItem(SORT_KEY, next);
    await refresh();
  }

  async function select(id: string | null): Promise<void> {
    selectedId.value = id;
    await refresh();
  }

  async function useVersion(versionId: string): Promise<void> {
    await api?.useVersion(versionId);
  }

  async function keepBoth(versionId: string): Promise<void> {
    await api?.keepBoth(versionId);
  }

  async function dismissConflict(versionId: string): Promise<void> {
    await api?.dismissConflict(versionId);
  }

  async function setView(next: View): Promise<void> {
    resetWindow();
    view.value = next;
    if (next === "trash") tag.value = null;
    selectedId.value = null;
    recentlyTrashed.value = null;
    await refresh();
  }

  async function setQuery(text: string): Promise<void> {
    resetWindow();
    query.value = text;
    await refresh();
  }

  return {
    notes,
    hasMore,
    readAtLeast,
    view,
    query,
    selectedId,
    selected,
    tag,
    tags,
    sort,
    addTag,
    removeTag,
    setTag,
    setSort,
    status,
    ready,
    listRead,
    openError,
    recentlyTrashed,
    conflicted,
    conflicts,
    history,
    select,
    useVersion,
    keepBoth,
    dismissConflict,
    open,
    close,
    removeLocalCopy,
    allNotes,
    importNotes,
    createNote,
    discardIfEmpty,
    openDocument,
    save,
    trash,
    restore,
    deleteForever,
    emptyTrash,
    setView,
    setQuery,
  };
});
