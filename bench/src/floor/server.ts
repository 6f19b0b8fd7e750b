import * as esbuild from "esbuild";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocketServer } from "ws";

/**
 * The floor pages' server, in its own process as NoteSync's is: the pages' files (the start-up
 * floor's worker bundled with its wasm), and a WebSocket relay at /relay that sends each message
 * to every other socket. Listens on loopback; prints `READY <url>`.
 */
const here = path.dirname(fileURLToPath(import.meta.url));
const bundled = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-floor-"));
await esbuild.build({
  entryPoints: [path.join(here, "list-worker.js")],
  bundle: true,
  format: "esm",
  outfile: path.join(bundled, "list-worker.js"),
  logLevel: "warning",
});
// Found by the worker next to itself (`new URL("crsqlite-sync.wasm", import.meta.url)`).
const wasm = createRequire(import.meta.url).resolve("@vlcn.io/wa-sqlite/dist/crsqlite-sync.wasm");

const page = (script: string, body: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>floor</title>` +
  `<script type="module" src="/${script}"></script></head><body>${body}</body></html>`;
const files: Record<string, () => { type: string; body: string | Buffer }> = {
  "/keys.html": () => ({
    type: "text/html",
    body: page(
      "keys-page.js",
      `<input aria-label="Title"><ul aria-label="Notes"><li><span class="note-title"></span></li></ul>`,
    ),
  }),
  "/list.html": () => ({
    type: "text/html",
    body: page("list-page.js", `<ul aria-label="Notes"></ul>`),
  }),
  "/keys-page.js": () => script(path.join(here, "keys-page.js")),
  "/keys-worker.js": () => script(path.join(here, "keys-worker.js")),
  "/list-page.js": () => script(path.join(here, "list-page.js")),
  "/list-worker.js": () => script(path.join(bundled, "list-worker.js")),
  "/crsqlite-sync.wasm": () => ({ type: "application/wasm", body: fs.readFileSync(wasm) }),
};
function script(file: string) {
  return { type: "text/javascript", body: fs.readFileSync(file) };
}

const server = http.createServer((req, res) => {
  const file = files[new URL(req.url ?? "/", "http://floor").pathname];
  if (!file) return res.writeHead(404).end();
  const { type, body } = file();
  res.writeHead(200, { "content-type": type, "cache-control": "no-cache" }).end(body);
});
const relay = new WebSocketServer({ server, path: "/relay" });
relay.on("connection", (socket) => {
  socket.on("message", (data, isBinary) => {
    for (const other of relay.clients) if (other !== socket) other.send(data, { binary: isBinary });
  });
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(`READY http://127.0.0.1:${port}`);
});
process.on("SIGTERM", () => {
  fs.rmSync(bundled, { recursive: true, force: true });
  process.exit(0);
});
