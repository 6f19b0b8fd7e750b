import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { holdFirstFrame } from "./first-frame";
import { savedSession } from "./saved-session";
import { startTheme } from "./theme";

performance.mark("notesync:app");
startTheme();

/** The latest a returning user's screen waits for their notes (ms since the page began loading). */
const FIRST_FRAME_LATEST_MS = 800;

const root = document.getElementById("app")!;
if (savedSession()) holdFirstFrame(root, FIRST_FRAME_LATEST_MS);
createApp(App).use(createPinia()).mount(root);

if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker
    .register("/sw.js")
    .catch((err: unknown) => console.warn("service worker not registered", err));
}
