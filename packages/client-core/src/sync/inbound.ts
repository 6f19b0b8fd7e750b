import {
  INSERT_CHANGE,
  NoteDocCache,
  TransactionAssembler,
  changeParams,
  type ServerChangesFrame,
} from "@notesync/protocol";
import type { Database } from "../database.js";
import { refreshTextAfterApply } from "../notes/note-text.js";
import { saveServerVersion, type SyncCursors } from "./cursors.js";
import type { Outbound } from "./outbound.js";

/** Where a connection's catch-up stands after a frame. */
export type CatchUp =
  | { readonly kind: "progress"; readonly received: number; readonly total: number }
  | { readonly kind: "caught-up" }
  | { readonly kind: "live" };

/**
 * The server's changes to this database: whole transactions (reassembled from `partial`
 * frames) applied with the server version they complete, in one local transaction, and the
 * plain text of the notes they touch brought up to date in the same transaction.
 */
export class Inbound {
  private assembler = new TransactionAssembler();
  private catchUp: { fromServerVersion: number; toServerVersion: number } | null = null;
  /** Documents of recently changed notes, so a keystroke's row is all that is applied to derive the text. */
  private readonly noteDocs = new NoteDocCache();

  constructor(
    private readonly db: Database,
    private readonly cursors: SyncCursors,
    private readonly outbound: Outbound,
  ) {}

  /** A connection was welcomed: the server will send what lies between our cursor and its head. */
  begin(headServerVersion: number): { received: number; total: number } {
    this.assembler = new TransactionAssembler();
    const from = this.cursors.serverVersion;
    this.catchUp = { fromServerVersion: from, toServerVersion: headServerVersion };
    return { received: 0, total: Math.max(headServerVersion - from, 0) };
  }

  /**
   * Applies the frame once its transactions are whole (null until then) and says where the
   * catch-up stands. The caller acks `cursors.serverVersion` afterwards.
   */
  async receive(frame: ServerChangesFrame): Promise<CatchUp | null> {
    const whole = this.assembler.push(frame);
    if (!whole) return null;
    const { changes, serverVersion } = whole;
    if (changes.length > 0) {
      const params = changes.map(changeParams);
      await this.db
        .transaction(
          async (tx) => {
            await this.outbound.flushWithin(tx);
            await tx.execMany(INSERT_CHANGE, params);
            await refreshTextAfterApply(tx, changes, this.noteDocs);
            await saveServerVersion(tx, serverVersion);
          },
          { origin: "remote", tables: [...new Set(changes.map((c) => c.table))] },
        )
        .catch((err: unknown) => {
          this.noteDocs.clear(); // it may hold rows of the transaction that rolled back
          throw err;
        });
    } else if (serverVersion !== this.cursors.serverVersion) {
      await saveServerVersion(this.db, serverVersion);
    }
    this.cursors.serverVersion = serverVersion;
    return this.progress(serverVersion);
  }

  private progress(serverVersion: number): CatchUp {
    const c = this.catchUp;
    if (!c) return { kind: "live" };
    if (serverVersion >= c.toServerVersion) {
      this.catchUp = null;
      return { kind: "caught-up" };
    }
    const total = Math.max(c.toServerVersion - c.fromServerVersion, 0);
    const received = Math.min(Math.max(serverVersion - c.fromServerVersion, 0), total);
    return { kind: "progress", received, total };
  }
}
