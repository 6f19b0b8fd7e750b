import {
  ERROR_RULES,
  ErrorCode,
  ProtocolError,
  SCHEMA_VERSION,
  decodeClientFrame,
  type Clock,
  type ClockTimer,
  type HelloFrame,
  type Limits,
} from "@notesync/protocol";
import type { Logger } from "pino";
import type { DbCache } from "../db-cache.js";
import type { Metrics } from "../metrics.js";
import type { ResourceLimits } from "../resource-limits.js";
import type { UserOwnership } from "../multi-node/ownership.js";
import type { TokenService } from "../tokens.js";
import { StorageError } from "../user-db.js";
import { AckRecorder } from "./ack-recorder.js";
import { admit, verifyHello } from "./handshake.js";
import { FrameWriter } from "./frame-writer.js";
import { InboundStream } from "./inbound-stream.js";
import type { LiveBatch } from "./live-batch.js";
import { OutboundStream } from "./outbound-stream.js";
import type { SessionSocket } from "./session-socket.js";
import type { HubMember, UserHub } from "./user-hub.js";

export interface SessionDeps {
  readonly dbs: DbCache;
  readonly tokens: TokenService;
  readonly limits: Limits;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly clock: Clock;
  /** Frames the server aims for when it sends changes. */
  readonly targetFrameBytes: number;
  /** Rows read from the database per catch-up page. */
  readonly pageRows: number;
  /** Called after a client's changes were committed to a user's database. */
  readonly onCommit?: (userId: string) => void;
  /** Stop reading the database for this connection while more than this many bytes are unsent. */
  readonly highWaterBytes: number;
  readonly resources: ResourceLimits;
  /** Which users this node may serve (one node: all of them). */
  readonly ownership: UserOwnership;
  /** Refuse connections whose URL does not name their user (`/sync?user=`), for the router. */
  readonly requireRoutedUser: boolean;
}

type State = "awaiting-hello" | "authenticating" | "open" | "closed";

/** What a connection has once its hello is verified. */
interface Synced {
  readonly hub: UserHub;
  readonly hello: HelloFrame;
  readonly inbound: InboundStream;
  readonly outbound: OutboundStream;
  readonly acks: AckRecorder;
}

/**
 * One client connection: every frame decoded once at the edge, then hello and welcome, then the
 * client's changes in (`InboundStream`) and the server's out (`OutboundStream`). Any refusal
 * sends an error frame and closes this connection only.
 */
export class SyncSession implements HubMember {
  private state: State = "awaiting-hello";
  private synced: Synced | null = null;
  private queue: Promise<void> = Promise.resolve();
  private log: Logger;
  private readonly writer: FrameWriter;
  private readonly helloDeadline: ClockTimer;

  constructor(
    private readonly socket: SessionSocket,
    private readonly deps: SessionDeps,
    remote: string,
    /** The user the connection's URL names (`/sync?user=`), by which the router picked this node. */
    private readonly routedUser: string | null,
    /** Called once, when the connection has closed. */
    private readonly onEnd: () => void = () => undefined,
  ) {
    this.log = deps.log.child({ remote });
    this.writer = new FrameWriter(socket, deps.metrics);
    // Frames are handled strictly in order; hello verification is asynchronous.
    socket.onMessage((bytes, binary) => {
      this.queue = this.queue.then(() => this.receive(bytes, binary));
    });
    socket.onClose(() => this.closed());
    this.helloDeadline = deps.clock.setTimeout(() => {
      if (this.state === "awaiting-hello" || this.state === "authenticating")
        this.refuse(
          new ProtocolError(
            ErrorCode.LimitReached,
            `no valid hello within ${deps.resources.helloTimeoutMs} ms`,
          ),
        );
    }, deps.resources.helloTimeoutMs);
  }

  /** Bytes handed to the socket that it has not written yet. */
  get unsent(): number {
    return this.writer.unsent;
  }

  /** The user this connection syncs, once its hello was verified. */
  get userId(): string | null {
    return this.synced?.hub.userId ?? null;
  }

  get siteId(): Uint8Array {
    return this.synced?.hello.siteId ?? new Uint8Array(16);
  }

  /** Resolves once every frame received so far has been handled. */
  settled(): Promise<void> {
    return this.queue;
  }

  /** Verifies the hello's token again (its session may have ended); closes the connection if it fails. */
  async recheckToken(): Promise<void> {
    if (this.state !== "open" || !this.synced) return;
    try {
      await this.deps.tokens.verify(this.synced.hello.token);
    } catch (err) {
      this.refuse(
        new ProtocolError(
          ErrorCode.Unauthorized,
          `this session has ended: ${(err as Error).message}`,
        ),
      );
    }
  }

  offerLive(batch: LiveBatch): boolean {
    return this.synced?.outbound.offerLive(batch) ?? false;
  }

  pump(): void {
    if (this.state === "open") this.synced?.outbound.pump();
  }

  fail(error: Error): void {
    if (this.state === "closed") return;
    this.refuse(new ProtocolError(ErrorCode.StorageFailed, error.message));
  }

  /** Server shutdown, or the user moves to another node: tell the client, close with 1001. */
  goAway(message = "server is shutting down"): void {
    if (this.state === "closed") return;
    this.writer.send({ type: "error", code: ErrorCode.GoingAway, message, fatal: true });
    this.stop();
    this.socket.close(1001, "going away");
  }

