import type { ErrorCode } from "@notesync/protocol";

export type SyncState = "offline" | "connecting" | "syncing" | "live" | "error";

/** Errors the sync client finds itself (the server's are the protocol's `ErrorCode`s). */
export const SyncErrorCode = {
  /** Another database syncs with this one's site id (a copied database file). */
  DuplicateSite: "duplicate_site",
  /** `getToken` failed: the app could not supply a session token. */
  TokenUnavailable: "token_unavailable",
} as const;
export type SyncErrorCode = (typeof SyncErrorCode)[keyof typeof SyncErrorCode];

export interface SyncStatus {
  readonly state: SyncState;
  /** Rows with local edits that the server has not confirmed yet (a lower bound past 2,000 changes). */
  readonly pending: number;
  /** While catching up: server versions received of those to receive (`received / total`). */
  readonly progress: { readonly received: number; readonly total: number } | null;
  /** Why the state is "error" (or why the last connection ended). */
  readonly error: { readonly code: ErrorCode | SyncErrorCode; readonly message: string } | null;
  /**
   * Why it is offline: "network" when the device has no network (it connects again when the
   * network returns), "server" when it has one but the server does not answer; null otherwise.
   */
  readonly offlineCause: "network" | "server" | null;
  /** When it tries the server again (ms since the epoch, the client's clock), while waiting to. */
  readonly retryAt: number | null;
}

export const INITIAL_STATUS: SyncStatus = {
  state: "offline",
  pending: 0,
  progress: null,
  error: null,
  offlineCause: null,
  retryAt: null,
};

/** Live, with nothing local waiting for the server. */
export const isSynced = (s: SyncStatus) => s.state === "live" && s.pending === 0;

/** Resolves at the first status, the current one included, that satisfies `done`. */
export function firstStatus(
  listeners: Set<(s: SyncStatus) => void>,
  current: SyncStatus,
  done: (s: SyncStatus) => boolean,
): Promise<void> {
  return new Promise((resolve) => {
    const check = (s: SyncStatus) => {
      if (!done(s)) return;
      listeners.delete(check);
      resolve();
    };
    listeners.add(check);
    check(current);
  });
}
