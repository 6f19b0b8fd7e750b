import { chunkChanges, encodeServerFrame, sameBytes, type Change } from "@notesync/protocol";

/**
 * The changes of the commits in (fromVersion, toVersion], read once per flush and offered to
 * every connection of the user. A connection gets every change but its own site's; the frames
 * for a connection with no own changes in the batch (the usual case) are encoded once and shared.
 */
export class LiveBatch {
  private shared: Uint8Array[] | null = null;

  constructor(
    readonly changes: readonly Change[],
    readonly fromVersion: number,
    readonly toVersion: number,
    private readonly targetFrameBytes: number,
  ) {}

  /** Encoded frames for a connection whose site is `siteId`, and how many changes they hold. */
  framesFor(siteId: Uint8Array): { frames: Uint8Array[]; count: number } {
    const own = this.changes.some((c) => sameBytes(c.siteId, siteId));
    if (!own) {
      this.shared ??= this.encode(this.changes);
      return { frames: this.shared, count: this.changes.length };
    }
    const theirs = this.changes.filter((c) => !sameBytes(c.siteId, siteId));
    return { frames: theirs.length > 0 ? this.encode(theirs) : [], count: theirs.length };
  }

  private encode(changes: readonly Change[]): Uint8Array[] {
    const options = { targetFrameBytes: this.targetFrameBytes, finalVersion: this.toVersion };
    return [...chunkChanges(changes, options)].map((chunk) =>
      encodeServerFrame({
        type: "changes",
        serverVersion: chunk.version,
        partial: chunk.partial,
        changes: chunk.changes,
      }),
    );
  }
}
