import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePort,
  spawnManaged,
  startEtcd,
  startHaproxy,
  startS3rver,
  waitForHttp,
  type ManagedProcess,
  type RunningEtcd,
  type RunningHaproxy,
  type RunningS3,
} from "./processes.js";

const CLI = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../cli.js");

export interface LocalClusterOptions {
  /** How many server nodes (each one process with its own data directory). */
  readonly nodes: number;
  /** Where etcd, the nodes' data directories and every log go. */
  readonly dir: string;
  /** HAProxy's port (default: a free one). */
  readonly port?: number;
  /** Seconds a dead node keeps its users (default 3: quick fail-over for tests and trying). */
  readonly leaseTtlSeconds?: number;
  /** More environment for every node (limits, log level). */
  readonly env?: NodeJS.ProcessEnv;
}

export interface LocalNode {
  readonly id: string;
  /** `http://127.0.0.1:port`, the node itself (not through HAProxy). */
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly process: ManagedProcess;
  /** SIGKILL: no goodbye, no last upload, its lease left to expire. */
  kill(): Promise<void>;
  /** Starts the node again on its port with the data directory it had (stale files and all). */
  restart(): Promise<void>;
}

export interface LocalCluster {
  /** HAProxy: what clients connect to. */
  readonly url: string;
  readonly nodes: readonly LocalNode[];
  readonly etcd: RunningEtcd;
  readonly haproxy: RunningHaproxy;
  readonly s3: RunningS3;
  /** Stops HAProxy, the nodes (gracefully), etcd and the store. */
  stop(): Promise<void>;
}

/**
 * A whole multi-node NoteSync on this machine, each part its own process on loopback: an
 * S3-compatible store (s3rver), etcd, `nodes` server processes in multi-node mode, and HAProxy
 * with the shipped configuration.
 */
export async function startLocalCluster(options: LocalClusterOptions): Promise<LocalCluster> {
  fs.mkdirSync(options.dir, { recursive: true });
  const s3 = await startS3rver(options.dir);
  const etcd = await startEtcd(options.dir).catch(async (err: unknown) => {
    await s3.process.stop();
    throw err;
  });
  const started: LocalNode[] = [];
  try {
    const secret = crypto.randomBytes(32).toString("base64url"); // the same on every node
    for (let i = 1; i <= options.nodes; i++) {
      const port = await freePort();
      const id = `node${i}`;
      const dataDir = path.join(options.dir, id);
      const logFile = path.join(options.dir, `${id}.log`);
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...s3.env,
        NOTESYNC_SECRET: secret,
        NOTESYNC_LOG_FORMAT: "json",
        NOTESYNC_LEASE_TTL_S: String(options.leaseTtlSeconds ?? 3),
        NOTESYNC_BACKUP_INTERVAL_MS: "1000",
        ...options.env,
      };
      const args = [
        CLI,
        `--port=${port}`,
        `--data-dir=${dataDir}`,
        `--etcd=${etcd.endpoint}`,
        `--node-id=${id}`,
        `--backup-url=${s3.url}`,
        "--trust-proxy=127.0.0.1",
      ];
      const launch = () => spawnManaged(id, process.execPath, args, { env, logFile });
      const node = {
        id,
        url: `http://127.0.0.1:${port}`,
        dataDir,
        logFile,
        process: launch(),
        async kill() {
          await node.process.stop("SIGKILL");
        },
        async restart() {
          node.process = launch();
          await waitForHttp(`${node.url}/healthz`, node.process);
        },
      };
      started.push(node);
    }
    for (const node of started) await waitForHttp(`${node.url}/healthz`, node.process);
    const haproxy = await startHaproxy(
      options.dir,
      started.map((n) => n.url.slice("http://".length)),
      options.port,
    );
    // Every node marked up by HAProxy's health checks (rise 2, 500 ms apart).
    await new Promise((r) => setTimeout(r, 1_500));
    return {
      url: haproxy.url,
      nodes: started,
      etcd,
      haproxy,
      s3,
      async stop() {
        await haproxy.process.stop();
        await Promise.all(started.map((n) => n.process.stop()));
        await etcd.process.stop();
        await s3.process.stop();
      },
    };
  } catch (err) {
    await Promise.all(started.map((n) => n.process.stop()));
    await etcd.process.stop();
    await s3.process.stop();
    throw err;
  }
}
