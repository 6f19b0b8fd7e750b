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

test("markdown is rendered in the list preview and the read view, and never runs HTML", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("md"));
  await writeNote(
    page,
    "Formatted",
    '# Big heading\n\nSome **bold** and _slanted_ text, a [link](https://example.com) and `code`.\n\n- one\n- two\n\n<script>window.__ran = true</script><img src=x onerror="window.__ran = true">',
  );
  const item = noteList(page).getByRole("listitem").filter({ hasText: "Formatted" });
  await expect(item).toContainText("Big heading Some bold and slanted text, a link and code.");
  await expect(item).not.toContainText("**");
  await expect(item).not.toContainText("# Big");

  await page.getByRole("button", { name: "Read", exact: true }).click();
  await expect(page.getByRole("button", { name: "Read", exact: true })).toHaveAttribute(
    "aria-pressed",
    "true",
  );
  const view = page.getByRole("document", { name: "Rendered note" });
  await expect(view.getByRole("heading", { name: "Big heading" })).toBeVisible();
  await expect(view.getByRole("link", { name: "link" })).toHaveAttribute(
    "href",
    "https://example.com",
  );
  await expect(view.getByRole("listitem")).toHaveText(["one", "two"]);
  // Raw HTML typed in a note is shown as text, not run.
  await expect(view).toContainText("<script>window.__ran = true</script>");
  expect(await page.evaluate(() => (window as { __ran?: boolean }).__ran)).toBeUndefined();
  await expect(view.locator("script, img")).toHaveCount(0);
  await expect(page.getByLabel("Body")).toBeHidden();

  // Back to editing: the editor is still bound to the note.
  await page.getByRole("button", { name: "Read", exact: true }).click();
  await replaceBody(page, "## Changed");
  await page.getByRole("button", { name: "Read", exact: true }).click();
  await expect(view.getByRole("heading", { name: "Changed" })).toBeVisible();
  await context.close();
});

test("after a reload the list shows the previews the last page drew, new text anew, and a sign-out forgets them", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("previews"));
  await writeNote(page, "Kept", 'Some **bold** text <img src=x onerror="window.__ran = true">');
  const item = noteList(page).getByRole("listitem").filter({ hasText: "Kept" });
  await expect(item.locator("strong")).toHaveText("bold");

  // The reload draws the list from the previews the last page kept (its first screen's).
  await page.reload();
  await expect(item.locator("strong")).toHaveText("bold");
  await expect(item).toContainText('Some bold text <img src=x onerror="window.__ran = true">');
  await expect(item.locator("img, script")).toHaveCount(0);
  expect(await page.evaluate(() => localStorage.getItem("notesync:previews"))).toContain(
    "<strong>bold</strong>",
  );

  // A body changed since is drawn from its new text.
  await item.getByRole("button").click();
  await replaceBody(page, "Now _slanted_");
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await page.reload();
  await expect(item.locator("em")).toHaveText("slanted");
  await expect(item).not.toContainText("bold");
  expect(await page.evaluate(() => (window as { __ran?: boolean }).__ran)).toBeUndefined();

  // Signing out leaves none of the last user's notes in the browser's localStorage.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  expect(
    await page.evaluate(() => Object.keys(localStorage).map((k) => localStorage.getItem(k))),
  ).not.toContainEqual(expect.stringContaining("slanted"));
  await context.close();
});

test("the list sorts by last edited, last created or title, shows dates, and keeps the choice", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("sorter"));
  await writeNote(page, "Banana", "yellow");
  await writeNote(page, "apple", "red");
  await writeNote(page, "Cherry", "dark");
  const items = noteList(page).getByRole("listitem");
  await expect(page.getByLabel("Sort by")).toHaveValue("edited");
  await expect(items).toHaveText([/Cherry/, /apple/, /Banana/]);

  // Each item shows when it was edited (today: the time).
  await expect(items.first().getByRole("time")).toHaveText(/^\d{1,2}[:.]\d{2}/);

  await page.getByLabel("Sort by").selectOption({ label: "Title" });
  await expect(items).toHaveText([/apple/, /Banana/, /Cherry/]);

  // Editing Banana moves it up when sorted by last edited, not when sorted by creation.
  await items.filter({ hasText: "Banana" }).getByRole("button").click();
  await replaceBody(page, "yellow and ripe");
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await page.getByLabel("Sort by").selectOption({ label: "Last created" });
  await expect(items).toHaveText([/Cherry/, /apple/, /Banana/]);
  await page.getByLabel("Sort by").selectOption({ label: "Last edited" });
  await expect(items).toHaveText([/Banana/, /Cherry/, /apple/]);

  await page.getByLabel("Sort by").selectOption({ label: "Title" });
  await page.reload();
  await expect(page.getByLabel("Sort by")).toHaveValue("title");
  await expect(items).toHaveText([/apple/, /Banana/, /Cherry/]);
  await context.close();
});
