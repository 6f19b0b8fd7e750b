/** Bounds that decoding and chunking enforce. Both sides may configure their own. */
export interface Limits {
  /** Largest encoded frame accepted or produced, in bytes. */
  readonly maxFrameBytes: number;
  /** Most changes in one `changes` frame. */
  readonly maxChangesPerFrame: number;
  /** Most changes in one transaction reassembled from `partial` frames. */
  readonly maxChangesPerTransaction: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxChangesPerFrame: 20_000,
  maxChangesPerTransaction: 1_000_000,
};

/** Frames the senders aim for: well under the limit, so one slow socket holds little. */
export const DEFAULT_TARGET_FRAME_BYTES = 256 * 1024;
