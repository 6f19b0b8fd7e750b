import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, it } from "vitest";
import { adapterContract } from "./adapter-contract.js";
import { openNodeDatabase } from "./node/index.js";

// The same suite runs in real Chromium against the wasm adapter: e2e/tests/adapter-contract.spec.ts.
describe("database adapter contract: Node (better-sqlite3 + native cr-sqlite)", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-contract-"));
  for (const c of adapterContract) {
    it(c.name, () => c.run((name) => openNodeDatabase(path.join(dir, `${name}.db`)), "node"));
  }
});
