import {
  createNotesApi,
  createSyncClient,
  openNodeDatabase,
  type NotesApi,
  type SyncClient,
} from "@notesync/client-core/node";
import { UserDatabase, startServer, type RunningServer } from "@notesync/server";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pino } from "pino";

export const tempDir = (prefix = "notesync-import-") =>
  fs.mkdtempSync(path.join(os.tmpdir(), prefix));

/** A real NoteSync server on a free loopback port over `dataDir`. */
export const startNoteSync = (dataDir: string): Promise<RunningServer> =>
  startServer({
    port: 0,
    dataDir,
    webRoot: null,
    secret: "import-test-secret-import-test-secret",
    logger: pino({ level: process.env.NOTESYNC_TEST_LOG ?? "silent" }),
  });

export async function signIn(server: RunningServer, username: string, password: string) {
  const res = await fetch(`${server.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
  });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as { token: string; userId: string };
}

/** A Node client (client-core, its own SQLite file) syncing from the server, as a user's device. */
export interface Device {
  readonly client: SyncClient;
  readonly notes: NotesApi;
  /** Resolves once `check` holds, looking again after each change the device applies. */
  until(check: () => Promise<boolean>, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function device(server: RunningServer, token: string, dir: string): Promise<Device> {
  const db = await openNodeDatabase(
    path.join(dir, `device-${Math.random().toString(36).slice(2)}.db`),
  );
  const client = createSyncClient({ db, url: server.syncUrl, getToken: () => token });
  const notes = createNotesApi(db, { onChange: (l) => client.on("change", l) });
  client.start();
  await client.whenSynced();
  return {
    client,
    notes,
    async until(check, timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`the device did not see it within ${timeoutMs} ms`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(left, 50));
          const off = client.on("change", done);
          function done() {
            clearTimeout(timer);
            off();
            resolve();
          }
        });
      }
    },
    async close() {
      await client.stop();
      await db.close();
    },
  };
}

/** Every replicated row of a user's database, for comparing two imports. */
export function replicatedRows(file: string): Record<string, unknown[]> {
  const db = new UserDatabase(file);
  try {
    return {
      notes: db.query("SELECT * FROM notes ORDER BY id"),
      note_updates: db.query(
        "SELECT note_id, id, hex(data) AS data FROM note_updates ORDER BY note_id, id",
      ),
      note_versions: db.query("SELECT * FROM note_versions ORDER BY id"),
      note_tags: db.query("SELECT * FROM note_tags ORDER BY note_id, tag"),
    };
  } finally {
    db.close();
  }
}

/** The user's database's clock: it moves with every commit that changed a replicated row. */
export function dbVersion(file: string): number {
  const db = new UserDatabase(file);
  try {
    return db.dbVersion();
  } finally {
    db.close();
  }
}
