import { Y } from "@notesync/client-core/browser";
import diff from "fast-diff";

/** The origin of edits typed into the bound input. */
const TYPED = Symbol("typed");

/**
 * Binds a one-line `<input>` to a `Y.Text`. Typing becomes the smallest Yjs edit (a diff of the
 * input's value against the text, hinted by the caret); an edit from elsewhere is applied to
 * the value as a delta, and the selection moves with the text around it. During IME
 * composition nothing is written until the composition ends. `typedBefore` is what the input
 * showed before the binding existed: anything typed since then is applied first.
 */
export function bindInput(el: HTMLInputElement, text: Y.Text, typedBefore: string): () => void {
  let composing = false;
  const doc = text.doc!;

  const write = () => {
    const current = text.toString();
    const next = el.value;
    if (current === next) return;
    doc.transact(() => {
      let index = 0;
      for (const [op, chunk] of diff(current, next, el.selectionStart ?? next.length)) {
        if (op === diff.EQUAL) index += chunk.length;
        else if (op === diff.DELETE) text.delete(index, chunk.length);
        else {
          text.insert(index, chunk);
          index += chunk.length;
        }
      }
    }, TYPED);
  };

  const onInput = () => {
    if (!composing) write();
  };
  const onCompositionStart = () => (composing = true);
  const onCompositionEnd = () => {
    composing = false;
    write();
  };

  const observer = (event: Y.YTextEvent, tx: Y.Transaction) => {
    if (tx.origin === TYPED) return;
    const focused = document.activeElement === el;
    let start = el.selectionStart ?? 0;
    let end = el.selectionEnd ?? 0;
    let index = 0;
    for (const op of event.delta) {
      if (op.retain !== undefined) index += op.retain;
      else if (op.insert !== undefined) {
        const n = (op.insert as string).length;
        if (index < start) start += n;
        if (index < end) end += n;
        index += n;
      } else if (op.delete !== undefined) {
        const n = op.delete;
        start -= Math.max(0, Math.min(start, index + n) - index);
        end -= Math.max(0, Math.min(end, index + n) - index);
      }
    }
    el.value = text.toString();
    if (focused) el.setSelectionRange(start, end);
  };

  if (el.value !== typedBefore) write();
  else el.value = text.toString();
  text.observe(observer);
  el.addEventListener("input", onInput);
  el.addEventListener("compositionstart", onCompositionStart);
  el.addEventListener("compositionend", onCompositionEnd);
  return () => {
    text.unobserve(observer);
    el.removeEventListener("input", onInput);
    el.removeEventListener("compositionstart", onCompositionStart);
    el.removeEventListener("compositionend", onCompositionEnd);
  };
}
