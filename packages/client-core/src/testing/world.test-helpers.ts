import { startServer, type RunningServer, type ServerOptions } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach } from "vitest";
import type { ChangeEvent, Database } from "../database.js";
import { createNotesApi, type NotesApi } from "../notes/notes-api.js";
import { createSyncClient, openNodeDatabase } from "../node/index.js";
import type { SyncClient, SyncClientOptions } from "../sync/sync-client.js";
import type { SyncStatus } from "../sync/status.js";

// Real server on loopback, real SQLite files, real WebSockets, Node clients through the Node adapter.
export interface Device {
  name: string;
  file: string;
  db: Database;
  client: SyncClient;
  notes: NotesApi;
  events: ChangeEvent[];
}

export let dir: string;
export let server: RunningServer;
const devices: Device[] = [];

/** Options of the servers the world starts from now on (the test's own, reset after each test). */
export let serverOptions: Partial<ServerOptions> = {};
export const configureServer = (options: Partial<ServerOptions>) => (serverOptions = options);

export async function start(port = 0): Promise<RunningServer> {
  return startServer({
    port,
    dataDir: path.join(dir, "server"),
    webRoot: null,
    secret: "client-core-test-secret",
    logger: pino({ level: "silent" }),
    ...serverOptions,
  });
}

export async function signup(username = "alice"): Promise<string> {
  const res = await fetch(`${server.url}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "correct horse" }),
  });
  return ((await res.json()) as { token: string }).token;
}

export async function device(
  name: string,
  token: string,
  begin = true,
  options: Partial<SyncClientOptions> = {},
): Promise<Device> {
  const file = path.join(dir, `${name}.db`);
  const db = await openNodeDatabase(file);
  const client = createSyncClient({
    db,
    url: server.syncUrl,
    getToken: () => token,
    reconnect: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  const notes = createNotesApi(db, { onChange: (l) => client.on("change", l) });
  const d: Device = { name, file, db, client, notes, events: [] };
  client.on("change", (e) => d.events.push(e));
  devices.push(d);
  if (begin) client.start();
  return d;
}

export async function shutdown(d: Device): Promise<void> {
  devices.splice(devices.indexOf(d), 1);
  await d.client.stop();
  await d.db.close();
}

export const table = (d: Device) =>
  d.db.query(
    `SELECT id, t.title AS title, t.body AS body, pinned, typeof(pinned) AS pt, position, typeof(position) AS qt, deleted_at
     FROM notes n LEFT JOIN note_text t ON t.note_id = n.id ORDER BY id`,
  );

export function waitFor(
  client: SyncClient,
  predicate: (s: SyncStatus) => boolean,
): Promise<SyncStatus> {
  return new Promise((resolve) => {
    if (predicate(client.status)) return resolve(client.status);
    const off = client.on("status", (s) => {
      if (predicate(s)) {
        off();
        resolve(s);
      }
    });
  });
}

/**
 * Resolves once `check` holds, re-checking after each change any device sees, and every 25 ms
 * for what follows a change asynchronously (an open document pulling the new rows).
 */
export async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(left, 25));
      const offs = devices.map((d) => d.client.on("change", done));
      function done() {
        clearTimeout(timer);
        offs.forEach((off) => off());
        resolve();
      }
    });
  }
}
export const hasTitles = (d: Device, titles: string[]) => async () =>
  JSON.stringify(
    (
      await d.db.query<{ title: string }>(
        "SELECT t.title FROM note_text t JOIN notes n ON n.id = t.note_id ORDER BY t.title",
      )
    ).map((r) => r.title),
  ) === JSON.stringify([...titles].sort());

export async function changesOut(): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  return Number(/^notesync_changes_out_total (\d+)/m.exec(text)?.[1] ?? 0);
}

/** Registers the hooks that give each test a fresh server and stop every device afterwards. */
export function useWorld(): void {
  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-client-"));
    server = await start();
  });
  afterEach(async () => {
    for (const d of [...devices]) await shutdown(d);
    await server.close();
    serverOptions = {};
  });
}

/** Restarts the server (same data directory), on `port` when given. */
export async function restartServer(port?: number): Promise<void> {
  server = await start(port);
}
