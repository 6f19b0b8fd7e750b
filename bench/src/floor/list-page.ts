export {}; // a module: its names stay its own

/** The floor page of start-up: starts the worker, and draws the 30 titles it reads. */
performance.mark("notesync:script"); // stages named as NoteSync's, for the benchmark to print
const worker = new Worker("/list-worker.js", { type: "module" });
const notes = Number(new URLSearchParams(location.search).get("notes") ?? 10_000);
worker.postMessage({ notes });
type Reply = { titles?: string[]; error?: string; stages?: [string, number][] };
worker.onmessage = ({ data }: MessageEvent<Reply>) => {
  for (const [name, at] of data.stages ?? [])
    performance.mark(`notesync:${name}`, { startTime: at - performance.timeOrigin });
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
