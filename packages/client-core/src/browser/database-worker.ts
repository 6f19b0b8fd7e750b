/// <reference lib="webworker" />
// The database worker's first script, kept small: Chromium compiles a worker's first script anew
// at each start (it writes a code cache for it and never reads it back), but reads the modules
// the worker imports from its code cache. Traced on a reload, the worker's 99 KB script took
// 14 ms to parse before this; the module it imports is now deserialized.
import type { ToWorker } from "./worker-protocol.js";

declare const self: DedicatedWorkerGlobalScope;

const startedAt = performance.timeOrigin + performance.now();
/** The tabs' messages that come while the module loads: a worker's messages are not queued. */
const early: MessageEvent<ToWorker>[] = [];
const keep = (event: MessageEvent<ToWorker>) => early.push(event);
self.addEventListener("message", keep);

import("./database-worker-main.js").then(
  ({ runWorker }) => {
    self.removeEventListener("message", keep);
    runWorker(startedAt, early.splice(0));
  },
  (err: unknown) => {
    // Thrown from a task, as a script that failed to load: the page's Worker gets an error event.
    setTimeout(() => {
      throw err;
    });
  },
);
