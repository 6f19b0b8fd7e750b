import fs from "node:fs";
import path from "node:path";
import type { Page } from "@playwright/test";
import { expect, noteList, signIn, test, twoBrowsersOfOneUser, writeNote } from "./fixtures";

const settings = (page: Page) => page.getByRole("dialog", { name: "Settings" });
const syncStatus = (page: Page) => page.locator(".sync-status");

async function openSettings(page: Page) {
  await page.getByRole("button", { name: "Settings" }).click();
  await expect(settings(page)).toBeVisible();
  return settings(page);
}

/**
 * What this browser holds of `userId`'s local database: the files of its OPFS directory (where
 * the app keeps it) and its blocks in IndexedDB (where it kept it before OPFS).
 */
const localCopy = (page: Page, userId: string) =>
  page.evaluate(async (id) => {
    let files = 0;
    try {
      const root = await navigator.storage.getDirectory();
      const dir = await (
        await root.getDirectoryHandle("notesync")
      ).getDirectoryHandle(encodeURIComponent(`notesync-${id}`));
      // Async iteration of a directory is missing from TypeScript's DOM library.
      for await (const _ of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) files++;
    } catch (err) {
      if ((err as Error).name !== "NotFoundError") throw err;
    }
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const r = indexedDB.open("notesync-idb-strict");
      r.onsuccess = () => resolve(r.result);
      r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
    });
    const path = `/notesync-${id}`;
    const blocks = !db.objectStoreNames.contains("blocks")
      ? 0
      : await new Promise<number>((resolve, reject) => {
          const r = db
            .transaction("blocks")
            .objectStore("blocks")
            .count(IDBKeyRange.bound([path], [`${path}-journal`, []]));
          r.onsuccess = () => resolve(r.result);
          r.onerror = () => reject(r.error ?? new Error("IndexedDB request failed"));
        });
    db.close();
    return { files, blocks };
  }, userId);

const userIdOf = (page: Page) =>
  page.evaluate(
    () => (JSON.parse(localStorage.getItem("notesync:session")!) as { userId: string }).userId,
  );

