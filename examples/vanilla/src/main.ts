// A NoteSync frontend without a framework: sign in (or up), list the notes, create and edit them.
// Everything it knows about sync comes from @notesync/client-core's public API.
import {
  Y,
  createCrossTabSyncClient,
  createNotesApi,
  openBrowserDatabase,
  replaceText,
  type Database,
  type NoteDocument,
  type NotesApi,
  type SyncClient,
  type SyncStatus,
} from "@notesync/client-core/browser";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";
import "./style.css";

interface Session {
  readonly token: string;
  readonly userId: string;
}

interface Open {
  readonly db: Database;
  readonly sync: SyncClient;
  readonly notes: NotesApi;
  document: { readonly note: NoteDocument; readonly unbind: () => void } | null;
}

const SESSION_KEY = "notesync-example:session";

const element = <T extends Element>(selector: string): T => {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`index.html has no ${selector}`);
  return found;
};
const signInForm = element<HTMLFormElement>("#sign-in");
const signInProblem = element<HTMLParagraphElement>("#sign-in [role=alert]");
const notesSection = element<HTMLElement>("#notes");
const statusLine = element<HTMLParagraphElement>("#notes [role=status]");
const list = element<HTMLUListElement>("#notes ul");
const editor = element<HTMLFormElement>("#editor");
const titleInput = element<HTMLInputElement>("#editor [name=title]");
const bodyInput = element<HTMLTextAreaElement>("#editor [name=body]");

let open: Open | null = null;
let selectedId: string | null = null;

/** The origin of edits typed here, which the observer below must not write back. */
const TYPED = Symbol("typed");

/**
 * Binds an input or a textarea to a Y.Text: typing becomes the smallest Yjs edit (replaceText
 * diffs the old text against the new), and an edit from another tab or device is applied to the
 * field with the caret moved along with the text around it.
 */
function bindField(field: HTMLInputElement | HTMLTextAreaElement, text: Y.Text): () => void {
  field.value = text.toString();
  const onInput = () => text.doc!.transact(() => replaceText(text, field.value), TYPED);
  const observer = (event: Y.YTextEvent, transaction: Y.Transaction) => {
    if (transaction.origin === TYPED) return;
    let start = field.selectionStart ?? 0;
    let end = field.selectionEnd ?? 0;
    let index = 0;
    for (const op of event.delta) {
      if (op.retain !== undefined) index += op.retain;
      else if (typeof op.insert === "string") {
        if (index < start) start += op.insert.length;
        if (index < end) end += op.insert.length;
        index += op.insert.length;
      } else if (op.delete !== undefined) {
        start -= Math.max(0, Math.min(start, index + op.delete) - index);
        end -= Math.max(0, Math.min(end, index + op.delete) - index);
      }
    }
    const focused = document.activeElement === field;
    field.value = text.toString();
    if (focused) field.setSelectionRange(start, end);
  };
  text.observe(observer);
  field.addEventListener("input", onInput);
  return () => {
    text.unobserve(observer);
    field.removeEventListener("input", onInput);
  };
}

function showStatus(status: SyncStatus): void {
  const names = {
    offline: "Offline",
    connecting: "Connecting",
    syncing: "Syncing",
    live: "Live",
    error: "Error",
  };
  const pending = status.pending > 0 ? `, ${status.pending} to send` : "";
  const why = status.state === "error" && status.error ? `: ${status.error.message}` : "";
  statusLine.textContent = `${names[status.state]}${pending}${why}`;
  // The server no longer accepts this session (signed out elsewhere, password changed).
  if (status.state === "error" && status.error?.code === "unauthorized") void signOut();
}

async function renderList(): Promise<void> {
  if (!open) return;
  const notes = await open.notes.list();
  list.replaceChildren(
    ...notes.map((note) => {
      const item = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = note.title || "Untitled";
      if (note.id === selectedId) button.setAttribute("aria-current", "true");
      button.addEventListener("click", () => void select(note.id));
      item.append(button);
      return item;
    }),
  );
}

async function closeDocument(): Promise<void> {
  const current = open?.document;
  if (!current || !open) return;
  open.document = null;
  current.unbind();
  await current.note.close(); // stores anything not stored yet
}

