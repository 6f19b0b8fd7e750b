import { systemClock, type Clock, type ClockTimer } from "@notesync/protocol";
import { LiveBatch } from "./live-batch.js";
import type { UserDatabase } from "../user-db.js";

/** What the hub needs of a connection to push changes to it. */
export interface HubMember {
  /** The client's site id: its own changes are never sent back to it. */
  readonly siteId: Uint8Array;
  /**
   * Offered the changes of new commits. Returns false when the member is not at the batch's
   * `fromVersion` or cannot take them now; it then catches up from its own cursor.
   */
  offerLive(batch: LiveBatch): boolean;
  /** Catch up from the member's own cursor by reading the database. */
  pump(): void;
  /** The database failed: tell the client why and close the connection. */
  fail(error: Error): void;
}

const NO_SITE = new Uint8Array(16);

export interface UserHubOptions {
  /** Called when work started by a timer or a file event fails on this user's database. */
  readonly onFault?: (hub: UserHub, err: unknown) => void;
  /** Called when the database has new commits (from a client or another process). */
  readonly onCommitted?: (userId: string) => void;
  /** Rows read for one live batch; beyond it, connections page from their cursors. */
  readonly liveMaxRows?: number;
  readonly clock?: Clock;
}

/**
 * One user's open database and the connections syncing it. Every commit, from a client or from
 * another process, schedules one flush; the flush reads the new changes once and offers them to
 * every member, so many commits in one tick cost one read.
 */
export class UserHub {
  readonly members = new Set<HubMember>();
  private head: number;
  private flushScheduled = false;
  private recheck: ClockTimer | null = null;
  private lastDataVersion: number;
  /** The database failed outside a request: the hub does nothing more (it is being closed). */
  private failed = false;
  lastUsed: number;
  private readonly clock: Clock;

  constructor(
    readonly userId: string,
    readonly db: UserDatabase,
    private readonly targetFrameBytes: number,
    private readonly options: UserHubOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.lastUsed = this.clock.now();
    this.head = db.dbVersion();
    this.lastDataVersion = db.dataVersion();
  }

  /** The database version every member has been offered up to. */
  get version(): number {
    return this.head;
  }

  /** Call after any commit; cheap and coalesced. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      this.guarded(() => this.flush());
    });
  }

  /** Call when the file may have been written by another process. */
  checkExternalWrite(): void {
    this.guarded(() => {
      const dataVersion = this.db.dataVersion();
      if (dataVersion === this.lastDataVersion) return;
      this.lastDataVersion = dataVersion;
      this.scheduleFlush();
    });
  }

  /**
   * Runs work that no connection's request started (timers, file events): a failure of this
   * user's file goes to `onFault`, never up to the event loop, where it would end the process
   * and every other user's connections with it.
   */
  private guarded(work: () => void): void {
    if (this.failed) return;
    try {
      work();
    } catch (err) {
      this.failed = true;
      this.dispose();
      if (!this.options.onFault) throw err;
      this.options.onFault(this, err);
    }
  }

  /**
   * A write to the WAL file was seen. The writer's commit becomes visible only when it updates
   * the shared-memory index afterwards, which no file event reports, so look again a little later.
   */
  noticeFileWrite(): void {
    this.checkExternalWrite();
    if (this.failed) return;
    if (this.recheck) this.clock.clearTimeout(this.recheck);
    let delay = 2;
    const again = () => {
      this.checkExternalWrite();
      delay *= 4;
      this.recheck = delay <= 128 ? this.clock.setTimeout(again, delay) : null;
    };
    this.recheck = this.clock.setTimeout(again, delay);
  }

  /** Stops timers (the database is being closed). */
  dispose(): void {
    if (this.recheck) this.clock.clearTimeout(this.recheck);
    this.recheck = null;
  }

  private flush(): void {
    const from = this.head;
    const to = this.db.dbVersion();
    if (to > from) this.options.onCommitted?.(this.userId);
    if (to <= from || this.members.size === 0) {
      this.head = Math.max(from, to);
      return;
    }
    const page = this.db.readChanges(from, NO_SITE, this.options.liveMaxRows ?? 5_000);
    this.head = to;
    const batch = new LiveBatch(page.changes, from, to, this.targetFrameBytes);
    for (const member of this.members) {
      if (page.more || !member.offerLive(batch)) member.pump();
    }
  }
}
