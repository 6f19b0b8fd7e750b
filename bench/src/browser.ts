import { chromium, type BrowserContext, type Page, type Worker } from "@playwright/test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { here, seededAccount, startNoteSync } from "./common.js";
import { sleep, startChild, waitUntil } from "./procs.js";
import { fmt, percentile, summarize, table, type Summary } from "./stats.js";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Stamps the last WebSocket send and receive of a realm (a page, or the worker that runs the sync
 * engine), on the clock every realm shares (`performance.timeOrigin + performance.now()`). The
 * receive is the message event's own time (when its task began): this listener runs after the
 * engine's, which in the worker applies the changes before it yields.
 */
function stampWebSockets() {
  const g = globalThis as unknown as { __ws?: { sent: number; recv: number } };
  if (g.__ws) return;
  const stamps = (g.__ws = { sent: 0, recv: 0 });
  const now = () => performance.timeOrigin + performance.now();
  const send = Object.getOwnPropertyDescriptor(WebSocket.prototype, "send")!.value as (
    this: WebSocket,
    data: string | ArrayBufferLike | Blob | ArrayBufferView,
  ) => void;
  const watched = new WeakSet<WebSocket>();
  WebSocket.prototype.send = function (this: WebSocket, data) {
    stamps.sent = now();
    if (!watched.has(this)) {
      watched.add(this);
      this.addEventListener("message", (e) => (stamps.recv = performance.timeOrigin + e.timeStamp));
    }
    send.call(this, data);
  };
}

/**
 * In the database's worker: times each batch (a keystroke's save) from the moment its request
 * arrives until its reply is posted, so the time the page needs to hear the reply is left out.
 */
function timeBatchesInWorker() {
  type Message = {
    type?: string;
    request?: { client: string; seq: number; op: string };
    reply?: { client: string; seq: number };
  };
  const g = globalThis as unknown as {
    __batches?: number[];
    addEventListener(type: "message", listener: (e: MessageEvent<Message>) => void): void;
    postMessage(message: unknown): void;
  };
  if (g.__batches) return;
  const batches: number[] = (g.__batches = []);
  // The worker's own listener answers before this one runs (its awaits resolve in between), so
  // the arrival is the event's time stamp (when its task began), and either side may come first.
  const arrived = new Map<string, number>();
  const replied = new Map<string, number>();
  const match = (key: string) => {
    const [from, to] = [arrived.get(key), replied.get(key)];
    if (from === undefined || to === undefined) return;
    arrived.delete(key);
    replied.delete(key);
    batches.push(to - from);
  };
  g.addEventListener("message", ({ data, timeStamp }) => {
    if (data.type !== "request" || data.request?.op !== "batch") return;
    const key = `${data.request.client}:${data.request.seq}`;
    arrived.set(key, timeStamp);
    match(key);
  });
  const post = g.postMessage.bind(g);
  g.postMessage = (message: Message) => {
    if (message.reply) {
      const key = `${message.reply.client}:${message.reply.seq}`;
      if (replied.size > 1000) replied.clear(); // replies to requests other than batches
      replied.set(key, performance.now());
      match(key);
    }
    post(message);
  };
}

/**
 * Counts, in the database's worker, the writes and flushes of OPFS access handles (what a commit
 * costs in file I/O).
 */
function countFileIo() {
  type Proto = Record<"write" | "flush", (this: unknown, ...args: unknown[]) => unknown>;
  const g = globalThis as unknown as {
    __io?: Record<"write" | "flush", number>;
    FileSystemSyncAccessHandle?: { prototype: Proto };
  };
  const proto = g.FileSystemSyncAccessHandle?.prototype;
  if (g.__io || !proto) return;
  const io = (g.__io = { write: 0, flush: 0 });
  for (const method of ["write", "flush"] as const) {
    const original = proto[method];
    proto[method] = function (...args) {
      io[method]++;
      return original.apply(this, args);
    };
  }
}

/** A page or a worker, as far as running a function there goes. */
type Realm = { evaluate<R>(fn: () => R | Promise<R>): Promise<R> };

/** Where a page's WebSocket lives: in its database worker (OPFS), or in the page (IndexedDB). */
async function socketRealm(page: Page, storage: Storage): Promise<Realm> {
  if (storage === "indexeddb") return page;
  await waitUntil(async () => page.workers().length > 0, 10_000, 10);
  const worker: Worker = page.workers()[0]!;
  return worker;
}

