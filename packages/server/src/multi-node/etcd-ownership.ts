import { ErrorCode, ProtocolError } from "@notesync/protocol";
import type { Etcd3, Lease, Watcher } from "etcd3";
import type { Logger } from "pino";
import type { UserOwnership } from "./ownership.js";

export interface EtcdOwnershipOptions {
  readonly etcd: Etcd3;
  /** etcd's addresses, for error messages. */
  readonly endpoints: readonly string[];
  /** This node's name; unique in the cluster (its owner keys carry it). */
  readonly nodeId: string;
  /** Key prefix in etcd, e.g. `notesync/`. */
  readonly prefix: string;
  /** Seconds the node's lease outlives its last keep-alive: how long a dead node holds its users. */
  readonly leaseTtlSeconds: number;
  readonly log: Logger;
  /** Brings the user's database up to date before the node serves it (restore from the backup). */
  readonly takeOver: (userId: string) => Promise<string>;
  /**
   * The node stops serving the user: close the user's connections (they reconnect and reach the
   * new owner), upload what the backup lacks, close the database.
   */
  readonly giveUp: (userId: string, reason: string) => Promise<void>;
  /** Whether the user has connections here (users without any are released after `idleReleaseMs`). */
  readonly hasConnections: (userId: string) => boolean;
  /** How long `acquire` waits for another node to let a user go. */
  readonly acquireTimeoutMs?: number;
  /** A user with no connection here for this long is released (default 60 s). */
  readonly idleReleaseMs?: number;
  /** A node keeps a user at least this long before handing it over (limits ping-pong). */
  readonly minHoldMs?: number;
}

interface Owned {
  readonly since: number;
  /** The lease the user was taken under: after that lease is lost, the entry is stale. */
  readonly leaseId: string;
  idleSince: number | null;
}

/** Safety margin between the lease's expiry in etcd and the last moment this node writes. */
const WRITE_MARGIN_MS = 1_000;

/** Lease arithmetic runs on a monotonic clock: a wall clock stepped back must not extend it. */
const monotonic = () => performance.now();

/**
 * User ownership through etcd: the node holds one lease (kept alive every third of its TTL) and
 * owns user U while the key `<prefix>owners/U` exists with that lease. Taking a user is one
 * transaction (create the key if absent); a user another node holds is asked for with a
 * `<prefix>handover/U` key, which the owner answers by closing the user's connections, flushing
 * the backup and deleting its key. A node that dies loses its users when its lease expires; a
 * node that loses its lease stops serving everyone at once and starts over with a new lease.
 */
export class EtcdOwnership implements UserOwnership {
  private lease: Lease | null = null;
  private leaseId = "";
  private readonly owned = new Map<string, Owned>();
  private readonly acquiring = new Map<string, Promise<void>>();
  private readonly releasing = new Map<string, { done: Promise<void>; leaseId: string }>();
  /** Until when writes are safe: the last keep-alive's send time plus the TTL, minus a margin. */
  private writableUntil = 0;
  /**
   * When each keep-alive still unanswered was sent, oldest first. A lease renewed by a response
   * lasts from when its request was sent: a response read late (after the process was paused,
   * say) must not count from when it was read.
   */
  private keepalivesSent: number[] = [];
  private watcher: Watcher | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private closed = false;
  private leaseReady: Promise<void> = Promise.resolve();

  constructor(private readonly options: EtcdOwnershipOptions) {}

  private key(kind: "owners" | "handover", userId: string): string {
    return `${this.options.prefix}${kind}/${userId}`;
  }