/**
 * Operations changing the note the fields show (a select, a New note) that have not ended: the
 * fields are read-only while any runs, or what is typed would go to the note being left, or be
 * lost when the next one's text fills the fields.
 */
let switching = 0;
function startSwitch(): void {
  switching++;
  for (const field of [titleInput, bodyInput]) field.readOnly = true;
}
/** The fields are editable once no switch runs, and only with a note bound to them. */
function endSwitch(): void {
  switching--;
  if (switching > 0 || !open?.document) return;
  for (const field of [titleInput, bodyInput]) field.readOnly = false;
}

async function select(id: string): Promise<void> {
  if (!open) return;
  startSwitch();
  try {
    await closeDocument();
    selectedId = id;
    const note = await open.notes.openDocument(id);
    const unbindTitle = bindField(titleInput, note.title);
    const unbindBody = bindField(bodyInput, note.body);
    open.document = {
      note,
      unbind: () => {
        unbindTitle();
        unbindBody();
      },
    };
  } finally {
    endSwitch();
  }
  editor.hidden = false;
  await renderList();
}

async function start(session: Session): Promise<void> {
  signInForm.hidden = true;
  notesSection.hidden = false;
  const name = `notesync-example-${session.userId}`;
  const db = await openBrowserDatabase({ name, wasmUrl });
  const sync = createCrossTabSyncClient({
    name, // the tabs of one user share one connection
    db,
    url: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/sync?user=${session.userId}`,
    getToken: () => session.token,
  });
  // Open documents hear about the server's and other tabs' writes from the sync client.
  const notes = createNotesApi(db, { onChange: (listener) => sync.on("change", listener) });
  open = { db, sync, notes, document: null };
  sync.on("status", showStatus);
  sync.on("change", ({ tables }) => {
    if (tables.some((t) => t === "notes" || t === "note_updates")) void renderList();
  });
  showStatus(sync.status);
  sync.start();
  await renderList();
}

async function signOut(): Promise<void> {
  const session = loadSession();
  localStorage.removeItem(SESSION_KEY);
  if (open) {
    const { sync, db } = open;
    await closeDocument();
    open = null;
    await sync.stop();
    await db.close();
  }
  selectedId = null;
  editor.hidden = true;
  notesSection.hidden = true;
  signInForm.hidden = false;
  list.replaceChildren();
  if (session)
    await fetch("/api/logout", {
      method: "POST",
      headers: { authorization: `Bearer ${session.token}` },
    }).catch(() => undefined);
}

function loadSession(): Session | null {
  try {
    return JSON.parse(localStorage.getItem(SESSION_KEY) ?? "null") as Session | null;
  } catch {
    return null;
  }
}

signInForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const mode =
    (event.submitter as HTMLButtonElement | null)?.value === "signup" ? "signup" : "login";
  const data = new FormData(signInForm);
  signInProblem.textContent = "";
  void (async () => {
    try {
      const response = await fetch(`/api/${mode}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
      });
      const body = (await response.json().catch(() => ({}))) as Partial<Session> & {
        message?: string;
      };
      if (!response.ok || !body.token || !body.userId) {
        signInProblem.textContent = body.message ?? `the server answered ${response.status}`;
        return;
      }
      const session: Session = { token: body.token, userId: body.userId };
      localStorage.setItem(SESSION_KEY, JSON.stringify(session));
      await start(session);
    } catch (err) {
      signInProblem.textContent = `cannot reach the server (${(err as Error).message})`;
    }
  })();
});

element<HTMLButtonElement>("#new-note").addEventListener("click", () => {
  const current = open;
  if (!current) return;
  // Read-only from the click on, not only once the note is made: a title typed at once went to
  // the last note, or was dropped once select() made the field read-only.
  startSwitch();
  void (async () => {
    try {
      const note = await current.notes.create({ title: "", body: "" });
      await select(note.id);
      titleInput.focus();
    } finally {
      endSwitch();
    }
  })();
});

element<HTMLButtonElement>("#sign-out").addEventListener("click", () => void signOut());

const saved = loadSession();
if (saved) void start(saved);
else signInForm.hidden = false;
