#!/usr/bin/env node
import cluster from "node:cluster";
import fs from "node:fs";
import os from "node:os";
import { parseArgs } from "node:util";
import { runPrimary, runWorker } from "./cluster.js";
import { createMetricsAccess } from "./metrics-access.js";
import { resourceLimitsFromEnv } from "./resource-limits.js";
import { startServer, type ServerOptions } from "./server.js";
import { startupProblem } from "./startup-errors.js";
import { parseBackupUrl, s3Store } from "./backup/object-store.js";
import { restoreFromBackup } from "./backup/restore.js";
import { defaultLogFormat, type LogFormat } from "./logger.js";

const HELP = `notesync-server: NoteSync's sync server and web app

Usage: notesync-server [options]
       notesync-server restore --backup-url s3://bucket/prefix --data-dir <empty dir>

Options (each also read from the environment variable shown):
  --host <addr>        interface to listen on        NOTESYNC_HOST      (127.0.0.1)
  --port <n>           port                          NOTESYNC_PORT      (8787)
  --data-dir <dir>     accounts and user databases   NOTESYNC_DATA_DIR  (./data)
  --log-level <level>  trace|debug|info|warn|error   NOTESYNC_LOG_LEVEL (info)
  --log-format <f>     json|pretty                   NOTESYNC_LOG_FORMAT (pretty on a terminal, else json)
  --web-root <dir>     built web app to serve        NOTESYNC_WEB_ROOT  (packages/web/dist)
  --workers <n|auto>   server processes (one a core) NOTESYNC_WORKERS   (1; auto = every core)
  --metrics-allow <a,b>   addresses or CIDR blocks that may read /metrics
                          NOTESYNC_METRICS_ALLOW (127.0.0.0/8,::1; empty: token only)
  --metrics-token <t>     bearer token that reads /metrics from anywhere
                          NOTESYNC_METRICS_TOKEN (none; prefer the variable: flags show in ps)
  --hash-concurrency <n>  password hashes computed at once, the rest queue
                          NOTESYNC_HASH_CONCURRENCY (2)
  --backup-url <url>      continuous backup to S3-compatible storage, s3://bucket/prefix
                          NOTESYNC_BACKUP_URL (off); endpoint and credentials from
                          AWS_ENDPOINT_URL(_S3), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
  --etcd <url,url>        multi-node mode: etcd client URLs; needs --backup-url and --node-id
                          NOTESYNC_ETCD_ENDPOINTS (off: one node, no etcd)
  --node-id <name>        this node's name, unique in the cluster  NOTESYNC_NODE_ID
  --trust-proxy <a,b>     proxies (e.g. HAProxy) whose X-Forwarded-For names the caller
                          NOTESYNC_TRUST_PROXY (none)
  --import-origin <a,b>   origins of old PouchDB apps whose import page may sign in and
                          send documents here (CORS)  NOTESYNC_IMPORT_ORIGINS (none)
  -h, --help              this text

Environment only:
  NOTESYNC_BACKUP_INTERVAL_MS     longest wait from a change to its upload (5000)
  NOTESYNC_LEASE_TTL_S            multi-node: seconds a dead node keeps its users (5)
  NOTESYNC_IDLE_RELEASE_MS        multi-node: a user with no connection is let go after (60000)
  NOTESYNC_ETCD_USERNAME          multi-node: etcd user, when etcd's authentication is on
  NOTESYNC_ETCD_PASSWORD          multi-node: that user's password
  NOTESYNC_ETCD_CA_FILE           multi-node: CA certificate (PEM) of etcd's TLS, for https:// endpoints
  NOTESYNC_SECRET                 token signing secret (generated into the data directory when unset)
  NOTESYNC_CRSQLITE_PATH          a cr-sqlite library to load instead of the one npm install built
  NOTESYNC_HELLO_TIMEOUT_MS       close connections that do not authenticate in time (10000)
  NOTESYNC_PRE_AUTH_MESSAGE_KB    largest message before authentication (64)
  NOTESYNC_CONNECTIONS_PER_USER   open connections one account may have (64)
  NOTESYNC_STORAGE_PER_USER_MB    database size at which a user's changes are refused (1024)
  NOTESYNC_SIGNUPS_PER_HOUR       new accounts one address may create in an hour (20)
`;

