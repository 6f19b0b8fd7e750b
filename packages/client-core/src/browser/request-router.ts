import { TABLE_NAMES } from "@notesync/protocol";
import type { DatabaseDriver, SqlExecutor } from "../database.js";
import type { DbReply, DbRequest } from "./worker-protocol.js";

/** Local, never replicated: per tab connection, the seq of its last write that landed. */
export const TAB_REQUESTS_TABLE = "notesync_tab_requests";

const BEGIN = /^\s*BEGIN\b/i;
const COMMIT = /^\s*(COMMIT|END)\b/i;
/** A whole-transaction rollback; `ROLLBACK TO savepoint` keeps the transaction open. */
const ROLLBACK = /^\s*ROLLBACK\s*(TRANSACTION)?\s*;?\s*$/i;

/**
 * Tells when a tab is gone (closed or crashed): calls `gone` once then; the returned function
 * stops watching. In a browser: the tab holds a Web Lock named for its client for its lifetime.
 */
export type WatchClient = (client: string, gone: () => void) => () => void;

/** The leader's connection: SQL, and the replicated tables its statements wrote. */
export type RouterConnection = SqlExecutor & Pick<DatabaseDriver, "takeWrittenTables">;

/** Called when a client's write committed, with the replicated tables it wrote. */
export type OnCommit = (client: string, tables: readonly string[]) => void;

/**
 * Runs the statements of every tab on the leader's one connection, one at a time. A tab that
 * begins a transaction owns the connection until it commits or rolls back (or its tab goes away,
 * which rolls back); the others' statements wait. A write whose (client, seq) already landed is
 * answered without running it again: that is how a follower resends, after the leader changed,
 * whatever it had no answer for.
 */
export class RequestRouter {
  private owner: string | null = null;
  private stopWatching: (() => void) | null = null;
  private readonly waiting: { request: DbRequest; reply: (r: DbReply) => void }[] = [];
  /** Seen by this leader: a request that arrives twice (resent and original) runs once. */
  private readonly seen = new Map<string, number>();
  private chain: Promise<void> = Promise.resolve();
  /** Replicated tables written by the open transaction. */
  private transactionTables = new Set<string>();
  /** Told of every commit (the sync engine in the worker pushes what tabs wrote). */
  onCommit: OnCommit = () => undefined;
  /** Readies the connection for writes, once (`beforeFirstWrite`); null when done or none. */
  private prepareWrites: (() => Promise<void>) | null = null;

  private constructor(
    private readonly db: RouterConnection,
    private readonly watch: WatchClient,
    private readonly applied: Map<string, number>,
  ) {}

  /** Loads what earlier leaders recorded; drops records of tabs a day gone. */
  static async open(
    db: RouterConnection,
    watch: WatchClient,
    now = Date.now(),
  ): Promise<RequestRouter> {
    await db.exec(
      `CREATE TABLE IF NOT EXISTS ${TAB_REQUESTS_TABLE} (client TEXT PRIMARY KEY NOT NULL, seq INTEGER NOT NULL, at INTEGER NOT NULL)`,
    );
    await db.exec(`DELETE FROM ${TAB_REQUESTS_TABLE} WHERE at < ?`, [now - 86_400_000]);
    const rows = await db.query<{ client: string; seq: number }>(
      `SELECT client, seq FROM ${TAB_REQUESTS_TABLE}`,
    );
    return new RequestRouter(db, watch, new Map(rows.map((r) => [r.client, Number(r.seq)])));
  }

  /** Queues a request; `reply` is called once with its outcome (never for a duplicate in flight). */
  handle(request: DbRequest, reply: (r: DbReply) => void): void {
    this.chain = this.chain.then(() => this.dispatch(request, reply));
  }

  /**
   * `prepare` runs once on the connection, outside any transaction: before the first request
   * that may write (any but a query), or at `prepareWritesNow`, whichever comes first. A
   * connection it could not ready still works (it may call this again to be tried again).
   */
  beforeFirstWrite(prepare: () => Promise<void>): void {
    this.prepareWrites = prepare;
  }

  /** Runs `beforeFirstWrite`'s work now, in turn with the requests queued, unless in a transaction. */
  prepareWritesNow(): void {
    this.chain = this.chain.then(() => (this.owner === null ? this.writesPrepared() : undefined));
  }

  /** Never fails: the queue must go on, and a write must not fail for it. */
  private async writesPrepared(): Promise<void> {
    const prepare = this.prepareWrites;
    this.prepareWrites = null;
    await prepare?.().catch((err: unknown) =>
      console.error("notesync: readying the database for writes failed", err),
    );
  }

