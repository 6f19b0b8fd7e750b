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
  // How many notes the list holds in the first frame that draws the notes' screen at all.
  await page.addInitScript(() => {
    const w = window as unknown as { firstDrawn?: { notes: number } };
    const look = () => {
      const screen = document.querySelector(".app");
      if (screen && screen.getClientRects().length > 0)
        w.firstDrawn = { notes: document.querySelectorAll("button.note-item").length };
      else requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  });
  await page.reload();
  await expect(noteList(page).getByRole("button", { name: /There from the start/ })).toBeVisible();
  const first = await (
    await page.waitForFunction(() => (window as { firstDrawn?: { notes: number } }).firstDrawn)
  ).jsonValue();
  const marks = await page.evaluate(() => ({
    reason: (performance.getEntriesByName("notesync:first-frame")[0] as PerformanceMark | undefined)
      ?.detail as string | undefined,
    listReadAt: performance.getEntriesByName("notesync:first-screen")[0]?.startTime,
  }));
  if (marks.reason === "timer") {
    // A machine too busy to read the list within the 800 ms the screen waits for it: the
    // controls were drawn first, and only because the list came later.
    expect(marks.listReadAt).toBeGreaterThan(800);
    console.warn(`the list was read at ${marks.listReadAt} ms, after the screen was drawn`);
  } else {
    expect(marks.reason).toBe("list");
    expect(first?.notes).toBe(1);
  }
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
  const lock = `notesync-db:notesync-${userId}`;
  await holder.evaluate((name) => {
    void navigator.locks.request(name, () => new Promise(() => undefined));
  }, lock);
  // Queued behind this tab, which holds the lock until it reloads.
  await holder.waitForFunction(
    async (name) => (await navigator.locks.query()).pending?.some((l) => l.name === name),
    lock,
  );
  await page.reload();
  await expect(page.getByRole("button", { name: "New note" })).toBeVisible();
  await expect(page.getByRole("searchbox")).toBeVisible();
  await expect(noteList(page).getByRole("listitem")).toHaveCount(0);
  // Used before the database opens: kept, and stored once it does.
  await page.getByRole("button", { name: "New note" }).click();
  await expect(page.getByLabel("Title")).toBeFocused();
  await page.keyboard.type("Typed before the open", { delay: 20 });
  await holder.close();
  await expect(noteList(page).getByRole("button", { name: /Waited for/ })).toBeVisible();
  await expect(noteList(page).getByRole("button", { name: /Typed before the open/ })).toBeVisible();
  await expect(page.getByText("Saved", { exact: true })).toBeVisible();
  await page.reload();
  await expect(noteList(page).getByRole("button", { name: /Typed before the open/ })).toBeVisible();
  await context.close();
});
