import {
  CHANGES_WAITING,
  expect,
  localStorageKind,
  newContext,
  noteList,
  onServer,
  signUp,
  test,
  uniqueName,
  writeNote,
} from "./fixtures";

/** Titles of the notes in the server's copy of the only user's database. */
const serverTitles = (dataDir: string) =>
  onServer(
    { dataDir },
    (db) => db.prepare("SELECT title FROM note_text ORDER BY title").pluck().all() as string[],
  );

// A profile that kept its notes in IndexedDB (before OPFS) opens with OPFS: the database moves,
// with the edit that had not reached the server yet, and the move happens once.
test("a database in IndexedDB moves to OPFS on first open, unsent edits included, once", async ({
  browser,
  server,
}) => {
  test.setTimeout(90_000);
  const { context, page } = await newContext(browser);
  await page.goto(server.url);
  await page.evaluate(() => localStorage.setItem("notesync:storage", "indexeddb"));
  await signUp(page, server, uniqueName("mover"));
  expect(await localStorageKind(page)).toBe("indexeddb");
  await writeNote(page, "Synced before the move", "on the server");
  await expect(page.getByRole("status")).toContainText("all changes synced");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });

  await context.setOffline(true);
  await expect(page.getByRole("status")).toContainText("Offline");
  await writeNote(page, "Unsent when it moved", "only in this browser");
  await expect(page.getByRole("status")).toContainText(/Offline: [1-9]\d* changes? waiting/);

  await page.evaluate(() => localStorage.removeItem("notesync:storage"));
  await page.reload();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(2);
  expect(await localStorageKind(page)).toBe("opfs");
  await expect(page.getByRole("status")).toContainText(CHANGES_WAITING);

  await context.setOffline(false);
  await expect(page.getByRole("status")).toContainText("all changes synced", { timeout: 20_000 });
  expect(serverTitles(server.dataDir)).toEqual(["Synced before the move", "Unsent when it moved"]);

  // Once: a note written on OPFS survives the next open (a second move would replace the file).
  await writeNote(page, "Written after the move");
  await page.reload();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(3);
  expect(await localStorageKind(page)).toBe("opfs");
  await context.close();
});
