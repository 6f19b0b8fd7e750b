/**
 * A returning user's page is drawn once, with their notes in it, not first as an empty list.
 * The app's root is kept out of rendering (display: none: the browser neither styles nor lays
 * it out) until its screen has what it shows, or until `latest` (ms since the page began
 * loading), so a database slow to open still shows the controls by then.
 *
 * Why: in a new tab, the first frame's style and layout of the empty screen took 45-60 ms of the
 * page's main thread while the database opened, and the list's own frame came after it. Drawn
 * once, interleaved new tabs showed the list at 283 / 325 ms (median / p90, 20 each) against
 * 307 / 359; reloads, where styling is warm, stayed level (176 / 217 against 177 / 214).
 */
let held: { root: HTMLElement; timer: ReturnType<typeof setTimeout> } | null = null;

export function holdFirstFrame(root: HTMLElement, latest: number): void {
  root.style.display = "none";
  held = { root, timer: setTimeout(showFirstFrame, Math.max(0, latest - performance.now())) };
}

/** Draws the app from now on; harmless when it is drawn already. */
export function showFirstFrame(): void {
  if (!held) return;
  clearTimeout(held.timer);
  held.root.style.removeProperty("display");
  held = null;
}
