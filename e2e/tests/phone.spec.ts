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
  // A clock the test can move on, to reach the next history snapshot (one every five minutes).
  await page.clock.install();
  await signUp(page, server, uniqueName("phone"));
  await expect(page.getByLabel("Search")).toHaveAttribute("placeholder", "Search");
  await writeNote(page, "On the go", "written on a phone");
  await expect(noteList(page)).toBeHidden();
  // The footer and the history are on screen, not cut off.
  await expect(page.getByText("Saved", { exact: true })).toBeInViewport();
  await expect(page.getByText(/^Edited /)).toBeInViewport();
  // A new note has no history yet: no empty version.
  await expect(page.getByRole("button", { name: "History (0)" })).toBeInViewport();
  await page.clock.fastForward("06:00");
  await page.getByLabel("Body").press("End");
  await page.keyboard.type(" and on a train");
  await expect(page.getByRole("button", { name: "History (1)" })).toBeInViewport();
  await page.getByRole("button", { name: "History (1)" }).click();
  const version = page.getByRole("region", { name: "History" }).getByRole("listitem");
  // The first version holds the text as it was, readable in full at this width.
  await expect(version).toContainText("On the go: written on a phone");
  await expect(version.getByRole("button", { name: "Use this version" })).toBeInViewport();
  const snippet = await version.getByText("On the go: written on a phone").boundingBox();
  expect(snippet!.width).toBeGreaterThan(200);
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
