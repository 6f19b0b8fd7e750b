import { expect, noteList, test, writeNote, twoBrowsersOfOneUser } from "./fixtures";

test("typing in a note while the other device edits it keeps the caret and the typed text", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "typist");
  await writeNote(a.page, "Draft", "Hello world");
  await noteList(b.page).getByRole("button", { name: /Draft/ }).click();
  await expect(b.page.getByLabel("Body")).toHaveValue("Hello world");

  // A puts the caret after "Hello" and types; B renames the note meanwhile.
  const body = a.page.getByLabel("Body");
  await body.click();
  await body.evaluate((el: HTMLTextAreaElement) => el.setSelectionRange(5, 5));
  await a.page.keyboard.type(", dear");
  await b.page.getByLabel("Title").fill("Letter");
  await expect(a.page.getByLabel("Title")).toHaveValue("Letter");
  await a.page.keyboard.type(" old");
  await expect(body).toHaveValue("Hello, dear old world");
  await expect(body).toBeFocused();
  expect(await body.evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(
    "Hello, dear old".length,
  );

  // B changes the end of the body while A's caret rests in it: the text comes in, the caret stays.
  await expect(b.page.getByLabel("Body")).toHaveValue("Hello, dear old world");
  await b.page.getByLabel("Body").fill("Hello, dear old world!");
  await expect(body).toHaveValue("Hello, dear old world!");
  expect(await body.evaluate((el: HTMLTextAreaElement) => el.selectionStart)).toBe(
    "Hello, dear old".length,
  );
  await a.page.keyboard.type(" friend");
  await expect(body).toHaveValue("Hello, dear old friend world!");
  await expect(b.page.getByLabel("Body")).toHaveValue("Hello, dear old friend world!");
  await a.context.close();
  await b.context.close();
});
