import { startServer } from "@notesync/server";
import { pino } from "pino";
import { expect, noteList, test, twoBrowsersOfOneUser, webRoot, writeNote } from "./fixtures";

const status = (page: import("@playwright/test").Page) => page.getByRole("status");

test("while the server restarts both browsers say it is unreachable, keep edits, and are back live within seconds", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "restart");
  await server.close();
  await expect(status(a.page)).toContainText("Server unreachable");
  await expect(status(b.page)).toContainText("Server unreachable");
  await writeNote(a.page, "Written while the server was down");
  await expect(status(a.page)).toContainText(/Server unreachable.*waiting/);

  const restarted = await startServer({
    port: server.port,
    dataDir: server.dataDir,
    webRoot,
    secret: "e2e-secret-e2e-secret",
    logger: pino({ level: "warn" }),
  });
  try {
    const started = Date.now();
    // The reconnect backoff is capped at 5 s (with jitter, 2.5-5 s): both are back well within 8.
    await Promise.all(
      [a, b].map((x) => expect(status(x.page)).toHaveText(/^Live/, { timeout: 8_000 })),
    );
    console.log(`both browsers live again ${Date.now() - started} ms after the server restarted`);
    await expect(
      noteList(b.page).getByRole("button", { name: /Written while the server was down/ }),
    ).toBeVisible();
  } finally {
    await a.context.close();
    await b.context.close();
    await restarted.close();
  }
});
