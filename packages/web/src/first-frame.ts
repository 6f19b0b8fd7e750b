/**
 * A returning user's page is drawn once, with their notes in it, not first as an empty list.
 * The app's root is kept out of rendering (display: none: the browser neither styles nor lays
 * it out) until its screen has what it shows, or until `latest` (ms since the page began
 * loading), so a database slow to open still shows the controls by then.
 *
 * Why: in a new tab, the first frame's style, layout and paint of the empty screen took 45-60 ms
 * of the page's main thread while the database opened, and the list's own frame came after it.
 * Drawn once, interleaved new tabs showed the list at 283 / 325 ms (median / p90, 20 each)
 * against 307 / 359; reloads, where styling is warm, stayed level (176 / 217 against 177 / 214).
 */
let held: { root: HTMLElement; timer: ReturnType<typeof setTimeout> } | null = null;

/** Why the app was first drawn, as the `notesync:first-frame` mark's detail says. */
export type FirstFrameReason = "list" | "error" | "sign-in" | "key" | "timer";

export function holdFirstFrame(root: HTMLElement, latest: number): void {
  const left = latest - performance.now();
  if (left <= 0) return; // a slow start: the controls now, the notes when read
  root.style.display = "none";
  held = { root, timer: setTimeout(() => showFirstFrame("timer"), left) };
}

/** Draws the app from now on; harmless when it is drawn already. */
export function showFirstFrame(reason: FirstFrameReason): void {
  if (!held) return;
  clearTimeout(held.timer);
  held.root.style.removeProperty("display");
  held = null;
  performance.mark("notesync:first-frame", { detail: reason });
}
