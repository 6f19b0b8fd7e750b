import path from "node:path";
import { artifacts, expect, noteList, signUp, test, uniqueName, writeNote } from "./fixtures";

test("on a phone-sized screen the list and the editor take turns, and the keyboard still works", async ({
  browser,
  server,
}) => {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
  });
  const page = await context.newPage();
  await signUp(page, server, uniqueName("phone"));
  await writeNote(page, "On the go", "written on a phone");
  await expect(noteList(page)).toBeHidden();
  await page.screenshot({ path: path.join(artifacts, "phone-editor.png") });
  await page.getByRole("button", { name: /Back to list/ }).click();
  await expect(noteList(page).getByRole("button", { name: /On the go/ })).toBeVisible();
  await page.screenshot({ path: path.join(artifacts, "phone-list.png") });

  // Alt+N makes a new note, "/" goes to search.
  await page.keyboard.press("Alt+N");
  await expect(page.getByLabel("Title")).toBeFocused();
  await page.keyboard.type("Typed after Alt+N");
  await page.keyboard.press("Escape");
  await page.keyboard.press("/");
  await expect(page.getByLabel("Search")).toBeFocused();
  await page.keyboard.type("alt");
  await expect(noteList(page).getByRole("listitem")).toHaveText([/Typed after Alt\+N/]);
  await context.close();
});
