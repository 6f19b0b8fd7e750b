import { encodeServerFrame, type ServerFrame } from "@notesync/protocol";
import type { FrameSocket } from "@notesync/protocol";
import type { Metrics } from "../metrics.js";

/**
 * Sends a connection's frames and counts the bytes the socket has not written yet, so the
 * outbound stream stops reading the database while a slow client has plenty unsent.
 */
export class FrameWriter {
  private unsentBytes = 0;
  private drained: { below: number; resolve: () => void } | null = null;

  constructor(
    private readonly socket: FrameSocket,
    private readonly metrics: Metrics,
  ) {}

  /** Bytes handed to the socket that it has not written yet. */
  get unsent(): number {
    return this.unsentBytes;
  }

  send(frame: ServerFrame): void {
    this.sendEncoded(encodeServerFrame(frame), frame.type);
  }

  /** Sends a frame encoded already (a live batch encodes once for every connection). */
  sendEncoded(bytes: Uint8Array, type: ServerFrame["type"]): void {
    this.unsentBytes += bytes.length;
    this.metrics.framesOut.inc({ type });
    this.socket.send(bytes, () => {
      this.unsentBytes -= bytes.length;
      if (this.drained && this.unsentBytes <= this.drained.below) this.release();
    });
  }

  /** Resolves once no more than `below` bytes are unsent, or `release` is called. */
  whenBelow(below: number): Promise<void> {
    this.release();
    if (this.unsentBytes <= below) return Promise.resolve();
    return new Promise((resolve) => (this.drained = { below, resolve }));
  }

  /** Wakes whoever waits in `whenBelow` (the connection closed). */
  release(): void {
    const waiting = this.drained;
    this.drained = null;
    waiting?.resolve();
  }
}
