import {
  ErrorCode,
  ProtocolError,
  TransactionAssembler,
  changeProblem,
  type ClientChangesFrame,
  type Limits,
  type ServerAckFrame,
} from "@notesync/protocol";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { UserHub } from "./user-hub.js";

export interface InboundOptions {
  readonly limits: Limits;
  /** A user's database size at which new changes are refused. */
  readonly storagePerUserBytes: number;
  readonly metrics: Metrics;
  /** Called after a client's changes were committed to a user's database. */
  readonly onCommit?: (userId: string) => void;
  /** Whether this node may still write the user's database (multi-node: it holds the lease). */
  readonly mayWrite: (userId: string) => boolean;
}

/**
 * One client's changes to the server: reassembles transactions split over frames, checks every
 * change against the receiver's clock before cr-sqlite sees it, applies them with the client's
 * `clientVersion` in one transaction, and answers with the ack to send.
 */
export class InboundStream {
  private readonly assembler: TransactionAssembler;

  constructor(
    private readonly hub: UserHub,
    private readonly clientSite: Uint8Array,
    private readonly options: InboundOptions,
    private readonly log: Logger,
  ) {
    this.assembler = new TransactionAssembler(options.limits);
  }

  /**
   * Applies the frame once its transactions are whole. Returns the ack to send, or null while a
   * transaction continues in the next frame. Throws `ProtocolError` for changes it refuses
   * (nothing of the batch is applied) and `StorageError` when the database fails.
   */
  receive(frame: ClientChangesFrame): ServerAckFrame | null {
    const whole = this.assembler.push(frame);
    if (!whole) return null;
    const { changes, clientVersion } = whole;
    if (changes.length === 0) return { type: "ack", clientVersion };
    // When this node decided it may write: a commit that a pause (GC, SIGSTOP) stretches past
    // the lease still began while the lease held.
    const acceptedAt = Date.now();
    if (!this.options.mayWrite(this.hub.userId))
      throw new ProtocolError(
        ErrorCode.GoingAway,
        "this server node no longer serves your account (another node took it over): nothing was applied; reconnecting",
      );
    const db = this.hub.db;
    const receiverVersion = db.dbVersion();
    changes.forEach((change, i) => {
      const problem = changeProblem(change, receiverVersion);
      if (problem)
        throw new ProtocolError(
          ErrorCode.MalformedFrame,
          `change ${i + 1} of ${changes.length}: ${problem}; nothing was applied`,
        );
    });
    const used = db.sizeBytes();
    const limit = this.options.storagePerUserBytes;
    if (used > limit)
      throw new ProtocolError(
        ErrorCode.LimitReached,
        `your storage on the server is full (${mb(used)} of ${mb(limit)}): these changes were not stored; empty the trash or delete notes`,
      );
    const end = this.options.metrics.applySeconds.startTimer();
    const { before, after } = db.applyFromClient(this.clientSite, changes, clientVersion);
    end();
    this.options.metrics.changesIn.inc(changes.length);
    this.log.debug(
      { changes: changes.length, clientVersion, before, after, acceptedAt },
      "applied client changes",
    );
    if (after > before) {
      this.hub.scheduleFlush();
      this.options.onCommit?.(this.hub.userId);
    }
    return { type: "ack", clientVersion };
  }
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
