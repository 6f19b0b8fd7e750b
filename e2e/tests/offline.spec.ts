import path from "node:path";
import {
  artifacts,
  CHANGES_WAITING,
  expect,
  noteList,
  test,
  writeNote,
  twoBrowsersOfOneUser,
  replaceBody,
} from "./fixtures";

test("offline: edits are kept, the waiting count shows, a reload works, and both browsers converge", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "traveller");
  await writeNote(a.page, "Before the flight", "packed");
  await expect(noteList(b.page).getByRole("button", { name: /Before the flight/ })).toBeVisible();
  // The service worker has the app cached before the network goes away.
  await a.page.evaluate(async () => {
    await navigator.serviceWorker.ready;
  });

  await a.context.setOffline(true);
  await expect(a.page.getByRole("status")).toContainText("Offline");
  await writeNote(a.page, "Written offline", "in the air");
  await writeNote(a.page, "Also offline", "still in the air");
  await expect(a.page.getByRole("status")).toContainText(/Offline: [1-9]\d* changes? waiting/);
  await a.page.screenshot({ path: path.join(artifacts, "offline.png") });

  // Meanwhile the other browser edits too.
  await noteList(b.page)
    .getByRole("button", { name: /Before the flight/ })
    .click();
  await replaceBody(b.page, "packed, passport");

  await a.page.reload();
  await expect(noteList(a.page).getByRole("listitem")).toHaveCount(3);
  await expect(a.page.getByRole("status")).toContainText(CHANGES_WAITING);

  await a.context.setOffline(false);
  await expect(a.page.getByRole("status")).toContainText("all changes synced", { timeout: 20_000 });
  for (const page of [a.page, b.page]) {
    await expect(noteList(page).getByRole("listitem")).toHaveCount(3);
    await expect(noteList(page).getByRole("button", { name: /Written offline/ })).toBeVisible();
    await expect(noteList(page).getByRole("button", { name: /Also offline/ })).toBeVisible();
  }
  await noteList(a.page)
    .getByRole("button", { name: /Before the flight/ })
    .click();
  await expect(a.page.getByLabel("Body")).toHaveText("packed, passport");
  await a.context.close();
  await b.context.close();
});
