import {
  test as base,
  expect,
  type Browser,
  type BrowserContext,
  type Page,
} from "@playwright/test";
import { startServer, type RunningServer, type ServerOptions } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import Database from "better-sqlite3";
import { pino } from "pino";

const here = path.dirname(fileURLToPath(import.meta.url));
export const webRoot = path.resolve(here, "../../packages/web/dist");
export const artifacts = path.resolve(here, "../artifacts");

export type TestServer = RunningServer & { dataDir: string; stop(): Promise<void> };

/**
 * A real NoteSync server on a free loopback port, serving the built web app, in a new data
 * directory that `stop()` removes with it.
 */
export async function startTestServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-e2e-"));
  const server = await startServer({
    port: 0,
    dataDir,
    webRoot,
    secret: "e2e-secret-e2e-secret",
    logger: pino({ level: process.env.NOTESYNC_TEST_LOG ?? "warn" }),
    ...options,
  });
  return Object.assign(server, {
    dataDir,
    async stop() {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

/** The server of a test (`startTestServer`), stopped after it. */
export const test = base.extend<{ server: TestServer }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixture's dependencies from this pattern
  server: async ({}, use) => {
    const server = await startTestServer();
    await use(server);
    await server.stop();
  },
});
export { expect };

let counter = 0;
export const uniqueName = (prefix: string) => `${prefix}${process.pid}x${counter++}`;

/** Opens the app, fills in the credentials, presses `button`, and waits until sync is live. */
async function enter(
  page: Page,
  server: RunningServer,
  username: string,
  password: string,
  button: "Sign up" | "Sign in",
) {
  await page.goto(server.url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: button }).click();
  await expect(page.getByRole("status")).toContainText("Live", { timeout: 20_000 });
}

export const signUp = (
  page: Page,
  server: RunningServer,
  username: string,
  password = "correct horse battery",
) => enter(page, server, username, password, "Sign up");

export const signIn = (
  page: Page,
  server: RunningServer,
  username: string,
  password = "correct horse battery",
) => enter(page, server, username, password, "Sign in");

/** The app's local storage: "opfs" (the default where it exists) or "indexeddb" (the app's switch). */
export type Storage = "opfs" | "indexeddb";

export async function newContext(
  browser: Browser,
  storage: Storage = "opfs",
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  if (storage === "indexeddb")
    await context.addInitScript(() => localStorage.setItem("notesync:storage", "indexeddb"));
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  page.on("console", (m) => {
    // Refused connections are expected while a test keeps a browser offline.
    if (m.type() === "error" && !m.text().includes("WebSocket connection"))
      console.error("page console:", m.text());
  });
  return { context, page };
}

/** Creates a note through the UI: New note, then type a title and a body. */
export async function writeNote(page: Page, title: string, body = ""): Promise<void> {
  await page.getByRole("button", { name: "New note" }).click();
  await expect(page.getByLabel("Title")).toHaveValue("");
  await page.getByLabel("Title").fill(title);
  if (body) await replaceBody(page, body);
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
}

/**
 * Replaces the body's text as a user would: select all, then type it in one go. (Playwright's
 * fill() sets a DOM selection that CodeMirror may not have read yet when the text arrives.)
 */
export async function replaceBody(page: Page, text: string): Promise<void> {
  await page.getByLabel("Body").click();
  await page.keyboard.press("ControlOrMeta+A");
  await page.keyboard.insertText(text);
}

/**
 * The status of a page whose changes wait for a connection, after a reload while offline too:
 * Chromium's emulated offline does not survive a reload in navigator.onLine (true there, and no
 * "offline" event follows), so the app then sees an unreachable server instead of a missing
 * network. Either way the changes wait, and the status counts them.
 */
export const CHANGES_WAITING = /(Offline|Server unreachable, [^:]+): [1-9]\d* changes? waiting/;

export const noteList = (page: Page) => page.getByRole("list", { name: /notes/i });

/**
 * The caret's offset in the body editor's text (one-line bodies: CodeMirror renders lines as
 * elements, so a range's text has no line breaks).
 */
export const bodyCaret = (page: Page) =>
  page.getByLabel("Body").evaluate((el) => {
    const selection = getSelection()!;
    const range = document.createRange();
    range.setStart(el, 0);
    range.setEnd(selection.focusNode!, selection.focusOffset);
    return range.toString().length;
  });

/** Where this page's local database is stored, as the app reports it. */
export const localStorageKind = (page: Page) =>
  page.evaluate(
    () => (window as unknown as { __notesync: { storage: Storage } }).__notesync.storage,
  );

/** A note's text as this browser's database holds it (the editor may show only part of a long one). */
export const storedNote = (page: Page, title: string) =>
  page.evaluate(async (t) => {
    const { db } = (
      window as unknown as {
        __notesync: { db: { query(sql: string, p: unknown[]): Promise<unknown[]> } };
      }
    ).__notesync;
    const rows = await db.query(
      "SELECT note_id AS id, title, body FROM note_text WHERE title = ?",
      [t],
    );
    return rows[0] as { id: string; title: string; body: string } | undefined;
  }, title);

/** Reads the server's copy of the only user's database (the one file in the data directory). */
export function onServer<T>(server: { dataDir: string }, read: (db: Database.Database) => T): T {
  const dir = path.join(server.dataDir, "users");
  const [file] = fs.readdirSync(dir).filter((f) => f.endsWith(".db"));
  const db = new Database(path.join(dir, file!), { readonly: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

/** A note's text as the server's database holds it. */
export const serverNote = (server: { dataDir: string }, id: string) =>
  onServer(
    server,
    (db) =>
      db.prepare("SELECT title, body FROM note_text WHERE note_id = ?").get(id) as
        { title: string; body: string } | undefined,
  );

/** Slows the page's CPU down `rate` times (Chrome DevTools Protocol), as on a slow phone. */
export async function throttleCpu(page: Page, rate: number): Promise<void> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Emulation.setCPUThrottlingRate", { rate });
}

/** Two browsers (separate contexts) signed in as one new user: `a` signed up, `b` signed in. */
export async function twoBrowsersOfOneUser(
  browser: Browser,
  server: RunningServer,
  prefix: string,
) {
  const user = uniqueName(prefix);
  const a = await newContext(browser);
  const b = await newContext(browser);
  await signUp(a.page, server, user);
  await signIn(b.page, server, user);
  return { user, a, b };
}