test("changing the password keeps this browser syncing and sends the other to sign-in", async ({
  browser,
  server,
}) => {
  const { user, a, b } = await twoBrowsersOfOneUser(browser, server, "renamer");
  // A second tab of the first browser shares its session: it follows the new token.
  const tab = await a.context.newPage();
  await tab.goto(server.url);
  await expect(syncStatus(tab)).toHaveText(/Live/);
  const dialog = await openSettings(a.page);
  await dialog.getByLabel("Current password").fill("correct horse battery");
  await dialog.getByLabel("New password").fill("a much better one");
  await dialog.getByRole("button", { name: "Change password" }).click();
  await expect(dialog.getByRole("status")).toHaveText(/Password changed/);
  await dialog.getByRole("button", { name: "Close" }).click();

  // The other browser had nothing unsent: it is on the sign-in screen, told why.
  await expect(b.page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expect(b.page.getByRole("status")).toHaveText(/You were signed out/);
  // This one goes on syncing with its new token.
  await expect(syncStatus(a.page)).toHaveText(/Live/);
  await writeNote(a.page, "After the new password");
  await expect(noteList(tab).getByRole("button", { name: /After the new password/ })).toBeVisible();
  await writeNote(tab, "From the second tab");
  await expect(syncStatus(tab)).toHaveText("Live: all changes synced");
  await expect(tab.getByRole("button", { name: "Sign in", exact: true })).toBeHidden();
  await signIn(b.page, server, user, "a much better one");
  await expect(
    noteList(b.page).getByRole("button", { name: /After the new password/ }),
  ).toBeVisible();
  await expect(noteList(b.page).getByRole("button", { name: /From the second tab/ })).toBeVisible();
  await a.context.close();
  await b.context.close();
});

test("sign out everywhere: the other browser goes to sign-in, and one with unsent changes says so and keeps them", async ({
  browser,
  server,
}) => {
  const { user, a, b } = await twoBrowsersOfOneUser(browser, server, "everywhere");
  await b.context.setOffline(true);
  await expect(syncStatus(b.page)).toContainText("Offline");
  await writeNote(b.page, "Written on the train", "not sent yet");
  await expect(syncStatus(b.page)).toContainText(/waiting/);

  const dialog = await openSettings(a.page);
  await dialog.getByRole("button", { name: "Sign out everywhere" }).click();
  await dialog
    .getByRole("alertdialog", { name: "Sign out everywhere?" })
    .getByRole("button", { name: "Yes, sign out everywhere" })
    .click();
  await expect(a.page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();
  await expect(a.page.getByRole("status")).toHaveText("You are signed out on every device.");

  // Back online, b learns its session is over but does not hide what it has not sent.
  await b.context.setOffline(false);
  const warning = b.page.getByRole("alert").filter({ hasText: "You were signed out" });
  await expect(warning).toContainText("changes made here have not reached the server");
  await expect(
    noteList(b.page).getByRole("button", { name: /Written on the train/ }),
  ).toBeVisible();
  await warning.getByRole("button", { name: "Sign in again" }).click();
  await signIn(b.page, server, user);
  await expect(syncStatus(b.page)).toHaveText("Live: all changes synced");
  await signIn(a.page, server, user);
  await expect(
    noteList(a.page).getByRole("button", { name: /Written on the train/ }),
  ).toBeVisible();
  await a.context.close();
  await b.context.close();
});

test("signing out of one device can remove its copy of the notes; signing in brings them back", async ({
  browser,
  server,
}) => {
  const { user, a, b } = await twoBrowsersOfOneUser(browser, server, "tidyup");
  await writeNote(a.page, "Kept on the server", "safe");
  await expect(noteList(b.page).getByRole("button", { name: /Kept on the server/ })).toBeVisible();
  const userId = await userIdOf(a.page);
  expect((await localCopy(a.page, userId)).files).toBeGreaterThan(0);

  const dialog = await openSettings(a.page);
  await dialog.getByLabel("Also remove the copy of my notes stored in this browser").check();
  await dialog.getByRole("button", { name: "Sign out of this device" }).click();
  await expect(a.page.getByRole("status")).toHaveText(/copy of your notes was removed/);
  expect(await localCopy(a.page, userId)).toEqual({ files: 0, blocks: 0 });
  // Only this device signed out: the other one is still live.
  await writeNote(b.page, "Written while a was out");
  await expect(syncStatus(b.page)).toHaveText("Live: all changes synced");

  await signIn(a.page, server, user);
  await expect(noteList(a.page).getByRole("listitem")).toHaveText([
    /Written while a was out/,
    /Kept on the server/,
  ]);
  await a.context.close();
  await b.context.close();
});

test("deleting the account asks for the password, removes it from the server's disk and this browser, and signs out the other browser", async ({
  browser,
  server,
}) => {
  const { user, a, b } = await twoBrowsersOfOneUser(browser, server, "goodbye");
  await writeNote(a.page, "Soon gone", "everything");
  await expect(noteList(b.page).getByRole("button", { name: /Soon gone/ })).toBeVisible();
  const userId = await userIdOf(a.page);
  const userFiles = () =>
    fs.readdirSync(path.join(server.dataDir, "users")).filter((f) => f.startsWith(userId));
  expect(userFiles().length).toBeGreaterThan(0);

  const dialog = await openSettings(a.page);
  await dialog.getByLabel("Password to confirm").fill("not my password");
  await dialog.getByRole("button", { name: "Delete account…" }).click();
  await dialog.getByRole("button", { name: "Yes, delete my account" }).click();
  await expect(dialog.getByRole("alert")).toHaveText("wrong password");
  await expect(syncStatus(b.page)).toHaveText(/Live/);

  await dialog.getByLabel("Password to confirm").fill("correct horse battery");
  await dialog.getByRole("button", { name: "Delete account…" }).click();
  await dialog
    .getByRole("alertdialog", { name: "Delete your account?" })
    .getByRole("button", { name: "Yes, delete my account" })
    .click();
  await expect(a.page.getByRole("status")).toHaveText(
    /Your account and all its notes were deleted/,
  );
  expect(await localCopy(a.page, userId)).toEqual({ files: 0, blocks: 0 });
  expect(userFiles()).toEqual([]);
  await expect(b.page.getByRole("button", { name: "Sign in", exact: true })).toBeVisible();

  await a.page.getByLabel("Username").fill(user);
  await a.page.getByLabel("Password").fill("correct horse battery");
  await a.page.getByRole("button", { name: "Sign in", exact: true }).click();
  await expect(a.page.getByRole("alert")).toHaveText("wrong username or password");
  await a.context.close();
  await b.context.close();
});
