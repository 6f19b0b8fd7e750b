import { openEarly } from "./local-database";
import { savedSession } from "./saved-session";
import "./style.css";

// Start-up stages, for DevTools and the start-up benchmark (`notesync:*` marks).
performance.mark("notesync:script");

/** The longest the app's script waits for the database's worker to start opening. */
const WORKER_WAIT_MS = 300;

// A returning user's database opens while the app's script (Vue, the list) loads and runs.
// Chromium starts the database's worker, and hands it the message to open the database, only
// when this page's main thread is free, and running the app's script holds it for 40-200 ms: the
// app's script loads once the worker has that message.
const session = savedSession();
const workerRuns = new Promise<void>((resolve) => {
  setTimeout(resolve, session ? WORKER_WAIT_MS : 0);
  if (session) openEarly(session.userId, resolve);
});
void workerRuns
  .then(() => import("./app"))
  .catch((err: unknown) => {
    console.error("notesync: the app did not load", err);
    const app = document.getElementById("app");
    if (app) app.textContent = "NoteSync did not load. Check your connection and reload the page.";
  });
