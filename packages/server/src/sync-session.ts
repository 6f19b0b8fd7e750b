import {
  ERROR_RULES,
  ErrorCode,
  ProtocolError,
  changeProblem,
  SCHEMA_VERSION,
  TransactionAssembler,
  chunkChanges,
  decodeFrame,
  encodeFrame,
  type Change,
  type ChangesFrame,
  type ClientFrame,
  type Frame,
  type HelloFrame,
  type Limits,
  type ServerFrame,
} from "@notesync/protocol";
import type { Logger } from "pino";
import type { WebSocket } from "ws";
import type { DbCache } from "./db-cache.js";
import type { Metrics } from "./metrics.js";
import type { TokenService } from "./tokens.js";
import type { LiveBatch } from "./live-batch.js";
import type { HubMember, UserHub } from "./user-hub.js";
import { StorageError } from "./user-db.js";
import type { ResourceLimits } from "./resource-limits.js";

export interface SessionDeps {
  readonly dbs: DbCache;
  readonly tokens: TokenService;
  readonly limits: Limits;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Frames the server aims for when it sends changes. */
  readonly targetFrameBytes: number;
  /** Rows read from the database per catch-up page. */
  readonly pageRows: number;
  /** Called after a client's changes were committed to a user's database. */
  readonly onCommit?: (userId: string) => void;
  /** Stop reading the database for this connection while more than this many bytes are unsent. */
  readonly highWaterBytes: number;
  readonly resources: ResourceLimits;
}

type State = "awaiting-hello" | "authenticating" | "open" | "closed";

/**
 * One client connection: hello and welcome, then changes both ways. Outbound, the session keeps
 * `serverVersion`, the server's `db_version` up to which it has sent this client everything; it
 * pages from there while it catches up or while the socket is slow, and takes live changes
 * straight from the hub once it is at the head.
 */
