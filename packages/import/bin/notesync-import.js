#!/usr/bin/env node
// The installed command. It exists before the TypeScript is built (npm links a bin only when
// its file exists at install time), and says what to do when the build is missing.
import fs from "node:fs";

const cli = new URL("../dist/cli.js", import.meta.url);
if (!fs.existsSync(cli)) {
  process.stderr.write(
    "notesync-import: the importer is not built yet: run `npm run build` in the NoteSync checkout first\n",
  );
  process.exit(1);
}
await import(cli.href);
