import { SCHEMA_VERSION, type Change } from "@notesync/protocol";
import Database from "better-sqlite3";
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { restoreFromBackup } from "./backup/restore.js";
import { RawClient, clientDb, tempDir } from "./testing/harness.test-helpers.js";
import { BACKUP_URL, S3_ENV, startS3 } from "./testing/s3.test-helpers.js";
import type { RunningServer } from "./server.js";

// These tests run the real CLI (dist/cli.js) as a child process: they kill it and restart it.
const cli = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/cli.js");

interface Child {
  proc: ChildProcess;
  server: RunningServer;
  exited: Promise<number | null>;
}

async function startCli(
  dataDir: string,
  extraArgs: string[] = [],
  extraEnv: Record<string, string> = {},
): Promise<Child> {
  const proc = spawn(
    process.execPath,
    [cli, "--port", "0", "--data-dir", dataDir, "--log-level", "warn", ...extraArgs],
    {
      env: { ...process.env, NOTESYNC_SECRET: "process-test-secret-0123456789", ...extraEnv },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const exited = new Promise<number | null>((resolve) => proc.on("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    proc.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /running at (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  const server = { url, syncUrl: `${url.replace("http", "ws")}/sync` } as RunningServer;
  return { proc, server, exited };
}

const children: ChildProcess[] = [];
afterEach(() => children.splice(0).forEach((p) => p.kill("SIGKILL")));

async function signup(server: RunningServer): Promise<{ token: string; userId: string }> {
  const res = await fetch(`${server.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "correct horse" }),
  });
  return (await res.json()) as { token: string; userId: string };
}

describe("the server process", () => {
  it("survives SIGKILL in the middle of a batch with all or none of it, and the client resumes without loss", async () => {
    const dataDir = tempDir();
    const first = await startCli(dataDir);
    children.push(first.proc);
    const alice = await signup(first.server);

    const phone = clientDb(tempDir(), "phone");
    phone.exec(`INSERT INTO note_versions (id, title, body) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 6000)
      SELECT 'n' || v, 'note ' || v, hex(randomblob(40)) FROM s`);
    const changes: Change[] = phone.readChanges(0, new Uint8Array(16), 1e6).changes;
    const c = await RawClient.sync(first.server, alice.token, phone.siteId);
    c.sendChanges(changes, { maxChangesPerFrame: 5000 }); // one transaction in partial frames
    await new Promise((r) => setTimeout(r, 150));
    first.proc.kill("SIGKILL");
    await first.exited;

    const count = () => {
      const db = new Database(path.join(dataDir, "users", `${alice.userId}.db`), {
        readonly: true,
      });
      const n = db.prepare("SELECT count(*) FROM note_versions").pluck().get() as number;
      db.close();
      return n;
    };
    expect([0, 6000]).toContain(count());

    const second = await startCli(dataDir);
    children.push(second.proc);
    const again = await RawClient.connect(second.server);
    again.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: phone.siteId,
      serverVersion: 0,
      token: alice.token,
      incarnation: new Uint8Array(),
    });
    const welcome = await again.next("welcome");
    // The client resends whatever the server has not recorded as applied.
    const missing = phone.readChanges(welcome.clientVersion, new Uint8Array(16), 1e6).changes;
    if (missing.length > 0) {
      again.sendChanges(missing, { maxChangesPerFrame: 5000 });
      await again.next("ack", (a) => a.clientVersion === phone.dbVersion(), 20_000);
    }
    expect(count()).toBe(6000);
    again.close();
    phone.close();
    second.proc.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 30_000);

  it("on SIGTERM tells clients it is going away, closes with 1001 and exits 0", async () => {
    const child = await startCli(tempDir());
    children.push(child.proc);
    const alice = await signup(child.server);
    const c = await RawClient.sync(child.server, alice.token, new Uint8Array(16).fill(3));
    child.proc.kill("SIGTERM");
    const err = await c.next("error");
    expect(err).toMatchObject({ code: "going_away", fatal: true });
    expect(await c.closed).toBe(1001);
    expect(await child.exited).toBe(0);
  });

  it("with --workers 2 runs two server processes that push each other's users' changes, and stops them all", async () => {
    const child = await startCli(tempDir(), ["--workers", "2"]);
    children.push(child.proc);
    const alice = await signup(child.server);
    const phone = clientDb(tempDir(), "phone");
    const connections: RawClient[] = [];
    for (let i = 0; i < 4; i++)
      connections.push(
        await RawClient.sync(
          child.server,
          alice.token,
          Uint8Array.from({ length: 16 }, () => i + 1),
        ),
      );
    for (const c of connections) await c.next("changes");
    const metrics = await (await fetch(`${child.server.url}/metrics`)).text();
    expect(metrics).toMatch(/^notesync_connections 4$/m); // summed over both workers

    phone.exec(
      "INSERT INTO note_versions (id, title) VALUES ('n1', 'from one worker to the other')",
    );
    const [writer, ...readers] = connections;
    writer!.send({
      type: "changes",
      clientVersion: phone.dbVersion(),
      partial: false,
      changes: phone.readChanges(0, new Uint8Array(16), 1e6).changes,
    });
    for (const r of readers) {
      const got = await r.next("changes", (f) =>
        f.changes.some((c) => c.val === "from one worker to the other"),
      );
      expect(got.changes.length).toBeGreaterThan(0);
    }
    connections.forEach((c) => c.close());
    phone.close();
    child.proc.kill("SIGTERM");
    expect(await child.exited).toBe(0);
  });

  it("after SIGKILL in the middle of backup uploads, the restarted server completes the backup, and a restore has every note", async () => {
    const s3 = await startS3();
    try {
      const dataDir = tempDir();
      const env = {
        ...S3_ENV,
        AWS_ENDPOINT_URL: s3.endpoint,
        NOTESYNC_BACKUP_URL: BACKUP_URL,
        NOTESYNC_BACKUP_INTERVAL_MS: "20",
      };
      const first = await startCli(dataDir, [], env);
      children.push(first.proc);
      const alice = await signup(first.server);
      const phone = clientDb(tempDir(), "phone");
      const c = await RawClient.sync(first.server, alice.token, phone.siteId);
      for (let batch = 0; batch < 20; batch++) {
        const before = phone.dbVersion();
        phone.exec(`INSERT INTO note_versions (id, title, body) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 50)
          SELECT 'b${batch}-' || v, 'note', hex(randomblob(100)) FROM s`);
        c.sendChanges(phone.readChanges(before, new Uint8Array(16), 1e6).changes);
        await c.next("ack", (a) => a.clientVersion === phone.dbVersion());
      }
      // Uploads run every 20 ms: the last batches are being uploaded now.
      first.proc.kill("SIGKILL");
      await first.exited;

      const second = await startCli(dataDir, [], env);
      children.push(second.proc);
      second.proc.kill("SIGTERM"); // a graceful stop uploads what is pending
      expect(await second.exited).toBe(0);

      const restored = tempDir();
      const lines: string[] = [];
      await restoreFromBackup({
        store: s3.store(),
        dataDir: restored,
        progress: (l) => lines.push(l),
      });
      expect(lines.join("\n")).toMatch(/integrity ok/);
      const db = new Database(path.join(restored, "users", `${alice.userId}.db`), {
        readonly: true,
      });
      expect(db.prepare("SELECT count(*) FROM note_versions").pluck().get()).toBe(1000);
      db.close();
      phone.close();
      c.close();
    } finally {
      await s3.stop();
    }
  }, 60_000);
});
