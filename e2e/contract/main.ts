// The page that runs the adapter contract in the browser; built by tests/adapter-contract.spec.ts.
import { openBrowserDatabase, type BrowserStorage } from "@notesync/client-core/browser";
import { adapterContract } from "@notesync/client-core/contract";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";
import syncWasmUrl from "@vlcn.io/wa-sqlite/dist/crsqlite-sync.wasm?url";

interface Outcome {
  name: string;
  error: string | null;
}

/**
 * Where the contract runs: "opfs" (the default, in the leading tab's worker), "indexeddb" (in
 * the page), or "worker-indexeddb" (the worker's fallback where OPFS access handles are missing).
 */
type Place = BrowserStorage | "worker-indexeddb";

const withoutOpfs = () =>
  new Worker(new URL("./without-opfs-worker.ts", import.meta.url), { type: "module" });

/**
 * Starts client-core's database worker and posts it `open` in the same task, before the worker's
 * script can run: resolves with the worker's answer (`opened`, or `failed` and why).
 */
(window as unknown as { openAtOnce: () => Promise<string> }).openAtOnce = () => {
  const worker = new Worker(new URL("./plain-worker.ts", import.meta.url), { type: "module" });
  worker.postMessage({ type: "open", name: `at-once-${Date.now()}`, wasmUrl });
  return new Promise<string>((resolve) => {
    setTimeout(() => resolve("no answer in 10 s"), 10_000);
    worker.addEventListener("error", (e) => resolve(`error: ${e.message}`));
    worker.addEventListener(
      "message",
      ({ data }: MessageEvent<{ type: string; message?: string }>) => {
        if (data.type === "opened") resolve("opened");
        if (data.type === "failed") resolve(`failed: ${data.message}`);
      },
    );
  });
};

/** crsqlite-wasm's Asyncify build: valid wasm, but not the module the worker's glue can instantiate. */
(window as unknown as { asyncifyWasmUrl: string }).asyncifyWasmUrl = wasmUrl;

/**
 * Opens a database on OPFS whose page is told to compile the worker's wasm from `url`, writes and
 * reads a row: "ok", or what failed.
 */
(window as unknown as { openWithWasmAt: (url: string) => Promise<string> }).openWithWasmAt = async (
  url,
) => {
  try {
    const db = await openBrowserDatabase({
      name: `wasm-at-${Date.now()}`,
      wasmUrl,
      syncWasmUrl: url,
    });
    await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL, v TEXT)");
    await db.exec("INSERT INTO t (v) VALUES (?)", ["kept"]);
    const [row] = await db.query<{ v: string }>("SELECT v FROM t");
    await db.close();
    return db.storage === "opfs" && row?.v === "kept" ? "ok" : `${db.storage}: ${row?.v}`;
  } catch (err) {
    return String(err);
  }
};

/**
 * Opens a database, writes a note-like row and closes it; a worker then leaves it cut short in
 * the middle of leaving WAL mode (`hot-journal-worker.ts`) and is killed; the database is opened
 * again: "ok" when it opens with the row and passes integrity_check, else what happened.
 */
(window as unknown as { reopenCutShort: () => Promise<string> }).reopenCutShort = async () => {
  const name = `cut-short-${Date.now()}`;
  try {
    const first = await openBrowserDatabase({ name, wasmUrl });
    await first.exec("CREATE TABLE kept (v TEXT)");
    await first.exec("INSERT INTO kept VALUES ('before')");
    await first.close();
    const worker = new Worker(new URL("./hot-journal-worker.ts", import.meta.url), {
      type: "module",
    });
    const cut = await new Promise<string>((resolve) => {
      worker.onmessage = ({ data }: MessageEvent<string>) => resolve(data);
      worker.onerror = (e) => resolve(`error: ${e.message}`);
      worker.postMessage(name);
    });
    worker.terminate();
    if (cut !== "cut short") return cut;
    const again = await openBrowserDatabase({ name, wasmUrl });
    const rows = await again.query<{ v: string }>("SELECT v FROM kept");
    const [check] = await again.query<{ integrity_check: string }>("PRAGMA integrity_check");
    const cutTable = await again.query("SELECT name FROM sqlite_master WHERE name = 'cut_short'");
    await again.close();
    const seen = `${rows.map((r) => r.v).join(",")} / ${check?.integrity_check} / ${cutTable.length}`;
    return seen === "before / ok / 0" ? "ok" : seen;
  } catch (err) {
    return String(err);
  }
};

(window as unknown as { runContract: (p: Place) => Promise<Outcome[]> }).runContract = async (
  place,
) => {
  const storage: BrowserStorage = place === "opfs" ? "opfs" : "indexeddb";
  const unique = `contract-${place}-${Date.now()}`;
  const outcomes: Outcome[] = [];
  for (const c of adapterContract) {
    try {
      await c.run(async (name) => {
        const db = await openBrowserDatabase({
          name,
          wasmUrl,
          // On OPFS the page compiles the worker's wasm and hands it over, as the app does.
          ...(place === "opfs" && { syncWasmUrl }),
          ...(place === "indexeddb" && { storage: "indexeddb" as const }),
          ...(place === "worker-indexeddb" && { createWorker: withoutOpfs }),
        });
        if (db.storage !== storage) throw new Error(`opened on ${db.storage}, not ${storage}`);
        if (db.isLeader !== true) throw new Error("this page's tab does not hold the database");
        return db;
      }, unique);
      outcomes.push({ name: c.name, error: null });
    } catch (err) {
      outcomes.push({ name: c.name, error: (err as Error).stack ?? String(err) });
    }
  }
  return outcomes;
};
