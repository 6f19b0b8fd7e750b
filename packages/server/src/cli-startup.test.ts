import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { tempDir } from "./testing/harness.test-helpers.js";

// The real CLI (dist/cli.js) failing to start: one clear line and a non-zero exit, at once.
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

function run(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  const started = Date.now();
  const proc = spawn(process.execPath, [cli, ...args], {
    env: { ...process.env, NOTESYNC_SECRET: "cli-startup-test-secret-0123456789" },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  proc.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    proc.on("exit", (code) => resolve({ code, stderr, ms: Date.now() - started })),
  );
}

describe("notesync-server start-up failures", () => {
  const blockers: net.Server[] = [];
  afterEach(() => blockers.splice(0).forEach((b) => b.close()));

  async function takenPort(): Promise<number> {
    const blocker = net.createServer();
    blockers.push(blocker);
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    return (blocker.address() as net.AddressInfo).port;
  }

  for (const workers of ["1", "2"])
    it(`says the port is taken and exits 1 (--workers ${workers})`, async () => {
      const port = await takenPort();
      const r = await run(["--port", String(port), "--data-dir", tempDir(), "--workers", workers]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `notesync-server: port ${port} on 127.0.0.1 is already in use (another NoteSync, or another program): stop it or choose another port with --port`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    });

  it("says the data directory cannot be used and exits 1", async () => {
    const file = path.join(tempDir(), "not-a-directory");
    fs.writeFileSync(file, "");
    const r = await run(["--port", "0", "--data-dir", path.join(file, "data")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(
      /^notesync-server: cannot use the data directory .*not-a-directory\/data: ENOTDIR/,
    );
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("names an unknown flag or a bad value in one line and exits 2", async () => {
    const unknown = await run(["--prot", "8080"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim()).toMatch(/^notesync-server: Unknown option '--prot'.*--help\)$/);
    const format = await run(["--log-format", "xml"]);
    expect(format.code).toBe(2);
    expect(format.stderr.trim()).toBe("notesync-server: invalid --log-format xml: json or pretty");
    const bad = await run(["--port", "eighty"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(
      "notesync-server: invalid port eighty: a number from 0 to 65535",
    );
  });
});
