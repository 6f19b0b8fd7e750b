import { sqliteDriverProblem } from "@notesync/crsqlite-native";
import { DEFAULT_LIMITS, DEFAULT_TARGET_FRAME_BYTES, type Limits } from "@notesync/protocol";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { WebSocketServer, type WebSocket } from "ws";
import { AccountStore } from "./accounts.js";
import { DEFAULT_SIGNUPS_PER_HOUR, createAccountsApi, sendJson } from "./api.js";
import { DbCache } from "./db-cache.js";
import type { LoginThrottleOptions } from "./login-throttle.js";
import { createMetricsAccess } from "./metrics-access.js";
import { createMetrics } from "./metrics.js";
import { createStaticHandler } from "./static-files.js";
import { createLogger, type LogFormat } from "./logger.js";
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from "./resource-limits.js";
import { SyncSession } from "./sync-session.js";
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
  /** Stops accepting, closes sockets with "going away", closes every database. */
  close(): Promise<void>;
}

const defaultWebRoot = () =>
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../web/dist");

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  // Before any database opens: better-sqlite3 12 on Node 24 would abort the process later.
  const driverProblem = sqliteDriverProblem();
  if (driverProblem) throw new Error(driverProblem);
  const log = options.logger ?? createLogger(options.logLevel, options.logFormat);
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  const resources: ResourceLimits = { ...DEFAULT_RESOURCE_LIMITS, ...options.resources };
  const dataDir = path.resolve(options.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const metrics = createMetrics();
  const secret = TokenService.loadSecret(dataDir, options.secret, log);
  const accounts = new AccountStore(path.join(dataDir, "accounts.db"), {
    hashConcurrency: options.hashConcurrency,
    loginThrottle: options.loginThrottle,
  });
  const tokens = new TokenService(secret, options.tokenTtlSeconds ?? 30 * 24 * 3600, accounts);
  const metricsAllowed = createMetricsAccess({
    allow: options.metricsAllow,
    token: options.metricsToken,
  });
  const targetFrameBytes = Math.min(
    options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES,
    limits.maxFrameBytes,
  );
  const dbs = new DbCache({
    dir: path.join(dataDir, "users"),
    targetFrameBytes,
    maxOpen: options.maxOpenDatabases ?? 1000,
    idleMs: options.databaseIdleMs ?? 5 * 60_000,
    log,
  });
  const webRoot = options.webRoot === undefined ? defaultWebRoot() : options.webRoot;
  const serveStatic = webRoot && fs.existsSync(webRoot) ? createStaticHandler(webRoot) : null;
  if (!serveStatic) log.warn({ webRoot }, "no built web app to serve (run npm run build)");
  const sessions = new Set<SyncSession>();
  // A signed-out session must not keep syncing on a socket it opened before.
  const accountsApi = createAccountsApi(
    accounts,
    tokens,
    log,
    (userId) => {
      for (const s of sessions) if (s.userId === userId) void s.recheckToken();
    },
    options.signupsPerHour ?? DEFAULT_SIGNUPS_PER_HOUR,
    (code) => metrics.accountRefusals.inc({ code }),
  );
  for (const [name, value] of Object.entries({
    ...resources,
    signupsPerHour: options.signupsPerHour ?? DEFAULT_SIGNUPS_PER_HOUR,
    maxFrameBytes: limits.maxFrameBytes,
  }))
    metrics.limit.set({ name }, value);
  const sessionDeps = {
    dbs,
    tokens,
    limits,
    metrics,
    log,
    targetFrameBytes: Math.min(
      options.targetFrameBytes ?? DEFAULT_TARGET_FRAME_BYTES,
      limits.maxFrameBytes,
    ),
    pageRows: 5_000,
    highWaterBytes: options.highWaterBytes ?? 1024 * 1024,
    resources,
    onCommit: options.onCommit,
  };

  const server = http.createServer((req, res) => {
    const pathname = new URL(req.url ?? "/", "http://x").pathname;
    void (async () => {
      if (pathname === "/healthz")
        return sendJson(res, 200, { ok: true, connections: sessions.size });
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

  // Until its hello is verified a connection may send only small messages (see allowFullFrames).
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
      const session = new SyncSession(ws, sessionDeps, req.socket.remoteAddress ?? "unknown");
      sessions.add(session);
      metrics.connections.inc();
      ws.on("close", () => {
        sessions.delete(session);
        metrics.connections.dec();
      });
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
    close() {
      closing ??= (async () => {
        clearInterval(pinger);
        const httpClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sessions) s.goAway();
        // Give "going away" a moment to reach clients, then cut whatever is left.
        await new Promise((r) => setTimeout(r, 50));
        for (const ws of wss.clients) ws.terminate();
        server.closeAllConnections();
        await httpClosed;
        wss.close();
        dbs.close();
        accounts.close();
        log.info("NoteSync server stopped");
      })();
      return closing;
    },
  };
}
