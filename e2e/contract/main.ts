// The page that runs the adapter contract in the browser; built by tests/adapter-contract.spec.ts.
import { openBrowserDatabase } from "@notesync/client-core/browser";
import { adapterContract } from "@notesync/client-core/contract";
import wasmUrl from "@vlcn.io/crsqlite-wasm/crsqlite.wasm?url";

interface Outcome {
  name: string;
  error: string | null;
}

(window as unknown as { runContract: () => Promise<Outcome[]> }).runContract = async () => {
  const unique = `contract-${Date.now()}`;
  const outcomes: Outcome[] = [];
  for (const c of adapterContract) {
    try {
      await c.run((name) => openBrowserDatabase({ name, wasmUrl }), unique);
      outcomes.push({ name: c.name, error: null });
    } catch (err) {
      outcomes.push({ name: c.name, error: (err as Error).stack ?? String(err) });
    }
  }
  return outcomes;
};
