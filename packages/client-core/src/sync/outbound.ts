import {
  chunkChanges,
  type Change,
  type ClientChangesFrame,
  type Clock,
  type ClockTimer,
} from "@notesync/protocol";
import { coalesced } from "../coalesce.js";
import type { SqlExecutor } from "../database.js";
import { readLocalChanges, readUnsentChanges } from "./local-changes.js";

export interface OutboundOptions {
  readonly db: SqlExecutor;
  readonly clock: Clock;
  /** Local commits within this window are pushed together (0: at once). */
  readonly pushDelayMs: number;
  /** Most local changes read and sent before waiting for the server's ack. */
  readonly pageRows: number;
  readonly targetFrameBytes: number;
  /** Called after changes were handed to the socket (the pending count may have moved). */
  readonly onSent: () => void;
  /** Called when the server acked the page in flight. */
  readonly onAcked: () => void;
  /** Reading or sending failed: the connection must end. */
  readonly onFailure: (err: unknown) => void;
}

/**
 * This database's changes to the server. On each connection it starts after the server's record
 * of them (`ackedClientVersion` from the welcome) and sends one page at a time, the next after
 * the server's ack, so a client with a long offline history never floods the socket.
 */
export class Outbound {
  private send: ((frame: ClientChangesFrame) => void) | null = null;
  /** Own changes up to here (client clock) are on their way or confirmed. */
  private pushedClientVersion = 0;
  /** Own changes up to here (client clock) the server confirmed on this connection. */
  private ackedClientVersion = 0;
  private awaitingAck = false;
  /** A local commit happened since the last look for unsent changes (saves a query per remote batch). */
  private unsentLocal = true;
  private timer: ClockTimer | null = null;
  /** Sending every change held, whoever made it, for a new incarnation; called once all are acked. */
  private refill: (() => Promise<void>) | null = null;
  private readonly pushSoon = coalesced(() => this.push().catch(this.options.onFailure));

  constructor(private readonly options: OutboundOptions) {}

  /** True while a page of changes waits for the server's ack. */
  get inFlight(): boolean {
    return this.awaitingAck;
  }

  /** Connected, and every local change made so far is acked: nothing is pending. */
  get allAcked(): boolean {
    return (
      this.send !== null &&
      !this.awaitingAck &&
      !this.unsentLocal &&
      this.refill === null &&
      // A page flushed ahead of an apply may still be out after the ack of the one before it.
      this.ackedClientVersion >= this.pushedClientVersion
    );
  }

  /**
   * A connection was welcomed: push what the server lacks, from its record of us. With `refilled`,
   * the server's database is a new incarnation: send every change held from the start, whoever
   * made it, and call `refilled` once the last of them was acked.
   */
  begin(
    send: (frame: ClientChangesFrame) => void,
    ackedClientVersion: number,
    refilled?: () => Promise<void>,
  ): Promise<void> {
    this.send = send;
    this.refill = refilled ?? null;
    this.pushedClientVersion = refilled ? 0 : ackedClientVersion;
    this.ackedClientVersion = this.pushedClientVersion;
    this.awaitingAck = false;
    this.unsentLocal = true; // what was sent on the last connection may not have arrived
    return this.push();
  }

  /** The connection ended. */
  end(): void {
    this.send = null;
    this.refill = null;
    this.awaitingAck = false;
    if (this.timer) this.options.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** A local transaction committed. */
  localCommit(): void {
    this.unsentLocal = true;
    if (!this.send) return;
    if (this.options.pushDelayMs === 0) {
      void this.pushSoon();
    } else if (!this.timer) {
      this.timer = this.options.clock.setTimeout(() => {
        this.timer = null;
        void this.pushSoon();
      }, this.options.pushDelayMs);
    }
  }

  /** The server applied our changes up to `clientVersion`: the next page may go (`push`). */
  acked(clientVersion: number): void {
    this.awaitingAck = false;
    this.ackedClientVersion = Math.max(this.ackedClientVersion, clientVersion);
    this.options.onAcked();
  }

  /**
   * Sends every unsent local change now, from inside the transaction that is about to apply the
   * server's changes: applying them may overwrite local edits here (last writer wins), and the
   * server can keep or merge a losing edit only if it has received it.
   */
  async flushWithin(tx: SqlExecutor): Promise<void> {
    if (!this.unsentLocal || !this.send) return;
    this.unsentLocal = false;
    const unsent = await readUnsentChanges(tx, this.pushedClientVersion);
    if (unsent.length === 0) return;
    // During a refill the position covers every site's changes: sending our own ahead of it
    // must not move it, or the other sites' changes in between would never be sent.
    if (this.refill) this.sendFrames(unsent);
    else this.sendChanges(unsent);
  }

  /** Sends the next page of local changes, unless one waits for its ack. */
  async push(): Promise<void> {
    if (this.awaitingAck || !this.send) return;
    if (!this.unsentLocal && !this.refill) return; // nothing was committed since the last look
    const refill = this.refill;
    // Cleared before the read: a commit while it runs sets it again, so that commit is pushed.
    if (!refill) this.unsentLocal = false;
    let page: Awaited<ReturnType<typeof readLocalChanges>>;
    try {
      page = await readLocalChanges(
        this.options.db,
        this.pushedClientVersion,
        this.options.pageRows,
        refill !== null,
      );
    } catch (err) {
      this.unsentLocal = true;
      throw err;
    }
    const { changes, full } = page;
    if (full) this.unsentLocal = true;
    if (refill && changes.length === 0 && !this.awaitingAck && this.refill === refill) {
      this.refill = null;
      await refill();
      return this.push(); // own changes made meanwhile
    }
    // The connection may have ended, or another page gone out, while the query ran (then these
    // go after its ack).
    if (changes.length > 0 && !this.awaitingAck) this.sendChanges(changes);
    else if (changes.length > 0) this.unsentLocal = true;
  }

  /** Sends the changes as the next page: what was pushed moves past them. */
  private sendChanges(changes: Change[]): void {
    if (!this.sendFrames(changes)) return;
    this.pushedClientVersion = changes[changes.length - 1]!.dbVersion;
    this.awaitingAck = true;
    this.options.onSent();
  }

  private sendFrames(changes: Change[]): boolean {
    const send = this.send;
    if (!send) return false;
    for (const chunk of chunkChanges(changes, { targetFrameBytes: this.options.targetFrameBytes }))
      send({
        type: "changes",
        clientVersion: chunk.version,
        partial: chunk.partial,
        changes: chunk.changes,
      });
    return true;
  }
}
