import type { Page } from "@playwright/test";
import {
  expect,
  newContext,
  noteList,
  signUp,
  test,
  uniqueName,
  type TestServer,
} from "./fixtures";

interface Handle {
  __notesync: { db: { exec(sql: string, p?: unknown[]): Promise<void> } };
}

const NOTES = 250;

/** `NOTES` notes titled "<prefix> <i>", the oldest first, in one statement. */
async function insertNotes(page: Page, prefix: string): Promise<void> {
  await page.evaluate(
    async ({ count, prefix }) => {
      const rows = Array.from({ length: count }, (_, i) => [
        `${prefix}-${i}`,
        `${prefix} ${i}`,
        i,
        i,
      ]);
      const { db } = (window as unknown as Handle).__notesync;
      await db.exec(
        `INSERT INTO notes (id, title, created_at, updated_at) VALUES ${rows.map(() => "(?, ?, ?, ?)").join(", ")}`,
        rows.flat(),
      );
    },
    { count: NOTES, prefix },
  );
}

/** Lets the page be idle a few times over (when a list that renders everything would grow). */
const idleAWhile = (page: Page) =>
  page.evaluate(async () => {
    for (let i = 0; i < 5; i++) await new Promise((resolve) => requestIdleCallback(resolve));
  });

/**
 * Signs up a new account with `NOTES` notes, reloads, and lets the list settle: its items, and how
 * many it renders (fewer than all of them, or it would not be a test of a long list).
 */
async function longList(page: Page, server: TestServer, prefix: string) {
  await signUp(page, server, uniqueName(prefix.toLowerCase()));
  await insertNotes(page, prefix);
  await page.reload();
  const items = noteList(page).getByRole("listitem");
  await expect(items.first()).toHaveText(new RegExp(`${prefix} ${NOTES - 1}`));
  await idleAWhile(page);
  const rendered = await items.count();
  expect(rendered).toBeLessThan(NOTES);
  return { items, rendered };
}

/** Scrolls the list to its end until its oldest note ("<prefix> 0") shows; returns that note. */
async function scrollToOldest(page: Page, prefix: string) {
  const list = noteList(page);
  const oldest = list.getByRole("button", { name: new RegExp(`^${prefix} 0\\b`) });
  await expect(async () => {
    await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
    await expect(oldest).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 20_000 });
  return oldest;
}

// A long list renders what can be seen, and more as it is scrolled or walked with the keyboard:
// a page holding every note of a large account is slow to draw, restyle and tear down.
for (const viewport of [
  { name: "desktop", width: 1280, height: 800 },
  { name: "phone", width: 390, height: 844 },
]) {
  test(`a list of ${NOTES} notes shows them all as it is scrolled, on a ${viewport.name}`, async ({
    browser,
    server,
  }) => {
    const { context, page } = await newContext(browser);
    await page.setViewportSize(viewport);
    // Not all of them are on the page, only what the list's view needs.
    const { items } = await longList(page, server, "Long");

    // Scrolled to its end again and again, the list reaches the oldest note.
    await scrollToOldest(page, "Long");
    await expect(items).toHaveCount(NOTES);
    await context.close();
  });
}

test("the arrow keys walk past the last note rendered", async ({ browser, server }) => {
  const { context, page } = await newContext(browser);
  const { items, rendered } = await longList(page, server, "Walk");
  await items
    .nth(rendered - 1)
    .getByRole("button")
    .focus();
  await page.keyboard.press("ArrowDown");
  // The note after the last one rendered is selected, and focused.
  const next = noteList(page).getByRole("button", {
    name: new RegExp(`^Walk ${NOTES - 1 - rendered}\\b`),
  });
  await expect(next).toBeFocused();
  await expect(next).toHaveAttribute("aria-current", "true");
  await context.close();
});

test("on a phone, the list hidden behind an open note does not grow while the note changes", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await page.setViewportSize({ width: 390, height: 844 });
  const { items, rendered } = await longList(page, server, "Hidden");
  await items.first().getByRole("button").click();
  await expect(noteList(page)).toBeHidden();
  // Each save changes the list's notes, behind the note.
  await page.getByLabel("Title").press("End");
  await page.keyboard.type(" edited", { delay: 50 });
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await idleAWhile(page);
  await page.getByRole("button", { name: /Back to list/ }).click();
  await expect(items.first()).toHaveText(/Hidden 249 edited/);
  expect(await items.count()).toBe(rendered);
  await context.close();
});

// The list reads a window of its notes (the ones rendered and a hundred more), not all of them:
// a note open from far down it stays open when the list is read again from its top.
test("a note opened far down a long list stays open when the list's order changes or it is searched", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await longList(page, server, "Far");
  const list = noteList(page);
  const oldest = await scrollToOldest(page, "Far");
  await oldest.click();
  await expect(page.getByLabel("Title")).toHaveValue("Far 0");

  // Created in the same order as edited: the list starts again from its top, without it.
  await page.getByLabel("Sort by").selectOption({ label: "Last created" });
  await expect(list.getByRole("listitem").first()).toHaveText(new RegExp(`Far ${NOTES - 1}`));
  await idleAWhile(page);
  await expect(oldest).toHaveCount(0);
  await expect(page.getByLabel("Title")).toHaveValue("Far 0");

  // Every note matches, and it ranks last (the same rank, the oldest edit): past the results read.
  await page.getByLabel("Search").fill("far");
  await expect(list.getByRole("listitem").first()).toHaveText(new RegExp(`Far ${NOTES - 1}`));
  await idleAWhile(page);
  await expect(oldest).toHaveCount(0);
  await expect(page.getByLabel("Title")).toHaveValue("Far 0");
  // One it does not match closes, as before.
  await page.getByLabel("Search").fill("far 249");
  await expect(list.getByRole("listitem")).toHaveCount(1);
  await expect(page.getByLabel("Title")).toBeHidden();
  await context.close();
});
