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
  // crsqlite-wasm finds its .wasm next to its own module: keep it out of pre-bundling.
  optimizeDeps: { exclude: ["@vlcn.io/crsqlite-wasm"] },
  server: { proxy },
  preview: { proxy },
});
