import { createNotesApi } from "@notesync/client-core/node";
import type { CDPSession } from "@playwright/test";
import fs from "node:fs";
import { diskBrowser, signIn } from "./browser.js";
import { device, signup, startNoteSync, tmp, type Device } from "./common.js";
import { withTimeout } from "./procs.js";
import { kibPer1000, mib, table } from "./stats.js";

/** The page's JavaScript heap after a full collection, and its DOM, as DevTools counts them. */
interface TabSample {
  readonly round: number;
  readonly edits: number;
  readonly heapBytes: number;
  /** The database worker's JavaScript heap after a full collection (its wasm memory aside). */
  readonly workerHeapBytes: number;
  readonly nodes: number;
  readonly listeners: number;
}

const NOTES = 100;

/**
 * A tab left open for a long time: the app shows the list with a note open in its editor, while
 * another device (a Node client) edits its `NOTES` notes, `perRound` edits a round, a tenth of
 * them in the open note, and one more that names the round. After each round, once the list shows the round's last edit, DevTools
 * collects the garbage of the page and of its database worker and reads their heaps, and the
 * page's DOM nodes and event listeners. The baseline is round `baselineRound`; with
 * `SOAK_SNAPSHOT_DIR` set, heap snapshots of the page at it and at the last round are written
 * there.
 */
