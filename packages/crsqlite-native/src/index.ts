import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type BetterSqlite3 from "better-sqlite3";

const require = createRequire(import.meta.url);
const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** Thrown when no usable cr-sqlite library exists; the message says how to make one. */
export class CrsqliteNotFoundError extends Error {
  constructor(readonly tried: string[]) {
    super(
      `no cr-sqlite extension found (tried: ${tried.join(", ")}). ` +
        "Run `npm install` at the repository root to build it, or set NOTESYNC_CRSQLITE_PATH.",
    );
    this.name = "CrsqliteNotFoundError";
  }
}

function prebuiltPath(): string | null {
  try {
    const pkg = path.dirname(require.resolve("@vlcn.io/crsqlite/package.json"));
    return path.join(pkg, "dist", "crsqlite.so");
  } catch {
    return null;
  }
}

/**
 * The cr-sqlite library to load, in this order: `NOTESYNC_CRSQLITE_PATH`, the prebuilt library of
 * the optional `@vlcn.io/crsqlite` package, the library `npm install` built from source.
 */
export function crsqliteExtensionPath(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.NOTESYNC_CRSQLITE_PATH;
  if (fromEnv) {
    if (!fs.existsSync(fromEnv))
      throw new CrsqliteNotFoundError([`NOTESYNC_CRSQLITE_PATH=${fromEnv}`]);
    return fromEnv;
  }
  const candidates = [prebuiltPath(), path.join(packageDir, "native", "crsqlite.so")].filter(
    (p): p is string => p !== null,
  );
  const found = candidates.find((p) => fs.existsSync(p) && fs.statSync(p).size > 0);
  if (!found) throw new CrsqliteNotFoundError(candidates);
  return found;
}

/** Loads cr-sqlite into a better-sqlite3 connection. Call `SELECT crsql_finalize()` before closing it. */
export function loadCrsqlite(
  db: BetterSqlite3.Database,
  extensionPath = crsqliteExtensionPath(),
): void {
  // better-sqlite3 takes the entry point as a second argument; its type declarations omit it.
  (db.loadExtension as (file: string, entryPoint: string) => void).call(
    db,
    extensionPath,
    "sqlite3_crsqlite_init",
  );
}
export {
  openCrsqliteDatabase,
  closeCrsqliteDatabase,
  bindParams,
  fileIdentity,
  type OpenOptions,
} from "./open.js";