  private async receive(bytes: Uint8Array, binary: boolean): Promise<void> {
    if (this.state === "closed") return;
    if (!binary)
      return this.refuse(new ProtocolError(ErrorCode.MalformedFrame, "frames are binary msgpack"));
    const decoded = decodeClientFrame(bytes, this.deps.limits);
    if (!decoded.ok) return this.refuse(decoded.error);
    const frame = decoded.frame;
    this.deps.metrics.framesIn.inc({ type: frame.type });
    try {
      if (this.state === "awaiting-hello") {
        if (frame.type !== "hello")
          throw new ProtocolError(ErrorCode.UnexpectedFrame, `expected hello, got ${frame.type}`);
        return await this.onHello(frame);
      }
      const synced = this.synced;
      if (!synced) return; // closed while verifying the hello
      switch (frame.type) {
        case "changes": {
          const ack = synced.inbound.receive(frame);
          if (ack) this.writer.send(ack);
          return;
        }
        case "ack":
          return synced.acks.note(frame.serverVersion);
        case "error":
          this.log.warn({ code: frame.code, message: frame.message }, "client reported an error");
          if (frame.fatal) this.socket.close(1000);
          return;
        case "hello":
          throw new ProtocolError(ErrorCode.UnexpectedFrame, "a second hello");
      }
    } catch (err) {
      this.refuse(this.refusalFor(err));
    }
  }

  private refusalFor(err: unknown): ProtocolError {
    if (err instanceof ProtocolError) return err;
    if (err instanceof StorageError) {
      this.log.error({ err, userId: this.userId }, "user database failed");
      return new ProtocolError(
        ErrorCode.StorageFailed,
        "your database on the server could not be read or written",
      );
    }
    this.log.error({ err }, "sync session failed");
    return new ProtocolError(ErrorCode.Internal, "internal server error");
  }

  private async onHello(hello: HelloFrame): Promise<void> {
    this.state = "authenticating";
    const userId = await verifyHello(hello, this.deps.tokens);
    if (this.state !== "authenticating") return; // closed while verifying
    const { deps } = this;
    if (this.routedUser !== userId && (deps.requireRoutedUser || this.routedUser !== null))
      throw new ProtocolError(
        ErrorCode.Unauthorized,
        this.routedUser === null
          ? "connect to /sync?user=<your user id>: the router sends each user to the node that serves them"
          : "this connection's URL names another user than its token",
      );
    await deps.ownership.acquire(userId);
    if (this.state !== "authenticating") return; // closed while the node took the user over
    const { hub, fromServerVersion, headServerVersion, incarnationChange } = admit(
      userId,
      hello,
      deps.dbs,
      deps.resources,
    );
    this.log = this.log.child({
      userId,
      site: Buffer.from(hello.siteId).toString("hex").slice(0, 8),
    });
    this.synced = {
      hub,
      hello,
      inbound: new InboundStream(
        hub,
        hello.siteId,
        {
          limits: deps.limits,
          storagePerUserBytes: deps.resources.storagePerUserBytes,
          metrics: deps.metrics,
          onCommit: deps.onCommit,
          mayWrite: deps.ownership.mayWrite.bind(deps.ownership),
        },
        this.log,
      ),
      outbound: new OutboundStream(
        hub,
        hello.siteId,
        fromServerVersion,
        this.writer,
        deps,
        (err) => {
          this.log.error({ err }, "catch-up failed");
          this.refuse(
            new ProtocolError(ErrorCode.StorageFailed, "reading your changes on the server failed"),
          );
        },
      ),
      acks: new AckRecorder(hub.db, hello.siteId, deps.clock, this.log),
    };
    hub.members.add(this);
    this.state = "open";
    deps.clock.clearTimeout(this.helloDeadline);
    this.socket.raiseMessageLimit(deps.limits.maxFrameBytes * 2);
    this.writer.send({
      type: "welcome",
      schemaVersion: SCHEMA_VERSION,
      siteId: hub.db.siteId,
      clientVersion: hub.db.clientCursor(hello.siteId),
      serverVersion: headServerVersion,
      incarnation: hub.db.incarnation,
    });
    if (incarnationChange)
      this.log.warn({ reason: incarnationChange }, "user database takes a new incarnation");
    this.log.info({ fromServerVersion, headServerVersion }, "client connected");
    this.synced.outbound.pump();
  }

  /** Sends the refusal and closes the connection. */
  private refuse(error: ProtocolError): void {
    this.deps.metrics.rejected.inc({ code: error.code });
    this.log.warn({ code: error.code, reason: error.message }, "refused a frame");
    this.writer.send({ type: "error", code: error.code, message: error.message, fatal: true });
    this.stop();
    this.socket.close(ERROR_RULES[error.code].closeCode, error.code);
  }

  /** Handles nothing more on this connection; the socket's close event finishes the cleanup. */
  private stop(): void {
    this.state = "closed";
    this.synced?.outbound.stop();
  }

  private closed(): void {
    this.deps.clock.clearTimeout(this.helloDeadline);
    const synced = this.synced;
    if (synced && this.state === "open") synced.acks.finish();
    this.state = "closed";
    if (synced) {
      synced.outbound.stop();
      synced.hub.members.delete(this);
      synced.hub.lastUsed = this.deps.clock.now();
    }
    this.onEnd();
  }
}