const OPTIONS = {
  host: { type: "string" },
  port: { type: "string" },
  "data-dir": { type: "string" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "web-root": { type: "string" },
  workers: { type: "string" },
  "metrics-allow": { type: "string" },
  "metrics-token": { type: "string" },
  "hash-concurrency": { type: "string" },
  "backup-url": { type: "string" },
  etcd: { type: "string" },
  "node-id": { type: "string" },
  "trust-proxy": { type: "string" },
  "import-origin": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Ends the process with one line on stderr: a start-up problem needs no stack trace. */
function fail(message: string, code = 1): never {
  process.stderr.write(`notesync-server: ${message}\n`);
  return process.exit(code);
}

const { values, positionals } = (() => {
  try {
    return parseArgs({ options: OPTIONS, allowPositionals: true });
  } catch (err) {
    return fail(`${(err as Error).message} (see notesync-server --help)`, 2);
  }
})();
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const env = process.env;
const command = positionals[0];
if (positionals.length > 1 || (command !== undefined && command !== "restore"))
  fail(`unknown command ${positionals.join(" ")} (see notesync-server --help)`, 2);
const backupUrl = values["backup-url"] ?? env.NOTESYNC_BACKUP_URL;
if (backupUrl) {
  try {
    parseBackupUrl(backupUrl);
  } catch (err) {
    fail((err as Error).message, 2);
  }
}
if (command === "restore") {
  if (!backupUrl) fail("restore needs --backup-url s3://bucket/prefix (or NOTESYNC_BACKUP_URL)", 2);
  const dataDir = values["data-dir"] ?? env.NOTESYNC_DATA_DIR ?? "./data";
  try {
    const store = s3Store({ url: backupUrl });
    process.stdout.write(`restoring ${dataDir} from ${store.description}\n`);
    const { users } = await restoreFromBackup({
      store,
      dataDir,
      progress: (line) => process.stdout.write(`  ${line}\n`),
    });
    process.stdout.write(`restored ${users} user databases into ${dataDir}\n`);
    process.exit(0);
  } catch (err) {
    fail(`restore failed: ${(err as Error).message}`);
  }
}
const port = Number(values.port ?? env.NOTESYNC_PORT ?? 8787);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  fail(`invalid port ${values.port ?? env.NOTESYNC_PORT}: a number from 0 to 65535`, 2);
}

const workersOption = values.workers ?? env.NOTESYNC_WORKERS ?? "1";
const workers = workersOption === "auto" ? os.availableParallelism() : Number(workersOption);
if (!Number.isInteger(workers) || workers < 1) {
  fail(`invalid --workers ${workersOption}: a number of processes, or auto`, 2);
}

const hashConcurrencyOption = values["hash-concurrency"] ?? env.NOTESYNC_HASH_CONCURRENCY ?? "2";
const hashConcurrency = Number(hashConcurrencyOption);
if (!Number.isInteger(hashConcurrency) || hashConcurrency < 1) {
  fail(`invalid --hash-concurrency ${hashConcurrencyOption}: a positive integer`, 2);
}
const metricsAllow = (values["metrics-allow"] ?? env.NOTESYNC_METRICS_ALLOW)
  ?.split(",")
  .map((entry) => entry.trim())
  .filter((entry) => entry !== "");
try {
  createMetricsAccess({ allow: metricsAllow }); // throws for an entry that is not an address
} catch (err) {
  fail((err as Error).message, 2);
}

const importOrigins = (values["import-origin"] ?? env.NOTESYNC_IMPORT_ORIGINS ?? "")
  .split(",")
  .map((entry) => entry.trim().replace(/\/+$/, ""))
  .filter((entry) => entry !== "");
for (const origin of importOrigins)
  if (!/^https?:\/\/[^/]+$/.test(origin))
    fail(`invalid --import-origin ${origin}: an origin such as https://old-app.example`, 2);

function logFormat(): LogFormat {
  const format = values["log-format"] ?? env.NOTESYNC_LOG_FORMAT ?? defaultLogFormat();
  if (format === "json" || format === "pretty") return format;
  return fail(`invalid --log-format ${format}: json or pretty`, 2);
}

/** A positive integer from the environment, or undefined (the default applies); exits on a bad value. */
function positive(name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === "") return undefined;
  const n = Number(raw);
  if (Number.isInteger(n) && n > 0) return n;
  return fail(`${name} must be a positive integer, got "${raw}"`, 2);
}

