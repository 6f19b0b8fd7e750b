import { sqliteDriverProblem } from "@notesync/crsqlite-native";
import type { Clock, Limits } from "@notesync/protocol";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { WebSocketServer, type WebSocket } from "ws";
import { AccountStore, SqliteAccountRecords } from "./accounts.js";
import { DEFAULT_SIGNUPS_PER_HOUR, clientAddress, createAccountsApi, sendJson } from "./api.js";
import { Etcd3 } from "etcd3";
import { EtcdAccountRecords } from "./multi-node/etcd-accounts.js";
import type { EtcdOwnership } from "./multi-node/etcd-ownership.js";
import { startOwnership } from "./multi-node/node.js";
import { createImportApi } from "./import/import-api.js";
import type { LoginThrottleOptions } from "./login-throttle.js";
import { createMetricsAccess } from "./metrics-access.js";
import { createMetrics } from "./metrics.js";
import { createStaticHandler } from "./static-files.js";
import { createLogger, type LogFormat } from "./logger.js";
import type { ResourceLimits } from "./resource-limits.js";
import { BackupService } from "./backup/backup-service.js";
import { s3Store, type ObjectStore } from "./backup/object-store.js";
import { wsSessionSocket } from "./sync/session-socket.js";
import { SyncHost } from "./sync/sync-host.js";
import { TokenService } from "./tokens.js";

export interface ServerOptions {
  /** Interface to listen on; 127.0.0.1 unless told otherwise. */
  readonly host?: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port?: number;
  /** Where accounts.db, secret.key and users/<id>.db live. */
  readonly dataDir: string;
  /** Token signing secret; generated and kept in the data directory when absent. */
  readonly secret?: string;
  readonly logLevel?: string;
  /** How logs are written when no `logger` is given (default: JSON). */
  readonly logFormat?: LogFormat;
  readonly logger?: Logger;
  /** The built web app to serve; defaults to packages/web/dist; null serves none. */
  readonly webRoot?: string | null;
  readonly limits?: Partial<Limits>;
  /** Bounds per connection and per user (hello deadline, connections, storage). */
  readonly resources?: Partial<ResourceLimits>;
  readonly tokenTtlSeconds?: number;
  /** How often to ping clients; a client that missed one ping is dropped. */
  readonly pingIntervalMs?: number;
  readonly maxOpenDatabases?: number;
  readonly databaseIdleMs?: number;
  /** Bytes unsent to one client beyond which the server stops reading for it (backpressure). */
  readonly highWaterBytes?: number;
  readonly targetFrameBytes?: number;
  /** Called after a client's changes were committed to a user's database (cluster workers tell each other). */
  readonly onCommit?: (userId: string) => void;
  /** Produces the /metrics text (a cluster worker asks its primary for every worker's); default: this server's. */
  readonly metricsText?: () => Promise<string>;
  /** Addresses and CIDR blocks that may read /metrics; default loopback only. */
  readonly metricsAllow?: readonly string[];
  /** With `Authorization: Bearer <metricsToken>` /metrics answers from any address. */
  readonly metricsToken?: string;
  /** New accounts one address may create in an hour (default 20). */
  readonly signupsPerHour?: number;
  /** Password hashes (scrypt) computed at once; the rest queue. Default 2. */
  readonly hashConcurrency?: number;
  /** Backoff after failed sign-ins, by address, username and overall (defaults in login-throttle.ts). */
  readonly loginThrottle?: Partial<LoginThrottleOptions>;
  /** Time for token expiry, hello deadlines and idle databases (tests pass a fake one). */
  readonly clock?: Clock;
  /** Continuous backup to object storage; off when absent. */
  readonly backup?: BackupConfig;
  /** Origins of old PouchDB apps whose import page may sign in and send documents (CORS). */
  readonly importOrigins?: readonly string[];
  /** Several nodes behind HAProxy, coordinated by etcd (needs `backup`); one node when absent. */
  readonly multiNode?: MultiNodeConfig;
  /** Proxies (addresses) whose `X-Forwarded-For` names the caller, e.g. HAProxy's. */
  readonly trustProxy?: readonly string[];
}

