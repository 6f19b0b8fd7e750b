import { listPouchDatabases, sendPouchDatabase, signIn } from "./pouchdb-import.js";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>("import");
const server = $<HTMLInputElement>("server");
const database = $<HTMLInputElement>("database");
const progress = $<HTMLParagraphElement>("progress");
const result = $<HTMLPreElement>("report");

server.value = new URLSearchParams(location.search).get("server") ?? location.origin;
void listPouchDatabases().then((names) => {
  const list = $<HTMLDataListElement>("databases");
  for (const name of names) list.append(new Option(name, name));
  if (names.length === 1 && !database.value) database.value = names[0]!;
});

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const button = form.querySelector("button")!;
  button.disabled = true;
  result.textContent = "";
  void (async () => {
    try {
      const url = server.value.replace(/\/+$/, "");
      const { token, userId } = await signIn(
        url,
        $<HTMLInputElement>("username").value,
        $<HTMLInputElement>("password").value,
      );
      const report = await sendPouchDatabase({
        name: database.value,
        server: url,
        token,
        userId,
        onProgress: (r) => (progress.textContent = `${r.documents} documents sent`),
      });
      const c = report.counts;
      result.textContent = [
        `Done: ${report.documents} documents read.`,
        `${c.created ?? 0} notes created, ${c.updated ?? 0} updated, ${c.unchanged ?? 0} unchanged.`,
        `${(c.trashed ?? 0) + (c.deletionsOfAbsent ?? 0)} deletions, ${c.versionsAdded ?? 0} conflict versions kept.`,
        ...(c.deletedHere
          ? [`${c.deletedHere} notes you deleted in NoteSync were not brought back.`]
          : []),
        `${report.designDocuments} design documents skipped.`,
        ...report.attachments.map(
          (a) => `Attachment not imported: ${a.docId} / ${a.name} (${a.bytes} bytes)`,
        ),
        ...report.unmapped.map((u) => `Not imported: ${u.id}: ${u.reason}`),
      ].join("\n");
    } catch (err) {
      result.textContent = `Import failed: ${(err as Error).message}`;
    } finally {
      button.disabled = false;
    }
  })();
});