type Handle = {
  __notesync: {
    db: {
      exec(sql: string, p: unknown[]): Promise<void>;
      batch(statements: unknown[], options?: unknown): Promise<void>;
      query<T>(sql: string, p?: unknown[]): Promise<T[]>;
      onChange(l: (e: { origin: string }) => void): void;
    };
    /** The sync client: its change events include the server's changes the engine applied. */
    sync: { on(event: "change", l: (e: { origin: string }) => void): void };
    storage: Storage;
  };
};

/** Where the app keeps its database: OPFS in the leading tab's worker, or IndexedDB in the page. */
export type Storage = "opfs" | "indexeddb";
export const STORAGES: readonly Storage[] = ["opfs", "indexeddb"];

/**
 * A Chromium with a profile on disk. `browser.newContext()` is off the record: its IndexedDB
 * and OPFS live in memory, and there every OPFS access-handle call is a round trip to the
 * browser process (measured: a 4 KB write 0.7 ms, against 0.025 ms on a disk profile).
 */
export async function diskBrowser(
  storage: Storage,
  ...initScripts: (() => void)[]
): Promise<{ context: BrowserContext; page: Page; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-bench-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.NOTESYNC_CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
  for (const script of initScripts) await context.addInitScript(script);
  await context.addInitScript(useStorage, storage);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Makes a new context's app use `storage` (the app's localStorage switch). */
export function useStorage(storage: Storage) {
  if (storage === "indexeddb") localStorage.setItem("notesync:storage", "indexeddb");
}
type Marks = {
  __applied: number;
  __ws: { sent: number; recv: number };
};

/**
 * Types `edits` x's, one at a time, at the end of the focused field of `a`, whose text starts
 * "t". Per keystroke: the ms from its keydown in `a` until `b`'s list (an element `.note-title`)
 * shows the new text, on the clock both pages share (`performance.timeOrigin + performance.now()`);
 * `b` stamps the moment itself, in a MutationObserver. `afterEach` gets the keydown's time.
 */
