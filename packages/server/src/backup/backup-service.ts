import {
  DEFAULT_LIMITS,
  chunkChanges,
  encodeServerFrame,
  systemClock,
  type Clock,
  type ClockTimer,
} from "@notesync/protocol";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { DbCache } from "../db-cache.js";
import type { Metrics } from "../metrics.js";
import {
  ACCOUNTS_KEY,
  backedUpVersion,
  encodeManifest,
  manifestKey,
  parseManifest,
  type Manifest,
} from "./manifest.js";
import type { ObjectStore } from "./object-store.js";

/** Reads every site's changes: no site has sixteen zero bytes. */
const ALL_SITES = new Uint8Array(16);
/** Changes a segment holds at most (one encoded frame each, read in pages of this size). */
const SEGMENT_ROWS = 20_000;
const SEGMENT_BYTES = 4 * 1024 * 1024;
const MAX_RETRY_MS = 60_000;

export interface BackupOptions {
  readonly store: ObjectStore;
  readonly dbs: DbCache;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Uploads happen at most this long after a user's database changed. */
  readonly intervalMs: number;
  /** Writes `accounts.db` as it is now into the given file (a consistent copy); absent when accounts live elsewhere (etcd). */
  readonly snapshotAccounts?: (file: string) => void;
  /** Whether this process may upload the user's backup (multi-node: it serves the user); default yes. */
  readonly serves?: (userId: string) => boolean;
  readonly clock?: Clock;
}

/**
 * Continuous backup to object storage. Each user's database is a snapshot plus the changes
 * committed after it (encoded as `changes` frames), uploaded within `intervalMs` of a commit;
 * a new snapshot replaces them once they outgrow it, or when the database has a new
 * incarnation. Uploads run in the background: a slow or unreachable store delays the backup,
 * never a user's sync; failures are retried with backoff, logged and counted in /metrics.
 */
