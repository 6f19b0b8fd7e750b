import fs from "node:fs";
import path from "node:path";
import { backedUpVersion, manifestKey, parseManifest } from "../backup/manifest.js";
import type { ObjectStore } from "../backup/object-store.js";
import { restoreUserDatabase } from "../backup/restore.js";
import { UserDatabase } from "../user-db.js";

/**
 * Brings a user's database on this node up to date before the node serves the user, and says
 * how. The local file is kept when it holds everything the backup has in the same incarnation
 * (this node was the last to serve the user); otherwise the backup replaces it, with a new
 * incarnation, so devices send back whatever the backup lacks (PROTOCOL.md §4.1). With no
 * backup, a local file is kept with a new incarnation (another node may have served the user
 * since), and a user with neither starts empty.
 */
export async function takeOverUser(
  store: ObjectStore,
  usersDir: string,
  userId: string,
): Promise<string> {
  const file = path.join(usersDir, `${userId}.db`);
  const bytes = await store.get(manifestKey(userId));
  const manifest = bytes ? parseManifest(bytes, manifestKey(userId)) : null;
  const local = fs.existsSync(file) ? localState(file) : null;
  if (manifest && local) {
    if (local.incarnation === manifest.incarnation && local.version >= backedUpVersion(manifest))
      return "kept the local copy: it holds everything the backup has";
  }
  if (manifest) {
    const notes = await restoreUserDatabase(store, manifest, file);
    return `restored from the backup (${notes} notes, up to version ${backedUpVersion(manifest)}); devices refill the rest`;
  }
  if (local) {
    const db = new UserDatabase(file);
    db.newIncarnation();
    db.close();
    return "no backup yet: kept the local copy with a new incarnation; devices refill the rest";
  }
  return "a new user database (no backup, no local copy)";
}

function localState(file: string): { incarnation: string; version: number } {
  const db = new UserDatabase(file);
  try {
    return { incarnation: Buffer.from(db.incarnation).toString("hex"), version: db.dbVersion() };
  } finally {
    db.close();
  }
}
