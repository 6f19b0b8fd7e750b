import DOMPurify from "dompurify";
import MarkdownIt from "markdown-it";
import { PREVIEW_TAGS, keepPreviews, keptPreviews, type KeptPreview } from "./kept-previews";

/**
 * Markdown to HTML for display. markdown-it runs with raw HTML off (a `<script>` typed in a
 * note is shown as text), and DOMPurify cleans its output as well, so no note can run code
 * or load anything it should not: nothing here is inserted without passing through both (a list
 * preview kept from the last page load did, and is checked again as it comes back).
 */
const md = new MarkdownIt({ html: false, linkify: true, breaks: true });

// Links open in a new tab, away from the app, without access to it.
const defaultLinkOpen =
  md.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
md.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  tokens[idx]!.attrSet("target", "_blank");
  tokens[idx]!.attrSet("rel", "noopener noreferrer");
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** A whole note's body as sanitized HTML (the read view). */
export function renderMarkdown(text: string): string {
  return DOMPurify.sanitize(md.render(text), { ADD_ATTR: ["target"] });
}

/**
 * Characters of a body rendered for a list preview: two lines of the widest list (700 px, on a
 * phone layout; 300 px on a desktop). Every character rendered is laid out, even those the
 * two-line clamp hides: in traced reloads, laying out the first screen took 15-16 ms with 300,
 * 7-10 ms with 200.
 */
const PREVIEW_CHARS = 200;
/** This build: the URL of its chunk changes with its code (the renderer's among it). */
const BUILD = import.meta.url;
const storage = typeof localStorage === "undefined" ? null : localStorage;
/** Rendered previews by text; the last page load's first screen is there from the start. */
const previews = new Map<string, string>(storage ? keptPreviews(storage, BUILD) : []);

/**
 * The start of a body as sanitized HTML for a one- or two-line preview inside a list button:
 * no links, images or other interactive content (a button may not hold them), only their text.
 * Cached by text, so a list of a thousand notes renders each preview once.
 */
export function renderPreview(body: string): string {
  const text = body.slice(0, PREVIEW_CHARS);
  let html = previews.get(text);
  if (html === undefined) {
    // Running text: headings become bold, list items get a bullet, blocks a space between
    // them; only inline formatting is kept (no lists, links or images inside a list button,
    // where they would be read as the list's own items or be clickable).
    const inline = md
      .render(text)
      .replace(/<h[1-6][^>]*>/g, "<strong>")
      .replace(/<\/h[1-6]>/g, "</strong> ")
      .replace(/<li[^>]*>/g, "• ")
      .replace(/<\/(p|li|blockquote|pre|tr|td|th)>/g, " ");
    html = DOMPurify.sanitize(inline, {
      ALLOWED_TAGS: PREVIEW_TAGS,
      ALLOWED_ATTR: [],
    });
    if (previews.size > 5000) previews.clear();
    previews.set(text, html);
  }
  return html;
}

/** Keeps the previews of these bodies (the list's first screen) for the next page load. */
export function keepFirstScreenPreviews(bodies: readonly string[]): void {
  if (!storage) return;
  const kept: KeptPreview[] = [];
  for (const body of bodies) {
    const text = body.slice(0, PREVIEW_CHARS);
    const html = previews.get(text);
    if (html !== undefined) kept.push([text, html]);
  }
  keepPreviews(storage, BUILD, kept);
}
