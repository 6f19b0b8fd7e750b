import type {
  ImportedDeletion,
  ImportedNote,
  ImportedVersion,
  UnmappedDocument,
} from "./imported-note.js";
import type { NoteMapper } from "./note-mapping.js";

/** A CouchDB or PouchDB document as `_changes` and `open_revs` return it. */
export interface CouchDoc {
  _id: string;
  _rev: string;
  _deleted?: boolean;
  _conflicts?: string[];
  _attachments?: Record<string, { content_type?: string; length?: number; stub?: boolean }>;
  [field: string]: unknown;
}

/** One row of `_changes?style=all_docs&include_docs=true&conflicts=true` (CouchDB and PouchDB alike). */
export interface CouchChange {
  id: string;
  changes: { rev: string }[];
  deleted?: boolean;
  doc?: CouchDoc;
}

/** An attachment a document holds (the importer lists or saves it; notes hold text only). */
export interface AttachmentStub {
  readonly docId: string;
  readonly name: string;
  readonly contentType: string;
  readonly bytes: number;
}

export interface ConvertedChanges {
  readonly notes: ImportedNote[];
  readonly deletions: ImportedDeletion[];
  readonly unmapped: UnmappedDocument[];
  readonly attachments: AttachmentStub[];
  designDocuments: number;
}

/** Whether a change's document has conflicts: its leaves (`open_revs=all`) are needed. */
export const hasConflicts = (c: CouchChange) =>
  !c.deleted && (c.changes.length > 1 || (c.doc?._conflicts?.length ?? 0) > 0);

/**
 * Turns a page of changes into notes, deletions and what could not be mapped. `leaves` holds,
 * for each document with conflicts, every leaf (`open_revs=all`); the winner is the change's own
 * document (CouchDB's choice), every other live leaf a conflict version. Deleted leaves hold no
 * text and are not versions; `_design/` documents are skipped.
 */
export function convertChanges(
  changes: readonly CouchChange[],
  leaves: ReadonlyMap<string, readonly CouchDoc[]>,
  mapper: NoteMapper,
): ConvertedChanges {
  const out: ConvertedChanges = {
    notes: [],
    deletions: [],
    unmapped: [],
    attachments: [],
    designDocuments: 0,
  };
  for (const change of changes) {
    if (typeof change?.id !== "string") {
      out.unmapped.push({ id: String(change?.id), reason: "a change without an id" });
      continue;
    }
    if (change.id.startsWith("_design/")) {
      out.designDocuments++;
      continue;
    }
    if (change.deleted || change.doc?._deleted) {
      out.deletions.push({ id: change.id });
      continue;
    }
    const doc = change.doc;
    if (!doc) {
      out.unmapped.push({ id: change.id, reason: "the change came without its document" });
      continue;
    }
    const mapped = mapper.map(doc, change.id);
    if (!mapped.ok) {
      out.unmapped.push({ id: change.id, reason: mapped.reason });
      continue;
    }
    const conflicts = losingLeaves(doc, leaves.get(change.id) ?? [], mapper, out.unmapped);
    out.notes.push({ ...mapped.note, conflicts });
    for (const [name, meta] of Object.entries(doc._attachments ?? {}))
      out.attachments.push({
        docId: change.id,
        name,
        contentType: meta.content_type ?? "application/octet-stream",
        bytes: meta.length ?? 0,
      });
  }
  return out;
}

function losingLeaves(
  winner: CouchDoc,
  leaves: readonly CouchDoc[],
  mapper: NoteMapper,
  unmapped: UnmappedDocument[],
): ImportedVersion[] {
  const versions: ImportedVersion[] = [];
  for (const leaf of leaves) {
    if (leaf._rev === winner._rev || leaf._deleted) continue;
    const mapped = mapper.map(leaf, winner._id);
    if (!mapped.ok) {
      unmapped.push({
        id: `${winner._id} (conflicting revision ${leaf._rev})`,
        reason: mapped.reason,
      });
      continue;
    }
    const { title, body, updatedAt } = mapped.note;
    versions.push({ key: `couchdb-rev:${leaf._rev}`, title, body, updatedAt });
  }
  return versions.sort((a, b) => (a.key < b.key ? -1 : 1));
}