  /** Waits for everything queued so far. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async dispatch(request: DbRequest, reply: (r: DbReply) => void): Promise<void> {
    if (this.owner !== null && this.owner !== request.client) {
      this.waiting.push({ request, reply });
      return;
    }
    await this.run(request, reply);
    while (this.owner === null && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      await this.run(next.request, next.reply);
    }
  }

  private async run(request: DbRequest, reply: (r: DbReply) => void): Promise<void> {
    const { client, seq } = request;
    if (seq <= (this.seen.get(client) ?? 0)) return;
    this.seen.set(client, seq);
    if (seq <= (this.applied.get(client) ?? 0)) {
      // It landed under an earlier leader, which wrote who knows what: name every table.
      reply({ client, seq, ok: true, written: request.op === "query" ? [] : [...TABLE_NAMES] });
      return;
    }
    try {
      // (A transaction's BEGIN is a request that may write: it came through here first.)
      if (request.op !== "query" && this.owner === null) await this.writesPrepared();
      const rows = await this.execute(request);
      const written = this.db.takeWrittenTables?.() ?? [];
      for (const t of written) this.transactionTables.add(t);
      // A statement outside any transaction, or the COMMIT that ended one (a rollback cleared
      // the tables): what it wrote is durable now.
      let committed: string[] = [];
      if (this.owner === null && this.transactionTables.size > 0) {
        committed = [...this.transactionTables];
        this.transactionTables.clear();
      }
      reply({ client, seq, ok: true, ...(rows && { rows }), written });
      if (committed.length > 0) this.tellCommit(client, committed);
    } catch (err) {
      this.db.takeWrittenTables?.(); // the failed statement's writes were undone
      const { name, message } = err instanceof Error ? err : new Error(String(err));
      reply({ client, seq, ok: false, error: { name, message } });
    }
  }

  private tellCommit(client: string, tables: readonly string[]): void {
    try {
      this.onCommit(client, tables);
    } catch (err) {
      console.error("notesync: a commit listener threw", err);
    }
  }

  private async execute(request: DbRequest): Promise<unknown[] | undefined> {
    const { client, sql } = request;
    if (request.op === "exec" && BEGIN.test(sql)) {
      await this.db.exec(sql, request.params);
      this.owner = client;
      this.stopWatching = this.watch(client, () => void this.abandon(client));
      return undefined;
    }
    if (request.op === "exec" && COMMIT.test(sql)) {
      if (request.track) await this.record(request);
      await this.db.exec(sql, request.params);
      this.release(request);
      return undefined;
    }
    if (request.op === "exec" && ROLLBACK.test(sql)) {
      try {
        await this.db.exec(sql, request.params);
      } finally {
        // Also when it fails: SQLite ends a transaction itself after some errors (a full disk),
        // and the ROLLBACK then finds none; the others must not wait for it forever.
        this.release(null);
      }
      return undefined;
    }
    const alone = this.owner === null && request.track && request.op !== "query";
    if (!alone && request.op !== "batch") return this.statement(request);
    // A batch, or a follower's write outside a transaction: one transaction, with the
    // follower's seq (so it lands with it, or neither does).
    await this.db.exec("BEGIN IMMEDIATE");
    try {
      await this.statement(request);
      if (request.track) await this.record(request);
      await this.db.exec("COMMIT");
    } catch (err) {
      await this.db.exec("ROLLBACK").catch(() => undefined);
      throw err;
    }
    if (request.track) this.applied.set(client, request.seq);
    return undefined;
  }

  private async statement(request: DbRequest): Promise<unknown[] | undefined> {
    if (request.op === "query") return this.db.query(request.sql, request.params);
    if (request.op === "batch") {
      for (const s of request.statements ?? []) await this.db.exec(s.sql, s.params);
      return undefined;
    }
    if (request.op === "execMany") await this.db.execMany(request.sql, request.lists ?? []);
    else await this.db.exec(request.sql, request.params);
    return undefined;
  }

  private record(request: DbRequest): Promise<void> {
    return this.db.exec(`INSERT OR REPLACE INTO ${TAB_REQUESTS_TABLE} VALUES (?, ?, ?)`, [
      request.client,
      request.seq,
      Date.now(),
    ]);
  }

  /** The transaction ended; a committed one's seq is now applied. */
  private release(committed: DbRequest | null): void {
    if (committed?.track) this.applied.set(committed.client, committed.seq);
    if (!committed) this.transactionTables.clear();
    this.owner = null;
    this.stopWatching?.();
    this.stopWatching = null;
  }

  /** The owning tab went away mid-transaction: roll it back and let the others in. */
  private abandon(client: string): void {
    this.handle(
      { client, seq: Number.MAX_SAFE_INTEGER, op: "exec", sql: "ROLLBACK", track: false },
      () => undefined,
    );
  }
}
