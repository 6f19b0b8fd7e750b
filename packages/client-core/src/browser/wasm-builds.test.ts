import fs from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";

const require = createRequire(import.meta.url);

describe("the wasm builds", () => {
  // Apps pass crsqlite-wasm's copy of the module as `wasmUrl`; the worker loads it with
  // wa-sqlite's glue (`initAsyncWasm`). A glue and a module from different builds fail to link.
  it("crsqlite-wasm's crsqlite.wasm is the module wa-sqlite's Asyncify glue was built with", () => {
    const fromCrsqliteWasm = fs.readFileSync(
      require.resolve("@vlcn.io/crsqlite-wasm/crsqlite.wasm"),
    );
    const fromWaSqlite = fs.readFileSync(require.resolve("@vlcn.io/wa-sqlite/dist/crsqlite.wasm"));
    expect(fromCrsqliteWasm.equals(fromWaSqlite)).toBe(true);
  });
});
