import vue from "@vitejs/plugin-vue";
import { defineConfig, type Plugin } from "vite";

const devServer = process.env.NOTESYNC_DEV_SERVER ?? "http://127.0.0.1:8787";

/**
 * Emits sw.js with the list of every file of the build, so the service worker can precache the
 * whole app on install and a reload without network still opens it.
 */
function serviceWorker(): Plugin {
  return {
    name: "notesync-service-worker",
    apply: "build",
    async generateBundle(_options, bundle) {
      const { readFile } = await import("node:fs/promises");
      const files = Object.keys(bundle).map((f) => `/${f}`);
      const publicFiles = ["/favicon.svg", "/manifest.webmanifest"];
      const template = await readFile(new URL("./src/sw-template.js", import.meta.url), "utf8");
      const version = files.join("|").length.toString(36) + "-" + Date.now().toString(36);
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: template
          .replace("__PRECACHE__", JSON.stringify(["/", ...files, ...publicFiles]))
          .replace("__VERSION__", JSON.stringify(version)),
      });
    },
  };
}

export default defineConfig({
  plugins: [vue(), serviceWorker()],
  build: { target: "esnext", chunkSizeWarningLimit: 2000 },
  // client-core's database worker imports the wasm module, which uses top-level await.
  worker: { format: "es" },
  optimizeDeps: { exclude: ["@vlcn.io/crsqlite-wasm"] },
  server: {
    proxy: {
      "/api": devServer,
      "/sync": { target: devServer.replace(/^http/, "ws"), ws: true },
    },
  },
});
