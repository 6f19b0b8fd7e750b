import { bodyCaret, expect, noteList, test, writeNote, twoBrowsersOfOneUser } from "./fixtures";

test("typing in a note while the other device edits it keeps the caret and the typed text", async ({
  browser,
  server,
}) => {
  const { a, b } = await twoBrowsersOfOneUser(browser, server, "typist");
  await writeNote(a.page, "Draft", "Hello world");
  await noteList(b.page).getByRole("button", { name: /Draft/ }).click();
  await expect(b.page.getByLabel("Body")).toHaveText("Hello world");

  // A puts the caret after "Hello" and types; B renames the note meanwhile.
  const body = a.page.getByLabel("Body");
  await body.click();
  await a.page.keyboard.press("Home");
  for (let i = 0; i < 5; i++) await a.page.keyboard.press("ArrowRight");
  await a.page.keyboard.type(", dear");
  await b.page.getByLabel("Title").fill("Letter");
  await expect(a.page.getByLabel("Title")).toHaveValue("Letter");
  await a.page.keyboard.type(" old");
  await expect(body).toHaveText("Hello, dear old world");
  await expect(body).toBeFocused();
  expect(await bodyCaret(a.page)).toBe("Hello, dear old".length);

  // B changes the end of the body while A's caret rests in it: the text comes in, the caret stays.
  await expect(b.page.getByLabel("Body")).toHaveText("Hello, dear old world");
  await b.page.getByLabel("Body").click();
  await b.page.keyboard.press("End");
  await b.page.keyboard.type("!");
  await expect(body).toHaveText("Hello, dear old world!");
  expect(await bodyCaret(a.page)).toBe("Hello, dear old".length);
  await a.page.keyboard.type(" friend");
  await expect(body).toHaveText("Hello, dear old friend world!");
  await expect(b.page.getByLabel("Body")).toHaveText("Hello, dear old friend world!");

  // The title field, bound by hand, keeps its caret too when the other device edits it.
  const title = a.page.getByLabel("Title");
  await title.click();
  await title.evaluate((el: HTMLInputElement) => el.setSelectionRange(3, 3));
  await b.page.getByLabel("Title").focus();
  await b.page.getByLabel("Title").evaluate((el: HTMLInputElement) => el.setSelectionRange(0, 0));
  await b.page.keyboard.type("My ");
  await expect(title).toHaveValue("My Letter");
  expect(await title.evaluate((el: HTMLInputElement) => el.selectionStart)).toBe(6);
  await a.page.keyboard.type("!");
  await expect(b.page.getByLabel("Title")).toHaveValue("My Let!ter");
  await a.context.close();
  await b.context.close();
});
