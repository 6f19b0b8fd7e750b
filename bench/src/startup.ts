import type { BrowserContext, Page } from "@playwright/test";
import path from "node:path";
import { here, seededAccount, startNoteSync } from "./common.js";
import { diskBrowser, STORAGES, type Storage } from "./browser.js";
import { sleep, startChild } from "./procs.js";
import { ms, summarize, table } from "./stats.js";

/**
 * Start-up of a returning user (issue 18): an account with `notes` notes that this browser has
 * already synced. Per sample, the time from navigation start until the note list shows the
 * newest note, and until "New note" makes a note, on the page's own clock: starts by a reload
 * (the last page is torn down meanwhile) and in a new tab (the last one closed a second before),
 * each also with Chromium's CPU throttled 4x, as a slow phone.
 * Both storages in the same run, each in its own Chromium with a profile on disk.
 */
export async function startup(notes = 10_000, samples = 10): Promise<string> {
  const server = await startNoteSync();
  try {
    await seededAccount(server.url, "returning", notes);
    const rows: string[][] = await floorStartup(notes, samples);
    // BENCH_STORAGES=opfs measures one storage (while working on it).
    const storages = STORAGES.filter((s) => process.env.BENCH_STORAGES?.includes(s) ?? true);
    for (const storage of storages) {
      console.log(`  ${storage}:`);
      rows.push(...(await storageStartup(server.url, storage, notes, samples)));
    }
    return [
      table(["returning user, " + notes + " notes", "median", "p95", "target"], rows),
      `  from navigation start to the list showing the newest note and (NoteSync) New note opening a note (${samples} starts each)`,
    ].join("\n");
  } finally {
    await server.stop();
  }
}

/** BENCH_STARTUP_THROTTLED=0 skips the slow-phone starts (while working on start-up). */
const rates = process.env.BENCH_STARTUP_THROTTLED === "0" ? [1] : [1, 4];

/**
 * The floor of start-up on this stack and machine: a page whose worker opens a cr-sqlite
 * database of `notes` notes on OPFS (the app's wasm build and VFS) and reads the 30 newest
 * titles, which the page draws; no app, framework, service worker or lock between tabs.
 */
async function floorStartup(notes: number, samples: number): Promise<string[][]> {
  const floor = await startChild(path.join(here, "floor/server.js"));
  let browser: Awaited<ReturnType<typeof diskBrowser>> | null = null;
  try {
    browser = await diskBrowser("opfs");
    const newest = `Note ${notes - 1}`;
    await browser.context.addInitScript(stampListShown, newest);
    let { page } = browser;
    const url = `${floor.url}/list.html?notes=${notes}`;
    await page.goto(url);
    await listShows(page, newest, 300_000); // the first load fills the database
    console.log("  the floor:");
    const rows: string[][] = [];
    for (const how of ["reload", "new tab"] as const) {
      for (const rate of rates) {
        const starts = await measureStarts(
          browser.context,
          page,
          url,
          newest,
          how,
          rate,
          samples,
          false,
        );
        page = starts.page;
        rows.push([
          `the floor, ${how}: list shown${rate > 1 ? `, CPU throttled ${rate}x` : ""}`,
          ms(starts.listed.median),
          ms(starts.listed.p95),
          "",
        ]);
      }
    }
    return rows;
  } finally {
    await browser?.close();
    await floor.stop();
  }
}

async function storageStartup(
  url: string,
  storage: Storage,
  notes: number,
  samples: number,
): Promise<string[][]> {
  const browser = await diskBrowser(storage);
  try {
    let { page } = browser;
    const newest = `Note ${notes - 1}`;
    await browser.context.addInitScript(stampListShown, newest);
    await page.goto(url);
    await page.getByLabel("Username").fill("returning");
    await page.getByLabel("Password").fill("benchmark-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    // The first sync of 10,000 notes into IndexedDB takes minutes on this machine.
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: 900_000 });
    await listShows(page, newest, 900_000);

    const measure = async (how: StartKind, rate: number) => {
      const starts = await measureStarts(browser.context, page, url, newest, how, rate, samples);
      page = starts.page;
      return starts;
    };
    const rows: string[][] = [];
    for (const how of ["reload", "new tab"] as const) {
      const fast = await measure(how, 1);
      const slow = rates.includes(4)
        ? await measure(how, 4)
        : { usable: summarize([]), listed: summarize([]) };
      rows.push(
        [
          `${storage}, ${how}: list shown`,
          ms(fast.listed.median),
          ms(fast.listed.p95),
          "p95 < 300 ms (OPFS)",
        ],
        [
          `${storage}, ${how}: usable`,
          ms(fast.usable.median),
          ms(fast.usable.p95),
          "p95 < 1,000 ms",
        ],
        [
          `${storage}, ${how}: list shown, CPU throttled 4x`,
          ms(slow.listed.median),
          ms(slow.listed.p95),
          "",
        ],
        [
          `${storage}, ${how}: usable, CPU throttled 4x`,
          ms(slow.usable.median),
          ms(slow.usable.p95),
          "",
        ],
      );
    }
    return rows;
  } finally {
    await browser.close();
  }
}

