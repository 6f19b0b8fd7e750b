import fs from "node:fs";
import path from "node:path";
import { systemClock, type Clock, type ClockTimer } from "@notesync/protocol";
import type { Logger } from "pino";
import { StorageError, UserDatabase } from "./user-db.js";
import { UserHub } from "./sync/user-hub.js";

const USER_ID = /^[a-f0-9]{32}$/;

export interface DbCacheOptions {
  readonly dir: string;
  /** Most databases kept open; idle ones beyond it are closed first. */
  readonly maxOpen: number;
  /** Databases with no connection for this long are closed. */
  readonly idleMs: number;
  /** Frames sent to clients aim for this size. */
  readonly targetFrameBytes: number;
  readonly log: Logger;
  readonly clock?: Clock;
  /** Called when a user's database has new commits (the backup uploads them). */
  readonly onCommitted?: (userId: string) => void;
}

/**
 * Opens each user's database on demand (`<dir>/<userId>.db`, named from the server-made id only)
 * and keeps a bounded set open. A single directory watcher notices writes by other processes.
 */
export class DbCache {
  private readonly hubs = new Map<string, UserHub>();
  /** Users whose account was deleted: their database is never opened (so never made) again. */
  private readonly deleted = new Set<string>();
  private sweeper: ClockTimer | null = null;
  private readonly watcher: fs.FSWatcher;
  private readonly clock: Clock;

  constructor(private readonly options: DbCacheOptions) {
    this.clock = options.clock ?? systemClock;
    fs.mkdirSync(options.dir, { recursive: true });
    this.scheduleSweep();
    this.watcher = fs.watch(options.dir, (_event, file) => {
      const userId = file?.toString().replace(/\.db(-wal)?$/, "");
      if (userId) this.hubs.get(userId)?.noticeFileWrite();
    });
  }

  private scheduleSweep(): void {
    this.sweeper = this.clock.setTimeout(
      () => {
        this.closeIdle();
        this.scheduleSweep();
      },
      Math.min(this.options.idleMs, 30_000),
    );
  }

  get openCount(): number {
    return this.hubs.size;
  }

  pathFor(userId: string): string {
    if (!USER_ID.test(userId)) throw new Error(`invalid user id ${JSON.stringify(userId)}`);
    return path.join(this.options.dir, `${userId}.db`);
  }

  /** The user's hub, opening the database when needed. Throws StorageError for a broken file. */
  open(userId: string): UserHub {
    if (this.deleted.has(userId)) throw new StorageError("this account has been deleted");
    let hub = this.hubs.get(userId);
    if (!hub) {
      const started = performance.now();
      this.evictOverLimit(1);
      hub = new UserHub(
        userId,
        new UserDatabase(this.pathFor(userId)),
        this.options.targetFrameBytes,
        {
          onFault: (failed, err) => this.fault(failed, err),
          onCommitted: this.options.onCommitted,
          clock: this.clock,
        },
      );
      this.hubs.set(userId, hub);
      if (hub.db.incarnationChange)
        this.options.log.info(
          { userId, reason: hub.db.incarnationChange },
          "user database has a new incarnation: devices will send everything they hold",
        );
      this.options.log.debug(
        { userId, ms: Math.round(performance.now() - started) },
        "opened user database",
      );
    }
    hub.lastUsed = this.clock.now();
    return hub;
  }

  /**
   * Closes the least recently used idle databases so that `incoming` more fit under `maxOpen`.
   * Databases with connections stay open even past the limit: closing one would break them.
   */
  private evictOverLimit(incoming: number): void {
    const excess = this.hubs.size + incoming - this.options.maxOpen;
    if (excess <= 0) return;
    const idle = [...this.hubs.values()]
      .filter((h) => h.members.size === 0)
      .sort((a, b) => a.lastUsed - b.lastUsed);
    for (const hub of idle.slice(0, excess)) this.closeHub(hub);
  }

  private closeIdle(): void {
    const cutoff = this.clock.now() - this.options.idleMs;
    for (const hub of this.hubs.values()) {
      if (hub.members.size === 0 && hub.lastUsed < cutoff) this.closeHub(hub);
    }
  }

  /** The user's database was changed by another server process: push the news to our connections. */
  noticeCommitElsewhere(userId: string): void {
    this.hubs.get(userId)?.checkExternalWrite();
  }

  /** One user's database failed outside any request: that user's connections end, nobody else's. */
  private fault(hub: UserHub, err: unknown): void {
    this.options.log.error(
      { err, userId: hub.userId, connections: hub.members.size },
      "user database failed; closing it and that user's connections",
    );
    const error = new StorageError(
      `your database on the server could not be read (${(err as Error).message})`,
      { cause: err },
    );
    for (const member of [...hub.members]) member.fail(error);
    if (this.hubs.get(hub.userId) === hub) this.closeHub(hub);
  }

  private closeHub(hub: UserHub): void {
    this.hubs.delete(hub.userId);
    hub.dispose();
    try {
      hub.db.close();
      this.options.log.debug({ userId: hub.userId }, "closed idle user database");
    } catch (err) {
      this.options.log.error({ err, userId: hub.userId }, "closing user database failed");
    }
  }

  /** Closes the user's database if it is open (another node serves the user now). */
  closeUser(userId: string): void {
    const hub = this.hubs.get(userId);
    if (hub) this.closeHub(hub);
  }

  /**
   * Closes the user's database and deletes its files (the WAL and shared memory too). End the
   * user's connections first. Later opens are refused, so a connection that was verified just
   * before the account went cannot make the file again.
   */
  deleteUser(userId: string): void {
    const file = this.pathFor(userId);
    this.deleted.add(userId);
    const hub = this.hubs.get(userId);
    if (hub) this.closeHub(hub);
    for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`])
      fs.rmSync(f, { force: true });
    this.options.log.info({ userId }, "deleted user database");
  }

  close(): void {
    if (this.sweeper) this.clock.clearTimeout(this.sweeper);
    this.sweeper = null;
    this.watcher.close();
    for (const hub of [...this.hubs.values()]) this.closeHub(hub);
  }
}
