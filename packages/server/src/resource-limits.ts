/**
 * What one connection or one user may take of the server. Each is configurable (flags and
 * environment variables, see the README) and each refusal is counted in /metrics as
 * `notesync_rejected_frames_total{code="limit_reached"}`.
 */
export interface ResourceLimits {
  /** A connection that has not sent a valid hello after this long is closed. */
  readonly helloTimeoutMs: number;
  /**
   * Largest WebSocket message accepted before the hello's token is verified: a stranger must
   * not make the server buffer megabytes. After the hello, the protocol's frame limit applies.
   */
  readonly preAuthMessageBytes: number;
  /** Connections one user may have open at once (all devices and tabs). */
  readonly connectionsPerUser: number;
  /** Size one user's database may reach on the server; beyond it, changes are refused. */
  readonly storagePerUserBytes: number;
}

export const DEFAULT_RESOURCE_LIMITS: ResourceLimits = {
  helloTimeoutMs: 10_000,
  preAuthMessageBytes: 64 * 1024,
  connectionsPerUser: 64,
  storagePerUserBytes: 1024 * 1024 * 1024,
};

/** The limits set by environment variables (the rest keep their defaults); a bad value is an error. */
export function resourceLimitsFromEnv(env: NodeJS.ProcessEnv): Partial<ResourceLimits> {
  const limits: { -readonly [K in keyof ResourceLimits]?: number } = {};
  const read = (name: string, scale: number, key: keyof ResourceLimits) => {
    const raw = env[name];
    if (raw === undefined || raw === "") return;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0)
      throw new Error(`${name} must be a positive number, got "${raw}"`);
    limits[key] = Math.round(n * scale);
  };
  read("NOTESYNC_HELLO_TIMEOUT_MS", 1, "helloTimeoutMs");
  read("NOTESYNC_PRE_AUTH_MESSAGE_KB", 1024, "preAuthMessageBytes");
  read("NOTESYNC_CONNECTIONS_PER_USER", 1, "connectionsPerUser");
  read("NOTESYNC_STORAGE_PER_USER_MB", 1024 * 1024, "storagePerUserBytes");
  return limits;
}
