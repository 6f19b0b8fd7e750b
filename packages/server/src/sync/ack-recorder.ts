import type { Clock } from "@notesync/protocol";
import type { Logger } from "pino";
import type { UserDatabase } from "../user-db.js";

/** Acks are stored at most this often per connection. */
const STORE_INTERVAL_MS = 1000;

/**
 * A client's acks tell the server which deletions every device has seen (their tombstones can
 * go). A write per ack would cost each reader a commit per edit; stored at most once a second,
 * and when the connection closes, a stored ack can only lag, which only keeps tombstones longer.
 */
export class AckRecorder {
  private ackedServerVersion = 0;
  private stored = { serverVersion: 0, at: 0 };

  constructor(
    private readonly db: UserDatabase,
    private readonly clientSite: Uint8Array,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** The client applied the server's changes up to `serverVersion`. */
  note(serverVersion: number): void {
    this.ackedServerVersion = Math.max(this.ackedServerVersion, serverVersion);
    if (this.clock.now() - this.stored.at >= STORE_INTERVAL_MS) this.store();
  }

  /** The connection closed: store the last ack, and drop the tombstones every device has seen. */
  finish(): void {
    if (this.ackedServerVersion <= this.stored.serverVersion) return;
    this.store();
    try {
      this.db.purgeTombstones();
    } catch (err) {
      this.log.warn({ err }, "could not purge tombstones");
    }
  }

  private store(): void {
    if (this.ackedServerVersion <= this.stored.serverVersion) return;
    const now = this.clock.now();
    this.stored = { serverVersion: this.ackedServerVersion, at: now };
    try {
      this.db.recordAck(this.clientSite, this.ackedServerVersion, now);
    } catch (err) {
      this.log.warn({ err }, "could not record an ack");
    }
  }
}
