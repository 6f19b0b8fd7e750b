import { defineConfig } from "vitest/config";

// Each test file starts its own servers (NoteSync, a CouchDB stand-in, PostgreSQL): one at a time on two cores.
export default defineConfig({
  test: { include: ["src/**/*.test.ts"], fileParallelism: false, testTimeout: 60_000 },
});
