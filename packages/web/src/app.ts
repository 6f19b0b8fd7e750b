import { createPinia } from "pinia";
import { createApp } from "vue";
import App from "./App.vue";
import { startTheme } from "./theme";

performance.mark("notesync:app");
startTheme();

createApp(App).use(createPinia()).mount("#app");

if (import.meta.env.PROD && "serviceWorker" in navigator) {
  navigator.serviceWorker
    .register("/sw.js")
    .catch((err: unknown) => console.warn("service worker not registered", err));
}
