import {
  createNotesApi,
  createSyncClient,
  openNodeDatabase,
  type Database,
  type SyncClient,
} from "@notesync/client-core/node";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startChild, type Child } from "./procs.js";

export const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, "../..");
export const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** The real NoteSync server, as `npm start` runs it, in its own process. */
export function startNoteSync(
  dataDir = tmp("bench-notesync-"),
  workers = process.env.BENCH_WORKERS ?? "1",
  env: NodeJS.ProcessEnv = {},
): Promise<Child> {
  return startChild(
    path.join(repo, "packages/server/dist/cli.js"),
    ["--port", "0", "--data-dir", dataDir, "--log-level", "warn", "--workers", workers],
    {
      NOTESYNC_SECRET: "bench-secret-bench-secret",
      ...env,
    },
  );
}

export async function signup(baseUrl: string, username: string): Promise<string> {
  const res = await fetch(`${baseUrl}/api/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password: "benchmark-password" }),
  });
  if (!res.ok) throw new Error(`signup: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { token: string }).token;
}

export interface Device {
  readonly db: Database;
  readonly client: SyncClient;
  close(): Promise<void>;
}

export async function device(
  dir: string,
  name: string,
  syncUrl: string,
  token: string,
): Promise<Device> {
  const db = await openNodeDatabase(path.join(dir, `${name}.db`));
  const client = createSyncClient({ db, url: syncUrl, getToken: () => token });
  client.start();
  return {
    db,
    client,
    async close() {
      await client.stop();
      await db.close();
    },
  };
}

/**
 * Signs up `username` with `notes` notes ("Note <i>", each with a 200-character body, one a
 * minute from 2026-01-01, the last the newest), made and synced by a Node client whose files
 * are removed after.
 */
export async function seededAccount(
  baseUrl: string,
  username: string,
  notes: number,
): Promise<void> {
  const token = await signup(baseUrl, username);
  const dir = tmp("bench-seeder-");
  try {
    const seeder = await device(dir, "seeder", `${baseUrl.replace("http", "ws")}/sync`, token);
    const base = Date.UTC(2026, 0, 1);
    await createNotesApi(seeder.db).createMany(
      Array.from({ length: notes }, (_, i) => ({
        title: `Note ${i}`,
        body: `Body of note ${i}: ${"some words ".repeat(20)}`,
        createdAt: base + i * 60_000,
        updatedAt: base + i * 60_000,
      })),
    );
    await seeder.client.whenSynced();
    await seeder.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
