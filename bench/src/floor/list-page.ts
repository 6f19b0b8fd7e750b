export {}; // a module: its names stay its own

/** The floor page of start-up: starts the worker, and draws the 30 titles it reads. */
const worker = new Worker("/list-worker.js", { type: "module" });
const notes = Number(new URLSearchParams(location.search).get("notes") ?? 10_000);
worker.postMessage({ notes });
worker.onmessage = ({ data }: MessageEvent<{ titles?: string[]; error?: string }>) => {
  if (data.error !== undefined) {
    document.body.dataset.error = data.error;
    return;
  }
  const items = (data.titles ?? []).map((title) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    const span = document.createElement("span");
    span.className = "note-title";
    span.textContent = title;
    button.append(span);
    item.append(button);
    return item;
  });
  document.querySelector("ul")!.replaceChildren(...items);
};
