// The page that runs the adapter contract in the browser; built by tests/adapter-contract.spec.ts.
import { openBrowserDatabase, type BrowserStorage } from "@notesync/client-core/browser";
import { adapterContract } from "@notesync/client-core/contract";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";

interface Outcome {
  name: string;
  error: string | null;
}

/** Runs the contract on the given storage ("opfs": the default, in the leading tab's worker). */
(window as unknown as { runContract: (s: BrowserStorage) => Promise<Outcome[]> }).runContract =
  async (storage) => {
    const unique = `contract-${storage}-${Date.now()}`;
    const outcomes: Outcome[] = [];
    for (const c of adapterContract) {
      try {
        await c.run(async (name) => {
          const db = await openBrowserDatabase({
            name,
            wasmUrl,
            ...(storage === "indexeddb" && { storage }),
          });
          if (db.storage !== storage) throw new Error(`opened on ${db.storage}, not ${storage}`);
          return db;
        }, unique);
        outcomes.push({ name: c.name, error: null });
      } catch (err) {
        outcomes.push({ name: c.name, error: (err as Error).stack ?? String(err) });
      }
    }
    return outcomes;
  };