function resourceLimits() {
  try {
    return resourceLimitsFromEnv(env);
  } catch (err) {
    return fail((err as Error).message, 2);
  }
}

const list = (value: string | undefined) =>
  value
    ?.split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "");
const etcdEndpoints = list(values.etcd ?? env.NOTESYNC_ETCD_ENDPOINTS);
const nodeId = values["node-id"] ?? env.NOTESYNC_NODE_ID;
if (etcdEndpoints?.length) {
  if (!nodeId) fail("multi-node mode (--etcd) needs --node-id <name>, unique in the cluster", 2);
  if (!backupUrl)
    fail(
      "multi-node mode (--etcd) needs --backup-url: a node that takes a user over restores the user from it",
      2,
    );
}

const options: ServerOptions = {
  host: values.host ?? env.NOTESYNC_HOST ?? "127.0.0.1",
  port,
  dataDir: values["data-dir"] ?? env.NOTESYNC_DATA_DIR ?? "./data",
  logLevel: values["log-level"] ?? env.NOTESYNC_LOG_LEVEL ?? "info",
  logFormat: logFormat(),
  webRoot: values["web-root"] ?? env.NOTESYNC_WEB_ROOT,
  secret: env.NOTESYNC_SECRET,
  resources: resourceLimits(),
  metricsAllow,
  metricsToken: values["metrics-token"] ?? env.NOTESYNC_METRICS_TOKEN,
  hashConcurrency,
  signupsPerHour: positive("NOTESYNC_SIGNUPS_PER_HOUR"),
  importOrigins,
  backup: backupUrl
    ? { url: backupUrl, intervalMs: positive("NOTESYNC_BACKUP_INTERVAL_MS") }
    : undefined,
  multiNode:
    etcdEndpoints?.length && nodeId
      ? {
          etcdEndpoints,
          nodeId,
          leaseTtlSeconds: positive("NOTESYNC_LEASE_TTL_S"),
          idleReleaseMs: positive("NOTESYNC_IDLE_RELEASE_MS"),
          etcdAuth: env.NOTESYNC_ETCD_USERNAME
            ? {
                username: env.NOTESYNC_ETCD_USERNAME,
                password: env.NOTESYNC_ETCD_PASSWORD ?? "",
              }
            : undefined,
          etcdCaFile: env.NOTESYNC_ETCD_CA_FILE,
        }
      : undefined,
  trustProxy: list(values["trust-proxy"] ?? env.NOTESYNC_TRUST_PROXY),
};
if (backupUrl && workers > 1)
  fail(
    "--backup-url runs in one server process: use --workers 1 (several nodes: one process each)",
    2,
  );
const announce = (url: string) => process.stdout.write(`\n  NoteSync is running at ${url}\n\n`);
const where = { host: options.host!, port, dataDir: options.dataDir };

// The data directory first: every process needs it, and a worker that cannot use it would only
// be restarted by the primary again and again.
try {
  fs.mkdirSync(options.dataDir, { recursive: true });
  fs.accessSync(options.dataDir, fs.constants.R_OK | fs.constants.W_OK);
} catch (err) {
  fail(startupProblem(err, where));
}

if (workers > 1 && cluster.isPrimary) {
  await runPrimary(workers, options, announce, (problem) => fail(problem));
} else if (cluster.isWorker) {
  await runWorker(options, (err) => startupProblem(err, where));
} else {
  const server = await startServer(options).catch((err: unknown) =>
    fail(startupProblem(err, where)),
  );
  // Handlers first: a supervisor may stop the server the moment it says it is running.
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      server.log.info({ signal }, "shutting down");
      server.close().then(
        () => process.exit(0),
        (err: unknown) => {
          server.log.error({ err }, "shutdown failed");
          process.exit(1);
        },
      );
    });
  }
  announce(server.url);
}
