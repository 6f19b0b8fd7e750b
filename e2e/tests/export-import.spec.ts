import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Page } from "@playwright/test";
import {
  expect,
  newContext,
  noteList,
  replaceBody,
  signUp,
  test,
  uniqueName,
  writeNote,
} from "./fixtures";

const settings = (page: Page) => page.getByRole("dialog", { name: "Settings" });

async function openSettings(page: Page) {
  await page.getByRole("button", { name: "Settings" }).click();
  await expect(settings(page)).toBeVisible();
  return settings(page);
}

/** What the list shows of every note (title, date, preview, tags), sorted by `sort`. */
async function listAs(page: Page, sort: string): Promise<string[]> {
  await page.getByLabel("Sort by").selectOption({ label: sort });
  await page.waitForTimeout(200);
  return noteList(page).getByRole("listitem").allInnerTexts();
}

test("export all notes as a zip of markdown files, then import it into a new account: the same notes, tags and dates", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("exporter"));
  await writeNote(page, "Groceries", "- milk\n- **eggs**");
  await page.getByLabel("Add tag").fill("home");
  await page.getByLabel("Add tag").press("Enter");
  await writeNote(page, "Ideas: a/b?", "# Big one\n\nTell nobody.");
  await page.getByLabel("Add tag").fill("work, secret");
  await page.getByLabel("Add tag").press("Enter");
  await page.getByRole("button", { name: "Pin" }).click();
  await writeNote(page, "Plain", "just text");
  await noteList(page)
    .getByRole("button", { name: /Groceries/ })
    .click();
  await replaceBody(page, "- milk\n- **eggs**\n- bread");
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  const byCreated = await listAs(page, "Last created");
  const byEdited = await listAs(page, "Last edited");
  expect(byEdited[0]).toMatch(/Ideas: a\/b\?/); // pinned first
  expect(byEdited[1]).toMatch(/Groceries/);

  const dialog = await openSettings(page);
  const downloading = page.waitForEvent("download");
  await dialog.getByRole("button", { name: "Export all notes" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^notesync-export-\d{4}-\d{2}-\d{2}\.zip$/);
  const zip = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "notesync-export-")), "export.zip");
  await download.saveAs(zip);
  await expect(dialog.getByRole("status")).toHaveText("Exported 3 notes.");
  await dialog.getByRole("button", { name: "Sign out of this device" }).click();

  await signUp(page, server, uniqueName("importer"));
  const fresh = await openSettings(page);
  await fresh.getByLabel("Import a zip or markdown files").setInputFiles(zip);
  await expect(fresh.getByRole("status")).toHaveText("Imported 3 notes.");
  // Importing the same zip again adds nothing.
  await fresh.getByLabel("Import a zip or markdown files").setInputFiles(zip);
  await expect(fresh.getByRole("status")).toHaveText("Imported 0 notes. 3 already here, left out.");
  await fresh.getByRole("button", { name: "Close" }).click();

  expect(await listAs(page, "Last created")).toEqual(byCreated);
  expect(await listAs(page, "Last edited")).toEqual(byEdited);
  await noteList(page).getByRole("button", { name: /Ideas/ }).click();
  await expect(page.getByRole("list", { name: "Tags of this note" })).toHaveText(
    /#secret\s*×?\s*#work/,
  );
  await expect(page.getByRole("button", { name: "Unpin" })).toBeVisible();
  await context.close();
});

test("an Obsidian vault folder imports cleanly: titles from file names, tags, dates; settings and images left out", async ({
  browser,
  server,
}) => {
  const vault = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "notesync-vault-")), "My Vault");
  const write = (file: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(vault, file)), { recursive: true });
    fs.writeFileSync(path.join(vault, file), text);
  };
  write(".obsidian/app.json", "{}");
  write(
    "Projects/Garden plan.md",
    "---\ntags: [garden, projects/home]\ncreated: 2023-05-04T10:00:00Z\nupdated: 2023-06-01T08:30:00Z\n---\n## Beds\n\nRaised beds, see [[Soil]].\n",
  );
  write("Soil.md", "Loam and **compost**. #garden\n");
  write("attachments/bed.png", "not really a png");
  // Bear writes the title as the first heading.
  write("From Bear.md", "# Pancakes\n\nFlour, eggs, milk. #recipes/breakfast\n");
  const soilTime = new Date("2022-01-02T03:04:05Z");
  fs.utimesSync(path.join(vault, "Soil.md"), soilTime, soilTime);

  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("obsidian"));
  const dialog = await openSettings(page);
  await dialog.getByLabel("Import a folder of markdown files").setInputFiles(vault);
  await expect(dialog.getByRole("status")).toHaveText(
    "Imported 3 notes. 1 file that is not a note left out.",
  );
  await dialog.getByRole("button", { name: "Close" }).click();

  await page.getByLabel("Sort by").selectOption({ label: "Title" });
  const items = noteList(page).getByRole("listitem");
  await expect(items).toHaveText([
    /^Garden plan\s*Jun 1, 2023\s*Beds\s+Raised beds, see \[\[Soil\]\]\.\s*#garden #projects\/home$/,
    /^Pancakes.*Flour, eggs, milk\. #recipes\/breakfast\s*#recipes\/breakfast$/s,
    /^Soil\s*Jan 2, 2022\s*Loam and compost\. #garden\s*#garden$/,
  ]);
  await expect(
    page.getByRole("list", { name: "Tags", exact: true }).getByRole("button"),
  ).toHaveText([/#garden\s*2/, /#projects\/home\s*1/, /#recipes\/breakfast\s*1/]);
  await page.getByLabel("Sort by").selectOption({ label: "Last created" });
  await expect(items.last()).toHaveText(/^Soil/);
  await context.close();
});
