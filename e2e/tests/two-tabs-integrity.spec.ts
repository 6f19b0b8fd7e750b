import {
  expect,
  localStorageKind,
  newContext,
  noteList,
  onServer,
  signIn,
  signUp,
  test,
  uniqueName,
} from "./fixtures";

type Handle = {
  __notesync: {
    db: {
      exec(sql: string, p?: unknown[]): Promise<void>;
      query<T>(sql: string, p?: unknown[]): Promise<T[]>;
    };
  };
};

// The data-loss trap of the wasm package's default VFS: two tabs writing at once lost rows and
// corrupted indexes. Both tabs here write 150 notes each at the same time, through the app's own
// database handle: on OPFS (one tab's worker runs both tabs' writes) and on IndexedDB (each tab
// writes the database itself, with strict durability).
for (const storage of ["opfs", "indexeddb"] as const)
  test(`two tabs writing at once lose nothing, and the browser database stays intact (${storage})`, async ({
    browser,
    server,
  }) => {
    test.setTimeout(120_000);
    const user = uniqueName("busy");
    const { context, page: first } = await newContext(browser, storage);
    await signUp(first, server, user);
    const second = await context.newPage();
    await second.goto(server.url);
    await expect(second.getByRole("status")).toContainText("Live");
    expect(await localStorageKind(first)).toBe(storage);
    expect(await localStorageKind(second)).toBe(storage);

    const write = (tab: string) => async (page: typeof first) =>
      page.evaluate(async (tab) => {
        const { db } = (window as unknown as Handle).__notesync;
        for (let i = 0; i < 150; i++) {
          await db.exec(
            "INSERT INTO notes (id, title, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [`${tab}-${i}`, `${tab} ${i}`, "x".repeat(200), Date.now(), Date.now()],
          );
        }
      }, tab);
    await Promise.all([write("first")(first), write("second")(second)]);

    const count = (page: typeof first) =>
      page.evaluate(
        async () =>
          (
            await (window as unknown as Handle).__notesync.db.query<{ n: number }>(
              "SELECT count(*) AS n FROM notes",
            )
          )[0]!.n,
      );
    const integrity = (page: typeof first) =>
      page.evaluate(async () =>
        (
          await (window as unknown as Handle).__notesync.db.query<{ integrity_check: string }>(
            "PRAGMA integrity_check",
          )
        ).map((r) => r.integrity_check),
      );
    expect(await count(first)).toBe(300);
    expect(await count(second)).toBe(300);
    expect(await integrity(first)).toEqual(["ok"]);
    expect(await integrity(second)).toEqual(["ok"]);

    await expect(first.getByRole("status")).toContainText("all changes synced", {
      timeout: 60_000,
    });
    expect(onServer(server, (db) => db.prepare("SELECT count(*) FROM notes").pluck().get())).toBe(
      300,
    );

    const other = await newContext(browser, storage);
    await signIn(other.page, server, user);
    // All 300 reach it (its list renders a screenful of them, and more as it is scrolled).
    await expect.poll(() => count(other.page), { timeout: 60_000 }).toBe(300);
    await expect(noteList(other.page).getByRole("listitem").first()).toBeVisible();
    await other.context.close();
    await context.close();
  });
