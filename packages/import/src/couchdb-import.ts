import {
  addCounts,
  convertChanges,
  hasConflicts,
  type AttachmentStub,
  type CouchChange,
  type CouchDoc,
  type ImportWriter,
  type NoteMapper,
} from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import { CouchDatabase } from "./couchdb-client.js";
import { newReport, type AttachmentRef, type ImportReport } from "./report.js";

interface ChangesResponse {
  results: CouchChange[];
  /** Opaque: a string in CouchDB 2+, a number in PouchDB; only ever handed back. */
  last_seq: unknown;
}

type OpenRev = { ok: CouchDoc } | { missing: string };

export interface CouchImportOptions {
  /** `http(s)://[user:password@]host:port/database`. */
  readonly url: string;
  readonly writer: ImportWriter;
  readonly mapper: NoteMapper;
  /** Documents per `_changes` request (and per transaction). */
  readonly batchSize?: number;
  /** Ignore the checkpoint and read from the beginning (re-running is harmless either way). */
  readonly restart?: boolean;
  /** Save attachments under this directory (`<dir>/<doc id>/<name>`, both URL-encoded). */
  readonly attachmentsDir?: string;
  /** Called after each batch is committed; the import waits for it. */
  readonly onProgress?: (report: ImportReport) => void | Promise<void>;
}

const seqText = (seq: unknown) => (typeof seq === "string" ? seq : JSON.stringify(seq));

/**
 * Imports a CouchDB database into one user's notes: `_changes` (all leaves, winning documents,
 * conflicts) in batches, each committed with its `last_seq`, so an interrupted import resumes
 * where its last batch ended and a later run reads only what changed since.
 */
export async function importCouchDb(options: CouchImportOptions): Promise<ImportReport> {
  const couch = new CouchDatabase(options.url);
  const source = `couchdb:${couch.name}`;
  const limit = options.batchSize ?? 500;
  if (!Number.isInteger(limit) || limit < 1)
    throw new Error(`the batch size must be a whole number >= 1, got ${limit}`);
  if (options.restart) options.writer.clearCheckpoint(source);
  let since = options.writer.checkpoint(source);
  const report = newReport(couch.name, since);
  for (;;) {
    const page = await couch.get<ChangesResponse>("/_changes", {
      style: "all_docs",
      include_docs: "true",
      conflicts: "true",
      limit: String(limit),
      ...(since !== null && { since }),
    });
    if (!Array.isArray(page.results))
      throw new Error(`${couch.name}/_changes answered without results`);
    if (page.results.length === 0) break;
    const leaves = new Map<string, CouchDoc[]>();
    for (const change of page.results.filter(hasConflicts))
      leaves.set(change.id, await openRevs(couch, change.id));
    const converted = convertChanges(page.results, leaves, options.mapper);
    report.documents += page.results.length;
    report.designDocuments += converted.designDocuments;
    report.unmapped.push(...converted.unmapped);
    for (const a of converted.attachments)
      report.attachments.push(await saveAttachment(couch, a, options.attachmentsDir));
    const { notes, deletions } = converted;
    since = seqText(page.last_seq);
    addCounts(report.counts, options.writer.write(source, notes, deletions, since));
    await options.onProgress?.(report);
  }
  return report;
}

/** Every leaf of a document (`open_revs=all`); revisions CouchDB no longer has are left out. */
async function openRevs(couch: CouchDatabase, id: string): Promise<CouchDoc[]> {
  const leaves = await couch.get<OpenRev[]>(CouchDatabase.docPath(id), { open_revs: "all" });
  return leaves.flatMap((leaf) => ("ok" in leaf ? [leaf.ok] : []));
}

/** The attachment as the report lists it, saved under `dir` when one is given. */
async function saveAttachment(
  couch: CouchDatabase,
  a: AttachmentStub,
  dir: string | undefined,
): Promise<AttachmentRef> {
  if (!dir) return { ...a, savedAs: null };
  const data = await couch.getBytes(
    `${CouchDatabase.docPath(a.docId)}/${a.name.split("/").map(encodeURIComponent).join("/")}`,
  );
  const folder = path.join(dir, encodeURIComponent(a.docId));
  fs.mkdirSync(folder, { recursive: true });
  const savedAs = path.join(folder, encodeURIComponent(a.name));
  fs.writeFileSync(savedAs, data);
  return { ...a, bytes: data.length, savedAs };
}
