import type { Page } from "@playwright/test";
import { expect, noteList, twoBrowsersOfOneUser, test, writeNote } from "./fixtures";

const tagFilter = (page: Page) => page.getByRole("list", { name: "Tags", exact: true });
const noteTags = (page: Page) => page.getByRole("list", { name: "Tags of this note" });

async function addTags(page: Page, ...tags: string[]) {
  for (const t of tags) {
    await page.getByLabel("Add tag").fill(t);
    await page.getByLabel("Add tag").press("Enter");
    await expect(noteTags(page)).toContainText(`#${t.toLowerCase().replace(/^#/, "")}`);
  }
}

test("a note has several tags, the tag list filters the list, and tags sync to another browser", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "tagger");
  await writeNote(a.page, "Quarterly plan", "numbers");
  await addTags(a.page, "Work", "#ideas");
  await writeNote(a.page, "Shopping", "milk");
  await addTags(a.page, "home");
  await writeNote(a.page, "Standup", "notes for standup");
  await addTags(a.page, "work");

  // The list shows each note's tags; the tag list counts them.
  await expect(
    noteList(a.page).getByRole("listitem").filter({ hasText: "Quarterly plan" }),
  ).toContainText("#ideas #work");
  await expect(tagFilter(a.page).getByRole("button")).toHaveText([
    /#home\s*1/,
    /#ideas\s*1/,
    /#work\s*2/,
  ]);

  // Filtering, in the other browser: the tags arrived without a click.
  await expect(tagFilter(b.page).getByRole("button", { name: "#work (2)" })).toBeVisible();
  await tagFilter(b.page).getByRole("button", { name: "#work (2)" }).click();
  await expect(tagFilter(b.page).getByRole("button", { name: "#work (2)" })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  await expect(b.page.getByRole("list", { name: "Notes tagged #work" })).toBeVisible();
  await expect(noteList(b.page).getByRole("listitem")).toHaveText([/Standup/, /Quarterly plan/]);

  // Removing a tag in b takes the note out of a's filtered list.
  await tagFilter(a.page).getByRole("button", { name: "#work (2)" }).click();
  await expect(noteList(a.page).getByRole("listitem")).toHaveCount(2);
  await noteList(b.page)
    .getByRole("button", { name: /Standup/ })
    .click();
  await b.page.getByRole("button", { name: "Remove tag work" }).click();
  await expect(noteList(a.page).getByRole("listitem")).toHaveText([/Quarterly plan/]);
  await expect(tagFilter(a.page).getByRole("button", { name: "#work (1)" })).toBeVisible();

  // A new note made while a tag is chosen has that tag.
  await writeNote(a.page, "Another work item");
  await expect(noteTags(a.page)).toHaveText(/#work/);
  await expect(noteList(a.page).getByRole("listitem")).toHaveCount(2);

  // Pressing the chosen tag again shows every note.
  await tagFilter(a.page).getByRole("button", { name: "#work (2)" }).click();
  await expect(noteList(a.page).getByRole("listitem")).toHaveCount(4);
  await a.context.close();
  await b.context.close();
});