async function keystrokesToOtherList(
  a: Page,
  b: Page,
  edits: number,
  afterEach: (keyAt: number) => Promise<void> = async () => undefined,
): Promise<number[]> {
  await a.evaluate(() => {
    const w = window as unknown as { __keyAt: number };
    const stamp = () => (w.__keyAt = performance.timeOrigin + performance.now());
    document.addEventListener("keydown", stamp, true);
  });
  await b.evaluate(() => {
    const w = window as unknown as { __seen: Record<string, number> };
    w.__seen = {};
    new MutationObserver(() => {
      const now = performance.timeOrigin + performance.now();
      for (const el of document.querySelectorAll(".note-title")) {
        const text = el.textContent ?? "";
        if (text.startsWith("tx") && !(text in w.__seen)) w.__seen[text] = now;
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const visible: number[] = [];
  for (let i = 0; i < edits; i++) {
    const title = "t" + "x".repeat(i + 1);
    await a.keyboard.press("x");
    let seen = 0;
    await waitUntil(
      async () => {
        seen = await b.evaluate(
          (title) => (window as unknown as { __seen: Record<string, number> }).__seen[title] ?? 0,
          title,
        );
        return seen > 0;
      },
      30_000,
      // The reader's page stamps the moment itself; polling it often would only load its
      // main thread (each look is a task there).
      25,
    );
    const keyAt = await a.evaluate(() => (window as unknown as { __keyAt: number }).__keyAt);
    visible.push(seen - keyAt);
    await afterEach(keyAt);
    await sleep(20);
  }
  return visible;
}

/**
 * The floor of the keystroke path on this machine: the same two Chromiums, pages that send a
 * field's text on each input event to a bare WebSocket relay (in its own Node process, as
 * NoteSync's server is) and draw what arrives in a list, with no database, CRDT or framework;
 * once with the WebSocket in the page, once in a dedicated worker as NoteSync's is on OPFS.
 */
async function floorLatency(edits: number): Promise<Record<"page" | "worker", number[]>> {
  const floor = await startChild(path.join(here, "floor/server.js"));
  const browsers: Awaited<ReturnType<typeof diskBrowser>>[] = [];
  try {
    for (let i = 0; i < 2; i++) browsers.push(await diskBrowser("opfs"));
    const [a, b] = browsers.map((x) => x.page) as [Page, Page];
    const result = { page: [] as number[], worker: [] as number[] };
    for (const where of ["page", "worker"] as const) {
      for (const page of [a, b])
        await page.goto(`${floor.url}/keys.html${where === "worker" ? "?worker" : ""}`);
      for (const page of [a, b]) await page.locator("body[data-ready]").waitFor();
      await a.getByLabel("Title").fill("t");
      await b.locator(".note-title", { hasText: "t" }).waitFor();
      await a.getByLabel("Title").press("End");
      result[where] = await keystrokesToOtherList(a, b, edits);
      console.log(`  floor, WebSocket in the ${where}: ${fmt(summarize(result[where]))}`);
    }
    return result;
  } finally {
    for (const b of browsers) await b.close();
    await floor.stop();
  }
}

export async function signIn(
  page: Page,
  url: string,
  username: string,
  mode: "Sign up" | "Sign in",
  timeout = 30_000,
) {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("benchmark-password");
  await page.getByRole("button", { name: mode }).click();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout });
}

/** How much longer than the floor, at the median and the p95, in ms and as a ratio. */
function overFloor(s: Summary, floor: Summary): string {
  const more = (a: number, b: number) => `${(a - b).toFixed(1)} ms (${(a / b).toFixed(1)}x)`;
  return `${more(s.median, floor.median)} / ${more(s.p95, floor.p95)}`;
}

/**
 * Both storages in one run, each with its own user and pair of contexts: the keystroke path,
 * then a local commit of one edit on the writer's page.
 */
export async function browserLatency(edits = 100, commits = 200): Promise<string> {
  const floor = await floorLatency(edits);
  const results: Awaited<ReturnType<typeof storageLatency>>[] = [];
  // BENCH_STORAGES=opfs measures one storage (while working on it).
  for (const storage of STORAGES.filter((s) => process.env.BENCH_STORAGES?.includes(s) ?? true)) {
    console.log(`  ${storage}:`);
    results.push(await storageLatency(storage, edits, commits));
  }
  // BENCH_MANY_NOTES=0 skips the account of many notes (its first syncs take a minute or two).
  const manyNotes = Number(process.env.BENCH_MANY_NOTES ?? 10_000);
  if (!Number.isInteger(manyNotes) || manyNotes < 0)
    throw new Error(
      `BENCH_MANY_NOTES must be a number of notes, not ${process.env.BENCH_MANY_NOTES}`,
    );
  const many = manyNotes > 0 ? await manyNotesLatency(manyNotes, Math.min(edits, 50)) : null;
  const floorRows = (["page", "worker"] as const).map((where) => ({
    path: `the floor: bare WebSocket relay, socket in the ${where}`,
    summary: summarize(floor[where]),
  }));
  const rows = [
    ...floorRows,
    ...results.map((r) => ({ path: `NoteSync, ${r.storage}`, summary: r.visible })),
    ...(many
      ? [{ path: `NoteSync, opfs, an account of ${manyNotes} notes`, summary: summarize(many) }]
      : []),
  ];
  const [, workerFloor] = floorRows;
  return [
    "### Keystroke in one browser -> the other's list, against the floor of this machine\n",
    table(
      ["path", "median ms", "p95 ms", "p99 ms", "over the worker floor, median / p95 (ratio)"],
      rows.map(({ path, summary }) => [
        path,
        summary.median.toFixed(1),
        summary.p95.toFixed(1),
        summary.p99.toFixed(1),
        overFloor(summary, workerFloor!.summary),
      ]),
    ),
    ...results.map((r) => `### ${r.storage}\n\n${r.text}`),
    "### Local commit of one edit (ms, median / p95)\n",
    table(
      [
        "storage",
        "a keystroke's save in the database's worker, typing alone, a key every 100 ms",
        "a keystroke's save, in the database's worker",
        "a keystroke's save (one batch)",
        "an UPDATE every 100 ms",
        "UPDATEs back to back",
      ],
      results.map((r) => [
        r.storage,
        ...[
          r.commit.keystrokeAlone,
          r.commit.keystrokeInWorker,
          r.commit.keystroke,
          r.commit.spaced,
          r.commit.backToBack,
        ].map((c) => (c.n === 0 ? "n/a" : `${c.median.toFixed(2)} / ${c.p95.toFixed(2)}`)),
      ]),
    ),
  ].join("\n\n");
}

/**
 * Keystroke -> the other browser's list for an account of `notes` notes (both browsers have
 * synced them all first), on OPFS: each change shown makes a page read its list again. (On
 * IndexedDB the first sync of 10,000 notes alone takes minutes here.)
 */
async function manyNotesLatency(notes: number, edits: number): Promise<number[]> {
  const server = await startNoteSync();
  const browsers: Awaited<ReturnType<typeof diskBrowser>>[] = [];
  try {
    await seededAccount(server.url, "many", notes);
    for (let i = 0; i < 2; i++) browsers.push(await diskBrowser("opfs"));
    const [a, b] = browsers.map((x) => x.page) as [Page, Page];
    for (const page of [a, b]) {
      await signIn(page, server.url, "many", "Sign in", 300_000);
      await page
        .getByRole("list", { name: "Notes" })
        .getByText(`Note ${notes - 1}`, { exact: true })
        .waitFor({ timeout: 300_000 });
    }
    await a.getByRole("button", { name: "New note" }).click();
    await a.getByLabel("Title").fill("t");
    await b.getByRole("list", { name: "Notes" }).getByText("t", { exact: true }).waitFor();
    await a.getByLabel("Title").press("End");
    const visible = await keystrokesToOtherList(a, b, edits);
    console.log(`  opfs, an account of ${notes} notes: ${fmt(summarize(visible))}`);
    return visible;
  } finally {
    for (const x of browsers) await x.close();
    await server.stop();
  }
}

/**
 * A local commit of one edit: each keystroke's save while typing (the app's `db.batch`: the Yjs
 * update, the note's text and edit time, in one transaction), timed in the database's worker
 * (OPFS: while the other browser shows each key, and typing alone) and awaited in the page; an
 * UPDATE of one note's cell every 100 ms (the page's re-read of the list and the engine's push run
 * between); and UPDATEs back to back (each queues behind the reactions to the one before).
 */
type LocalCommits = Record<
  "keystrokeAlone" | "keystrokeInWorker" | "keystroke" | "spaced" | "backToBack",
  ReturnType<typeof summarize>
>;

/**
 * Two Chromium contexts of one user. The writer types one character at a time into a note's
 * title; the time runs from the keydown event in the writer's page until the other page's
 * note list shows the new title (a MutationObserver there records it). Both pages read the same clock
 * (`performance.timeOrigin + performance.now()`). The stages on the way are stamped too: local
 * commit, the writer's WebSocket send, the reader's receive, the reader's commit.
 */
async function storageLatency(
  storage: Storage,
  edits: number,
  commits: number,
): Promise<{ storage: Storage; text: string; commit: LocalCommits; visible: Summary }> {
  const server = await startNoteSync();
  const browsers: Awaited<ReturnType<typeof diskBrowser>>[] = [];
  try {
    for (let i = 0; i < 2; i++) browsers.push(await diskBrowser(storage));
    const pages = browsers.map((b) => b.page);
    const [a, b] = pages as [Page, Page];
    await signIn(a, server.url, "browser", "Sign up");
    await signIn(b, server.url, "browser", "Sign in");
    for (const page of pages) {
      const actual = await page.evaluate(() => (window as unknown as Handle).__notesync.storage);
      if (actual !== storage) throw new Error(`the app opened ${actual}, not ${storage}`);
    }
    const [aSocket, bSocket] = [await socketRealm(a, storage), await socketRealm(b, storage)];
    for (const realm of [aSocket, bSocket]) await realm.evaluate(stampWebSockets);
    if (storage === "opfs") {
      await aSocket.evaluate(timeBatchesInWorker);
      for (const realm of [aSocket, bSocket]) await realm.evaluate(countFileIo);
    }
    await a.getByRole("button", { name: "New note" }).click();
    await a.getByLabel("Title").fill("t");
    await b.getByRole("list", { name: "Notes" }).getByText("t", { exact: true }).waitFor();
    await a.getByLabel("Title").press("End");
    // Only the keystrokes below are timed and counted in the workers.
    const takeBatches = () =>
      aSocket.evaluate(() =>
        (globalThis as unknown as { __batches: number[] }).__batches.splice(0),
      );
    const takeIo = (realm: Realm) =>
      realm.evaluate(() => {
        const io = (globalThis as unknown as { __io: Record<"write" | "flush", number> }).__io;
        const taken = { ...io };
        io.write = io.flush = 0;
        return taken;
      });
    if (storage === "opfs") {
      await takeBatches();
      for (const realm of [aSocket, bSocket]) await takeIo(realm);
    }
    await a.evaluate(() => {
      const w = window as unknown as Marks & Handle & { __committed: number; __saves: number[] };
      const { db } = w.__notesync;
      const batch = db.batch.bind(db);
      w.__saves = [];
      db.batch = async (...args) => {
        const t0 = performance.now();
        try {
          return await batch(...args);
        } finally {
          w.__saves.push(performance.now() - t0);
        }
      };
      w.__notesync.db.onChange((e) => {
        if (e.origin === "local") w.__committed = performance.timeOrigin + performance.now();
      });
    });
    await b.evaluate(() => {
      const w = window as unknown as Marks & Handle;
      w.__notesync.sync.on("change", (e) => {
        if (e.origin === "remote") w.__applied = performance.timeOrigin + performance.now();
      });
    });
    const stages = {
      commit: [] as number[],
      sent: [] as number[],
      received: [] as number[],
      applied: [] as number[],
    };
    const visible = await keystrokesToOtherList(a, b, edits, async (t0) => {
      const [committed, applied] = [
        await a.evaluate(() => (window as unknown as { __committed: number }).__committed),
        await b.evaluate(() => (window as unknown as Marks).__applied),
      ];
      const sent = await aSocket.evaluate(() => (globalThis as unknown as Marks).__ws.sent);
      const received = await bSocket.evaluate(() => (globalThis as unknown as Marks).__ws.recv);
      stages.commit.push(committed - t0);
      stages.sent.push(sent - t0);
      stages.received.push(received - t0);
      stages.applied.push(applied - t0);
    });
    const s = summarize(visible);
    const median = (xs: number[]) =>
      percentile(
        [...xs].sort((x, y) => x - y),
        50,
      ).toFixed(1);
    console.log(`  Chromium -> Chromium: ${fmt(s)}`);
    const saves = await a.evaluate(() => (window as unknown as { __saves: number[] }).__saves);
    const inWorker = storage === "opfs" ? await takeBatches() : [];
    let io = "";
    if (storage === "opfs") {
      const perKey = (n: number) => (n / edits).toFixed(1);
      const [writer, reader] = [await takeIo(aSocket), await takeIo(bSocket)];
      io = `OPFS per keystroke: the writer ${perKey(writer.write)} writes and ${perKey(writer.flush)} flushes, the reader ${perKey(reader.write)} writes and ${perKey(reader.flush)} flushes`;
      console.log(`  ${io}`);
    }
    const updates = (gapMs: number) =>
      a.evaluate(
        async ([commits, gapMs]) => {
          const { db } = (window as unknown as Handle).__notesync;
          const [note] = await db.query<{ id: string }>("SELECT id FROM notes LIMIT 1");
          const times: number[] = [];
          for (let i = 0; i < commits; i++) {
            if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
            const t0 = performance.now();
            await db.exec("UPDATE notes SET position = ? WHERE id = ?", [i + 0.5, note!.id]);
            times.push(performance.now() - t0);
          }
          return times;
        },
        [commits, gapMs] as const,
      );
    const [spaced, backToBack] = [await updates(100), await updates(0)];
    let alone: number[] = [];
    if (storage === "opfs") {
      // A keystroke's save in a browser typing alone (one device, as a user types): the reader
      // closes, and the writer types a key every 100 ms (plus the key's own round trip).
      await browsers[1]!.close();
      for (let i = 0; i < edits; i++) {
        await a.keyboard.press("y");
        await sleep(100);
      }
      alone = await takeBatches();
    }
    const commit: LocalCommits = {
      keystrokeAlone: summarize(alone),
      keystrokeInWorker: summarize(inWorker),
      keystroke: summarize(saves),
      spaced: summarize(spaced),
      backToBack: summarize(backToBack),
    };
    if (storage === "opfs") {
      console.log(`  a keystroke's save, in the worker: ${fmt(commit.keystrokeInWorker)}`);
      console.log(`  the same, typing alone, a key every 100 ms: ${fmt(commit.keystrokeAlone)}`);
    }
    console.log(`  a keystroke's save: ${fmt(commit.keystroke)}`);
    console.log(`  an UPDATE every 100 ms: ${fmt(commit.spaced)}`);
    console.log(`  UPDATEs back to back: ${fmt(commit.backToBack)}`);
    const text =
      table(
        ["path", "median ms", "p95 ms", "p99 ms"],
        [
          [
            "keystroke in one browser -> visible in the other's list",
            s.median.toFixed(1),
            s.p95.toFixed(1),
            s.p99.toFixed(1),
          ],
        ],
      ) +
      "\n\nMedian time after the keydown, by stage:\n\n" +
      table(
        [
          "writer committed locally",
          "writer sent",
          "reader received",
          "reader committed",
          "reader's list shows it",
        ],
        [
          [
            median(stages.commit),
            median(stages.sent),
            median(stages.received),
            median(stages.applied),
            median(visible),
          ],
        ],
      );
    return { storage, text: io ? `${text}\n\n${io}` : text, commit, visible: s };
  } finally {
    for (const b of browsers) await b.close();
    await server.stop();
  }
}
