import { startServer, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import WebSocket from "ws";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCrossTabSyncClient, type ChannelLike, type LockManagerLike } from "./cross-tab.js";
import type { Database } from "./database.js";
import { createNotesApi } from "./notes/notes-api.js";
import { createSyncClient, openNodeDatabase } from "./node/index.js";
import type { SyncClient } from "./sync/sync-client.js";
import type { SyncStatus } from "./sync/status.js";
import type { WebSocketConstructor } from "./sync/websocket.js";

// Tabs are simulated in one Node process: each "tab" has its own connection to one database file,
// Node's own BroadcastChannel carries tab messages, and an in-process double stands in for
// navigator.locks (Node has no Web Locks). The server, the file and the WebSockets are real.
class InProcessLocks implements LockManagerLike {
  private readonly waiting: {
    callback: () => Promise<void>;
    done: (v: unknown) => void;
    signal?: AbortSignal;
  }[] = [];
  private held = false;

  request(
    _name: string,
    options: { signal?: AbortSignal },
    callback: () => Promise<void>,
  ): Promise<unknown> {
    return new Promise((done, fail) => {
      const entry = { callback, done, signal: options.signal };
      options.signal?.addEventListener("abort", () => {
        const i = this.waiting.indexOf(entry);
        if (i < 0) return;
        this.waiting.splice(i, 1);
        fail(new Error("aborted"));
      });
      this.waiting.push(entry);
      this.grant();
    });
  }

  private grant(): void {
    if (this.held) return;
    const next = this.waiting.shift();
    if (!next) return;
    this.held = true;
    void next.callback().then((v) => {
      this.held = false;
      next.done(v);
      this.grant();
    });
  }
}

let dir: string;
let server: RunningServer;
let token: string;
const cleanup: (() => Promise<void>)[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-tabs-"));
  server = await startServer({
    port: 0,
    dataDir: path.join(dir, "server"),
    webRoot: null,
    secret: "tabs-test-secret",
    logger: pino({ level: "silent" }),
  });
  const res = await fetch(`${server.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice", password: "correct horse" }),
  });
  token = ((await res.json()) as { token: string }).token;
});
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
  await server.close();
});

const locks = new InProcessLocks();
async function tab(
  name: string,
): Promise<{ db: Database; client: SyncClient & { isLeader: boolean } }> {
  const db = await openNodeDatabase(path.join(dir, "profile.db"));
  const channel = new BroadcastChannel("notesync:test-profile") as unknown as ChannelLike;
  const client = createCrossTabSyncClient({
    name: "test-profile",
    db,
    url: server.syncUrl,
    getToken: () => token,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    locks,
    channel,
    reconnect: { initialMs: 20, maxMs: 100 },
  });
  client.start();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await client.stop();
    channel.close();
    await db.close();
  };
  cleanup.push(close);
  void name;
  return { db, client: Object.assign(client, { close }) };
}

const nextStatus = (c: SyncClient, p: (s: SyncStatus) => boolean) =>
  new Promise<SyncStatus>((resolve) => {
    if (p(c.status)) return resolve(c.status);
    const off = c.on("status", (s) => p(s) && (off(), resolve(s)));
  });
const nextChange = (c: SyncClient) =>
  new Promise<void>((resolve) => {
    const off = c.on("change", () => (off(), resolve()));
  });

describe("tabs of one profile", () => {
  it("share one connection: one tab leads, the other mirrors its status and sees its changes", async () => {
    const first = await tab("first");
    await nextStatus(first.client, (s) => s.state === "live");
    const second = await tab("second");
    await nextStatus(second.client, (s) => s.state === "live");
    expect(first.client.isLeader).toBe(true);
    expect(second.client.isLeader).toBe(false);
    expect(
      Number(
        /notesync_connections (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1],
      ),
    ).toBe(1);

    // A write in the follower tab is pushed by the leader and announced to the leader's page.
    const changed = nextChange(first.client);
    await createNotesApi(second.db).create({ title: "typed in the second tab" });
    await changed;
    await first.client.whenSynced();
    expect(second.client.status.pending).toBe(0);
  });

  it("moves leadership when the leading tab closes", async () => {
    const first = await tab("first");
    await nextStatus(first.client, (s) => s.state === "live");
    const second = await tab("second");
    await (first.client as unknown as { close(): Promise<void> }).close();
    await nextStatus(second.client, (s) => s.state === "live" && second.client.isLeader);
    await createNotesApi(second.db).create({ title: "after the handover" });
    await second.client.whenSynced();
    // Another device of the user receives it through the server.
    const other = await openNodeDatabase(path.join(dir, "other-device.db"));
    const device = createSyncClient({ db: other, url: server.syncUrl, getToken: () => token });
    cleanup.push(async () => {
      await device.stop();
      await other.close();
    });
    device.start();
    await nextStatus(device, (s) => s.state === "live");
    expect((await createNotesApi(other).list()).map((n) => n.title)).toEqual([
      "after the handover",
    ]);
  });
});
