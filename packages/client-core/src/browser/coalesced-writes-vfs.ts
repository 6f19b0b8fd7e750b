import { AccessHandlePoolVFS } from "@vlcn.io/wa-sqlite/src/examples/AccessHandlePoolVFS.js";

const SQLITE_OK = 0;
const SQLITE_OPEN_WAL = 0x80000;
const WAL_FRAME_HEADER_BYTES = 24;
/** A run of writes longer than this is written out, and a new one begins. */
const MAX_RUN_BYTES = 256 * 1024;

/** A WAL's bytes waiting to be written as one: `length` bytes of `buffer`, from `offset`. */
interface Run {
  buffer: Uint8Array;
  offset: number;
  length: number;
  /** Where the log's bytes end (written or waiting) since it last started over at offset 0. */
  end: number;
  /** The last write was the header of a commit's last frame: its page ends the transaction. */
  commitFrameNext: boolean;
}

/**
 * The OPFS access-handle pool, writing each transaction's WAL frames with one call. SQLite
 * appends a commit to the WAL as a header and a page per frame, two writes each; a keystroke's
 * commit was 14 of them, and a write to an access handle costs nearly as much for 24 bytes as
 * for 7 pages (measured in a worker: a 24-byte write 28 us, a 4 KB one 36 us; 14 writes of a
 * commit's 7 frames 518 us, one write of the same bytes 62 us).
 *
 * Appended frames wait in memory until the commit's last frame (its header says so) arrives:
 * that write writes them all, so a commit is written before SQLite takes it as done, and a
 * failed write fails the commit as before. Anything else that touches the file (a read, its size,
 * a sync, a truncation, a close, a write elsewhere) writes out what waits first, and a write over
 * bytes the log already has (SQLite rewriting frame checksums after a commit frame) goes straight
 * to the file. A run longer than 256 KB is written in parts.
 */
export class CoalescedWritesVFS extends AccessHandlePoolVFS {
  /** Each open WAL file's run (empty when `length` is 0). */
  private readonly runs = new Map<number, Run>();

  override xOpen(name: string | null, fileId: number, flags: number, pOutFlags: DataView): number {
    const rc = super.xOpen(name, fileId, flags, pOutFlags);
    if (rc === SQLITE_OK && flags & SQLITE_OPEN_WAL) {
      const buffer = new Uint8Array(64 * 1024);
      this.runs.set(fileId, { buffer, offset: 0, length: 0, end: 0, commitFrameNext: false });
    }
    return rc;
  }

  override xWrite(fileId: number, pData: Uint8Array, iOffset: number): number {
    const run = this.runs.get(fileId);
    if (!run) return super.xWrite(fileId, pData, iOffset);
    const endsCommit = run.commitFrameNext;
    if (iOffset === 0) run.end = 0; // the log's header: it starts over
    const runLength = run.length + pData.length;
    if (run.length > 0 && (run.offset + run.length !== iOffset || runLength > MAX_RUN_BYTES)) {
      const rc = this.writeOut(fileId);
      if (rc !== SQLITE_OK) return rc;
    }
    if (iOffset < run.end) {
      run.commitFrameNext = false;
      return super.xWrite(fileId, pData, iOffset);
    }
    run.end = iOffset + pData.length;
    if (run.length === 0) {
      run.commitFrameNext = false;
      if (pData.length >= MAX_RUN_BYTES) return super.xWrite(fileId, pData, iOffset);
      run.offset = iOffset;
    }
    if (run.length + pData.length > run.buffer.length) {
      const size = Math.max(run.length + pData.length, run.buffer.length * 2);
      const grown = new Uint8Array(Math.min(MAX_RUN_BYTES, size));
      grown.set(run.buffer.subarray(0, run.length));
      run.buffer = grown;
    }
    // pData is a view of the wasm memory, which SQLite reuses: copied.
    run.buffer.set(pData, run.length);
    run.length += pData.length;
    run.commitFrameNext = pData.length === WAL_FRAME_HEADER_BYTES && isCommitFrame(pData);
    return endsCommit ? this.writeOut(fileId) : SQLITE_OK;
  }

  /** Writes what waits for the file, if anything. */
  private writeOut(fileId: number): number {
    const run = this.runs.get(fileId);
    if (!run || run.length === 0) return SQLITE_OK;
    const length = run.length;
    run.length = 0;
    return super.xWrite(fileId, run.buffer.subarray(0, length), run.offset);
  }

  override xRead(fileId: number, pData: Uint8Array, iOffset: number): number {
    const rc = this.writeOut(fileId);
    return rc === SQLITE_OK ? super.xRead(fileId, pData, iOffset) : rc;
  }

  override xFileSize(fileId: number, pSize64: DataView): number {
    const rc = this.writeOut(fileId);
    return rc === SQLITE_OK ? super.xFileSize(fileId, pSize64) : rc;
  }

  override xTruncate(fileId: number, iSize: number): number {
    const rc = this.writeOut(fileId);
    const run = this.runs.get(fileId);
    if (run) run.end = Math.min(run.end, iSize);
    return rc === SQLITE_OK ? super.xTruncate(fileId, iSize) : rc;
  }

  override xSync(fileId: number, flags: number): number {
    const rc = this.writeOut(fileId);
    return rc === SQLITE_OK ? super.xSync(fileId, flags) : rc;
  }

  override xClose(fileId: number): number {
    const rc = this.writeOut(fileId);
    this.runs.delete(fileId);
    const closed = super.xClose(fileId);
    return rc === SQLITE_OK ? closed : rc;
  }
}

/** A WAL frame header whose "database size after commit" is set: the last frame of a commit. */
function isCommitFrame(header: Uint8Array): boolean {
  return (header[4]! | header[5]! | header[6]! | header[7]!) !== 0;
}
