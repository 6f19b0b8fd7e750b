// Rewrites test/vectors.json from SAMPLE_FRAMES. Run after a deliberate, version-bumped change of
// the encoding (`npm run vectors -w @notesync/protocol`), then update PROTOCOL.md's examples.
import fs from "node:fs";
import { SAMPLE_FRAMES, encodeSample } from "../src/fixtures.test-helpers.js";

const vectors = Object.fromEntries(
  Object.entries(SAMPLE_FRAMES).map(([name, sample]) => [
    name,
    Buffer.from(encodeSample(sample)).toString("hex"),
  ]),
);
fs.writeFileSync(
  new URL("../test/vectors.json", import.meta.url),
  `${JSON.stringify(vectors, null, 2)}\n`,
);
