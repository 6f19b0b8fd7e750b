import { markdown } from "@codemirror/lang-markdown";
import { Compartment, EditorState } from "@codemirror/state";
import { defaultKeymap } from "@codemirror/commands";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags } from "@lezer/highlight";
import {
  EditorView,
  drawSelection,
  highlightSpecialChars,
  keymap,
  placeholder,
} from "@codemirror/view";
import type { Y } from "@notesync/client-core/browser";
import { yCollab, yUndoManagerKeymap } from "y-codemirror.next";

/**
 * Markdown shown as it reads while it is typed: headings large and bold, emphasis, links and
 * code set apart, the marks themselves (#, *, `) muted. Colours come from the page's theme
 * variables, so light and dark mode both read well.
 */
const markdownStyle = HighlightStyle.define([
  { tag: tags.heading1, fontSize: "1.4em", fontWeight: "700" },
  { tag: tags.heading2, fontSize: "1.2em", fontWeight: "700" },
  { tag: [tags.heading3, tags.heading4, tags.heading5, tags.heading6], fontWeight: "700" },
  { tag: tags.strong, fontWeight: "700" },
  { tag: tags.emphasis, fontStyle: "italic" },
  { tag: tags.strikethrough, textDecoration: "line-through" },
  { tag: [tags.link, tags.url], color: "var(--accent)" },
  { tag: tags.monospace, fontFamily: "ui-monospace, monospace", fontSize: "0.9em" },
  { tag: tags.quote, color: "var(--muted)", fontStyle: "italic" },
  { tag: [tags.processingInstruction, tags.meta, tags.contentSeparator], color: "var(--muted)" },
]);

export interface BodyEditor {
  readonly view: EditorView;
  setReadOnly(readOnly: boolean): void;
  destroy(): void;
}

/**
 * The note's body: CodeMirror 6 bound to the `Y.Text` by y-codemirror.next (remote edits arrive
 * as deltas and the caret stays in place; Ctrl+Z undoes this user's own edits only), with
 * markdown highlighting. Its accessible name is "Body".
 */
export function createBodyEditor(
  parent: HTMLElement,
  text: Y.Text,
  options: { readOnly: boolean },
): BodyEditor {
  const editable = new Compartment();
  const readOnlyExtensions = (readOnly: boolean) => [
    EditorState.readOnly.of(readOnly),
    EditorView.editable.of(!readOnly),
  ];
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text.toString(),
      extensions: [
        // Undo is Yjs's (this user's edits only), so CodeMirror's own history is left out.
        keymap.of([...yUndoManagerKeymap, ...defaultKeymap]),
        highlightSpecialChars(),
        drawSelection(),
        syntaxHighlighting(markdownStyle),
        markdown(),
        EditorView.lineWrapping,
        placeholder("Write something…"),
        EditorView.contentAttributes.of({ "aria-label": "Body" }),
        editable.of(readOnlyExtensions(options.readOnly)),
        yCollab(text, null),
      ],
    }),
  });
  let readOnlyNow = options.readOnly;
  return {
    view,
    setReadOnly(readOnly) {
      if (readOnly === readOnlyNow) return;
      readOnlyNow = readOnly;
      // Called from document events, which may fire inside one of CodeMirror's own updates.
      queueMicrotask(() =>
        view.dispatch({ effects: editable.reconfigure(readOnlyExtensions(readOnlyNow)) }),
      );
    },
    destroy: () => view.destroy(),
  };
}
