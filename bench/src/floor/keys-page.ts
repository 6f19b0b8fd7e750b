export {}; // a module: its names stay its own

/**
 * The floor page of the keystroke path: each input event sends the title's text to a bare
 * WebSocket relay, and what comes back from the other page is drawn in its list. With `?worker`,
 * the WebSocket lives in a dedicated worker, as NoteSync's does on OPFS.
 */
const input = document.querySelector("input")!;
const shown = document.querySelector(".note-title")!;
let send: (text: string) => void;
const draw = (text: string) => (shown.textContent = text);
const ready = () => (document.body.dataset.ready = "yes");
if (new URLSearchParams(location.search).has("worker")) {
  const worker = new Worker("/keys-worker.js", { type: "module" });
  worker.onmessage = ({ data }: MessageEvent<{ open?: true; text?: string }>) =>
    data.open ? ready() : draw(data.text ?? "");
  send = (text) => worker.postMessage(text);
} else {
  const socket = new WebSocket(`ws://${location.host}/relay`);
  socket.onopen = ready;
  socket.onmessage = ({ data }: MessageEvent<string>) => draw(data);
  send = (text) => socket.send(text);
}
input.addEventListener("input", () => send(input.value));
