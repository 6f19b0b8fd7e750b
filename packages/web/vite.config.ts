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
      const publicFiles = ["/icon-192.png", "/icon-512.png", "/manifest.webmanifest"];
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

/**
 * Preloads the app's script (Vue, the list) from the page's head. main.ts imports it only once
 * the database's worker has its open message (a module evaluating on the main thread would hold
 * that back); preloaded, it is fetched and compiled meanwhile, and the import only evaluates it.
 */
function preloadApp(): Plugin {
  return {
    name: "notesync-preload-app",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(_html, { bundle }) {
        const app = Object.values(bundle ?? {}).find(
          (file) => file.type === "chunk" && file.isDynamicEntry && file.name === "app",
        );
        if (!app) throw new Error("the build has no app chunk to preload");
        return [
          {
            tag: "link",
            attrs: { rel: "modulepreload", crossorigin: true, href: `/${app.fileName}` },
            injectTo: "head",
          },
        ];
      },
    },
  };
}

export default defineConfig({
  plugins: [vue(), serviceWorker(), preloadApp()],
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
