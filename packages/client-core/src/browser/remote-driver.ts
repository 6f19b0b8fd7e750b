import type { DatabaseDriver, Statement } from "../database.js";
import type { DbReply, DbRequest } from "./worker-protocol.js";

/** Where a tab's statements go: its own worker (leading) or the leader over the tabs' channel. */
export interface Transport {
  send(request: DbRequest): void;
  /** Ask the leader to record writes (see `DbRequest.track`). */
  readonly track: boolean;
}

const BEGIN = /^\s*BEGIN\b/i;
const END = /^\s*(COMMIT|END|ROLLBACK\s*(TRANSACTION)?\s*;?\s*$)/i;

interface Pending {
  readonly request: Omit<DbRequest, "track">;
  resolve(rows: unknown[] | undefined): void;
  reject(err: Error): void;
}

/**
 * A tab's connection to the database in the leader's worker. Keeps what the leader has not
 * answered, and the statements of the open transaction, so that when the leader changes (its tab
 * closed or crashed, taking the worker and any uncommitted transaction with it) they are sent
 * again to the next one, which skips the writes that already landed.
 */
export class RemoteDriver implements DatabaseDriver {
  siteId: Uint8Array = new Uint8Array(16);
  private seq = 0;
  private transport: Transport | null = null;
  private readonly pending = new Map<number, Pending>();
  /** Answered statements of the transaction in progress, from its BEGIN. */
  private transactionLog: Omit<DbRequest, "track">[] = [];
  /** Replicated tables the answered statements wrote, since `takeWrittenTables`. */
  private written = new Set<string>();

  constructor(
    readonly client: string,
    private readonly onClose: () => Promise<void>,
  ) {}

  /** Sends everything unanswered (and the open transaction) through `transport`, from now on. */
  connect(transport: Transport | null): void {
    this.transport = transport;
    if (!transport) return;
    const again = new Map<number, Omit<DbRequest, "track">>();
    for (const r of this.transactionLog) again.set(r.seq, r);
    for (const p of this.pending.values()) again.set(p.request.seq, p.request);
    for (const seq of [...again.keys()].sort((a, b) => a - b))
      transport.send({ ...again.get(seq)!, track: transport.track });
  }

  /** The leader's answer; answers to other tabs or already answered requests are ignored. */
  receive(reply: DbReply): void {
    if (reply.client !== this.client) return;
    const p = this.pending.get(reply.seq);
    if (!p) return;
    this.pending.delete(reply.seq);
    const { sql } = p.request;
    const inTransaction = this.transactionLog.length > 0 || BEGIN.test(sql);
    if (reply.ok && END.test(sql)) this.transactionLog = [];
    else if (reply.ok && inTransaction) this.transactionLog.push(p.request);
    if (reply.ok) {
      for (const t of reply.written ?? []) this.written.add(t);
      p.resolve(reply.rows);
    } else p.reject(Object.assign(new Error(reply.error.message), { name: reply.error.name }));
  }

  /** Fails everything unanswered (the database is closing). */
  failPending(reason: string): void {
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }

  private call(
    request: Omit<DbRequest, "client" | "seq" | "track">,
  ): Promise<unknown[] | undefined> {
    const full = { ...request, client: this.client, seq: ++this.seq };
    return new Promise((resolve, reject) => {
      this.pending.set(full.seq, { request: full, resolve, reject });
      this.transport?.send({ ...full, track: this.transport.track });
    });
  }

  async exec(sql: string, params?: readonly unknown[]): Promise<void> {
    await this.call({ op: "exec", sql, ...(params && { params }) });
  }

  async query<T>(sql: string, params?: readonly unknown[]): Promise<T[]> {
    return ((await this.call({ op: "query", sql, ...(params && { params }) })) ?? []) as T[];
  }

  async execMany(sql: string, lists: readonly (readonly unknown[])[]): Promise<void> {
    await this.call({ op: "execMany", sql, lists });
  }

  async batch(statements: readonly Statement[]): Promise<void> {
    await this.call({ op: "batch", sql: "", statements });
  }

  takeWrittenTables(): string[] {
    const tables = [...this.written];
    this.written.clear();
    return tables;
  }

  close(): Promise<void> {
    return this.onClose();
  }
}
