import type { Page } from "@playwright/test";
import {
  bodyCaret,
  expect,
  noteList,
  replaceBody,
  serverNote,
  storedNote,
  test,
  throttleCpu,
  twoBrowsersOfOneUser,
} from "./fixtures";

// Real phones are slow: every page here runs with its CPU throttled 4x (Chrome DevTools Protocol).
const TITLE = "Weekly planning";
const SENTENCE = "Call the plumber about the kitchen sink before Friday.";

/** Waits until this browser's database, the other browser's and the server's hold `expected`. */
async function expectStoredEverywhere(
  pages: Page[],
  server: { dataDir: string },
  expected: { title: string; body: string },
) {
  for (const page of pages) {
    await expect
      .poll(() => storedNote(page, expected.title).then((n) => n?.body))
      .toBe(expected.body);
  }
  const id = (await storedNote(pages[0]!, expected.title))!.id;
  await expect.poll(() => serverNote(server, id)).toEqual(expected);
}

for (const delay of [30, 120]) {
  test(`typing at ${delay} ms a key on a slow CPU, with the note open in another browser, keeps every keystroke`, async ({
    browser,
    server,
  }) => {
    const { a, b } = await twoBrowsersOfOneUser(browser, server, `typing${delay}-`);
    await throttleCpu(a.page, 4);
    await throttleCpu(b.page, 4);

    await a.page.getByRole("button", { name: "New note" }).click();
    await expect(a.page.getByLabel("Title")).toBeFocused();
    await a.page.keyboard.type(TITLE.slice(0, 6), { delay });
    // The other browser opens the note while it is being typed.
    await noteList(b.page)
      .getByRole("button", { name: /Weekly/ })
      .click();
    await a.page.keyboard.type(TITLE.slice(6), { delay });
    await a.page.getByLabel("Body").click();
    await a.page.keyboard.type(SENTENCE, { delay });

    for (const page of [a.page, b.page]) {
      await expect(page.getByLabel("Title")).toHaveValue(TITLE);
      await expect(page.getByLabel("Body")).toHaveText(SENTENCE);
    }
    await expect(a.page.getByText("Saved", { exact: true })).toBeVisible();
    await expectStoredEverywhere([a.page, b.page], server, { title: TITLE, body: SENTENCE });
    await a.page.reload();
    await noteList(a.page)
      .getByRole("button", { name: /Weekly planning/ })
      .click();
    await expect(a.page.getByLabel("Body")).toHaveText(SENTENCE);
    await a.context.close();
    await b.context.close();
  });
}

test("typing at 30 ms a key at the end of a 30 KB note on a slow CPU keeps every keystroke", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "bignote");
  const big = Array.from({ length: 600 }, (_, i) => `Line ${i}: ${"lorem ipsum ".repeat(3)}`)
    .join("\n")
    .slice(0, 30_000);
  await a.page.getByRole("button", { name: "New note" }).click();
  await a.page.keyboard.type("Big note");
  await replaceBody(a.page, big);
  await expect(a.page.getByText("Saved", { exact: true })).toBeVisible();
  await noteList(b.page)
    .getByRole("button", { name: /Big note/ })
    .click();
  await throttleCpu(a.page, 4);
  await throttleCpu(b.page, 4);

  await a.page.getByLabel("Body").click();
  await a.page.keyboard.press("ControlOrMeta+End");
  await a.page.keyboard.type(SENTENCE, { delay: 30 });
  await expect(a.page.getByText("Saved", { exact: true })).toBeVisible();
  await expectStoredEverywhere([a.page, b.page], server, {
    title: "Big note",
    body: big + SENTENCE,
  });
  await a.context.close();
  await b.context.close();
});

test("two browsers typing into one line at once, then one offline, keep every character and their carets", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "sameline");
  await throttleCpu(a.page, 4);
  await throttleCpu(b.page, 4);
  const base = "Meeting at noon";
  await a.page.getByRole("button", { name: "New note" }).click();
  await a.page.keyboard.type("Standup");
  await replaceBody(a.page, base);
  await noteList(b.page)
    .getByRole("button", { name: /Standup/ })
    .click();
  await expect(b.page.getByLabel("Body")).toHaveText(base);
  for (const page of [a.page, b.page]) {
    await page.getByLabel("Body").click();
    await page.keyboard.press("End");
  }

  // Both type at the same spot at the same time.
  const fromA = " with Ann";
  const fromB = " in room 4";
  await Promise.all([
    a.page.keyboard.type(fromA, { delay: 30 }),
    b.page.keyboard.type(fromB, { delay: 30 }),
  ]);
  await expect
    .poll(() => a.page.getByLabel("Body").textContent())
    .toHaveLength(base.length + fromA.length + fromB.length);
  const both = (await a.page.getByLabel("Body").textContent())!;
  expect(both).toContain(fromA);
  expect(both).toContain(fromB);
  await expect(b.page.getByLabel("Body")).toHaveText(both);
  // Each caret stayed at the end of what its own user typed.
  expect(await bodyCaret(a.page)).toBe(both.indexOf(fromA) + fromA.length);
  expect(await bodyCaret(b.page)).toBe(both.indexOf(fromB) + fromB.length);

  // A goes offline and keeps typing; B types too; A comes back.
  await a.context.setOffline(true);
  await expect(a.page.getByRole("status")).toContainText("Offline");
  await a.page.keyboard.type(" (offline)", { delay: 30 });
  await b.page.keyboard.type(" ok", { delay: 30 });
  await a.context.setOffline(false);
  await expect(a.page.getByRole("status")).toContainText("all changes synced", { timeout: 20_000 });
  const final = base.length + fromA.length + fromB.length + " (offline)".length + " ok".length;
  await expect.poll(() => a.page.getByLabel("Body").textContent()).toHaveLength(final);
  const text = (await a.page.getByLabel("Body").textContent())!;
  expect(text).toContain(fromA + " (offline)");
  expect(text).toContain(fromB + " ok");
  await expect(b.page.getByLabel("Body")).toHaveText(text);
  for (const page of [a.page, b.page])
    await expect(page.getByRole("region", { name: "Conflict" })).toHaveCount(0);
  await a.context.close();
  await b.context.close();
});

test("characters that are shortcuts elsewhere type into the body like any other", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "slashes");
  await b.context.close();
  await a.page.getByRole("button", { name: "New note" }).click();
  await a.page.keyboard.type("Paths");
  await a.page.getByLabel("Body").click();
  await a.page.keyboard.type("and/or 1/2 /usr/bin", { delay: 20 });
  await expect(a.page.getByLabel("Body")).toHaveText("and/or 1/2 /usr/bin");
  await expect(a.page.getByLabel("Search")).not.toBeFocused();
  await a.context.close();
});
