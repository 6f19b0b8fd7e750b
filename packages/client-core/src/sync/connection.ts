import {
  ERROR_RULES,
  ErrorCode,
  SCHEMA_VERSION,
  decodeServerFrame,
  encodeClientFrame,
  sameBytes,
  type ClientFrame,
  type FrameSocket,
  type ServerFrame,
  type WelcomeFrame,
} from "@notesync/protocol";
import type { SqlExecutor } from "../database.js";
import { saveIncarnation, saveServerVersion, type SyncCursors } from "./cursors.js";
import type { Inbound } from "./inbound.js";
import type { Outbound } from "./outbound.js";
import { SyncErrorCode, type SyncStatus } from "./status.js";

export interface ConnectionDeps {
  readonly db: SqlExecutor & { readonly siteId: Uint8Array };
  readonly cursors: SyncCursors;
  readonly inbound: Inbound;
  readonly outbound: Outbound;
  readonly token: string;
  readonly setStatus: (next: Partial<SyncStatus>) => void;
  readonly refreshPending: () => Promise<void>;
  /**
   * Stores `cursors.ackedClientVersion` soon (it only makes an offline start's pending count
   * exact, and a durable write per ack would cost every keystroke a flush).
   */
  readonly saveAckedSoon: () => void;
  /** The connection must end: `terminal` when reconnecting with the same token cannot help. */
  readonly end: (code: number, terminal: boolean) => void;
}

/** Whether reconnecting can help after this error, without a new token or app version. */
const isTerminal = (code: ErrorCode | SyncErrorCode) =>
  code === SyncErrorCode.DuplicateSite ||
  code === SyncErrorCode.TokenUnavailable ||
  !ERROR_RULES[code].retryable;

/**
 * One connection's conversation, from hello to close: every server frame decoded once here and
 * handled strictly in order; changes in through `Inbound`, out through `Outbound`.
 */
export class Connection {
  private inbox: Promise<void> = Promise.resolve();
  private ended = false;

  constructor(
    private readonly socket: FrameSocket,
    private readonly deps: ConnectionDeps,
  ) {
    socket.onMessage((bytes) => {
      const decoded = decodeServerFrame(bytes);
      if (!decoded.ok) return this.fail(decoded.error);
      const frame = decoded.frame;
      this.inbox = this.inbox
        .then(() => (this.ended ? undefined : this.handle(frame)))
        .catch((err: unknown) => this.fail(err));
    });
    this.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: deps.db.siteId,
      serverVersion: deps.cursors.serverVersion,
      token: deps.token,
      incarnation: deps.cursors.incarnation,
    });
  }

  /** Resolves once every frame received so far has been handled. */
  settled(): Promise<void> {
    return this.inbox;
  }

  /** Handles nothing more, and closes the socket (its close event may come much later). */
  close(code: number): void {
    this.ended = true;
    this.socket.close(code);
  }

  private send(frame: ClientFrame): void {
    if (!this.ended) this.socket.send(encodeClientFrame(frame));
  }

  private async handle(frame: ServerFrame): Promise<void> {
    const { deps } = this;
    switch (frame.type) {
      case "welcome":
        return this.welcomed(frame);
      case "changes": {
        const catchUp = await deps.inbound.receive(frame);
        if (!catchUp) return;
        this.send({ type: "ack", serverVersion: deps.cursors.serverVersion });
        if (catchUp.kind === "caught-up")
          deps.setStatus({ state: "live", progress: null, error: null });
        else if (catchUp.kind === "progress")
          deps.setStatus({ progress: { received: catchUp.received, total: catchUp.total } });
        return;
      }
      case "ack": {
        deps.outbound.acked(frame.clientVersion);
        if (frame.clientVersion > deps.cursors.ackedClientVersion) {
          deps.cursors.ackedClientVersion = frame.clientVersion;
          deps.saveAckedSoon();
        }
        await deps.refreshPending();
        return deps.outbound.push();
      }
      case "error":
        deps.setStatus({ error: { code: frame.code, message: frame.message } });
        if (frame.fatal) this.finish(1000, isTerminal(frame.code));
        return;
    }
  }

  private async welcomed(welcome: WelcomeFrame): Promise<void> {
    const { deps } = this;
    const [local] = await deps.db.query<{ v: number }>("SELECT crsql_db_version() AS v");
    const localVersion = Number(local?.v ?? 0);
    if (welcome.clientVersion > localVersion) {
      // The server applied changes of our site id that this database never made: another
      // database uses the same site id (a copied file). Syncing now would drop changes.
      deps.setStatus({
        error: {
          code: SyncErrorCode.DuplicateSite,
          message: `the server has changes up to version ${welcome.clientVersion} from this database's site id, which only reached ${localVersion} here: another copy of this database is syncing with the same identity. Nothing was sent. Reopen it with openNodeDatabase from the file it now lives in (a copied file takes a new identity), or delete this copy`,
        },
      });
      return this.finish(1000, true);
    }
    // The server's record of our pushes wins: if it lost some (restored from a backup), we resend them.
    deps.cursors.ackedClientVersion = welcome.clientVersion;
    deps.saveAckedSoon();
    const refilled = await this.newIncarnation(welcome.incarnation, localVersion);
    const progress = deps.inbound.begin(welcome.serverVersion);
    deps.setStatus({ state: "syncing", progress, error: null, offlineCause: null, retryAt: null });
    await deps.refreshPending();
    await deps.outbound.begin((f) => this.send(f), welcome.clientVersion, refilled);
  }

  /**
   * PROTOCOL.md §4.1: the server's database is another incarnation than the one our cursor
   * belongs to (restored, replaced). It sends from 0; if this database holds any change, all of
   * them go back to it, and the incarnation is stored once they are acked. Returns that step.
   */
  private async newIncarnation(
    incarnation: Uint8Array,
    localVersion: number,
  ): Promise<(() => Promise<void>) | undefined> {
    const { cursors, db } = this.deps;
    if (sameBytes(incarnation, cursors.incarnation)) return undefined;
    cursors.serverVersion = 0;
    await saveServerVersion(db, 0);
    const store = async () => {
      cursors.incarnation = incarnation;
      await saveIncarnation(db, incarnation);
    };
    if (localVersion === 0) return void (await store());
    return store;
  }

  private fail(err: unknown): void {
    if (this.ended) return;
    this.deps.setStatus({
      error: {
        code: ErrorCode.Internal,
        message: `sync failed: ${(err as Error).message}`,
      },
    });
    this.finish(1011, false);
  }

  private finish(code: number, terminal: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.deps.end(code, terminal);
  }
}