  /** Takes the node's lease; fails with a clear message when etcd does not answer in time. */
  async start(timeoutMs = 10_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`etcd did not grant a lease within ${timeoutMs / 1000} s`)),
        timeoutMs,
      );
    });
    try {
      await Promise.race([(this.leaseReady = this.newLease()), late]);
    } catch (err) {
      throw new Error(
        `multi-node mode cannot use etcd (${this.options.endpoints.join(", ")}): ${(err as Error).message}`,
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    this.watcher = await this.options.etcd
      .watch()
      .prefix(`${this.options.prefix}handover/`)
      .create();
    this.watcher.on("put", (kv) => {
      const userId = kv.key.toString().slice(`${this.options.prefix}handover/`.length);
      const wantedBy = kv.value.toString();
      if (wantedBy !== this.options.nodeId) this.handOver(userId, wantedBy);
    });
    this.watcher.on("error", (err) =>
      this.options.log.warn({ err }, "etcd watch failed; retrying"),
    );
    const idleMs = this.options.idleReleaseMs ?? 60_000;
    this.sweeper = setInterval(() => this.releaseIdle(idleMs), Math.min(idleMs, 5_000));
    this.sweeper.unref();
  }

  /** Users this node serves now. */
  get users(): string[] {
    return [...this.owned.keys()];
  }

  mayWrite(userId: string): boolean {
    return this.current(this.owned.get(userId));
  }

  /** Taken under the lease this node holds now, and that lease certainly not expired. */
  private current(entry: { leaseId: string } | undefined): boolean {
    return (
      entry !== undefined &&
      this.lease !== null &&
      entry.leaseId === this.leaseId &&
      monotonic() < this.writableUntil
    );
  }

  /** Whether the user's backup is this node's to upload: it serves the user or is letting it go. */
  mayUpload(userId: string): boolean {
    return this.current(this.owned.get(userId) ?? this.releasing.get(userId));
  }

  /** Whether the node holds a live lease (else it can serve nobody: /healthz says so). */
  get healthy(): boolean {
    return this.lease !== null && monotonic() < this.writableUntil;
  }

  acquire(userId: string): Promise<void> {
    // A connection that arrives while the user is being taken over waits for the take-over:
    // until then the local file may be the stale one the restore replaces.
    const pending = this.acquiring.get(userId);
    if (pending) return pending;
    if (this.owned.has(userId) && this.mayWrite(userId)) return Promise.resolve();
    const taking = this.take(userId).finally(() => this.acquiring.delete(userId));
    this.acquiring.set(userId, taking);
    return taking;
  }

  /** Gives up every user (graceful stop) and revokes the lease, so other nodes take over at once. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.sweeper) clearInterval(this.sweeper);
    await Promise.all([...this.acquiring.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(this.users.map((u) => this.release(u, "this node is stopping")));
    await this.watcher?.cancel().catch(() => undefined);
    const lease = this.lease;
    this.lease = null;
    this.writableUntil = 0;
    await lease?.revoke().catch(() => undefined);
  }

  private async newLease(): Promise<void> {
    const { etcd, leaseTtlSeconds, log } = this.options;
    const lease = etcd.lease(leaseTtlSeconds);
    this.keepalivesSent = [];
    // One keep-alive stream: etcd answers its requests in order. A new stream starts afresh.
    lease.on("keepaliveEstablished", () => (this.keepalivesSent = []));
    lease.on("keepaliveFired", () => this.keepalivesSent.push(monotonic()));
    lease.on("keepaliveSucceeded", () => {
      const sentAt = this.keepalivesSent.shift();
      if (this.lease === lease && sentAt !== undefined)
        this.writableUntil = Math.max(
          this.writableUntil,
          sentAt + leaseTtlSeconds * 1000 - WRITE_MARGIN_MS,
        );
    });
    lease.on("lost", (err) => {
      if (this.lease !== lease || this.closed) return;
      log.error({ err }, "lost the etcd lease: no longer serving any user; taking a new lease");
      const users = this.users;
      this.writableUntil = 0;
      this.lease = null;
      this.leaseId = "";
      // The keys went with the lease; a take of these users waits until they are given up.
      for (const userId of users) void this.release(userId, "this node lost its lease", false);
      this.leaseReady = this.leaseAgain();
    });
    const grantedAt = monotonic();
    const leaseId = await lease.grant();
    if (this.closed) {
      await lease.revoke().catch(() => undefined);
      return;
    }
    this.leaseId = leaseId;
    this.lease = lease;
    this.writableUntil = grantedAt + leaseTtlSeconds * 1000 - WRITE_MARGIN_MS;
    log.info(
      { node: this.options.nodeId, lease: this.leaseId, ttlSeconds: leaseTtlSeconds },
      "holding an etcd lease",
    );
  }

  /** Takes a new lease after losing one, trying again (at most every 5 s) until etcd grants it. */
  private async leaseAgain(): Promise<void> {
    for (let wait = 250; !this.closed; wait = Math.min(wait * 2, 5_000)) {
      try {
        return await this.newLease();
      } catch (err) {
        this.options.log.error({ err, retryMs: wait }, "could not take a new etcd lease; retrying");
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async take(userId: string): Promise<void> {
    const { etcd, nodeId, log } = this.options;
    const deadline = Date.now() + (this.options.acquireTimeoutMs ?? 8_000);
    const ownerKey = this.key("owners", userId);
    const handoverKey = this.key("handover", userId);
    let asked = false;
    await this.releasing.get(userId)?.done;
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        this.leaseReady,
        new Promise((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      const lease = this.lease;
      const leaseId = this.leaseId;
      if (this.closed || !lease)
        throw new ProtocolError(
          ErrorCode.GoingAway,
          this.closed
            ? "this server node is stopping; reconnecting"
            : "this server node cannot reach etcd just now; reconnecting",
        );
      const taken = await etcd
        .if(ownerKey, "Create", "==", 0)
        .then(lease.put(ownerKey).value(nodeId))
        .else(etcd.get(ownerKey))
        .commit();
      if (taken.succeeded) {
        try {
          const how = await this.options.takeOver(userId);
          this.owned.set(userId, { since: Date.now(), leaseId, idleSince: null });
          log.info({ userId, node: nodeId, how }, "serving user");
        } catch (err) {
          log.error(
            { err, userId },
            "could not bring the user's database up to date; letting the user go",
          );
          // Nothing was served: let the key go without uploading the file it failed to restore.
          await this.dropOwnerKey(userId);
          throw new ProtocolError(
            ErrorCode.StorageFailed,
            `your database could not be restored on this server node: ${(err as Error).message}`,
          );
        }
        if (asked)
          await etcd
            .delete()
            .key(handoverKey)
            .catch(() => undefined);
        return;
      }
      const holder = taken.responses[0]?.response_range?.kvs[0];
      const holderNode = holder?.value.toString();
      if (holderNode === nodeId && holder && holder.lease !== this.leaseId) {
        // This node's previous life (before a crash or restart) still holds it: let it go now.
        log.info({ userId, lease: holder.lease }, "revoking the lease of this node's previous run");
        await etcd.leaseClient.leaseRevoke({ ID: holder.lease }).catch(() => undefined);
        continue;
      }
      if (holderNode === nodeId && Date.now() < deadline) {
        if (this.owned.has(userId)) {
          // Served here, but the lease is not confirmed just now (etcd slow to answer its
          // keep-alives): wait for it, or for its loss.
          await new Promise((r) => setTimeout(r, 200));
          if (this.mayWrite(userId)) return;
        } else {
          // This lease's own key: still being released, or left by a failed take-over.
          await (this.releasing.get(userId)?.done ?? this.dropOwnerKey(userId));
        }
        continue;
      }
      if (!asked) {
        asked = true;
        log.info(
          { userId, holder: holderNode },
          "asking the node that holds the user to hand it over",
        );
        await lease.put(handoverKey).value(nodeId);
      }
      if (Date.now() >= deadline) {
        await etcd
          .if(handoverKey, "Value", "==", nodeId)
          .then(etcd.delete().key(handoverKey))
          .commit()
          .catch(() => undefined);
        throw new ProtocolError(
          ErrorCode.GoingAway,
          `your account is still held by server node ${holderNode ?? "?"}; reconnecting`,
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Another node asked for a user this node serves. */
  private handOver(userId: string, wantedBy: string): void {
    const owned = this.owned.get(userId);
    if (!owned) return;
    const wait = Math.max(0, owned.since + (this.options.minHoldMs ?? 2_000) - Date.now());
    setTimeout(() => {
      if (this.owned.get(userId) === owned && this.current(owned))
        void this.release(userId, `handed over to node ${wantedBy}`);
    }, wait).unref();
  }

  private releaseIdle(idleMs: number): void {
    const now = Date.now();
    for (const [userId, owned] of this.owned) {
      if (this.options.hasConnections(userId) || this.acquiring.has(userId)) {
        owned.idleSince = null;
        continue;
      }
      owned.idleSince ??= now;
      if (now - owned.idleSince >= idleMs) void this.release(userId, "no connections");
    }
  }

  /** Deletes the user's owner key if it is this node's; on failure it expires with the lease. */
  private async dropOwnerKey(userId: string): Promise<void> {
    const ownerKey = this.key("owners", userId);
    await this.options.etcd
      .if(ownerKey, "Value", "==", this.options.nodeId)
      .then(this.options.etcd.delete().key(ownerKey))
      .commit()
      .catch((err: unknown) =>
        this.options.log.warn(
          { err, userId },
          "could not delete the owner key; it expires with the lease",
        ),
      );
  }

  /** Stops serving the user: gives it up, then deletes its owner key unless the lease took it. */
  private release(userId: string, reason: string, dropKey = true): Promise<void> {
    const running = this.releasing.get(userId);
    if (running) return running.done;
    const leaseId = this.owned.get(userId)?.leaseId ?? "";
    this.owned.delete(userId); // no more writes from here on
    // Registered before giving up starts: its last upload checks `mayUpload`.
    const entry = { done: Promise.resolve(), leaseId };
    this.releasing.set(userId, entry);
    entry.done = (async () => {
      await this.options
        .giveUp(userId, reason)
        .catch((err: unknown) =>
          this.options.log.error({ err, userId }, "giving up a user failed"),
        );
      if (dropKey) await this.dropOwnerKey(userId);
      this.options.log.info({ userId, node: this.options.nodeId, reason }, "stopped serving user");
    })().finally(() => this.releasing.delete(userId));
    return entry.done;
  }
}
