import { defineConfig } from "vite";

// The NoteSync server to talk to. It answers only its own origin, so `vite` and `vite preview`
// proxy its account API and its WebSocket: the page and the server then share an origin.
const server = process.env.NOTESYNC_SERVER ?? "http://127.0.0.1:8787";
const proxy = {
  "/api": server,
  "/sync": { target: server.replace(/^http/, "ws"), ws: true },
};

export default defineConfig({
  build: { target: "esnext" },
  // client-core's database worker imports the wasm module, which uses top-level await.
  worker: { format: "es" },
  // crsqlite-wasm finds its .wasm next to its own module, and client-core its worker: keep them
  // out of pre-bundling.
  optimizeDeps: { exclude: ["@vlcn.io/crsqlite-wasm", "@notesync/client-core"] },
  server: { proxy },
  preview: { proxy },
});
