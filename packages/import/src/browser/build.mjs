// Bundles the browser import module (with PouchDB's browser edition) and its page into dist/browser.
import { build } from "esbuild";
import fs from "node:fs";

const out = new URL("../../dist/browser/", import.meta.url);
fs.mkdirSync(out, { recursive: true });
const common = {
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  minify: true,
  define: { global: "globalThis" },
  logLevel: "warning",
};
await build({
  ...common,
  entryPoints: [new URL("pouchdb-import.ts", import.meta.url).pathname],
  outfile: new URL("pouchdb-import.js", out).pathname,
});
await build({
  ...common,
  entryPoints: [new URL("page.ts", import.meta.url).pathname],
  outfile: new URL("pouchdb-import-page.js", out).pathname,
  external: ["./pouchdb-import.js"],
});
fs.copyFileSync(
  new URL("pouchdb-import.html", import.meta.url),
  new URL("pouchdb-import.html", out),
);