type StartKind = "reload" | "new tab";

/**
 * `samples` starts of the page at `url` until its list shows `newest`, each a reload (its last
 * page is torn down meanwhile) or a new tab opened a second after the last one closed, with the
 * CPU throttled `rate` times; unless `usable` is false, each also until the first click on New
 * note opens a note. Returns the page open at the end.
 */
async function measureStarts(
  context: BrowserContext,
  page: Page,
  url: string,
  newest: string,
  how: StartKind,
  rate: number,
  samples: number,
  usable = true,
) {
  const times: number[] = [];
  const listed: number[] = [];
  const stages: Record<string, number>[] = [];
  for (let i = 0; i < samples; i++) {
    if (how === "new tab") {
      await page.close();
      await sleep(1000);
      page = await context.newPage();
    }
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Emulation.setCPUThrottlingRate", { rate });
    if (how === "reload") await page.reload();
    else await page.goto(url);
    listed.push(await listShownAt(page));
    stages.push(await page.evaluate(startupStages));
    if (usable) {
      // The first click on New note makes a note (it waits for the database if needed).
      await page.getByRole("button", { name: "New note" }).click();
      await page.getByRole("textbox", { name: "Title" }).waitFor();
      times.push(await page.evaluate(() => performance.now()));
      await page.keyboard.press("Escape"); // the empty note is discarded
    }
    await cdp.send("Emulation.setCPUThrottlingRate", { rate: 1 });
    await cdp.detach();
  }
  const listedSummary = summarize(listed);
  console.log(
    `    ${how}${rate > 1 ? `, CPU throttled ${rate}x` : ""}: list shown ${ms(listedSummary.median)} / p95 ${ms(listedSummary.p95)}`,
  );
  console.log(`      median stages (ms after navigation start): ${medians(stages)}`);
  return { page, usable: summarize(times), listed: listedSummary };
}

/**
 * When each start-up stage ended, in ms on the page's clock: the page's own marks
 * (`notesync:*`) and the document's arrival.
 */
function startupStages(): Record<string, number> {
  const [nav] = performance.getEntriesByType("navigation") as PerformanceNavigationTiming[];
  const stages: Record<string, number> = { document: nav?.responseEnd ?? 0 };
  for (const mark of performance.getEntriesByType("mark")) {
    if (mark.name.startsWith("notesync:")) stages[mark.name.slice(9)] ??= mark.startTime;
  }
  stages["list shown"] = (window as unknown as { __listShownAt: number }).__listShownAt;
  return stages;
}

/** Each stage's median over the samples, in the order of the first sample. */
function medians(samples: Record<string, number>[]): string {
  return Object.keys(samples[0] ?? {})
    .map((stage) => {
      const times = samples.map((s) => s[stage]).filter((t): t is number => t !== undefined);
      return `${stage} ${summarize(times).median.toFixed(0)}`;
    })
    .join(", ");
}

/**
 * Stamps, on the page's clock, the frame in which the list first shows `title` (the frame
 * after the DOM has it, rendered: the app keeps its root out of rendering until the list is
 * read), so the time does not include how often the benchmark looks.
 */
function stampListShown(title: string) {
  const w = window as unknown as { __listShownAt?: number; __listShown?: Promise<number> };
  let shown!: (at: number) => void;
  w.__listShown = new Promise<number>((resolve) => (shown = resolve));
  const observer = new MutationObserver(() => {
    for (const el of document.querySelectorAll(".note-title")) {
      if (el.textContent !== title || el.getClientRects().length === 0) continue;
      observer.disconnect();
      requestAnimationFrame(() => shown((w.__listShownAt = performance.now())));
      return;
    }
  });
  document.addEventListener("DOMContentLoaded", () =>
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributeFilter: ["style", "hidden", "class"],
    }),
  );
}

/**
 * When the page stamped its list shown (`stampListShown`), once it has. Awaited in the page
 * itself, not with a locator: Playwright injects its selector engine (330 KB of script) into a
 * document the first time a locator looks at it, and that ran on the page's main thread in the
 * middle of its start, the floor's too (it moved NoteSync's list 45 ms later at the median).
 */
async function listShownAt(page: Page, timeout = 60_000): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      page.evaluate(() => (window as unknown as { __listShown: Promise<number> }).__listShown),
      new Promise<never>((_, reject) => {
        // What the page shows then says why (an error, a sign-in screen, a list without it).
        timer = setTimeout(() => {
          void page
            .evaluate(() => document.body.innerText.slice(0, 500))
            .catch((err: unknown) => String(err))
            .then((shows) => reject(new Error(`the list did not show in ${timeout} ms: ${shows}`)));
        }, timeout);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

async function listShows(page: Page, title: string, timeout = 60_000): Promise<void> {
  await page
    .getByRole("list", { name: "Notes" })
    .getByRole("button", { name: new RegExp(title) })
    .first()
    .waitFor({ timeout });
}
