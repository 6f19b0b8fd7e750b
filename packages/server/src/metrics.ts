import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The server's Prometheus metrics, in a registry of its own (several servers may share a process in tests). */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "notesync_" });
  const m = {
    registry,
    connections: new Gauge({
      name: "notesync_connections",
      help: "Open sync WebSocket connections",
      registers: [registry],
    }),
    openDatabases: new Gauge({
      name: "notesync_open_databases",
      help: "User databases open",
      registers: [registry],
    }),
    framesIn: new Counter({
      name: "notesync_frames_in_total",
      help: "Frames received",
      labelNames: ["type"],
      registers: [registry],
    }),
    framesOut: new Counter({
      name: "notesync_frames_out_total",
      help: "Frames sent",
      labelNames: ["type"],
      registers: [registry],
    }),
    changesIn: new Counter({
      name: "notesync_changes_in_total",
      help: "Changes received from clients",
      registers: [registry],
    }),
    changesOut: new Counter({
      name: "notesync_changes_out_total",
      help: "Changes sent to clients",
      registers: [registry],
    }),
    rejected: new Counter({
      name: "notesync_rejected_frames_total",
      help: "Frames refused with an error",
      labelNames: ["code"],
      registers: [registry],
    }),
    accountRefusals: new Counter({
      name: "notesync_account_refusals_total",
      help: "Account requests refused (too_many_attempts is a sign-in or sign-up limit)",
      labelNames: ["code"],
      registers: [registry],
    }),
    limit: new Gauge({
      name: "notesync_limit",
      help: "The configured bounds (SECURITY.md)",
      labelNames: ["name"],
      // Every worker has the same; summing them across a cluster would misreport them.
      aggregator: "first",
      registers: [registry],
    }),
    unsentBytes: new Gauge({
      name: "notesync_unsent_bytes",
      help: "Bytes queued for clients and not yet written to their sockets",
      registers: [registry],
    }),
    applySeconds: new Histogram({
      name: "notesync_apply_seconds",
      help: "Time to apply one batch of client changes",
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: [registry],
    }),
    backupUploads: new Counter({
      name: "notesync_backup_uploads_total",
      help: "Objects uploaded to the backup store, by kind (snapshot, changes, manifest, accounts)",
      labelNames: ["kind"],
      registers: [registry],
    }),
    backupBytes: new Counter({
      name: "notesync_backup_uploaded_bytes_total",
      help: "Bytes uploaded to the backup store",
      registers: [registry],
    }),
    backupFailures: new Counter({
      name: "notesync_backup_failures_total",
      help: "Backup rounds that failed (retried with backoff; sync is not affected)",
      registers: [registry],
    }),
    backupPending: new Gauge({
      name: "notesync_backup_pending",
      help: "User databases (and accounts.db) with changes not yet in the backup store",
      registers: [registry],
    }),
  };
  return m;
}
export type Metrics = ReturnType<typeof createMetrics>;
