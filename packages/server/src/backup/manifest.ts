/**
 * What a user's backup is made of: one snapshot of the database file and the changes committed
 * after it, in order. Written last, after the objects it names, so a reader never sees a
 * manifest whose objects are missing (`users/<userId>/manifest.json`).
 */
export interface Manifest {
  readonly format: 1;
  readonly userId: string;
  /** The database incarnation (hex) the snapshot and segments belong to. */
  readonly incarnation: string;
  readonly snapshot: {
    readonly key: string;
    readonly serverVersion: number;
    readonly bytes: number;
  };
  /** Changes after the snapshot: each an encoded `changes` frame (server clock). */
  readonly segments: readonly {
    readonly key: string;
    readonly fromVersion: number;
    readonly toVersion: number;
    readonly bytes: number;
  }[];
  /** Unix milliseconds of the last upload. */
  readonly updatedAt: number;
}

export const manifestKey = (userId: string) => `users/${userId}/manifest.json`;
export const ACCOUNTS_KEY = "accounts.db";

/** The server version the backup reaches. */
export const backedUpVersion = (m: Manifest) =>
  m.segments.length > 0 ? m.segments[m.segments.length - 1]!.toVersion : m.snapshot.serverVersion;

export function parseManifest(bytes: Uint8Array, key: string): Manifest {
  const m = JSON.parse(new TextDecoder().decode(bytes)) as Manifest;
  if (m.format !== 1 || typeof m.incarnation !== "string" || !m.snapshot?.key)
    throw new Error(`${key} is not a NoteSync backup manifest`);
  return m;
}

export const encodeManifest = (m: Manifest) => new TextEncoder().encode(JSON.stringify(m));
