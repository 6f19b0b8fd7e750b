import cluster, { type Worker } from "node:cluster";
import path from "node:path";
import { createLogger } from "./logger.js";
import { AggregatorRegistry } from "prom-client";
import { startServer, type RunningServer, type ServerOptions } from "./server.js";
import { SqliteAccountRecords } from "./accounts.js";
import { TokenService } from "./tokens.js";

/** Messages between the primary and its workers. */
type ClusterMessage =
  | { type: "notesync:listening"; url: string }
  /** A worker could not start (the port is taken, say): the whole server stops, it would not either. */
  | { type: "notesync:fatal"; problem: string }
  /** A worker committed to a user's database; the primary relays it to the other workers. */
  | { type: "notesync:commit"; userId: string }
  | { type: "notesync:metrics?"; id: number }
  | { type: "notesync:metrics"; id: number; text: string };

/**
 * Runs the server in `workers` processes sharing one port (node:cluster), so the server uses
 * every core. Any worker may serve any user: the user's SQLite file is opened by each worker that
 * has a connection of that user (WAL allows it), and a commit in one worker reaches the others'
 * connections through the file watcher that also catches other processes' writes.
 */
export async function runPrimary(
  workers: number,
  options: ServerOptions,
  onReady: (url: string) => void,
  onFatal: (problem: string) => void,
): Promise<void> {
  const log = createLogger(options.logLevel, options.logFormat);
  // Every worker must sign and verify tokens with the same secret.
  const secret = TokenService.loadSecret(path.resolve(options.dataDir), options.secret, log);
  // accounts.db made (and switched to WAL) once, here: workers creating it at the same moment
  // could fail the switch with "database is locked", which SQLite does not wait out.
  new SqliteAccountRecords(path.join(path.resolve(options.dataDir), "accounts.db")).close();
  const aggregator = new AggregatorRegistry();
  let stopping = false;
  let announced = false;

  const fork = (): Worker => {
    const worker = cluster.fork({ NOTESYNC_SECRET: secret, NOTESYNC_CLUSTER_WORKER: "1" });
    worker.on("message", (message: ClusterMessage) => {
      if (message.type === "notesync:listening" && !announced) {
        announced = true;
        onReady(message.url);
      }
      if (message.type === "notesync:fatal") stopAll(() => onFatal(message.problem));
      if (message.type === "notesync:commit") {
        for (const other of Object.values(cluster.workers ?? {})) {
          if (other && other !== worker) other.send(message);
        }
      }
      if (message.type === "notesync:metrics?") {
        aggregator.clusterMetrics().then(
          (text) =>
            worker.send({
              type: "notesync:metrics",
              id: message.id,
              text,
            } satisfies ClusterMessage),
          (err: unknown) => log.error({ err }, "collecting metrics from workers failed"),
        );
      }
    });
    return worker;
  };
  /** Stops every worker, then runs `then` (which exits). */
  const stopAll = (then: () => void) => {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    let left = alive.filter((w) => !w.isDead()).length;
    if (left === 0) return then();
    for (const w of alive) {
      if (w.isDead()) continue;
      w.once("exit", () => {
        if (--left === 0) then();
      });
      w.process.kill("SIGTERM");
    }
  };
  cluster.on("exit", (worker, code, signal) => {
    if (stopping) return;
    if (!announced) {
      // Dying before any worker listened is a start-up failure, not a crash: restarting it
      // would fail the same way, forever.
      stopAll(() =>
        onFatal(
          `a server process exited while starting (code ${code}, signal ${signal}): see the log above`,
        ),
      );
      return;
    }
    log.error({ pid: worker.process.pid, code, signal }, "a worker died; starting another");
    fork();
  });
  for (let i = 0; i < workers; i++) fork();
  log.info({ workers }, "started workers");

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      log.info({ signal }, "shutting down workers");
      stopAll(() => process.exit(0));
    });
  }
}

/** A worker: the whole server, with /metrics aggregated over every worker by the primary. */
export async function runWorker(
  options: ServerOptions,
  describeFailure: (err: unknown) => string,
): Promise<RunningServer> {
  new AggregatorRegistry(); // answers the primary's requests for this worker's metrics
  let nextId = 0;
  const waiting = new Map<number, (text: string) => void>();
  let server: RunningServer | null = null;
  process.on("message", (message: ClusterMessage) => {
    if (message.type === "notesync:metrics") waiting.get(message.id)?.(message.text);
    if (message.type === "notesync:commit") server?.noticeCommitElsewhere(message.userId);
  });
  server = await startServer({
    ...options,
    onCommit: (userId) =>
      process.send?.({ type: "notesync:commit", userId } satisfies ClusterMessage),
    metricsText: () => {
      const id = nextId++;
      return new Promise<string>((resolve) => {
        waiting.set(id, (text) => {
          waiting.delete(id);
          resolve(text);
        });
        process.send?.({ type: "notesync:metrics?", id } satisfies ClusterMessage);
      });
    },
  }).catch((err: unknown) => {
    process.send?.({
      type: "notesync:fatal",
      problem: describeFailure(err),
    } satisfies ClusterMessage);
    return new Promise<never>(() => undefined); // the primary stops this worker
  });
  AggregatorRegistry.setRegistries([server.metrics]);
  process.send?.({ type: "notesync:listening", url: server.url } satisfies ClusterMessage);
  const running = server;
  const stop = () =>
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  // The primary is gone (killed): do not outlive it.
  process.once("disconnect", stop);
  return running;
}
