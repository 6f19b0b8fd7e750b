import { expect, localStorageKind, newContext, signUp, test, uniqueName } from "./fixtures";

interface Handle {
  __notesync: {
    db: {
      exec(sql: string, p?: unknown[]): Promise<void>;
      query<T>(sql: string, p?: unknown[]): Promise<T[]>;
    };
  };
}

// On OPFS the database is in WAL mode while its worker has it open, and goes back to a rollback
// journal when the worker closes it or its page is unloaded, which a tab that crashes never does:
// the next tab finds the database in WAL mode and must checkpoint it before opening it (this VFS
// opens a WAL database only in exclusive locking mode, which cr-sqlite's open does not leave time
// to set). Here the tab crashes right after its last commits. Offline, so nothing can come back
// from the server instead.
test("after the leading tab crashes, every note it committed is there in the next tab", async ({
  browser,
  server,
}) => {
  test.setTimeout(120_000);
  const { context, page } = await newContext(browser);
  await signUp(page, server, uniqueName("crash"));
  expect(await localStorageKind(page)).toBe("opfs");
  await page.evaluate(async () => {
    await navigator.serviceWorker.ready; // the next tab loads from it, offline
  });
  await context.setOffline(true);

  // One commit each; the last ones just before the crash.
  const written = await page.evaluate(async () => {
    const { db } = (window as unknown as Handle).__notesync;
    const insert = "INSERT INTO notes (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)";
    for (let i = 0; i < 200; i++) await db.exec(insert, [`c-${i}`, `crash ${i}`, i, i]);
    return 200;
  });
  const cdp = await context.newCDPSession(page);
  const crashed = page.waitForEvent("crash");
  cdp.send("Page.crash").catch(() => undefined); // never answered: the renderer is gone
  await crashed;

  const next = await context.newPage();
  const recovered = next.waitForEvent("console", {
    predicate: (m) => m.text().includes("write-ahead log"),
  });
  await next.goto(server.url);
  // Offline since before they were written: they wait for the server, all of them.
  await expect(next.getByRole("status")).toContainText(`${written} changes waiting`, {
    timeout: 20_000,
  });
  expect((await recovered).text()).toContain("checkpointed");
  const stored = await next.evaluate(async () => {
    const { db } = (window as unknown as Handle).__notesync;
    const [row] = await db.query<{ n: number }>(
      "SELECT count(*) AS n FROM notes WHERE id LIKE 'c-%'",
    );
    const integrity = await db.query<{ integrity_check: string }>("PRAGMA integrity_check");
    return { n: row!.n, integrity: integrity.map((r) => r.integrity_check) };
  });
  expect(stored).toEqual({ n: written, integrity: ["ok"] });
  await context.close();
});
