import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** A child process this program started, with its output kept for error messages. */
export interface ManagedProcess {
  readonly pid: number;
  readonly name: string;
  /** The last 20 kB of its stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (null after a signal) once it has exited. */
  readonly exited: Promise<number | null>;
  /** Sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after 10 s. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnManaged(
  name: string,
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; logFile?: string } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    env: options.env ?? process.env,
    cwd: options.cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  if (child.pid === undefined) throw new Error(`could not start ${name} (${command})`);
  let output = "";
  const log = options.logFile ? fs.createWriteStream(options.logFile, { flags: "a" }) : null;
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
    log?.write(chunk);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      log?.end();
      resolve(code);
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    pid: child.pid,
    name,
    output: () => output,
    exited,
    async stop(signal = "SIGTERM") {
      if (done) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port free on loopback now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Waits until `url` answers with `expect(status)`, or fails with the process's output. */
export async function waitForHttp(
  url: string,
  owner: ManagedProcess,
  timeoutMs = 20_000,
  expect: (status: number) => boolean = (s) => s === 200,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitedWith: number | null | undefined;
  void owner.exited.then((code) => (exitedWith = code));
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.body?.cancel();
      if (expect(res.status)) return;
    } catch {
      // not listening yet
    }
    if (exitedWith !== undefined || Date.now() > deadline)
      throw new Error(
        `${owner.name} ${exitedWith !== undefined ? `exited (${exitedWith})` : `did not answer ${url} in ${timeoutMs} ms`}:\n${owner.output()}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface RunningEtcd {
  /** Client URL, `http://127.0.0.1:port`. */
  readonly endpoint: string;
  readonly process: ManagedProcess;
  /** Client and peer ports. */
  readonly ports: readonly [number, number];
}

/**
 * A one-member etcd (Debian's `etcd-server`) on loopback ports, with its data in `dir`; on the
 * ports of `again` (a stopped one, started again with its data).
 */
export async function startEtcd(dir: string, again?: RunningEtcd): Promise<RunningEtcd> {
  const [client, peer] = again ? again.ports : [await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  fs.mkdirSync(dir, { recursive: true });
  const etcd = spawnManaged(
    "etcd",
    "etcd",
    [
      "--name=notesync",
      `--data-dir=${path.join(dir, "etcd")}`,
      `--listen-client-urls=${endpoint}`,
      `--advertise-client-urls=${endpoint}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=notesync=${peerUrl}`,
    ],
    { logFile: path.join(dir, "etcd.log") },
  );
  await waitForHttp(`${endpoint}/health`, etcd);
  return { endpoint, process: etcd, ports: [client, peer] };
}

/** The HAProxy configuration the project ships. */
export const SHIPPED_HAPROXY_CONFIG = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../../../../deploy/haproxy.cfg",
);

/**
 * The shipped configuration for `nodes` nodes: its `server node1 ...` lines are repeated for
 * each node (it ships with three).
 */
export function haproxyConfigFor(nodes: number): string {
  const lines = fs.readFileSync(SHIPPED_HAPROXY_CONFIG, "utf8").split("\n");
  const out: string[] = [];
  for (const line of lines) {
    const server = /^(\s*server )node1 "\$\{NOTESYNC_NODE1\}"(.*)$/.exec(line);
    if (server) {
      for (let i = 1; i <= nodes; i++)
        out.push(`${server[1]}node${i} "\${NOTESYNC_NODE${i}}"${server[2]}`);
    } else if (!/^\s*server node\d+ /.test(line)) out.push(line);
  }
  return out.join("\n");
}

export interface RunningHaproxy {
  readonly url: string;
  readonly process: ManagedProcess;
}

/** HAProxy (Debian's `haproxy`) with the shipped configuration, in front of `nodes` (host:port). */
export async function startHaproxy(
  dir: string,
  nodes: readonly string[],
  port?: number,
): Promise<RunningHaproxy> {
  const config = path.join(dir, "haproxy.cfg");
  fs.writeFileSync(config, haproxyConfigFor(nodes.length));
  const listen = port ?? (await freePort());
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NOTESYNC_HAPROXY_BIND: `127.0.0.1:${listen}`,
  };
  nodes.forEach((address, i) => (env[`NOTESYNC_NODE${i + 1}`] = address));
  const haproxy = spawnManaged("haproxy", "haproxy", ["-db", "-f", config], {
    env,
    logFile: path.join(dir, "haproxy.log"),
  });
  const url = `http://127.0.0.1:${listen}`;
  // Any answer means HAProxy listens (503 while no node is up yet).
  await waitForHttp(`${url}/healthz`, haproxy, 20_000, () => true);
  return { url, process: haproxy };
}

export interface RunningS3 {
  /** `http://127.0.0.1:port` */
  readonly endpoint: string;
  /** The backup URL for the bucket it serves. */
  readonly url: string;
  /** What the AWS SDK needs to reach it (with `AWS_ENDPOINT_URL_S3`). */
  readonly env: NodeJS.ProcessEnv;
  readonly process: ManagedProcess;
}

/**
 * An S3-compatible store in its own process: s3rver (a development dependency; no MinIO here,
 * shared/notes/operations.md), on loopback, with one bucket, on disk in `dir`.
 */
export async function startS3rver(dir: string): Promise<RunningS3> {
  const bin = createRequire(import.meta.url).resolve("s3rver/bin/s3rver.js");
  const port = await freePort();
  fs.mkdirSync(path.join(dir, "s3"), { recursive: true });
  const s3 = spawnManaged(
    "s3rver",
    process.execPath,
    [
      bin,
      "-d",
      path.join(dir, "s3"),
      "-a",
      "127.0.0.1",
      "-p",
      String(port),
      "-s",
      "--configure-bucket",
      "backups",
    ],
    { logFile: path.join(dir, "s3rver.log") },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  await waitForHttp(endpoint, s3);
  return {
    endpoint,
    url: "s3://backups/notesync",
    env: {
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_ACCESS_KEY_ID: "S3RVER",
      AWS_SECRET_ACCESS_KEY: "S3RVER",
      AWS_REGION: "us-east-1",
    },
    process: s3,
  };
}
