import PouchDB from "pouchdb-browser";

/**
 * Sends the notes a browser's old PouchDB database holds to NoteSync, read with PouchDB itself
 * (the IndexedDB adapter the old app used). Load it from the old app's origin: only pages of that
 * origin can open its databases. The NoteSync server must list the origin in --import-origin.
 */
export { PouchDB };

interface PouchChange {
  id: string;
  changes: { rev: string }[];
  deleted?: boolean;
  doc?: { _conflicts?: string[] } & Record<string, unknown>;
}

/** What the server answered, summed over the batches. */
export interface BrowserImportReport {
  documents: number;
  counts: Record<string, number>;
  designDocuments: number;
  unmapped: { id: string; reason: string }[];
  attachments: { docId: string; name: string; contentType: string; bytes: number }[];
}

/** The PouchDB databases this origin holds (PouchDB names its IndexedDB databases `_pouch_<name>`). */
export async function listPouchDatabases(): Promise<string[]> {
  const all = await indexedDB.databases();
  return all
    .map((d) => d.name ?? "")
    .filter((n) => n.startsWith("_pouch_") && !n.includes("-mrview-"))
    .map((n) => n.slice("_pouch_".length))
    .sort();
}

async function post(url: string, body: unknown, token?: string): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  const answer = (await res.json().catch(() => ({}))) as { message?: string };
  if (!res.ok) throw new Error(answer.message ?? `${url} answered ${res.status}`);
  return answer;
}

/** A NoteSync session token for the user. */
export async function signIn(
  server: string,
  username: string,
  password: string,
): Promise<{ token: string; userId: string }> {
  return (await post(`${server}/api/login`, { username, password })) as {
    token: string;
    userId: string;
  };
}

export interface SendOptions {
  /** The PouchDB database's name (as the old app opened it). */
  readonly name: string;
  /** The NoteSync server, `https://notes.example`. */
  readonly server: string;
  readonly token: string;
  /** The signed-in user: named in the URL, so a multi-node router sends it to the user's node. */
  readonly userId: string;
  /** Documents per request. */
  readonly batchSize?: number;
  readonly onProgress?: (report: BrowserImportReport) => void;
}

/** Largest request body sent: the server takes up to 8 MB. */
const MAX_BODY_CHARS = 6 * 1024 * 1024;

/** Sends changes (with their leaves), halving a batch whose body would be too large. */
async function sendInParts(
  options: SendOptions,
  changes: PouchChange[],
  leaves: Record<string, unknown[]>,
  report: BrowserImportReport,
): Promise<void> {
  const own = Object.fromEntries(
    changes.filter((c) => leaves[c.id]).map((c) => [c.id, leaves[c.id]]),
  );
  const body = { changes, leaves: own };
  if (JSON.stringify(body).length > MAX_BODY_CHARS) {
    if (changes.length === 1) {
      report.unmapped.push({ id: changes[0]!.id, reason: "too large to send (over 6 MB)" });
      return;
    }
    const half = Math.ceil(changes.length / 2);
    await sendInParts(options, changes.slice(0, half), leaves, report);
    await sendInParts(options, changes.slice(half), leaves, report);
    return;
  }
  const url = `${options.server}/api/import/pouchdb?user=${encodeURIComponent(options.userId)}`;
  const answer = (await post(url, body, options.token)) as Omit<BrowserImportReport, "documents">;
  for (const [key, n] of Object.entries(answer.counts))
    report.counts[key] = (report.counts[key] ?? 0) + n;
  report.designDocuments += answer.designDocuments;
  report.unmapped.push(...answer.unmapped);
  report.attachments.push(...answer.attachments);
}

/**
 * Reads every change of the database (all leaves, with conflicts) in batches and sends each to
 * `POST /api/import/pouchdb`. Sending the same database again changes nothing on the server.
 * The old database is only read.
 */
export async function sendPouchDatabase(options: SendOptions): Promise<BrowserImportReport> {
  const db = new PouchDB(options.name, { skip_setup: true });
  const report: BrowserImportReport = {
    documents: 0,
    counts: {},
    designDocuments: 0,
    unmapped: [],
    attachments: [],
  };
  try {
    let since: unknown = 0;
    for (;;) {
      const page = (await db.changes({
        style: "all_docs",
        include_docs: true,
        conflicts: true,
        since,
        limit: options.batchSize ?? 200,
      })) as { results: PouchChange[]; last_seq: unknown };
      if (page.results.length === 0) break;
      const leaves: Record<string, unknown[]> = {};
      for (const c of page.results)
        if (!c.deleted && (c.changes.length > 1 || (c.doc?._conflicts?.length ?? 0) > 0))
          leaves[c.id] = ((await db.get(c.id, { open_revs: "all" })) as { ok?: unknown }[])
            .filter((leaf) => leaf.ok)
            .map((leaf) => leaf.ok);
      await sendInParts(options, page.results, leaves, report);
      report.documents += page.results.length;
      options.onProgress?.(report);
      since = page.last_seq;
    }
  } finally {
    await db.close();
  }
  return report;
}
