/**
 * The previews of the list's first screen, kept in localStorage from one page load to the next:
 * a returning user's list then draws without running markdown-it and DOMPurify first, whose first
 * calls on a page took about 20 ms of the start-up (`node bench/dist/run.js startup`). What is
 * kept is the sanitized HTML of each preview, by its text, for the build that rendered it; what
 * comes back is only HTML that sanitizing could have made (text and the preview's bare inline
 * tags), so that nothing written there by other means is ever drawn as HTML.
 */
const KEY = "notesync:previews";

/** A preview's text and its sanitized HTML. */
export type KeptPreview = [text: string, html: string];

/** The only tags a list preview keeps (inline formatting), and never with attributes. */
export const PREVIEW_TAGS = ["strong", "em", "code", "s", "del", "mark", "b", "i"];

/** What sanitizing a preview can make: text (with entities) and `PREVIEW_TAGS`, bare. */
const PREVIEW_HTML = new RegExp(`^(?:[^<>]|</?(?:${PREVIEW_TAGS.join("|")})>)*$`);

interface Kept {
  /** The build that rendered them: a new one renders again (its renderer may have changed). */
  build: string;
  previews: KeptPreview[];
}

/** What `keepPreviews` kept for `build`; nothing when it was another build's, or unreadable. */
export function keptPreviews(storage: Storage, build: string): KeptPreview[] {
  try {
    const kept = JSON.parse(storage.getItem(KEY) ?? "null") as Partial<Kept> | null;
    if (kept?.build !== build || !Array.isArray(kept.previews)) return [];
    return kept.previews.filter(
      (p): p is KeptPreview =>
        Array.isArray(p) &&
        p.length === 2 &&
        typeof p[0] === "string" &&
        typeof p[1] === "string" &&
        PREVIEW_HTML.test(p[1]),
    );
  } catch {
    return [];
  }
}

/** Keeps `previews` for the next page load of `build`, in place of what was kept before. */
export function keepPreviews(storage: Storage, build: string, previews: KeptPreview[]): void {
  try {
    storage.setItem(KEY, JSON.stringify({ build, previews } satisfies Kept));
  } catch {
    // Storage full or refused: the next page load renders them, as without this.
  }
}

/** Forgets the kept previews (a sign-out: they are the last user's notes). */
export function forgetKeptPreviews(storage: Storage): void {
  storage.removeItem(KEY);
}
