import {
  DEFAULT_LIMITS,
  DEFAULT_TARGET_FRAME_BYTES,
  systemClock,
  type Clock,
  type Limits,
} from "@notesync/protocol";
import type { Logger } from "pino";
import { DbCache } from "../db-cache.js";
import { createMetrics, type Metrics } from "../metrics.js";
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from "../resource-limits.js";
import { SINGLE_NODE, type UserOwnership } from "../multi-node/ownership.js";
import type { TokenService } from "../tokens.js";
import { SyncSession, type SessionDeps } from "./session.js";
import type { SessionSocket } from "./session-socket.js";

export interface SyncHostOptions {
  /** Where `<userId>.db` files live. */
  readonly usersDir: string;
  readonly tokens: TokenService;
  readonly log: Logger;
  readonly metrics?: Metrics;
  readonly clock?: Clock;
  readonly limits?: Partial<Limits>;
  readonly resources?: Partial<ResourceLimits>;
  readonly targetFrameBytes?: number;
  /** Bytes unsent to one client beyond which the server stops reading for it (back-pressure). */
  readonly highWaterBytes?: number;
  readonly maxOpenDatabases?: number;
  readonly databaseIdleMs?: number;
  /** Called after a client's changes were committed to a user's database. */
  readonly onCommit?: (userId: string) => void;
  /** Called when a user's database has new commits, whoever made them (the backup). */
  readonly onCommitted?: (userId: string) => void;
  /** Which users this node may serve (default: all, one node). Set later with `setOwnership`. */
  readonly ownership?: UserOwnership;
  /** Refuse connections whose URL does not name their user (behind a router: multi-node). */
  readonly requireRoutedUser?: boolean;
}

/**
 * The sync side of a server with no network of its own: the open user databases and one
 * `SyncSession` per connection it is handed. `startServer` hands it WebSockets; tests hand it
 * in-memory sockets.
 */
export class SyncHost {
  readonly dbs: DbCache;
  readonly sessions = new Set<SyncSession>();
  readonly limits: Limits;
  readonly resources: ResourceLimits;
  private deps: SessionDeps;

  constructor(options: SyncHostOptions) {
    const clock = options.clock ?? systemClock;
    const metrics = options.metrics ?? createMetrics();
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    this.resources = { ...DEFAULT_RESOURCE_LIMITS, ...options.resources };
    const targetFrameBytes = Math.min(
      options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES,
      this.limits.maxFrameBytes,
    );
    this.dbs = new DbCache({
      dir: options.usersDir,
      targetFrameBytes,
      maxOpen: options.maxOpenDatabases ?? 1000,
      idleMs: options.databaseIdleMs ?? 5 * 60_000,
      log: options.log,
      clock,
      onCommitted: options.onCommitted,
    });
    this.deps = {
      dbs: this.dbs,
      tokens: options.tokens,
      limits: this.limits,
      metrics,
      log: options.log,
      clock,
      targetFrameBytes,
      pageRows: 5_000,
      highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
      resources: this.resources,
      onCommit: options.onCommit,
      ownership: options.ownership ?? SINGLE_NODE,
      requireRoutedUser: options.requireRoutedUser ?? false,
    };
  }

  /** Which users this node may serve, from now on. */
  setOwnership(ownership: UserOwnership, requireRoutedUser: boolean): void {
    this.deps = { ...this.deps, ownership, requireRoutedUser };
  }

  /** Whether any connection of the user is open here. */
  hasConnections(userId: string): boolean {
    for (const s of this.sessions) if (s.userId === userId) return true;
    return false;
  }

  /**
   * This node stops serving the user: its connections are told to go away (they reconnect and
   * reach the user's new node) and its database is closed.
   */
  giveUp(userId: string, message: string): void {
    for (const s of this.sessions) if (s.userId === userId) s.goAway(message);
    this.dbs.closeUser(userId);
  }

  /** Starts syncing over a new connection from `remote` (an address, for the logs). */
  accept(socket: SessionSocket, remote: string, routedUser: string | null = null): SyncSession {
    const session = new SyncSession(socket, this.deps, remote, routedUser, () => {
      this.sessions.delete(session);
      this.deps.metrics.connections.dec();
    });
    this.sessions.add(session);
    this.deps.metrics.connections.inc();
    return session;
  }

  /** A user's sessions may have ended (signed out): connections whose token fails now close. */
  recheckTokens(userId: string): void {
    for (const s of this.sessions) if (s.userId === userId) void s.recheckToken();
  }

  /** Tells every client the server is going away and closes its connection. */
  goAway(): void {
    for (const s of this.sessions) s.goAway();
  }

  close(): void {
    this.dbs.close();
  }
}