export async function tabSoak(rounds = 20, perRound = 200, baselineRound = 2): Promise<string> {
  if (rounds <= baselineRound)
    throw new Error(`a soak needs more rounds than its baseline's (${baselineRound})`);
  const server = await startNoteSync();
  const dir = tmp("bench-tab-soak-");
  const samples: TabSample[] = [];
  let browser: Awaited<ReturnType<typeof diskBrowser>> | null = null;
  let other: Device | null = null;
  try {
    browser = await diskBrowser("opfs");
    const token = await signup(server.url, "soak");
    other = await device(dir, "other", `${server.url.replace("http", "ws")}/sync`, token);
    const notes = createNotesApi(other.db);
    const ids = await notes.createMany(
      Array.from({ length: NOTES }, (_, i) => ({ title: `Soak ${i}`, body: "" })),
    );
    await notes.update(ids[0]!, { title: "Open note" }); // the newest: at the list's top
    await other.client.whenSynced();
    const { page } = browser;
    await signIn(page, server.url, "soak", "Sign in");
    const list = page.getByRole("list", { name: "Notes" });
    await list.getByText("Open note", { exact: true }).click();
    await page.getByLabel("Title").waitFor();
    const cdp = await browser.context.newCDPSession(page);
    const worker = await workerSession(cdp);
    let edits = 0;
    for (let round = 1; round <= rounds; round++) {
      for (let i = 0; i < perRound; i++) {
        edits++;
        const id = i % 10 === 0 ? ids[0]! : ids[1 + ((edits * 7) % (NOTES - 1))]!;
        await notes.update(id, { body: `edit ${edits}: ${"words typed elsewhere ".repeat(4)}` });
      }
      const last = `round ${round}`;
      edits++;
      await notes.update(ids[1]!, { title: last });
      await list.getByText(last, { exact: true }).waitFor({ timeout: 60_000 });
      await cdp.send("HeapProfiler.collectGarbage");
      const heap = await cdp.send("Runtime.getHeapUsage");
      const snapshots = process.env.SOAK_SNAPSHOT_DIR;
      if (snapshots && (round === baselineRound || round === rounds))
        fs.writeFileSync(`${snapshots}/tab-${round}.heapsnapshot`, await heapSnapshot(cdp));
      const dom = await cdp.send("Memory.getDOMCounters");
      await worker("HeapProfiler.collectGarbage");
      const workerHeap = (await worker("Runtime.getHeapUsage")) as { usedSize: number };
      samples.push({
        round,
        edits,
        heapBytes: heap.usedSize,
        workerHeapBytes: workerHeap.usedSize,
        nodes: dom.nodes,
        listeners: dom.jsEventListeners,
      });
      console.log(
        `  round ${round}: ${edits} edits from the other device; page heap ${mib(heap.usedSize)} MiB, worker heap ${mib(workerHeap.usedSize)} MiB, ${dom.nodes} DOM nodes, ${dom.jsEventListeners} event listeners`,
      );
    }
  } finally {
    // Each let go even when one before it fails.
    await other?.close().catch((err: unknown) => console.warn("the other device:", err));
    await browser?.close().catch((err: unknown) => console.warn("the browser:", err));
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return report(samples, baselineRound);
}

/**
 * Sends DevTools commands to the page's database worker, through the page's session (Playwright
 * gives sessions of pages only): the worker is attached as the page's child target.
 */
async function workerSession(
  cdp: CDPSession,
): Promise<(method: string, params?: object) => Promise<unknown>> {
  let found!: (sessionId: string) => void;
  const attached = new Promise<string>((resolve) => (found = resolve));
  cdp.on("Target.attachedToTarget", ({ sessionId, targetInfo }) => {
    if (targetInfo.type === "worker" && targetInfo.url.includes("/database-worker"))
      found(sessionId);
  });
  await cdp.send("Target.setAutoAttach", {
    autoAttach: true,
    waitForDebuggerOnStart: false,
    flatten: false,
  });
  const sessionId = await withTimeout(attached, 10_000, "the page has no database worker");
  const replies = new Map<number, { resolve(r: unknown): void; reject(e: Error): void }>();
  cdp.on("Target.receivedMessageFromTarget", (event) => {
    if (event.sessionId !== sessionId) return;
    const reply = JSON.parse(event.message) as {
      id?: number;
      result?: unknown;
      error?: { message: string };
    };
    const waiting = reply.id === undefined ? undefined : replies.get(reply.id);
    if (!waiting) return;
    replies.delete(reply.id!);
    if (reply.error) waiting.reject(new Error(`the worker's DevTools: ${reply.error.message}`));
    else waiting.resolve(reply.result);
  });
  let next = 0;
  return (method, params = {}) =>
    new Promise((resolve, reject) => {
      const id = ++next;
      replies.set(id, { resolve, reject });
      const message = JSON.stringify({ id, method, params });
      cdp.send("Target.sendMessageToTarget", { sessionId, message }).catch((err: Error) => {
        replies.delete(id);
        reject(err);
      });
    });
}

/** The page's heap snapshot, for DevTools' Memory panel (or a script) to compare. */
async function heapSnapshot(cdp: CDPSession): Promise<string> {
  const chunks: string[] = [];
  const take = ({ chunk }: { chunk: string }) => chunks.push(chunk);
  cdp.on("HeapProfiler.addHeapSnapshotChunk", take);
  await cdp.send("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  cdp.off("HeapProfiler.addHeapSnapshotChunk", take);
  return chunks.join("");
}

function report(samples: readonly TabSample[], baselineRound: number): string {
  const base = samples[baselineRound - 1]!;
  const end = samples.at(-1)!;
  const rows = samples
    .filter((s) => s.round === 1 || s.round % 5 === 0 || s === base || s === end)
    .map((s) => [
      s.round,
      s.edits,
      mib(s.heapBytes),
      (s.heapBytes / base.heapBytes).toFixed(2),
      mib(s.workerHeapBytes),
      (s.workerHeapBytes / base.workerHeapBytes).toFixed(2),
      s.nodes,
      s.listeners,
    ]);
  const done = end.edits - base.edits;
  return [
    table(
      [
        "round",
        "edits received",
        "page heap after GC MiB",
        "heap / baseline",
        "worker heap after GC MiB",
        "worker heap / baseline",
        "DOM nodes",
        "event listeners",
      ],
      rows,
    ),
    "",
    `Baseline: round ${base.round}. From it to round ${end.round} (${done} more edits): ` +
      `page heap ${kibPer1000(base.heapBytes, end.heapBytes, done).toFixed(1)} KiB and worker heap ${kibPer1000(base.workerHeapBytes, end.workerHeapBytes, done).toFixed(1)} KiB per 1,000 edits; DOM nodes ${base.nodes} -> ${end.nodes}, ` +
      `event listeners ${base.listeners} -> ${end.listeners}.`,
  ].join("\n");
}