export interface MultiNodeConfig {
  /** etcd client URLs (`http://host:2379`). */
  readonly etcdEndpoints: readonly string[];
  /** This node's name, unique in the cluster. */
  readonly nodeId: string;
  /** How long a dead node keeps its users before others take them (default 5 s). */
  readonly leaseTtlSeconds?: number;
  /** Key prefix in etcd (default `notesync/`), so clusters can share one etcd. */
  readonly prefix?: string;
  /** A user with no connection here for this long is let go (default 60 s). */
  readonly idleReleaseMs?: number;
  /** etcd's password authentication, when it is on. */
  readonly etcdAuth?: { readonly username: string; readonly password: string };
  /** The CA certificate (PEM file) of etcd's TLS, for `https://` endpoints. */
  readonly etcdCaFile?: string;
}

export interface BackupConfig {
  /** `s3://bucket/prefix`; endpoint and credentials from the usual AWS variables. */
  readonly url: string;
  /** Uploads happen at most this long after a change (default 5 s). */
  readonly intervalMs?: number;
  /** A store to use instead of S3 (tests). */
  readonly store?: ObjectStore;
  /** How long a sign-up waits for accounts.db to be uploaded before it is answered (default 10 s). */
  readonly accountsTimeoutMs?: number;
}

export interface RunningServer {
  /** `http://host:port` */
  readonly url: string;
  /** `ws://host:port/sync` */
  readonly syncUrl: string;
  readonly port: number;
  readonly log: Logger;
  /** This server's Prometheus registry. */
  readonly metrics: Registry;
  /** Another process committed to this user's database: push it to the user's connections here. */
  noticeCommitElsewhere(userId: string): void;
  /** The continuous backup, when configured. */
  readonly backup: { flush(): Promise<void>; readonly pending: number } | null;
  /** Stops accepting, closes sockets with "going away", closes every database. */
  close(): Promise<void>;
}

/** The longest one etcd request (not a watch or keep-alive stream) may take. */
const ETCD_CALL_TIMEOUT_MS = 5_000;

function connectEtcd(config: MultiNodeConfig): Etcd3 {
  return new Etcd3({
    hosts: [...config.etcdEndpoints],
    // An etcd that stops answering must fail calls, not hang the connections waiting on them.
    defaultCallOptions: (context) =>
      context.isStream ? {} : { deadline: Date.now() + ETCD_CALL_TIMEOUT_MS },
    auth: config.etcdAuth && { ...config.etcdAuth },
    credentials: config.etcdCaFile
      ? { rootCertificate: fs.readFileSync(config.etcdCaFile) }
      : undefined,
  });
}

