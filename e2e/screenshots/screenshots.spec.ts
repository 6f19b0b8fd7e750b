import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "@playwright/test";
import { expect, noteList, signIn, signUp, test } from "../tests/fixtures";

/**
 * Screenshots of the real app for the README (docs/screenshots/): a few notes imported through
 * Settings the way a user would, then the desktop in light and dark, and a phone.
 */
const docs = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../docs/screenshots");

const day = (d: string) => new Date(`${d}T09:30:00Z`).toISOString();
const notes: Record<string, string> = {
  "Welcome.md": `---
title: Welcome to NoteSync
tags: [start]
created: ${day("2026-01-05")}
updated: ${day("2026-01-05")}
pinned: true
---
Your notes live **in this browser** first and sync live to every device you sign in on.

- Works offline; edits merge character by character
- Tags, markdown, export as a zip of markdown files
- Dark mode follows your system
`,
  "Trip.md": `---
title: Lisbon in May
tags: [travel, planning]
created: ${day("2026-02-10")}
updated: ${day("2026-03-02")}
---
## Day 1
Tram 28 to **Graça**, lunch at the market, then the *miradouro* at sunset.

## Day 2
- [ ] Book the Sintra train
- [x] Museum tickets
`,
  "Groceries.md": `---
title: Groceries
tags: [home]
created: ${day("2026-03-01")}
updated: ${day("2026-03-04")}
---
- oat milk
- eggs, **a dozen**
- coffee beans
`,
  "Standup.md": `---
title: Standup notes
tags: [work]
created: ${day("2026-02-20")}
updated: ${day("2026-02-27")}
---
**Yesterday:** shipped tags and export.
**Today:** screenshots for the README.
> Blocked on nothing.
`,
  "Reading.md": `---
title: Reading list
tags: [books, home]
created: ${day("2025-11-12")}
updated: ${day("2026-01-20")}
---
1. *The Left Hand of Darkness*
2. *Piranesi*
3. \`Designing Data-Intensive Applications\`
`,
};

async function importSamples(page: Page) {
  await page.getByRole("button", { name: "Settings" }).click();
  const dialog = page.getByRole("dialog", { name: "Settings" });
  await dialog.getByLabel("Import a zip or markdown files").setInputFiles(
    Object.entries(notes).map(([name, text]) => ({
      name,
      mimeType: "text/markdown",
      buffer: Buffer.from(text),
    })),
  );
  await expect(dialog.getByRole("status")).toHaveText(/Imported 5 notes/);
  await dialog.getByRole("button", { name: "Close" }).click();
}

async function openNote(page: Page, title: RegExp) {
  await noteList(page).getByRole("button", { name: title }).click();
  await expect(page.getByLabel("Title")).toHaveValue(/./);
}

async function contextFor(browser: Browser, options: { dark?: boolean; phone?: boolean }) {
  return browser.newContext({
    colorScheme: options.dark ? "dark" : "light",
    locale: "en-GB",
    timezoneId: "Europe/Lisbon",
    ...(options.phone
      ? { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }
      : { viewport: { width: 1280, height: 800 } }),
    deviceScaleFactor: 1,
  });
}

test("screenshots for the README", async ({ browser, server }) => {
  const desktop = await contextFor(browser, {});
  const page = await desktop.newPage();
  await signUp(page, server, "demo");
  await importSamples(page);
  await openNote(page, /Lisbon in May/);
  await page.getByLabel("Title").blur();
  await page.screenshot({ path: path.join(docs, "desktop.png") });

  const dark = await contextFor(browser, { dark: true });
  const night = await dark.newPage();
  await signIn(night, server, "demo");
  await openNote(night, /Welcome to NoteSync/);
  await night.getByRole("button", { name: "Read", exact: true }).click();
  await night.screenshot({ path: path.join(docs, "desktop-dark.png") });

  const phone = await contextFor(browser, { phone: true });
  const handset = await phone.newPage();
  await signIn(handset, server, "demo");
  await handset
    .getByRole("list", { name: "Tags", exact: true })
    .getByRole("button", { name: /#home/ })
    .click();
  await handset.screenshot({ path: path.join(docs, "phone-list.png") });
  await openNote(handset, /Groceries/);
  await handset.getByLabel("Title").blur();
  await handset.screenshot({ path: path.join(docs, "phone-editor.png") });
  for (const c of [desktop, dark, phone]) await c.close();
});