export class BackupService {
  private readonly dirty = new Set<string>();
  /** Users whose upload is in flight: still pending until it succeeds. */
  private readonly uploading = new Set<string>();
  private accountsDirty = false;
  private accountsUploading = false;
  private accountsWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];
  private readonly manifests = new Map<string, Manifest | null>();
  /** How often each user was forgotten: an upload started before that writes no manifest. */
  private readonly forgotten = new Map<string, number>();
  private readonly manifestWrites = new Map<string, Promise<void>>();
  private readonly clock: Clock;
  private timer: ClockTimer | null = null;
  private running: Promise<void> | null = null;
  private failures = 0;
  private stopped = false;
  private readonly tmp: string;

  constructor(private readonly options: BackupOptions) {
    this.clock = options.clock ?? systemClock;
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-backup-"));
  }

  /**
   * Backs up every user database in the data directory that the store lacks (after a restart).
   * With `usersDir` null (multi-node: local files may be stale), only what changes from now on.
   */
  start(usersDir: string | null): void {
    if (usersDir !== null)
      for (const file of fs.existsSync(usersDir) ? fs.readdirSync(usersDir) : [])
        if (/^[a-f0-9]{32}\.db$/.test(file)) this.dirty.add(file.slice(0, -3));
    this.accountsDirty = this.options.snapshotAccounts !== undefined;
    this.schedule(0);
  }

  /** Uploads what the user's backup lacks now (before another node takes the user over). */
  async flushUser(userId: string): Promise<void> {
    await this.running?.catch(() => undefined);
    if (!this.dirty.delete(userId)) return;
    try {
      await this.uploadUser(userId);
    } catch (err) {
      this.dirty.add(userId);
      throw err;
    }
  }

  /** Another node may write the user's backup now: drop what this one remembers of it. */
  forget(userId: string): void {
    this.dirty.delete(userId);
    this.manifests.delete(userId);
    // An upload of the user still running must not write its manifest now.
    this.forgotten.set(userId, (this.forgotten.get(userId) ?? 0) + 1);
  }

  /** Resolves once no manifest of the user is being written (after `forget`, none will start). */
  async manifestSettled(userId: string): Promise<void> {
    await this.manifestWrites.get(userId)?.catch(() => undefined);
  }

  /** A user's database has new commits. */
  userChanged(userId: string): void {
    this.dirty.add(userId);
    this.schedule(this.options.intervalMs);
  }

  /** The user's account was deleted: its backup goes too (accounts.db follows with the next upload). */
  userDeleted(userId: string): void {
    this.dirty.delete(userId);
    this.manifests.delete(userId);
    this.accountsDirty = true;
    this.schedule(0);
    void (async () => {
      const keys = await this.options.store.list(`users/${userId}/`);
      if (keys.length > 0) await this.options.store.delete(keys);
    })().catch((err: unknown) =>
      this.options.log.warn({ err, userId }, "could not delete a deleted account's backup"),
    );
  }

  /** `accounts.db` changed; resolves once it is uploaded (a sign-up is answered after that). */
  accountsChanged(): Promise<void> {
    this.accountsDirty = true;
    const done = new Promise<void>((resolve, reject) =>
      this.accountsWaiters.push({ resolve, reject }),
    );
    this.schedule(0);
    return done;
  }

  /** Users and accounts waiting to be uploaded, counting those whose upload is in flight. */
  get pending(): number {
    const users = new Set([...this.dirty, ...this.uploading]).size;
    return users + (this.accountsDirty || this.accountsUploading ? 1 : 0);
  }

  /** Uploads everything pending now (tests, shutdown). Throws when the store fails. */
  async flush(): Promise<void> {
    await this.running;
    const round = this.round(true);
    const settled = round.then(
      () => undefined,
      () => undefined,
    );
    this.running = settled;
    void settled.finally(() => {
      if (this.running === settled) this.running = null;
    });
    await round;
  }

  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    for (const w of this.accountsWaiters.splice(0)) w.reject(new Error("server stopping"));
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.timer) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      if (this.running) return this.schedule(delayMs);
      this.running = this.round(false).finally(() => (this.running = null));
    }, delayMs);
  }

  /** Uploads what is pending; on failure keeps it pending and tries again later. */
  private async round(strict: boolean): Promise<void> {
    try {
      if (this.accountsDirty) await this.uploadAccounts();
      for (const userId of [...this.dirty]) {
        this.dirty.delete(userId);
        this.uploading.add(userId);
        try {
          await this.uploadUser(userId);
        } catch (err) {
          this.dirty.add(userId);
          throw err;
        } finally {
          this.uploading.delete(userId);
        }
      }
      if (this.failures > 0)
        this.options.log.info({ after: this.failures }, "backup uploads work again");
      this.failures = 0;
      this.options.metrics.backupPending.set(this.pending);
    } catch (err) {
      this.failures++;
      this.options.metrics.backupFailures.inc();
      this.options.metrics.backupPending.set(this.pending);
      const retryMs = Math.min(MAX_RETRY_MS, this.options.intervalMs * 2 ** this.failures);
      this.options.log.warn(
        { err, store: this.options.store.description, pending: this.pending, retryMs },
        "backup upload failed; retrying (sync is not affected)",
      );
      if (strict) throw err;
      this.schedule(retryMs);
    }
  }

  private async uploadAccounts(): Promise<void> {
    this.accountsDirty = false;
    const { snapshotAccounts } = this.options;
    const waiters = this.accountsWaiters.splice(0);
    if (!snapshotAccounts) return waiters.forEach((w) => w.resolve());
    this.accountsUploading = true;
    try {
      const file = path.join(this.tmp, "accounts.db");
      fs.rmSync(file, { force: true });
      snapshotAccounts(file);
      await this.put(ACCOUNTS_KEY, fs.readFileSync(file), "accounts");
      fs.rmSync(file, { force: true });
      for (const w of waiters) w.resolve();
    } catch (err) {
      this.accountsDirty = true;
      this.accountsWaiters.push(...waiters);
      throw err;
    } finally {
      this.accountsUploading = false;
    }
  }

  private async uploadUser(userId: string): Promise<void> {
    if (this.options.serves && !this.options.serves(userId)) return; // its new node backs it up
    const era = this.forgotten.get(userId) ?? 0;
    const db = this.options.dbs.open(userId).db;
    const incarnation = Buffer.from(db.incarnation).toString("hex");
    let manifest = await this.manifest(userId);
    const segmentBytes = manifest?.segments.reduce((sum, s) => sum + s.bytes, 0) ?? 0;
    if (
      !manifest ||
      manifest.incarnation !== incarnation ||
      segmentBytes > Math.max(manifest.snapshot.bytes, 64 * 1024) ||
      manifest.segments.length >= 200
    ) {
      return this.uploadSnapshot(userId, incarnation, manifest, era);
    }
    const segments = [...manifest.segments];
    let from = backedUpVersion(manifest);
    for (;;) {
      const page = db.readChanges(from, ALL_SITES, SEGMENT_ROWS);
      if (page.lastVersion === null) break;
      for (const chunk of chunkChanges(page.changes, {
        targetFrameBytes: SEGMENT_BYTES,
        maxChangesPerFrame: DEFAULT_LIMITS.maxChangesPerFrame,
        finalVersion: page.lastVersion,
      })) {
        const bytes = encodeServerFrame({
          type: "changes",
          serverVersion: chunk.version,
          partial: chunk.partial,
          changes: chunk.changes,
        });
        const key = `users/${userId}/${incarnation}/changes-${from}-${chunk.version}-${segments.length}.msgpack`;
        await this.put(key, bytes, "changes");
        segments.push({ key, fromVersion: from, toVersion: chunk.version, bytes: bytes.length });
      }
      from = page.lastVersion;
      if (!page.more) break;
    }
    if (segments.length === manifest.segments.length) return;
    manifest = { ...manifest, segments, updatedAt: this.clock.now() };
    await this.writeManifest(userId, manifest, era);
  }

  private async uploadSnapshot(
    userId: string,
    incarnation: string,
    previous: Manifest | null,
    era: number,
  ): Promise<void> {
    const db = this.options.dbs.open(userId).db;
    // Read before the copy: the snapshot holds at least this version, and the next segment
    // starts here (applying a change twice is harmless).
    const serverVersion = db.dbVersion();
    const file = path.join(this.tmp, `${userId}.db`);
    fs.rmSync(file, { force: true });
    db.snapshotTo(file);
    const bytes = fs.readFileSync(file);
    fs.rmSync(file, { force: true });
    const key = `users/${userId}/${incarnation}/snapshot-${serverVersion}.db`;
    await this.put(key, bytes, "snapshot");
    await this.writeManifest(
      userId,
      {
        format: 1,
        userId,
        incarnation,
        snapshot: { key, serverVersion, bytes: bytes.length },
        segments: [],
        updatedAt: this.clock.now(),
      },
      era,
    );
    // What the previous manifest named is garbage now.
    const stale = previous
      ? [previous.snapshot.key, ...previous.segments.map((s) => s.key)].filter((k) => k !== key)
      : [];
    if (stale.length > 0)
      await this.options.store
        .delete(stale)
        .catch((err: unknown) =>
          this.options.log.warn({ err, userId }, "could not delete an old backup"),
        );
  }

  private async manifest(userId: string): Promise<Manifest | null> {
    if (this.manifests.has(userId)) return this.manifests.get(userId)!;
    const bytes = await this.options.store.get(manifestKey(userId));
    const manifest = bytes ? parseManifest(bytes, manifestKey(userId)) : null;
    this.manifests.set(userId, manifest);
    return manifest;
  }

  /**
   * Writes the manifest last, after the objects it names, unless the user was forgotten since
   * the upload began (`era`) or is no longer this process's to upload: another node may have
   * taken the user and written its own manifest, which a stale one must not replace.
   */
  private async writeManifest(userId: string, manifest: Manifest, era: number): Promise<void> {
    if ((this.forgotten.get(userId) ?? 0) !== era || this.options.serves?.(userId) === false)
      throw new Error(
        `user ${userId} moved to another node during its upload: manifest not written`,
      );
    const writing = this.put(manifestKey(userId), encodeManifest(manifest), "manifest");
    this.manifestWrites.set(userId, writing);
    try {
      await writing;
    } finally {
      if (this.manifestWrites.get(userId) === writing) this.manifestWrites.delete(userId);
    }
    this.manifests.set(userId, manifest);
  }

  private async put(key: string, body: Uint8Array, kind: string): Promise<void> {
    await this.options.store.put(key, body);
    this.options.metrics.backupUploads.inc({ kind });
    this.options.metrics.backupBytes.inc(body.length);
  }
}
