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

/** The version of the better-sqlite3 this package loads, or null when it is not installed. */
function installedDriverVersion(): string | null {
  try {
    return (require("better-sqlite3/package.json") as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Why the installed better-sqlite3 cannot be used on this Node.js, or null when it can.
 *
 * better-sqlite3 12 builds its databases and statements on `node::ObjectWrap`. Since Node 24.19
 * that class's destructor removes an environment cleanup hook and aborts the whole process
 * (`Assertion failed: (env) != nullptr`) when the garbage collector destroys an object at a moment
 * no Node environment is current, which a server that prepares statements meets within seconds.
 * better-sqlite3 13 is built on Node-API and is not affected, but needs Node-API 10 (Node 22.14+),
 * so Node 20 keeps 12. This turns the abort into one sentence saying what to install.
 */
export function sqliteDriverProblem(
  nodeVersion: string = process.versions.node,
  driverVersion: string | null = installedDriverVersion(),
): string | null {
  if (driverVersion === null) return null; // the import of better-sqlite3 reports that itself
  const nodeMajor = Number(nodeVersion.split(".")[0]);
  const driverMajor = Number(driverVersion.split(".")[0]);
  if (nodeMajor >= 24 && driverMajor < 13)
    return (
      `better-sqlite3 ${driverVersion} aborts the process on Node.js ${nodeVersion} when the garbage ` +
      "collector frees a statement: install better-sqlite3 13 (in the NoteSync repository " +
      "`npm run install:node24`, as its lockfile keeps 12 for Node 20), or run Node 20 or 22"
    );
  return null;
}

/** Loads cr-sqlite into a better-sqlite3 connection. Call `SELECT crsql_finalize()` before closing it. */
export function loadCrsqlite(
  db: BetterSqlite3.Database,
  extensionPath = crsqliteExtensionPath(),
): void {
  const problem = sqliteDriverProblem();
  if (problem) throw new Error(problem);
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
  isSameFile,
  type OpenOptions,
} from "./open.js";
