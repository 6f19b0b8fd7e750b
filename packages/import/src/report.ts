import { emptyCounts, type UnmappedDocument, type WriteCounts } from "@notesync/server";

/** A file attached to a source document. */
export interface AttachmentRef {
  readonly docId: string;
  readonly name: string;
  readonly contentType: string;
  readonly bytes: number;
  /** Where it was saved (`--attachments-dir`), or null when it was only listed. */
  readonly savedAs: string | null;
}

/** Why attachments are listed rather than imported. */
export const ATTACHMENT_REASON =
  "NoteSync notes hold text only (no files yet): attachments are not imported into notes; " +
  "they are saved with --attachments-dir, or listed here to fetch from the source before it is retired";

/** What an import did, for the person running it. */
export interface ImportReport {
  readonly source: string;
  /** Where this run started (a resumed import), or null for a run from the beginning. */
  readonly resumedFrom: string | null;
  documents: number;
  readonly counts: WriteCounts;
  designDocuments: number;
  readonly attachments: AttachmentRef[];
  readonly unmapped: UnmappedDocument[];
}

export const newReport = (source: string, resumedFrom: string | null): ImportReport => ({
  source,
  resumedFrom,
  documents: 0,
  counts: emptyCounts(),
  designDocuments: 0,
  attachments: [],
  unmapped: [],
});

const n = (x: number) => x.toLocaleString("en-US");

/** One line while an import runs. */
export const progressLine = (r: ImportReport) =>
  `${r.source}: ${n(r.documents)} documents read; ${n(r.counts.created)} notes created, ${n(r.counts.updated)} updated, ${n(r.counts.trashed)} deleted, ${n(r.counts.versionsAdded)} conflict versions`;

/** The report at the end, as text. */
export function formatReport(r: ImportReport): string {
  const c = r.counts;
  const lines = [
    `Imported from ${r.source}${r.resumedFrom ? ` (resumed after ${r.resumedFrom})` : ""}`,
    `  documents read:          ${n(r.documents)}`,
    `  notes created:           ${n(c.created)}`,
    `  notes updated:           ${n(c.updated)}`,
    `  notes unchanged:         ${n(c.unchanged)}`,
    `  deletions:               ${n(c.trashed + c.deletionsOfAbsent)} (${n(c.trashed)} notes moved to the trash, ${n(c.deletionsOfAbsent)} never imported)`,
    `  conflict versions kept:  ${n(c.versionsAdded)}`,
    `  deleted for good in NoteSync since an earlier import (not brought back): ${n(c.deletedHere)}`,
    `  design documents skipped: ${n(r.designDocuments)}`,
    `  attachments:             ${n(r.attachments.length)}`,
    `  not imported:            ${n(r.unmapped.length)}`,
  ];
  if (r.attachments.length > 0) {
    lines.push(`Attachments (${ATTACHMENT_REASON}):`);
    for (const a of r.attachments)
      lines.push(
        `  ${a.docId} / ${a.name} (${a.contentType}, ${n(a.bytes)} bytes)${a.savedAs ? ` saved as ${a.savedAs}` : ""}`,
      );
  }
  if (r.unmapped.length > 0) {
    lines.push("Documents not imported:");
    for (const u of r.unmapped) lines.push(`  ${u.id}: ${u.reason}`);
  }
  return lines.join("\n");
}
