import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";

export interface Child {
  readonly proc: ChildProcess;
  /** The URL the child printed when ready. */
  readonly url: string;
  /** Resident memory of the process and all its descendants (cluster workers). */
  rssBytes(): number;
  /** User databases open, counted once per process that has it open. */
  openUserDatabases(): number;
  stop(): Promise<void>;
}

/** The process and all its descendants (cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  const pids = [pid];
  try {
    for (const task of fs.readdirSync(`/proc/${pid}/task`)) {
      const children = fs.readFileSync(`/proc/${pid}/task/${task}/children`, "utf8").trim();
      for (const child of children ? children.split(/\s+/) : [])
        pids.push(...processTree(Number(child)));
    }
  } catch {
    // the process ended meanwhile
  }
  return pids;
}

/** Resident memory of one process in bytes (0 once it has ended). */
export function rssOf(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** Every open file descriptor of these processes (sockets and files). */
export function openFiles(pids: readonly number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      n += fs.readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // the process ended meanwhile
    }
  }
  return n;
}

/** Open files of these processes that are user databases (`users/<id>.db`), each open counted. */
export function openUserDatabases(pids: readonly number[]): number {
  let n = 0;
  for (const pid of pids) {
    try {
      for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
          if (/\/users\/[0-9a-f]{32}\.db$/.test(fs.readlinkSync(`/proc/${pid}/fd/${fd}`))) n++;
        } catch {
          // closed meanwhile
        }
      }
    } catch {
      // the process ended meanwhile
    }
  }
  return n;
}

/** Starts `node <script> ...args` and waits for a line `READY <url>` on its stdout. */
export async function startChild(
  script: string,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  const proc = spawn(process.execPath, [script, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /READY (\S+)/.exec(out) ?? /running at (\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    proc.once("exit", (code) =>
      reject(new Error(`${script} exited with ${code} before it was ready: ${out}`)),
    );
  });
  proc.stdout.on("data", (d: Buffer) => {
    if (process.env.BENCH_DEBUG) process.stderr.write(d);
  });
  return {
    proc,
    url,
    rssBytes: () => processTree(proc.pid!).reduce((sum, pid) => sum + rssOf(pid), 0),
    openUserDatabases: () => openUserDatabases(processTree(proc.pid!)),
    stop() {
      return new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve();
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
        setTimeout(() => proc.kill("SIGKILL"), 5000).unref();
      });
    },
  };
}

export const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

/** `promise`, or a rejection with `message` if it has not settled within `msec`. */
export async function withTimeout<T>(
  promise: Promise<T>,
  msec: number,
  message: string,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), msec);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves when `check()` is true, polling every `everyMs`. For waiting on peers that have no event. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  everyMs = 1,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(everyMs);
  }
}
