import {
  SCHEMA_VERSION,
  chunkChanges,
  decodeServerFrame,
  encodeClientFrame,
  type Change,
  type ChunkOptions,
  type ClientFrame,
  type ServerFrame,
  type WelcomeFrame,
} from "@notesync/protocol";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import WebSocket from "ws";
import { startServer, type RunningServer, type ServerOptions } from "../server.js";
import { UserDatabase } from "../user-db.js";

export function tempDir(prefix = "notesync-test-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A real server on a free loopback port with its own data directory. */
export async function testServer(
  options: Partial<ServerOptions> = {},
): Promise<RunningServer & { dataDir: string }> {
  const dataDir = options.dataDir ?? tempDir();
  const server = await startServer({
    port: 0,
    dataDir,
    webRoot: null,
    logger: pino({ level: process.env.NOTESYNC_TEST_LOG ?? "silent" }),
    secret: "test-secret-test-secret-test-secret",
    ...options,
  });
  return Object.assign(server, { dataDir });
}

export async function account(
  server: RunningServer,
  username: string,
  password = "correct horse",
): Promise<{ token: string; userId: string }> {
  const res = await fetch(`${server.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { token: string; userId: string };
}

/** A client database on disk: the same schema and cr-sqlite as a real client, for producing real changes. */
export function clientDb(dir: string, name: string): UserDatabase {
  return new UserDatabase(path.join(dir, `${name}.db`));
}

/** A WebSocket speaking raw frames, with a queue of what the server sent. */
export class RawClient {
  readonly frames: ServerFrame[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;
  /** The server's welcome, once `sync` has completed the handshake. */
  welcome: WelcomeFrame | null = null;
  readonly closed: Promise<number>;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      const r = decodeServerFrame(data);
      if (!r.ok) throw r.error;
      this.frames.push(r.frame);
      this.wake();
    });
    this.closed = new Promise((resolve) =>
      ws.on("close", (code) => {
        this.closeCode = code;
        this.wake();
        resolve(code);
      }),
    );
  }

  /** Connects to the server's `/sync`, or to a full sync URL (with `?user=`, say). */
  static async connect(server: RunningServer | string): Promise<RawClient> {
    const ws = new WebSocket(typeof server === "string" ? server : server.syncUrl);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new RawClient(ws);
  }

  /** Connects and completes hello/welcome, then waits for the catch-up to finish. */
  static async sync(
    server: RunningServer | string,
    token: string,
    siteId: Uint8Array,
    serverVersion = 0,
    incarnation: Uint8Array = new Uint8Array(),
  ): Promise<RawClient> {
    const c = await RawClient.connect(server);
    c.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId,
      serverVersion,
      token,
      incarnation,
    });
    c.welcome = await c.next("welcome");
    return c;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  send(frame: ClientFrame): void {
    this.ws.send(encodeClientFrame(frame));
  }

  /** Sends changes read from a client database as `changes` frames, as a client does. */
  sendChanges(changes: Iterable<Change>, options?: ChunkOptions): void {
    for (const c of chunkChanges(changes, options))
      this.send({
        type: "changes",
        clientVersion: c.version,
        partial: c.partial,
        changes: c.changes,
      });
  }

  sendRaw(bytes: Uint8Array | string): void {
    this.ws.send(bytes);
  }

  /** Removes and returns the first frame of `type` (and matching `where`), waiting for it to arrive. */
  async next<T extends ServerFrame["type"]>(
    type: T,
    where: (f: Extract<ServerFrame, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<ServerFrame, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const i = this.frames.findIndex(
        (f) => f.type === type && where(f as Extract<ServerFrame, { type: T }>),
      );
      if (i >= 0) return this.frames.splice(i, 1)[0] as Extract<ServerFrame, { type: T }>;
      if (this.closeCode !== null)
        throw new Error(
          `closed (${this.closeCode}) while waiting for ${type}; got ${JSON.stringify(this.frames.map((f) => f.type))}`,
        );
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`,
        );
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Changes frames until one completes `serverVersion` (inclusive), merged. */
  async changesUntil(serverVersion: number): Promise<Change[]> {
    const all: Change[] = [];
    for (;;) {
      const f = await this.next("changes");
      all.push(...f.changes);
      if (!f.partial && f.serverVersion >= serverVersion) return all;
    }
  }

  close(): void {
    this.ws.close();
  }
}
