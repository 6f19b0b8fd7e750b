import { chromium, type Page } from "@playwright/test";
import { startNoteSync } from "./common.js";
import { sleep, waitUntil } from "./procs.js";
import { fmt, summarize, table } from "./stats.js";

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

async function signIn(page: Page, url: string, username: string, mode: "Sign up" | "Sign in") {
  await page.goto(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill("benchmark-password");
  await page.getByRole("button", { name: mode }).click();
  await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: 30_000 });
}

/**
 * Two Chromium contexts of one user. The writer changes a note's title through the app's
 * database; the time runs from just before that local write until the other page's note list
 * shows the new title (a MutationObserver there records it). Both pages read the same clock
 * (`performance.timeOrigin + performance.now()`).
 */
export async function browserLatency(edits = 100): Promise<string> {
  const server = await startNoteSync();
  const browser = await chromium.launch({
    executablePath: process.env.NOTESYNC_CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
  });
  try {
    const [a, b] = [
      await (await browser.newContext()).newPage(),
      await (await browser.newContext()).newPage(),
    ];
    await signIn(a, server.url, "browser", "Sign up");
    await signIn(b, server.url, "browser", "Sign in");
    await a.getByRole("button", { name: "New note" }).click();
    await a.getByLabel("Title").fill("edit start");
    await b.getByRole("list", { name: "Notes" }).getByText("edit start").waitFor();
    await b.evaluate(() => {
      const seen: Record<string, number> = {};
      (window as unknown as { __seen: Record<string, number> }).__seen = seen;
      new MutationObserver(() => {
        const now = performance.timeOrigin + performance.now();
        for (const el of document.querySelectorAll(".note-title")) {
          const text = el.textContent ?? "";
          if (text.startsWith("edit ") && !(text in seen)) seen[text] = now;
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });
    const samples: number[] = [];
    for (let i = 0; i < edits; i++) {
      const title = `edit ${i}`;
      const t0 = await a.evaluate(async (title) => {
        const handle = (
          window as unknown as {
            __notesync: { db: { exec(sql: string, p: unknown[]): Promise<void> } };
          }
        ).__notesync;
        const t = performance.timeOrigin + performance.now();
        await handle.db.exec("UPDATE notes SET title = ?", [title]);
        return t;
      }, title);
      let t1 = 0;
      await waitUntil(
        async () => {
          t1 = await b.evaluate(
            (title) => (window as unknown as { __seen: Record<string, number> }).__seen[title] ?? 0,
            title,
          );
          return t1 > 0;
        },
        30_000,
        2,
      );
      samples.push(t1 - t0);
      await sleep(20);
    }
    const s = summarize(samples);
    console.log(`  Chromium -> Chromium: ${fmt(s)}`);
    return table(
      ["path", "median ms", "p95 ms", "p99 ms"],
      [
        [
          "edit in one browser -> visible in the other",
          s.median.toFixed(1),
          s.p95.toFixed(1),
          s.p99.toFixed(1),
        ],
      ],
    );
  } finally {
    await browser.close();
    await server.stop();
  }
}
