import { startServer, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { build } from "vite";
import { expect, test } from "@playwright/test";

// client-core's adapter contract (the suite vitest runs against the Node adapter), run in real
// Chromium against the wasm adapter on both storages: OPFS in the leading tab's worker, and
// IndexedDB in the page. The page is built here with Vite
// and served by the real server's static file handler.
const here = path.dirname(fileURLToPath(import.meta.url));
let outDir: string;
let server: RunningServer;

test.beforeAll(async () => {
  outDir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-contract-page-"));
  await build({
    root: path.resolve(here, "../contract"),
    logLevel: "warn",
    build: { outDir, target: "esnext", emptyOutDir: true },
    worker: { format: "es" },
  });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-contract-data-"));
  server = await startServer({
    port: 0,
    dataDir,
    webRoot: outDir,
    secret: "contract-secret-0123456789",
    logger: pino({ level: "warn" }),
  });
});

test.afterAll(async () => {
  await server.close();
  fs.rmSync(outDir, { recursive: true, force: true });
});

// "worker-indexeddb": the worker where synchronous OPFS access handles are missing.
for (const storage of ["opfs", "indexeddb", "worker-indexeddb"] as const) {
  test(`the wasm adapter passes the database adapter contract on ${storage}`, async ({ page }) => {
    await page.goto(server.url);
    const outcomes = await page.evaluate(
      (storage) =>
        (
          window as unknown as {
            runContract: (s: string) => Promise<{ name: string; error: string | null }[]>;
          }
        ).runContract(storage),
      storage,
    );
    expect(outcomes.length).toBeGreaterThanOrEqual(5);
    for (const o of outcomes) expect(o.error, o.name).toBeNull();
  });
}

test("the database worker opens the database a page asks for before the worker's script runs", async ({
  page,
}) => {
  // The worker's first script only imports the rest; what comes meanwhile must not be lost.
  await page.goto(server.url);
  const answer = await page.evaluate(() =>
    (window as unknown as { openAtOnce: () => Promise<string> }).openAtOnce(),
  );
  expect(answer).toBe("opened");
});

test("a database opens on OPFS when the page cannot compile the worker's wasm, or compiles another (its worker compiles it)", async ({
  page,
}) => {
  await page.goto(server.url);
  const openWith = (url: string) =>
    page.evaluate(
      (url) =>
        (window as unknown as { openWithWasmAt: (url: string) => Promise<string> }).openWithWasmAt(
          url,
        ),
      url,
    );
  expect(await openWith("/no-such-file.wasm")).toBe("ok");
  expect(await openWith("/index.html")).toBe("ok"); // not wasm
  // Wasm, but another build: the worker cannot instantiate it, and compiles its own.
  const otherBuild = await page.evaluate(
    () => (window as unknown as { asyncifyWasmUrl: string }).asyncifyWasmUrl,
  );
  expect(await openWith(otherBuild)).toBe("ok");
});

test("a database whose worker was killed while it left WAL mode opens at its last commit", async ({
  page,
}) => {
  // A hot rollback journal whose page 1 says WAL, in a file whose header says rollback: the
  // open rolls the journal back and finds the file in WAL mode, which this VFS opens only in
  // exclusive locking mode (before the fix it failed: "sqlite3_open_v2 (SQLite result code 1)").
  await page.goto(server.url);
  const outcome = await page.evaluate(() =>
    (window as unknown as { reopenCutShort: () => Promise<string> }).reopenCutShort(),
  );
  expect(outcome).toBe("ok");
});
