import { ErrorCode, ProtocolError } from "./errors.js";
import type { Change } from "./frames.js";
import { DEFAULT_LIMITS, DEFAULT_TARGET_FRAME_BYTES, type Limits } from "./limits.js";

function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code >= 0x80) n += code >= 0x800 && (code < 0xd800 || code > 0xdfff) ? 2 : 1;
  }
  return n;
}

/** An upper bound of the bytes one change takes in a frame. */
export function estimateChangeBytes(c: Change): number {
  const v = c.val;
  const valBytes =
    typeof v === "string" ? utf8Length(v) + 5 : v instanceof Uint8Array ? v.length + 5 : 10;
  return 48 + c.pk.length + c.cid.length + valBytes;
}

/**
 * A run of changes as a `changes` frame carries them: `version` is the `db_version`, in the clock
 * of the database they were read from, that the receiver holds everything up to once it has
 * applied the chunk (and every chunk before it).
 */
export interface ChangeChunk {
  readonly version: number;
  readonly partial: boolean;
  readonly changes: readonly Change[];
}

export interface ChunkOptions {
  /** Frames are cut before they would exceed this many bytes (estimated). */
  readonly targetFrameBytes?: number;
  readonly maxChangesPerFrame?: number;
  /**
   * The sender's version once the whole stream is applied: the last chunk carries it, and an
   * empty chunk is produced for it when there are no changes (it tells the receiver it is caught up).
   */
  readonly finalVersion?: number;
}

/**
 * Splits changes ordered by `dbVersion` into chunks, one `changes` frame each. A transaction (one `dbVersion`)
 * never spans frames unless it alone exceeds a frame; then its pieces are marked `partial` and
 * the receiver reassembles them (`TransactionAssembler`) before applying anything.
 */
export function* chunkChanges(
  changes: Iterable<Change>,
  options: ChunkOptions = {},
): Generator<ChangeChunk> {
  const targetBytes = options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES;
  const maxRows = options.maxChangesPerFrame ?? DEFAULT_LIMITS.maxChangesPerFrame;
  let frame: Change[] = [];
  let frameBytes = 0;
  let version = 0; // dbVersion of the last transaction completed in the chunks produced so far
  let tx: Change[] = [];
  let txBytes = 0;
  let pending: ChangeChunk | null = null; // held back so the last chunk can carry finalVersion

  function* emit(next: ChangeChunk): Generator<ChangeChunk> {
    if (pending) yield pending;
    pending = next;
  }
  function* flushFrame(): Generator<ChangeChunk> {
    if (frame.length === 0) return;
    yield* emit({ version, partial: false, changes: frame });
    frame = [];
    frameBytes = 0;
  }
  function* closeTransaction(): Generator<ChangeChunk> {
    if (tx.length === 0) return;
    const txVersion = tx[0]!.dbVersion;
    if (txBytes > targetBytes || tx.length > maxRows) {
      // Too big for any frame: send what is queued, then the transaction in marked pieces.
      yield* flushFrame();
      for (let i = 0; i < tx.length;) {
        const piece: Change[] = [];
        let bytes = 0;
        while (i < tx.length && piece.length < maxRows) {
          const b = estimateChangeBytes(tx[i]!);
          if (piece.length > 0 && bytes + b > targetBytes) break;
          piece.push(tx[i++]!);
          bytes += b;
        }
        const last = i >= tx.length;
        if (last) version = txVersion;
        yield* emit({ version, partial: !last, changes: piece });
      }
    } else {
      if (frameBytes + txBytes > targetBytes || frame.length + tx.length > maxRows)
        yield* flushFrame();
      frame.push(...tx);
      frameBytes += txBytes;
      version = txVersion;
    }
    tx = [];
    txBytes = 0;
  }

  for (const change of changes) {
    if (tx.length > 0 && change.dbVersion !== tx[0]!.dbVersion) yield* closeTransaction();
    tx.push(change);
    txBytes += estimateChangeBytes(change);
  }
  yield* closeTransaction();
  yield* flushFrame();
  const final = options.finalVersion;
  const last = pending as ChangeChunk | null;
  if (last) {
    yield final !== undefined && final > last.version ? { ...last, version: final } : last;
  } else if (final !== undefined) {
    yield { version: final, partial: false, changes: [] };
  }
}

/**
 * Joins `partial` frames back into whole transactions. `push` returns a frame ready to apply
 * (possibly several transactions), or null while a transaction is still incomplete. Works for
 * either direction's `changes` frames.
 */
export class TransactionAssembler {
  private parts: Change[] = [];
  constructor(private readonly limits: Limits = DEFAULT_LIMITS) {}

  get incomplete(): boolean {
    return this.parts.length > 0;
  }

  push<F extends { readonly partial: boolean; readonly changes: readonly Change[] }>(
    frame: F,
  ): F | null {
    if (this.parts.length === 0 && !frame.partial) return frame;
    if (this.parts.length + frame.changes.length > this.limits.maxChangesPerTransaction) {
      this.parts = [];
      throw new ProtocolError(
        ErrorCode.FrameTooLarge,
        `a transaction of more than ${this.limits.maxChangesPerTransaction} changes`,
      );
    }
    for (const c of frame.changes) this.parts.push(c);
    if (frame.partial) return null;
    const whole = { ...frame, partial: false, changes: this.parts };
    this.parts = [];
    return whole;
  }

  reset(): void {
    this.parts = [];
  }
}