export class SyncSession implements HubMember {
  private state: State = "awaiting-hello";
  private hub: UserHub | null = null;
  private hello: HelloFrame | null = null;
  private serverVersion = 0;
  private live = false;
  private pumping = false;
  private caughtUpOnce = false;
  private unsentBytes = 0;
  private drained: (() => void) | null = null;
  private readonly inbound: TransactionAssembler;
  /** The client's last ack (server clock), and what of it is stored: see `noteAck`. */
  private ackedVersion = 0;
  private ackStored = { version: 0, at: 0 };
  private queue: Promise<void> = Promise.resolve();
  private log: Logger;
  private readonly helloDeadline: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    private readonly deps: SessionDeps,
    remote: string,
  ) {
    this.inbound = new TransactionAssembler(deps.limits);
    this.log = deps.log.child({ remote });
    ws.on("message", (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      // Frames are handled strictly in order; hello verification is asynchronous.
      this.queue = this.queue.then(() => this.receive(bytes, isBinary));
    });
    ws.on("close", () => this.closed());
    this.helloDeadline = setTimeout(() => {
      if (this.state === "awaiting-hello" || this.state === "authenticating")
        this.refuse(
          new ProtocolError(
            ErrorCode.LimitReached,
            `no valid hello within ${deps.resources.helloTimeoutMs} ms`,
          ),
          true,
        );
    }, deps.resources.helloTimeoutMs);
    this.helloDeadline.unref();
  }

  /** Bytes handed to the socket that it has not written yet. */
  get unsent(): number {
    return this.unsentBytes;
  }

  /** The user this connection syncs, once its hello was verified. */
  get userId(): string | null {
    return this.hub?.userId ?? null;
  }

  /** Verifies the hello's token again (its session may have ended); closes the connection if it fails. */
  async recheckToken(): Promise<void> {
    if (this.state !== "open" || !this.hello) return;
    try {
      await this.deps.tokens.verify(this.hello.token);
    } catch (err) {
      this.refuse(
        new ProtocolError(
          ErrorCode.Unauthorized,
          `this session has ended: ${(err as Error).message}`,
        ),
        true,
      );
    }
  }

  get siteId(): Uint8Array {
    return this.hello?.siteId ?? new Uint8Array(16);
  }

  private async receive(bytes: Buffer, isBinary: boolean): Promise<void> {
    if (this.state === "closed") return;
    if (!isBinary)
      return this.refuse(
        new ProtocolError(ErrorCode.MalformedFrame, "frames are binary msgpack"),
        true,
      );
    const decoded = decodeFrame(bytes, this.deps.limits);
    if (!decoded.ok) return this.refuse(decoded.error, true);
    const frame = decoded.frame as ClientFrame;
    this.deps.metrics.framesIn.inc({ type: frame.type });
    try {
      if (this.state === "awaiting-hello") {
        if (frame.type !== "hello")
          throw new ProtocolError(ErrorCode.UnexpectedFrame, `expected hello, got ${frame.type}`);
        return await this.onHello(frame);
      }
      switch (frame.type) {
        case "changes":
          return this.onChanges(frame);
        case "ack":
          this.noteAck(frame.cursor);
          return;
        case "error":
          this.log.warn({ code: frame.code, message: frame.message }, "client reported an error");
          if (frame.fatal) this.ws.close(1000);
          return;
        default:
          throw new ProtocolError(
            ErrorCode.UnexpectedFrame,
            `unexpected ${frame.type} after hello`,
          );
      }
    } catch (err) {
      if (err instanceof ProtocolError) return this.refuse(err, true);
      if (err instanceof StorageError) {
        this.log.error({ err, userId: this.hub?.userId }, "user database failed");
        return this.refuse(
          new ProtocolError(
            ErrorCode.StorageFailed,
            "your database on the server could not be read or written",
          ),
          true,
        );
      }
      this.log.error({ err }, "sync session failed");
      return this.refuse(new ProtocolError(ErrorCode.Internal, "internal server error"), true);
    }
  }

  private async onHello(hello: HelloFrame): Promise<void> {
    this.state = "authenticating";
    let userId: string;
    try {
      userId = await this.deps.tokens.verify(hello.token);
    } catch (err) {
      throw new ProtocolError(
        ErrorCode.Unauthorized,
        `invalid session token: ${(err as Error).message}`,
      );
    }
    if (hello.schemaVersion !== SCHEMA_VERSION) {
      const older =
        hello.schemaVersion < SCHEMA_VERSION
          ? "reload the app to upgrade it"
          : "the server must be upgraded";
      throw new ProtocolError(
        ErrorCode.SchemaMismatch,
        `client schema ${hello.schemaVersion}, server schema ${SCHEMA_VERSION}: ${older}`,
      );
    }
    if (this.state !== "authenticating") return; // closed while verifying
    const hub = this.deps.dbs.open(userId);
    if (hub.members.size >= this.deps.resources.connectionsPerUser)
      throw new ProtocolError(
        ErrorCode.LimitReached,
        `this account already has ${hub.members.size} connections open (the limit is ${this.deps.resources.connectionsPerUser}): close some tabs or devices`,
      );
    this.hub = hub;
    this.hello = hello;
    this.log = this.log.child({
      userId,
      site: Buffer.from(hello.siteId).toString("hex").slice(0, 8),
    });
    const head = hub.db.dbVersion();
    // A cursor beyond our head means this database was replaced (restored from a backup): start over.
    this.serverVersion = hello.serverVersion <= head ? hello.serverVersion : 0;
    hub.members.add(this);
    this.state = "open";
    clearTimeout(this.helloDeadline);
    allowFullFrames(this.ws, this.deps.limits.maxFrameBytes * 2);
    this.send({
      type: "welcome",
      schemaVersion: SCHEMA_VERSION,
      siteId: hub.db.siteId,
      clientVersion: hub.db.clientCursor(hello.siteId),
      serverVersion: head,
    });
    this.log.info({ serverVersion: this.serverVersion, head }, "client connected");
    this.pump();
  }

  private onChanges(frame: ChangesFrame): void {
    const whole = this.inbound.push(frame);
    if (!whole) return;
    const hub = this.hub!;
    const receiverVersion = whole.changes.length > 0 ? hub.db.dbVersion() : 0;
    whole.changes.forEach((change, i) => {
      const problem = changeProblem(change, receiverVersion);
      if (problem)
        throw new ProtocolError(
          ErrorCode.MalformedFrame,
          `change ${i + 1} of ${whole.changes.length}: ${problem}; nothing was applied`,
        );
    });
    const used = whole.changes.length > 0 ? hub.db.sizeBytes() : 0;
    if (used > this.deps.resources.storagePerUserBytes)
      throw new ProtocolError(
        ErrorCode.LimitReached,
        `your storage on the server is full (${mb(used)} of ${mb(this.deps.resources.storagePerUserBytes)}): these changes were not stored; empty the trash or delete notes`,
      );
    if (whole.changes.length > 0) {
      const end = this.deps.metrics.applySeconds.startTimer();
      const { before, after } = hub.db.applyFromClient(this.siteId, whole.changes, whole.cursor);
      end();
      this.deps.metrics.changesIn.inc(whole.changes.length);
      this.log.debug(
        { changes: whole.changes.length, clientVersion: whole.cursor, before, after },
        "applied client changes",
      );
      if (after > before) {
        hub.scheduleFlush();
        this.deps.onCommit?.(hub.userId);
      }
    }
    this.send({ type: "ack", cursor: whole.cursor });
  }

  offerLive(batch: LiveBatch): boolean {
    if (
      !this.live ||
      this.serverVersion !== batch.fromVersion ||
      this.unsentBytes > this.deps.highWaterBytes
    ) {
      return false;
    }
    this.serverVersion = batch.toVersion;
    const { frames, count } = batch.framesFor(this.siteId);
    for (const bytes of frames) this.sendBytes(bytes, "changes");
    this.deps.metrics.changesOut.inc(count);
    return true;
  }

  fail(error: Error): void {
    if (this.state === "closed") return;
    this.refuse(new ProtocolError(ErrorCode.StorageFailed, error.message), true);
  }

  pump(): void {
    if (this.pumping || this.state !== "open") return;
    this.pumping = true;
    this.live = false;
    this.pumpLoop()
      .catch((err: unknown) => {
        this.log.error({ err }, "catch-up failed");
        this.refuse(
          new ProtocolError(ErrorCode.StorageFailed, "reading your changes on the server failed"),
          true,
        );
      })
      .finally(() => {
        this.pumping = false;
      });
  }

  private async pumpLoop(): Promise<void> {
    const hub = this.hub!;
    for (;;) {
      if (this.state !== "open") return;
      if (this.unsentBytes > this.deps.highWaterBytes) {
        await new Promise<void>((resolve) => (this.drained = resolve));
        continue;
      }
      const page = hub.db.readChanges(this.serverVersion, this.siteId, this.deps.pageRows);
      if (page.lastVersion === null) {
        const head = hub.version;
        if (this.serverVersion < head || !this.caughtUpOnce) {
          this.serverVersion = Math.max(this.serverVersion, head);
          this.send({ type: "changes", cursor: this.serverVersion, partial: false, changes: [] });
        }
        this.caughtUpOnce = true;
        this.live = true;
        return;
      }
      this.serverVersion = page.lastVersion;
      this.sendChanges(page.changes, page.lastVersion);
      // Let other connections and frames run between pages.
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private sendChanges(changes: readonly Change[], cursor: number): void {
    for (const frame of chunkChanges(changes, {
      targetFrameBytes: this.deps.targetFrameBytes,
      finalCursor: cursor,
    })) {
      this.send(frame);
    }
    this.deps.metrics.changesOut.inc(changes.length);
  }

  private send(frame: ServerFrame): void {
    this.sendBytes(encodeFrame(frame), frame.type);
  }

  private sendBytes(bytes: Uint8Array, type: ServerFrame["type"]): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.unsentBytes += bytes.length;
    this.deps.metrics.framesOut.inc({ type });
    this.ws.send(bytes, () => {
      this.unsentBytes -= bytes.length;
      if (this.drained && this.unsentBytes <= this.deps.highWaterBytes / 2) {
        const resolve = this.drained;
        this.drained = null;
        resolve();
      }
    });
  }

  private refuse(error: ProtocolError, fatal: boolean): void {
    this.deps.metrics.rejected.inc({ code: error.code });
    this.log.warn({ code: error.code, reason: error.message }, "refused a frame");
    this.send({ type: "error", code: error.code, message: error.message, fatal } satisfies Frame);
    if (fatal) {
      this.state = "closed";
      this.ws.close(closeCodeFor(error.code), error.code);
    }
  }

  /** Server shutdown: tell the client, then close with 1001 (going away). */
  goAway(): void {
    if (this.state === "closed") return;
    this.send({
      type: "error",
      code: ErrorCode.GoingAway,
      message: "server is shutting down",
      fatal: true,
    });
    this.state = "closed";
    this.ws.close(1001, "going away");
  }

  /**
   * Acks tell the server which deletions every device has seen (their tombstones can go). A
   * write per ack would cost each reader a commit per edit; stored at most once a second, and
   * when the connection closes, an ack can only lag, which only keeps tombstones longer.
   */
  private noteAck(version: number, force = false): void {
    this.ackedVersion = Math.max(this.ackedVersion, version);
    const now = Date.now();
    if (!this.hub || this.ackedVersion <= this.ackStored.version) return;
    if (!force && now - this.ackStored.at < ACK_STORE_INTERVAL_MS) return;
    this.ackStored = { version: this.ackedVersion, at: now };
    try {
      this.hub.db.recordAck(this.siteId, this.ackedVersion, now);
    } catch (err) {
      this.log.warn({ err }, "could not record an ack");
    }
  }

  private closed(): void {
    clearTimeout(this.helloDeadline);
    if (this.state === "open" && this.ackedVersion > this.ackStored.version) {
      this.noteAck(this.ackedVersion, true);
      try {
        this.hub?.db.purgeTombstones();
      } catch (err) {
        this.log.warn({ err }, "could not purge tombstones");
      }
    }
    this.state = "closed";
    this.hub?.members.delete(this);
    if (this.hub) this.hub.lastUsed = Date.now();
    this.drained?.();
  }
}

const ACK_STORE_INTERVAL_MS = 1000;

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/**
 * The server accepts only small messages until a hello is verified (its WebSocket server's
 * `maxPayload`); this raises the limit of one authenticated connection. `ws` keeps the limit
 * in its receiver, which it creates per connection but does not expose: if that ever changes,
 * large frames are refused with 1009, which the tests of large transfers would show.
 */
function allowFullFrames(ws: WebSocket, maxPayload: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
  if (receiver && typeof receiver._maxPayload === "number") receiver._maxPayload = maxPayload;
}

function closeCodeFor(code: ErrorCode): number {
  return ERROR_RULES[code].closeCode;
}
