import type {
  ImportWriter,
  ImportedDeletion,
  ImportedNote,
  ImportedVersion,
  NoteMapper,
} from "@notesync/server";
import { addCounts } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import { CouchDatabase } from "./couchdb-client.js";
import { newReport, type AttachmentRef, type ImportReport } from "./report.js";

interface CouchDoc {
  _id: string;
  _rev: string;
  _deleted?: boolean;
  _conflicts?: string[];
  _attachments?: Record<string, { content_type?: string; length?: number; stub?: boolean }>;
  [field: string]: unknown;
}

interface ChangesResponse {
  results: {
    id: string;
    seq: unknown;
    changes: { rev: string }[];
    deleted?: boolean;
    doc?: CouchDoc;
  }[];
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
    const notes: ImportedNote[] = [];
    const deletions: ImportedDeletion[] = [];
    for (const change of page.results) {
      report.documents++;
      if (change.id.startsWith("_design/")) {
        report.designDocuments++;
        continue;
      }
      if (change.deleted || change.doc?._deleted) {
        deletions.push({ id: change.id });
        continue;
      }
      const doc = change.doc;
      if (!doc) {
        report.unmapped.push({ id: change.id, reason: "_changes returned no document" });
        continue;
      }
      const mapped = options.mapper.map(doc, change.id);
      if (!mapped.ok) {
        report.unmapped.push({ id: change.id, reason: mapped.reason });
        continue;
      }
      const conflicts =
        change.changes.length > 1 || (doc._conflicts?.length ?? 0) > 0
          ? await losingLeaves(couch, doc, options.mapper, report)
          : [];
      notes.push({ ...mapped.note, conflicts });
      report.attachments.push(...(await attachmentsOf(couch, doc, options.attachmentsDir)));
    }
    since = seqText(page.last_seq);
    addCounts(report.counts, options.writer.write(notes, deletions, { source, position: since }));
    await options.onProgress?.(report);
  }
  return report;
}

/**
 * Every live leaf but the winner (`open_revs=all`), as versions. Deleted leaves hold no text
 * (CouchDB keeps only `_deleted` for them) and are not versions.
 */
async function losingLeaves(
  couch: CouchDatabase,
  winner: CouchDoc,
  mapper: NoteMapper,
  report: ImportReport,
): Promise<ImportedVersion[]> {
  const leaves = await couch.get<OpenRev[]>(CouchDatabase.docPath(winner._id), {
    open_revs: "all",
  });
  const versions: ImportedVersion[] = [];
  for (const leaf of leaves) {
    if (!("ok" in leaf) || leaf.ok._rev === winner._rev || leaf.ok._deleted) continue;
    const mapped = mapper.map(leaf.ok, winner._id);
    if (!mapped.ok) {
      report.unmapped.push({
        id: `${winner._id} (conflicting revision ${leaf.ok._rev})`,
        reason: mapped.reason,
      });
      continue;
    }
    const { title, body, updatedAt } = mapped.note;
    versions.push({ key: `couchdb-rev:${leaf.ok._rev}`, title, body, updatedAt });
  }
  return versions.sort((a, b) => (a.key < b.key ? -1 : 1));
}

async function attachmentsOf(
  couch: CouchDatabase,
  doc: CouchDoc,
  dir: string | undefined,
): Promise<AttachmentRef[]> {
  const refs: AttachmentRef[] = [];
  for (const [name, meta] of Object.entries(doc._attachments ?? {})) {
    let savedAs: string | null = null;
    let bytes = meta.length ?? 0;
    if (dir) {
      const data = await couch.getBytes(
        `${CouchDatabase.docPath(doc._id)}/${name.split("/").map(encodeURIComponent).join("/")}`,
      );
      const folder = path.join(dir, encodeURIComponent(doc._id));
      fs.mkdirSync(folder, { recursive: true });
      savedAs = path.join(folder, encodeURIComponent(name));
      fs.writeFileSync(savedAs, data);
      bytes = data.length;
    }
    refs.push({
      docId: doc._id,
      name,
      contentType: meta.content_type ?? "application/octet-stream",
      bytes,
      savedAs,
    });
  }
  return refs;
}
