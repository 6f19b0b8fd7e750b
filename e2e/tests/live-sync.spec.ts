import path from "node:path";
import {
  artifacts,
  expect,
  newContext,
  noteList,
  signUp,
  test,
  uniqueName,
  writeNote,
  replaceBody,
  twoBrowsersOfOneUser,
} from "./fixtures";

test("a note typed in one browser appears in another without a click, and an edit comes back", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "alice");
  await a.page.screenshot({ path: path.join(artifacts, "notes-empty.png") });

  await writeNote(a.page, "Groceries", "milk, eggs");
  await expect(
    noteList(b.page).getByRole("listitem").filter({ hasText: "Groceries" }),
  ).toBeVisible();

  await noteList(b.page)
    .getByRole("button", { name: /Groceries/ })
    .click();
  await expect(b.page.getByLabel("Body")).toHaveText("milk, eggs");
  await replaceBody(b.page, "milk, eggs, bread");
  await expect(a.page.getByLabel("Body")).toHaveText("milk, eggs, bread");
  await a.page.screenshot({ path: path.join(artifacts, "notes-editor.png") });
  await a.context.close();
  await b.context.close();
});

test("two tabs of one browser: an edit in one appears in the other", async ({
  browser,
  server,
}) => {
  const user = uniqueName("tabs");
  const { context, page: first } = await newContext(browser);
  await signUp(first, server, user);
  const second = await context.newPage();
  await second.goto(server.url);
  await expect(second.getByRole("status")).toContainText("Live");

  await writeNote(first, "From the first tab");
  await expect(noteList(second).getByRole("button", { name: /From the first tab/ })).toBeVisible();
  await writeNote(second, "From the second tab");
  await expect(noteList(first).getByRole("button", { name: /From the second tab/ })).toBeVisible();
  await context.close();
});

test("another user sees none of the first user's notes", async ({ browser, server }) => {
  const a = await newContext(browser);
  await signUp(a.page, server, uniqueName("owner"));
  await writeNote(a.page, "Private plans", "do not share");
  await expect(a.page.getByRole("status")).toContainText("all changes synced");

  const b = await newContext(browser);
  await signUp(b.page, server, uniqueName("stranger"));
  await expect(b.page.getByText("No notes yet")).toBeVisible();
  await expect(noteList(b.page).getByRole("listitem")).toHaveCount(0);
  await b.page.screenshot({ path: path.join(artifacts, "signed-in-empty.png") });
  await a.context.close();
  await b.context.close();
});

test("search, trash, restore, delete forever and empty the bin, each asking first", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await page.goto(server.url);
  await page.screenshot({ path: path.join(artifacts, "sign-in.png") });
  await signUp(page, server, uniqueName("organizer"));
  await writeNote(page, "Trip to Lisbon", "flights and hotel");
  await writeNote(page, "Recipe", "pastel de nata");
  await page.getByLabel("Search").fill("lisbon");
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await page.getByLabel("Search").fill("nata");
  await expect(noteList(page).getByRole("listitem")).toHaveText([/Recipe/]);
  await page.getByLabel("Search").fill("");
  await expect(noteList(page).getByRole("listitem")).toHaveCount(2);

  await noteList(page)
    .getByRole("button", { name: /Recipe/ })
    .click();
  await page.getByRole("button", { name: "Trash" }).click();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await page.getByRole("button", { name: "Restore" }).click();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(2);

  await noteList(page)
    .getByRole("button", { name: /Recipe/ })
    .click();
  await page.getByRole("button", { name: "Trash" }).click();
  await page.getByRole("tab", { name: "Bin" }).click();
  await noteList(page)
    .getByRole("button", { name: /Recipe/ })
    .click();
  await page.screenshot({ path: path.join(artifacts, "trash.png") });
  // Deleting forever asks first; Cancel keeps the note.
  await page.getByRole("button", { name: "Delete forever" }).click();
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await page.getByRole("button", { name: "Delete forever" }).click();
  await expect(page.getByRole("alertdialog", { name: "Delete forever?" })).toContainText(
    "cannot be undone",
  );
  await page.getByRole("button", { name: "Yes, delete forever" }).click();
  await expect(page.getByText("The trash is empty.")).toBeVisible();

  // Empty bin deletes every note in the trash, after asking.
  for (const title of ["Old draft", "Older draft"]) await writeNote(page, title);
  await page.getByRole("tab", { name: "All notes" }).click();
  for (const title of ["Old draft", "Older draft"]) {
    await noteList(page)
      .getByRole("button", { name: new RegExp(title) })
      .click();
    await page.getByRole("button", { name: "Trash" }).click();
  }
  await page.getByRole("tab", { name: "Bin" }).click();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(2);
  await page.getByRole("button", { name: "Empty bin" }).click();
  await expect(page.getByRole("alertdialog", { name: "Empty the bin?" })).toContainText(
    "Delete 2 notes forever",
  );
  await page.getByRole("button", { name: "Yes, empty the bin" }).click();
  await expect(page.getByText("The trash is empty.")).toBeVisible();
  await page.getByRole("tab", { name: "All notes" }).click();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(1);
  await context.close();
});
