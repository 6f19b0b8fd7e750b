import { freePort } from "@notesync/server";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const BIN = process.env.NOTESYNC_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** A PostgreSQL 15 server (Debian's postgresql-15) in a temporary directory, on a loopback port. */
export interface Postgres {
  /** Connection string of the `postgres` database as the `postgres` superuser (trust auth, loopback). */
  readonly url: string;
  stop(): void;
}

/** Runs a PostgreSQL program as the `postgres` user when we are root (it refuses to run as root). */
function asPostgres(program: string, args: string[]): void {
  const asRoot = process.getuid?.() === 0;
  const [cmd, argv] = asRoot
    ? ["runuser", ["-u", "postgres", "--", path.join(BIN, program), ...args]]
    : [path.join(BIN, program), args];
  execFileSync(cmd, argv, { stdio: ["ignore", "ignore", "pipe"] });
}

export async function startPostgres(): Promise<Postgres> {
  if (!fs.existsSync(path.join(BIN, "initdb")))
    throw new Error(`no PostgreSQL 15 in ${BIN}: apt-get install postgresql-15 (.ci/run does)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-pg-"));
  if (process.getuid?.() === 0) execFileSync("chown", ["postgres", dir]);
  const data = path.join(dir, "data");
  asPostgres("initdb", ["-A", "trust", "-U", "postgres", "-E", "UTF8", "-D", data]);
  const port = await freePort();
  asPostgres("pg_ctl", [
    "-D",
    data,
    "-l",
    path.join(dir, "log"),
    "-o",
    `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
    "-w",
    "start",
  ]);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        asPostgres("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
