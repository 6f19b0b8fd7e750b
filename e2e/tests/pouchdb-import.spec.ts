import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { expect, newContext, noteList, signIn, startTestServer, test } from "./fixtures";

const here = path.dirname(fileURLToPath(import.meta.url));
/** The import page and module (`packages/import/src/browser`, built by `npm run build`). */
const importPage = path.resolve(here, "../../packages/import/dist/browser");

/** The old app's origin: a static server on its own port (another origin than NoteSync's). */
async function serveOldAppOrigin(): Promise<{ url: string; close(): Promise<void> }> {
  const types: Record<string, string> = { ".html": "text/html", ".js": "text/javascript" };
  const server = http.createServer((req, res) => {
    const name = path.basename(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.join(importPage, name);
    if (!name || !fs.existsSync(file)) return res.writeHead(404).end();
    res.writeHead(200, { "content-type": types[path.extname(name)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

test("notes that exist only in a browser's old PouchDB database (never synced) end up in NoteSync, conflicts included", async ({
  browser,
}) => {
  const oldApp = await serveOldAppOrigin();
  const server = await startTestServer({ importOrigins: [oldApp.url] });
  try {
    const username = `mover${process.pid}`;
    const password = "correct horse battery";
    const signup = await fetch(`${server.url}/api/signup`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(signup.status).toBe(201);

    const { context, page } = await newContext(browser);
    await page.goto(`${oldApp.url}/pouchdb-import.html?server=${encodeURIComponent(server.url)}`);
    // The old app's database as it left it in this browser: notes it never synced, a note it
    // deleted, and a conflict an earlier replication brought in.
    await page.evaluate(async () => {
      const moduleUrl = "./pouchdb-import.js";
      const { PouchDB } = (await import(moduleUrl)) as {
        PouchDB: new (name: string) => {
          bulkDocs(docs: unknown[], options?: unknown): Promise<unknown>;
          close(): Promise<void>;
        };
      };
      const db = new PouchDB("notes-app");
      const at = Date.UTC(2025, 5, 1);
      await db.bulkDocs([
        {
          _id: "offline-1",
          title: "Written offline",
          body: "on the train",
          updatedAt: at,
          tags: ["trip"],
        },
        { _id: "offline-2", title: "Never synced either", text: "a second one", updatedAt: at + 1 },
        // Large documents: together over the server's 8 MB a request, so sent in smaller requests;
        // one too large for any request is reported.
        { _id: "big-1", title: "Big one", body: "b1", updatedAt: at, extra: "x".repeat(4_500_000) },
        { _id: "big-2", title: "Big two", body: "b2", updatedAt: at, extra: "y".repeat(4_500_000) },
        { _id: "huge", title: "Huge", body: "h", updatedAt: at, extra: "z".repeat(9_000_000) },
      ]);
      const x = "x".repeat(32);
      await db.bulkDocs(
        [
          { _id: "gone", _rev: `1-${x}`, title: "Deleted in the old app", body: "" },
          {
            _id: "gone",
            _rev: `2-${"y".repeat(32)}`,
            _revisions: { start: 2, ids: ["y".repeat(32), x] },
            _deleted: true,
          },
          { _id: "plan", _rev: `1-${x}`, title: "Plan", body: "draft", updatedAt: at },
          {
            _id: "plan",
            _rev: `2-${"b".repeat(32)}`,
            _revisions: { start: 2, ids: ["b".repeat(32), x] },
            title: "Plan",
            body: "laptop edit",
            updatedAt: at + 2,
          },
          {
            _id: "plan",
            _rev: `2-${"c".repeat(32)}`,
            _revisions: { start: 2, ids: ["c".repeat(32), x] },
            title: "Plan",
            body: "phone edit",
            updatedAt: at + 3,
          },
        ],
        { new_edits: false },
      );
      await db.close();
    });
    await page.reload();

    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(password);
    await expect(page.getByLabel("Old database")).toHaveValue("notes-app");
    await page.getByRole("button", { name: "Import" }).click();
    const report = page.getByRole("status");
    await expect(report).toContainText("5 notes created, 0 updated, 0 unchanged.");
    await expect(report).toContainText("Not imported: huge: too large to send (over 6 MB)");
    await expect(report).toContainText("1 deletions, 1 conflict versions kept.");
    // Sending it again changes nothing.
    await page.getByRole("button", { name: "Import" }).click();
    await expect(report).toContainText("0 notes created, 0 updated, 5 unchanged.");

    const app = await context.newPage();
    await signIn(app, server, username, password);
    const list = noteList(app);
    await expect(list.getByRole("listitem")).toHaveCount(5);
    await expect(list).toContainText("Written offline");
    await expect(list).toContainText("Never synced either");
    await list.getByRole("button", { name: /Plan/ }).click();
    await expect(app.getByLabel("Body")).toContainText("phone edit");
    await expect(app.getByRole("region", { name: "Conflict" })).toContainText("laptop edit");
    await context.close();
  } finally {
    await server.stop();
    await oldApp.close();
  }
});
