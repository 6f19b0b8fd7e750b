import { expect, newContext, noteList, signUp, test, throttleCpu, uniqueName } from "./fixtures";

test("New note clicked the moment the page appears makes a note, and what is typed is kept", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("early"));
  await throttleCpu(page, 4); // a slow phone: the local database takes longer to open
  await page.reload();
  // No waiting for the app to be ready: the button is there, so it must work.
  await page.getByRole("button", { name: "New note" }).click();
  await expect(page.getByLabel("Title")).toBeFocused();
  await page.keyboard.type("Clicked early", { delay: 30 });
  await expect(noteList(page).getByRole("button", { name: /Clicked early/ })).toBeVisible();
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await page.reload();
  await expect(noteList(page).getByRole("button", { name: /Clicked early/ })).toBeVisible();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await context.close();
});

test("a new note left empty is not left behind; one with only a title stays", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("tidy"));
  await page.getByRole("button", { name: "New note" }).click();
  await expect(page.getByLabel("Title")).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(noteList(page).getByRole("listitem")).toHaveCount(0);
  await expect(page.getByText("No notes yet")).toBeVisible();

  await page.getByRole("button", { name: "New note" }).click();
  await page.keyboard.type("Only a title");
  await page.getByRole("button", { name: "New note" }).click(); // leaves the first for a second one
  await page.keyboard.press("Escape");
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await expect(noteList(page).getByRole("button", { name: /Only a title/ })).toBeVisible();
  await page.reload();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await context.close();
});