const defaultWebRoot = () =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web/dist");

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // Before any database opens: better-sqlite3 12 on Node 24 would abort the process later.
  const driverProblem = sqliteDriverProblem();
  if (driverProblem) throw new Error(driverProblem);
  const log = options.logger ?? createLogger(options.logLevel, options.logFormat);
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const metrics = createMetrics();
  const secret = TokenService.loadSecret(dataDir, options.secret, log);
  const now = options.clock ? () => options.clock!.now() : Date.now;
  if (options.multiNode && !options.backup)
    throw new Error(
      "multi-node mode needs a backup store (--backup-url): a node that takes a user over restores the user from it",
    );
  const etcd = options.multiNode ? connectEtcd(options.multiNode) : null;
  const etcdPrefix = options.multiNode?.prefix ?? "notesync/";
  const accountsDb = etcd
    ? new EtcdAccountRecords(etcd, etcdPrefix, log)
    : new SqliteAccountRecords(path.join(dataDir, "accounts.db"));
  const accounts = new AccountStore(accountsDb, {
    hashConcurrency: options.hashConcurrency,
    loginThrottle: options.loginThrottle,
    now,
  });
  const tokens = new TokenService(secret, options.tokenTtlSeconds ?? 30 * 24 * 3600, accounts, now);
  const metricsAllowed = createMetricsAccess({
    allow: options.metricsAllow,
    token: options.metricsToken,
  });
  let backup: BackupService | null = null;
  const sync = new SyncHost({
    onCommitted: (userId) => backup?.userChanged(userId),
    usersDir: path.join(dataDir, "users"),
    tokens,
    log,
    metrics,
    clock: options.clock,
    limits: options.limits,
    resources: options.resources,
    targetFrameBytes: options.targetFrameBytes,
    highWaterBytes: options.highWaterBytes,
    maxOpenDatabases: options.maxOpenDatabases,
    databaseIdleMs: options.databaseIdleMs,
    onCommit: options.onCommit,
  });
  const { dbs, sessions, resources } = sync;
  const limits: Limits = sync.limits;
  const webRoot = options.webRoot === undefined ? defaultWebRoot() : options.webRoot;
  const serveStatic = webRoot && fs.existsSync(webRoot) ? createStaticHandler(webRoot) : null;
  if (!serveStatic) log.warn({ webRoot }, "no built web app to serve (run npm run build)");
  // A signed-out session must not keep syncing on a socket it opened before.
  const accountsApi = createAccountsApi(
    accounts,
    tokens,
    log,
    (userId) => sync.recheckTokens(userId),
    options.signupsPerHour ?? DEFAULT_SIGNUPS_PER_HOUR,
    (code) => metrics.accountRefusals.inc({ code }),
    () => accountsBackedUp(),
    async (userId) => {
      // The account is gone, so each of its connections fails its token check and closes.
      await Promise.all(
        [...sessions].filter((s) => s.userId === userId).map((s) => s.recheckToken()),
      );
      dbs.deleteUser(userId);
      backup?.userDeleted(userId);
    },
    new Set(options.trustProxy ?? []),
  );
  let backupStore: ObjectStore | null = null;
  if (options.backup) {
    const store = options.backup.store ?? s3Store({ url: options.backup.url });
    backupStore = store;
    backup = new BackupService({
      store,
      dbs,
      log,
      metrics,
      intervalMs: options.backup.intervalMs ?? 5_000,
      snapshotAccounts:
        accountsDb instanceof SqliteAccountRecords
          ? (file) => accountsDb.snapshotTo(file)
          : undefined,
      serves: (userId) => ownership?.mayUpload(userId) ?? true,
      clock: options.clock,
    });
    // A node's local files may be stale (another node served their users since): it backs up
    // only the users it serves, from when it serves them.
    backup.start(options.multiNode ? null : path.join(dataDir, "users"));
    log.info({ store: store.description }, "continuous backup on");
  }
  let ownership: EtcdOwnership | null = null;
  if (options.multiNode && etcd && backup && accountsDb instanceof EtcdAccountRecords) {
    const backupOfNode = backup;
    try {
      ownership = await startOwnership(options.multiNode, {
        etcd,
        prefix: etcdPrefix,
        log,
        sync,
        backup,
        store: backupStore!,
        usersDir: path.join(dataDir, "users"),
      });
      await accountsDb.watch((userId, removed) => {
        sync.recheckTokens(userId);
        if (!removed) return;
        dbs.deleteUser(userId); // this node's copy, current or stale
        backupOfNode.userDeleted(userId);
      });
    } catch (err) {
      // Nothing is listening yet: undo what started, so the caller is left with nothing open.
      await ownership?.close();
      await backupOfNode.close();
      sync.close();
      accounts.close();
      etcd.close();
      throw err;
    }
  }
  /** A sign-up is answered once accounts.db is in the backup, or after a bounded wait. */
  async function accountsBackedUp(): Promise<void> {
    if (!backup) return;
    const timeoutMs = options.backup?.accountsTimeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<"late">(
      (resolve) => (timer = setTimeout(() => resolve("late"), timeoutMs)),
    );
    const result = await Promise.race([
      backup.accountsChanged().catch(() => "late" as const),
      late,
    ]);
    clearTimeout(timer);
    if (result === "late")
      log.warn(
        { timeoutMs },
        "accounts.db is not in the backup yet; answered anyway, upload retries",
      );
  }
  for (const [name, value] of Object.entries({
    ...resources,
    signupsPerHour: options.signupsPerHour ?? DEFAULT_SIGNUPS_PER_HOUR,
    maxFrameBytes: limits.maxFrameBytes,
  }))
    metrics.limit.set({ name }, value);

  const importApi = createImportApi({
    origins: options.importOrigins ?? [],
    // Multi-node: the node takes the user first, so the import writes the database it serves.
    acquire: ownership ? (userId) => ownership.acquire(userId) : undefined,
    mayWrite: ownership ? (userId) => ownership.mayWrite(userId) : undefined,
    // The backup hears of commits through the user's open database; an import may come when
    // none is open.
    written: (userId) => backup?.userChanged(userId),
    tokens,
    pathFor: (userId) => dbs.pathFor(userId),
    storagePerUserBytes: resources.storagePerUserBytes,
    log,
  });

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    void (async () => {
      if (pathname === "/healthz") {
        // A node without its etcd lease can serve nobody: the router sends users elsewhere.
        const ok = ownership?.healthy ?? true;
        return sendJson(res, ok ? 200 : 503, {
          ok,
          connections: sessions.size,
          ...(ownership && { node: options.multiNode?.nodeId, users: ownership.users.length }),
        });
      }
      if (pathname === "/metrics") {
        if (!metricsAllowed(req))
          return sendJson(res, 403, {
            error: "forbidden",
            message:
              "/metrics answers only the addresses in NOTESYNC_METRICS_ALLOW (default: loopback) " +
              "or requests with Authorization: Bearer <NOTESYNC_METRICS_TOKEN>",
          });
        metrics.openDatabases.set(dbs.openCount);
        metrics.unsentBytes.set([...sessions].reduce((sum, s) => sum + s.unsent, 0));
        const text = await (options.metricsText?.() ?? metrics.registry.metrics());
        res.writeHead(200, { "content-type": metrics.registry.contentType });
        return res.end(text);
      }
      if (await importApi(req, res, pathname)) return;
      if (await accountsApi(req, res, pathname)) return;
      if (serveStatic?.(req, res)) return;
      sendJson(res, 404, { error: "not_found", message: `nothing at ${pathname}` });
    })().catch((err: unknown) => {
      log.error({ err, path: pathname }, "request failed");
      if (!res.headersSent)
        sendJson(res, 500, { error: "internal", message: "internal server error" });
      else res.destroy();
    });
  });

  // Until its hello is verified a connection may send only small messages (raiseMessageLimit).
  const trustedProxies = new Set(options.trustProxy ?? []);
  const wss = new WebSocketServer({ noServer: true, maxPayload: resources.preAuthMessageBytes });
  const alive = new WeakMap<WebSocket, boolean>();
  server.on("upgrade", (req, socket, head) => {
    if (new URL(req.url ?? "/", "http://x").pathname !== "/sync") {
      socket.end("HTTP/1.1 404 Not Found\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      alive.set(ws, true);
      ws.on("pong", () => alive.set(ws, true));
      const routedUser = new URL(req.url ?? "/", "http://x").searchParams.get("user");
      sync.accept(wsSessionSocket(ws), clientAddress(req, trustedProxies), routedUser);
      ws.on("error", (err) => log.debug({ err }, "socket error"));
    });
  });
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) {
        log.info("dropping a connection that did not answer a ping");
        ws.terminate();
        continue;
      }
      alive.set(ws, false);
      ws.ping();
    }
  }, options.pingIntervalMs ?? 15_000);
  pinger.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8787, options.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  const base = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info({ url: `http://${base}`, dataDir }, "NoteSync server listening");

  let closing: Promise<void> | null = null;
  return {
    url: `http://${base}`,
    syncUrl: `ws://${base}/sync`,
    port,
    log,
    metrics: metrics.registry,
    noticeCommitElsewhere: (userId) => dbs.noticeCommitElsewhere(userId),
    backup,
    close() {
      closing ??= (async () => {
        clearInterval(pinger);
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Users go to other nodes with everything uploaded, then the lease is revoked.
        await ownership?.close();
        sync.goAway();
        // Give "going away" a moment to reach clients, then cut whatever is left.
        await new Promise((r) => setTimeout(r, 50));
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        await httpClosed;
        wss.close();
        if (backup) {
          // Upload what is pending while the databases are still open, for a bounded time.
          await Promise.race([
            backup.flush().catch(() => undefined),
            new Promise((r) => setTimeout(r, 5_000)),
          ]);
          await backup.close();
        }
        sync.close();
        accounts.close();
        etcd?.close();
        log.info("NoteSync server stopped");
      })();
      return closing;
    },
  };
}
