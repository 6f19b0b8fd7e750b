import { DEFAULT_LIMITS, decodeServerFrame } from "@notesync/protocol";
import Database from "better-sqlite3";
import fs from "node:fs";
import path from "node:path";
import { UserDatabase } from "../user-db.js";
import {
  ACCOUNTS_KEY,
  backedUpVersion,
  manifestKey,
  parseManifest,
  type Manifest,
} from "./manifest.js";
import type { ObjectStore } from "./object-store.js";

export interface RestoreOptions {
  readonly store: ObjectStore;
  /** An empty (or new) data directory to rebuild. */
  readonly dataDir: string;
  /** One line per step (a user restored, the accounts). */
  readonly progress?: (line: string) => void;
}

const MANIFEST = /^users\/([a-f0-9]{32})\/manifest\.json$/;

/**
 * Rebuilds a data directory from object storage: `accounts.db`, and each user's database from
 * its snapshot and the changes after it. Every restored database gets a new incarnation (so
 * devices send back whatever the backup lacks, PROTOCOL.md §4.1) and must pass
 * `integrity_check`. Refuses a directory that already holds user databases.
 */
export async function restoreFromBackup(options: RestoreOptions): Promise<{ users: number }> {
  const { store, dataDir } = options;
  const progress = options.progress ?? (() => undefined);
  const usersDir = path.join(dataDir, "users");
  if (fs.existsSync(usersDir) && fs.readdirSync(usersDir).some((f) => f.endsWith(".db")))
    throw new Error(
      `${usersDir} already holds user databases: restore into an empty data directory`,
    );
  if (fs.existsSync(path.join(dataDir, "accounts.db")))
    throw new Error(`${dataDir} already has an accounts.db: restore into an empty data directory`);
  let keys: string[];
  try {
    keys = await store.list("");
  } catch (err) {
    throw new Error(
      `cannot list the backup store ${store.description}: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
  const users = keys.flatMap((k) => MANIFEST.exec(k)?.[1] ?? []);
  if (!keys.includes(ACCOUNTS_KEY) && users.length === 0)
    throw new Error(`the backup store ${store.description} holds no NoteSync backup`);
  fs.mkdirSync(usersDir, { recursive: true });

  const accounts = await store.get(ACCOUNTS_KEY);
  if (accounts) {
    const file = path.join(dataDir, "accounts.db");
    fs.writeFileSync(file, accounts);
    const db = new Database(file);
    const check = db.pragma("integrity_check", { simple: true }) as string;
    const count = db.prepare("SELECT count(*) FROM users").pluck().get() as number;
    db.close();
    if (check !== "ok")
      throw new Error(`the backed-up accounts.db fails integrity_check: ${check}`);
    progress(`accounts.db: ${count} accounts`);
  } else {
    progress("accounts.db: not in the backup (accounts must sign up again)");
  }

  for (const [i, userId] of users.entries()) {
    const manifest = parseManifest((await store.get(manifestKey(userId)))!, manifestKey(userId));
    const notes = await restoreUserDatabase(store, manifest, path.join(usersDir, `${userId}.db`));
    progress(
      `user ${i + 1}/${users.length} ${userId}: ${notes} notes, up to version ${backedUpVersion(manifest)} (${manifest.segments.length} change files after the snapshot), integrity ok`,
    );
  }
  return { users: users.length };
}

/**
 * Rebuilds one user's database at `file` from the snapshot and changes `manifest` names, with a
 * new incarnation, checked with `integrity_check`; returns its note count. The file is written
 * beside `file` and renamed into place, so a failed restore leaves `file` as it was.
 */
export async function restoreUserDatabase(
  store: ObjectStore,
  manifest: Manifest,
  file: string,
): Promise<number> {
  const { userId } = manifest;
  const restoring = `${file}.restoring`;
  fs.rmSync(restoring, { force: true });
  const snapshot = await store.get(manifest.snapshot.key);
  if (!snapshot)
    throw new Error(`user ${userId}: the snapshot ${manifest.snapshot.key} is missing`);
  fs.writeFileSync(restoring, snapshot);
  const db = new UserDatabase(restoring);
  let notes: number;
  try {
    for (const segment of manifest.segments) {
      const bytes = await store.get(segment.key);
      if (!bytes) throw new Error(`user ${userId}: the changes ${segment.key} are missing`);
      const frame = decodeServerFrame(bytes, {
        ...DEFAULT_LIMITS,
        maxFrameBytes: Math.max(DEFAULT_LIMITS.maxFrameBytes, bytes.length),
      });
      if (!frame.ok || frame.frame.type !== "changes")
        throw new Error(`user ${userId}: ${segment.key} is not a changes frame`);
      db.applyRestored(frame.frame.changes);
    }
    db.newIncarnation(); // a history devices have not all seen
    const check = db.integrityCheck();
    if (check !== "ok") throw new Error(`user ${userId}: integrity_check says ${check}`);
    notes = db.query<{ n: number }>("SELECT count(*) AS n FROM notes")[0]!.n;
  } catch (err) {
    db.close();
    fs.rmSync(restoring, { force: true });
    throw err;
  }
  db.close();
  for (const stale of [`${file}-wal`, `${file}-shm`, `${file}-journal`])
    fs.rmSync(stale, { force: true });
  fs.renameSync(restoring, file);
  return notes;
}
