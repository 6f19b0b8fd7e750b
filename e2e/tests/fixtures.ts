import {
  test as base,
  expect,
  type Browser,
  type BrowserContext,
  type Page,
} from "@playwright/test";
import { startServer, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";

const here = path.dirname(fileURLToPath(import.meta.url));
export const webRoot = path.resolve(here, "../../packages/web/dist");
export const artifacts = path.resolve(here, "../artifacts");

/** A real NoteSync server on a free loopback port, serving the built web app, stopped after the test. */
export const test = base.extend<{ server: RunningServer & { dataDir: string } }>({
  // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixture's dependencies from this pattern
  server: async ({}, use) => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-e2e-"));
    const server = await startServer({
      port: 0,
      dataDir,
      webRoot,
      secret: "e2e-secret-e2e-secret",
      logger: pino({ level: process.env.NOTESYNC_TEST_LOG ?? "warn" }),
    });
    await use(Object.assign(server, { dataDir }));
    await server.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
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

export async function newContext(
  browser: Browser,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err.message));
  return { context, page };
}

/** Creates a note through the UI: New note, then type a title and a body. */
export async function writeNote(page: Page, title: string, body = ""): Promise<void> {
  await page.getByRole("button", { name: "New note" }).click();
  await expect(page.getByLabel("Title")).toHaveValue("");
  await page.getByLabel("Title").fill(title);
  if (body) await page.getByLabel("Body").fill(body);
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
}

export const noteList = (page: Page) => page.getByRole("list", { name: /notes/i });

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
