import path from "node:path";
import { artifacts, expect, noteList, test, writeNote, twoBrowsersOfOneUser } from "./fixtures";

test("an edit made on two devices at once shows as a conflict, and Keep both keeps both", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "conflicted");
  await writeNote(a.page, "Packing list", "passport");
  await noteList(b.page)
    .getByRole("button", { name: /Packing list/ })
    .click();
  await expect(b.page.getByLabel("Body")).toHaveValue("passport");

  // Both devices go offline and change the same line differently.
  await a.context.setOffline(true);
  await b.context.setOffline(true);
  await expect(a.page.getByRole("status")).toContainText("Offline");
  await expect(b.page.getByRole("status")).toContainText("Offline");
  await a.page.getByLabel("Body").fill("passport, tickets");
  await b.page.getByLabel("Body").fill("passport, charger");
  await expect(a.page.getByText("Saved", { exact: true })).toBeVisible();
  await expect(b.page.getByText("Saved", { exact: true })).toBeVisible();

  await a.context.setOffline(false);
  await expect(a.page.getByRole("status")).toContainText("all changes synced");
  await b.context.setOffline(false);
  await expect(b.page.getByRole("status")).toContainText("all changes synced");

  // Whichever edit won, the other is shown as a conflict on both devices.
  for (const page of [a.page, b.page]) {
    await expect(page.getByRole("region", { name: "Conflict" })).toBeVisible();
    await expect(page.getByRole("region", { name: "Conflict" })).toContainText("passport, tickets");
    await expect(page.getByRole("region", { name: "Conflict" })).toContainText("passport, charger");
  }
  await a.page.screenshot({ path: path.join(artifacts, "conflict.png") });

  await a.page.getByRole("button", { name: "Keep both" }).click();
  for (const page of [a.page, b.page]) {
    await expect(page.getByRole("region", { name: "Conflict" })).toHaveCount(0);
    await expect(
      noteList(page).getByRole("button", { name: /Packing list \(conflicted copy\)/ }),
    ).toBeVisible();
    await expect(noteList(page).getByRole("listitem")).toHaveCount(2);
  }
  await a.context.close();
  await b.context.close();
});
