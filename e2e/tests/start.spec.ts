import {
  expect,
  newContext,
  noteList,
  signUp,
  test,
  throttleCpu,
  uniqueName,
  writeNote,
} from "./fixtures";

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

test("a returning user's first drawn screen already lists their notes, not an empty list", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("drawn"));
  await writeNote(page, "There from the start");
  // The first frame that draws the notes' screen: when, and how many notes its list holds.
  await page.addInitScript(() => {
    const w = window as unknown as { firstDrawn?: { at: number; notes: number } };
    const look = (at: number) => {
      const screen = document.querySelector(".app");
      if (screen && screen.getClientRects().length > 0)
        w.firstDrawn = { at, notes: document.querySelectorAll("button.note-item").length };
      else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  await page.reload();
  await expect(noteList(page).getByRole("button", { name: /There from the start/ })).toBeVisible();
  const first = await page.evaluate(
    () => (window as { firstDrawn?: { at: number; notes: number } }).firstDrawn,
  );
  // Drawn with the note, unless the database took longer than the app waits for it (a busy
  // machine): then the controls are drawn at 800 ms, and the notes after.
  if (first!.at < 800) expect(first!.notes).toBe(1);
  else console.warn(`the notes' screen was first drawn at ${first!.at} ms, without its notes`);
  await context.close();
});

test("a database slow to open still shows the controls, then the notes once it opens", async ({
  browser,
  server,
}) => {
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("slowopen"));
  await writeNote(page, "Waited for");
  const userId = await page.evaluate(
    () => (JSON.parse(localStorage.getItem("notesync:session")!) as { userId: string }).userId,
  );
  // Another page of the site takes the database's lock as this tab reloads (an image, not the
  // app), so the reloaded tab cannot open the database until that page lets go.
  const holder = await context.newPage();
  await holder.goto(`${server.url}/icon-192.png`);
  await holder.evaluate((name) => {
    void navigator.locks.request(name, () => new Promise(() => undefined));
  }, `notesync-db:notesync-${userId}`);
  await page.reload();
  await expect(page.getByRole("button", { name: "New note" })).toBeVisible();
  await expect(page.getByRole("searchbox")).toBeVisible();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(0);
  await holder.close();
  await expect(noteList(page).getByRole("button", { name: /Waited for/ })).toBeVisible();
  await context.close();
});
