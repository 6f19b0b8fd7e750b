import {
  expect,
  localStorageKind,
  newContext,
  onServer,
  signUp,
  test,
  uniqueName,
} from "./fixtures";

interface Handle {
  __notesync: {
    db: {
      readonly isLeader: boolean;
      exec(sql: string, p?: unknown[]): Promise<void>;
      query<T>(sql: string, p?: unknown[]): Promise<T[]>;
      transaction<T>(
        fn: (tx: { exec(sql: string, p?: unknown[]): Promise<void> }) => Promise<T>,
      ): Promise<T>;
    };
  };
  burst?: Promise<{ written: number; movedAt: number }>;
  halfway?: boolean;
}

// The database lives in the worker of the tab that leads; another tab's writes go through it.
// Here the leading tab is closed in the middle of the other tab's burst of writes (single
// statements and two-statement transactions): every write must land exactly once (a second
// INSERT of the same id would fail), and the database moves to the remaining tab.
test("when the leading tab closes mid-burst, the other tab's writes all land, once", async ({
  browser,
  server,
}) => {
  test.setTimeout(120_000);
  const user = uniqueName("moves");
  const { context, page: leader } = await newContext(browser);
  await signUp(leader, server, user);
  const follower = await context.newPage();
  await follower.goto(server.url);
  await expect(follower.getByRole("status")).toContainText("Live");
  expect(await localStorageKind(follower)).toBe("opfs");
  const leads = (page: typeof leader) =>
    page.evaluate(() => (window as unknown as Handle).__notesync.db.isLeader);
  expect(await leads(leader)).toBe(true);
  expect(await leads(follower)).toBe(false);

  // Writes until the database has moved to this tab, then 50 more.
  await follower.evaluate(() => {
    const w = window as unknown as Handle;
    const { db } = w.__notesync;
    const insert = "INSERT INTO notes (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)";
    w.burst = (async () => {
      let written = 0;
      let movedAt = -1;
      while (movedAt < 0 || written < movedAt + 50) {
        const i = written;
        if (i % 2 === 0) await db.exec(insert, [`b-${i}`, `burst ${i}`, Date.now(), Date.now()]);
        else
          await db.transaction(async (tx) => {
            await tx.exec(insert, [`b-${i}`, `burst ${i}`, Date.now(), Date.now()]);
            await tx.exec("UPDATE notes SET pinned = 1 WHERE id = ?", [`b-${i}`]);
          });
        written++;
        if (written === 100) w.halfway = true;
        if (movedAt < 0 && db.isLeader) movedAt = written;
      }
      return { written, movedAt };
    })();
  });
  await follower.waitForFunction(() => (window as unknown as Handle).halfway === true);
  await leader.close();
  const { written, movedAt } = await follower.evaluate(() => (window as unknown as Handle).burst!);
  expect(movedAt).toBeGreaterThanOrEqual(100);
  expect(await leads(follower)).toBe(true);

  const stored = await follower.evaluate(async () => {
    const { db } = (window as unknown as Handle).__notesync;
    const [row] = await db.query<{ n: number; pinned: number }>(
      "SELECT count(*) AS n, sum(pinned) AS pinned FROM notes WHERE id LIKE 'b-%'",
    );
    const integrity = await db.query<{ integrity_check: string }>("PRAGMA integrity_check");
    return { ...row!, integrity: integrity.map((r) => r.integrity_check) };
  });
  expect(stored).toEqual({ n: written, pinned: Math.floor(written / 2), integrity: ["ok"] });

  // And the new leader's tab syncs them all.
  await expect(follower.getByRole("status")).toContainText("all changes synced", {
    timeout: 60_000,
  });
  const onTheServer = onServer(
    server,
    (db) => db.prepare("SELECT count(*) FROM notes WHERE id LIKE 'b-%'").pluck().get() as number,
  );
  expect(onTheServer).toBe(written);
  await context.close();
});
