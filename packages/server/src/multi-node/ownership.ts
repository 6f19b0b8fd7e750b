/**
 * Which users this server process may serve. One node (the embedded default) serves everyone;
 * in multi-node mode a node serves a user only while it holds that user's lease in etcd
 * (`EtcdOwnership`), so two nodes never accept writes for one user at the same time.
 */
export interface UserOwnership {
  /**
   * Resolves once this node may serve the user: at once when it already does, else after it
   * took the user's lease and brought the user's database up to date from the backup. Rejects
   * with a `ProtocolError` (going away, retryable) when that cannot happen in time.
   */
  acquire(userId: string): Promise<void>;
  /** Whether a write for the user may be committed now: the lease is certainly still held. */
  mayWrite(userId: string): boolean;
}

/** The embedded default: this process is the only node, it serves every user. */
export const SINGLE_NODE: UserOwnership = {
  acquire: () => Promise.resolve(),
  mayWrite: () => true,
};
