import { chunkChanges, type Change } from "@notesync/protocol";
import type { Metrics } from "../metrics.js";
import type { FrameWriter } from "./frame-writer.js";
import type { LiveBatch } from "./live-batch.js";
import type { UserHub } from "./user-hub.js";

export interface OutboundOptions {
  /** Frames aim for this many bytes. */
  readonly targetFrameBytes: number;
  /** Rows read from the database per catch-up page. */
  readonly pageRows: number;
  /** Stop reading the database while more than this many bytes are unsent. */
  readonly highWaterBytes: number;
  readonly metrics: Metrics;
}

/**
 * The server's changes to one client. `serverVersion` is the server `db_version` up to which the
 * client has been sent everything; the stream pages from there while the client catches up or
 * while its socket is slow, and takes live changes straight from the hub once at the head.
 */
export class OutboundStream {
  private serverVersion: number;
  private live = false;
  private pumping = false;
  private caughtUpOnce = false;
  private stopped = false;

  constructor(
    private readonly hub: UserHub,
    private readonly clientSite: Uint8Array,
    fromServerVersion: number,
    private readonly writer: FrameWriter,
    private readonly options: OutboundOptions,
    /** Reading the database failed: the session refuses and closes. */
    private readonly onFailure: (err: unknown) => void,
  ) {
    this.serverVersion = fromServerVersion;
  }

  /** The hub's offer of new commits: taken when the client is at `batch.fromVersion` and keeping up. */
  offerLive(batch: LiveBatch): boolean {
    if (
      !this.live ||
      this.serverVersion !== batch.fromVersion ||
      this.writer.unsent > this.options.highWaterBytes
    )
      return false;
    this.serverVersion = batch.toVersion;
    const { frames, count } = batch.framesFor(this.clientSite);
    for (const bytes of frames) this.writer.sendEncoded(bytes, "changes");
    this.options.metrics.changesOut.inc(count);
    return true;
  }

  /** Catches up from `serverVersion` by reading the database, page by page. */
  pump(): void {
    if (this.pumping || this.stopped) return;
    this.pumping = true;
    this.live = false;
    this.pumpLoop()
      .catch((err: unknown) => this.onFailure(err))
      .finally(() => {
        this.pumping = false;
      });
  }

  /** The connection closed: read nothing more. */
  stop(): void {
    this.stopped = true;
    this.writer.release();
  }

  private async pumpLoop(): Promise<void> {
    for (;;) {
      if (this.stopped) return;
      if (this.writer.unsent > this.options.highWaterBytes) {
        await this.writer.whenBelow(this.options.highWaterBytes / 2);
        continue;
      }
      const page = this.hub.db.readChanges(
        this.serverVersion,
        this.clientSite,
        this.options.pageRows,
      );
      if (page.lastVersion === null) {
        const head = this.hub.version;
        // An empty frame tells the client it has caught up (on the first pass, even with nothing new).
        if (this.serverVersion < head || !this.caughtUpOnce) {
          this.serverVersion = Math.max(this.serverVersion, head);
          this.send([], this.serverVersion);
        }
        this.caughtUpOnce = true;
        this.live = true;
        return;
      }
      this.serverVersion = page.lastVersion;
      this.send(page.changes, page.lastVersion);
      // Let other connections and frames run between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private send(changes: readonly Change[], serverVersion: number): void {
    const options = {
      targetFrameBytes: this.options.targetFrameBytes,
      finalVersion: serverVersion,
    };
    for (const chunk of chunkChanges(changes, options)) {
      this.writer.send({
        type: "changes",
        serverVersion: chunk.version,
        partial: chunk.partial,
        changes: chunk.changes,
      });
    }
    this.options.metrics.changesOut.inc(changes.length);
  }
}
