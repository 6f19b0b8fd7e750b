/**
 * A note as an importer hands it to the writer: already mapped from its source document, with
 * every value taken from the document (never from the clock), so two imports of the same data
 * write the same rows.
 */
export interface ImportedNote {
  /** The source's id (a CouchDB `_id`, a table's key): the note keeps it. */
  readonly id: string;
  readonly title: string;
  readonly body: string;
  /** ms since the epoch. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** When it was deleted at the source (it goes to the trash); null for a live note. */
  readonly deletedAt: number | null;
  readonly pinned: boolean;
  readonly tags: readonly string[];
  /** Competing versions the source kept (CouchDB's losing leaves): they become conflict versions. */
  readonly conflicts: readonly ImportedVersion[];
}

export interface ImportedVersion {
  /** Stable across runs (for CouchDB the leaf's revision), so a version is kept once. */
  readonly key: string;
  readonly title: string;
  readonly body: string;
  readonly updatedAt: number;
}

/** A document the source deleted and nothing else is known of (CouchDB keeps only `_deleted`). */
export interface ImportedDeletion {
  readonly id: string;
}

/** A document that could not become a note, and why. */
export interface UnmappedDocument {
  readonly id: string;
  readonly reason: string;
}

/** Longest title or body an import accepts, in characters (a note in the app has no hard limit). */
export const MAX_IMPORTED_TEXT = 1_000_000;
