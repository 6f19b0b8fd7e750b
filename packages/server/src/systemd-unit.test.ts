import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "./testing/harness.test-helpers.js";

// The systemd unit that DEPLOYING.md shows, taken from that page: systemd-analyze accepts it,
// and its command with its environment starts a server that a SIGTERM to the main process alone
// (KillMode=mixed) stops entirely, with exit code 0.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
const page = fs.readFileSync(path.join(repo, "DEPLOYING.md"), "utf8");
const unit = /```ini\n([\s\S]*?)```/.exec(page)?.[1] ?? "";

/** The values of `key=` lines in the unit's [Service] section, in order. */
function service(key: string): string[] {
  const section = /\[Service\]\n([\s\S]*?)(?:\n\[|$)/.exec(unit)?.[1] ?? "";
  return section
    .split("\n")
    .filter((line) => line.startsWith(`${key}=`))
    .map((line) => line.slice(key.length + 1));
}

const hasSystemdAnalyze = spawnSync("systemd-analyze", ["--version"]).status === 0;

/** The child processes of `pid` (Linux). */
function children(pid: number): number[] {
  const file = `/proc/${pid}/task/${pid}/children`;
  return fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").trim().split(/\s+/).filter(Boolean).map(Number)
    : [];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("the systemd unit in DEPLOYING.md", () => {
  it("is there, with the lines the page explains", () => {
    expect(unit).toContain("[Service]");
    expect(service("KillMode")).toEqual(["mixed"]);
    expect(service("RestartPreventExitStatus")).toEqual(["2"]);
    expect(service("ExecStart")[0]).toMatch(/notesync-server\.js --workers auto$/);
  });

  it.skipIf(!hasSystemdAnalyze)("passes systemd-analyze verify without a warning", () => {
    const file = path.join(tempDir(), "notesync.service");
    fs.writeFileSync(file, unit);
    const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stderr.split("\n").filter((l) => l.includes("notesync.service"))).toEqual([]);
  });

  it("runs as systemd would run it, answers /healthz, and stops on SIGTERM to the main process", async () => {
    const dataDir = tempDir();
    // systemd's environment: PATH and the unit's Environment= lines, nothing inherited.
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
    for (const assignment of service("Environment")) {
      const [name, ...value] = assignment.split("=");
      env[name!] = value.join("=");
    }
    expect(env.NOTESYNC_DATA_DIR).toBe("/var/lib/notesync");
    env.NOTESYNC_DATA_DIR = dataDir; // the StateDirectory, here
    env.NOTESYNC_PORT = "0"; // any free port, here
    const [node, ...args] = service("ExecStart")[0]!.split(" ");
    expect(node).toBe("/usr/bin/node");
    const cwd = service("WorkingDirectory")[0]!.replace("/opt/notesync", repo);
    const proc = spawn(
      process.execPath,
      args.map((a) => a.replace("/opt/notesync", repo)),
      { cwd, env, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      proc.stdout.on("data", (d: Buffer) => {
        stdout += d.toString();
        const m = /NoteSync is running at (http:\S+)/.exec(stdout);
        if (m) resolve(m[1]!);
      });
      proc.on("exit", (code) => reject(new Error(`exited ${code}: ${stderr}`)));
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect(fs.existsSync(path.join(dataDir, "secret.key"))).toBe(true);
    const workers = children(proc.pid!);
    expect(workers.length).toBeGreaterThanOrEqual(1);

    const exited = new Promise<number | null>((resolve) => proc.on("exit", resolve));
    proc.kill("SIGTERM"); // KillMode=mixed: the main process only
    expect(await exited).toBe(0);
    expect(workers.filter(alive)).toEqual([]);
    // JSON lines from pino, and the URL on a line of its own.
    const lines = stdout.split("\n").filter((l) => l.trim() !== "");
    for (const line of lines.filter((l) => !l.includes("NoteSync is running at")))
      expect((): unknown => JSON.parse(line), line).not.toThrow();
  }, 30_000);
});
