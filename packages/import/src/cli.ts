#!/usr/bin/env node
import fs from "node:fs";
import { parseArgs } from "node:util";
import { DataDirectory, passwordFile, passwordPrompt, type PasswordSource } from "./accounts.js";
import { CouchDatabase } from "./couchdb-client.js";
import { importCouchDb } from "./couchdb-import.js";
import { loadMapper } from "./mapping-file.js";
import { importPostgres } from "./postgres-import.js";
import { formatReport, progressLine, type ImportReport } from "./report.js";
import type { ImportWriter } from "@notesync/server";

const HELP = `notesync-import: brings notes from CouchDB/PouchDB or Postgres (PowerSync) into NoteSync

Usage:
  notesync-import couchdb <http(s)://[user:pass@]host:port/db> --user <name> [options]
  notesync-import postgres <connection string> --table <table> (--user <name> | --owner-column <col>) [options]

It writes into the server's data directory, with the server stopped or running (devices that are
connected see the notes arrive). Ids are kept: running it again, or importing a note from both
sources, converges instead of duplicating. The newer version of a note wins; the other is kept
as a conflict version the user can compare and keep.

Options:
  --data-dir <dir>         the server's data directory            NOTESYNC_DATA_DIR (./data)
  --user <name>            the NoteSync account the notes go to; created when missing
  --password-file <file>   password for accounts that must be created: one line, or lines of
                           username:password for many users (never on the command line);
                           without it, asked on the terminal
  --mapping <file>         .json (note field -> document field names) or .js (default export:
                           such an object, or a function from a document to note fields)
  --batch-size <n>         documents per request and per transaction (500)
  --report <file>          also write the report as JSON
  -h, --help               this text

couchdb:
  Reads _changes (all leaves, conflicts) from its checkpoint: an interrupted import resumes, and
  a later run reads only what changed. Deleted documents move their notes to the trash; losing
  conflict revisions become conflict versions; _design/ documents are skipped.
  --attachments-dir <dir>  save attachments there (they are listed in the report either way)
  --restart                read from the beginning, ignoring the checkpoint

postgres:
  Reads one consistent snapshot (REPEATABLE READ READ ONLY), paging by key. Give the password in
  PGPASSWORD or ~/.pgpass rather than in the connection string.
  --table <name>           the table of notes (schema.table allowed)
  --key-column <col>       the key that orders pages and becomes the note id (id)
  --owner-column <col>     the column naming each row's user (many users)
  --owner-map <file>       JSON object from owner values to NoteSync usernames (default: the
                           owner value is the username)
`;

const OPTIONS = {
  "data-dir": { type: "string" },
  user: { type: "string" },
  "password-file": { type: "string" },
  mapping: { type: "string" },
  "batch-size": { type: "string" },
  report: { type: "string" },
  "attachments-dir": { type: "string" },
  restart: { type: "boolean" },
  table: { type: "string" },
  "key-column": { type: "string" },
  "owner-column": { type: "string" },
  "owner-map": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

class UsageError extends Error {}

function parse() {
  try {
    return parseArgs({ options: OPTIONS, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

const batchSize = (text: string | undefined) => {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw new UsageError(`--batch-size must be a whole number >= 1`);
  return n;
};

function ownerMap(file: string | undefined): (owner: string) => string {
  if (!file) return (owner) => owner;
  const map = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
  if (map === null || typeof map !== "object" || Array.isArray(map))
    throw new UsageError(`--owner-map ${file} must hold a JSON object of owner -> username`);
  return (owner) => {
    const name = (map as Record<string, unknown>)[owner];
    if (typeof name !== "string")
      throw new Error(`--owner-map ${file} has no username for owner ${owner}`);
    return name;
  };
}

async function main(): Promise<void> {
  const { values, positionals } = parse();
  if (values.help || positionals.length === 0) {
    process.stdout.write(HELP);
    return;
  }
  const [command, location, ...extra] = positionals;
  if (command !== "couchdb" && command !== "postgres")
    throw new UsageError(`unknown source ${JSON.stringify(command)}: use couchdb or postgres`);
  if (!location) throw new UsageError(`${command} needs the source's location`);
  if (extra.length > 0) throw new UsageError(`unexpected ${extra.join(" ")}`);
  const password: PasswordSource = values["password-file"]
    ? passwordFile(values["password-file"])
    : passwordPrompt;
  const size = batchSize(values["batch-size"]);
  const mapper = await loadMapper(values.mapping);
  const data = new DataDirectory(values["data-dir"] ?? process.env.NOTESYNC_DATA_DIR ?? "./data");
  const writers: ImportWriter[] = [];
  const onProgress = (r: ImportReport) => {
    process.stderr.write(`${progressLine(r)}\n`);
  };
  let report: ImportReport;
  try {
    if (command === "couchdb") {
      if (!values.user) throw new UsageError("couchdb needs --user <name>: whose notes these are");
      // A wrong URL or credentials stop here, before an account is made.
      await new CouchDatabase(location).get("");
      const user = await data.user(values.user, password);
      if (user.created) process.stderr.write(`created the account ${values.user}\n`);
      const writer = data.writerFor(user.id);
      writers.push(writer);
      report = await importCouchDb({
        url: location,
        writer,
        mapper,
        batchSize: size,
        restart: values.restart,
        attachmentsDir: values["attachments-dir"],
        onProgress,
      });
    } else {
      if (!values.table) throw new UsageError("postgres needs --table <name>");
      if (!values.user === !values["owner-column"])
        throw new UsageError("postgres needs either --user <name> or --owner-column <column>");
      const usernameOf = ownerMap(values["owner-map"]);
      report = await importPostgres({
        connectionString: location,
        table: values.table,
        keyColumn: values["key-column"],
        ownerColumn: values["owner-column"],
        mapper,
        batchSize: size,
        onProgress,
        writersFor: async (owners) => {
          const names = owners.map((o) => (o === null ? values.user! : usernameOf(o)));
          // Every account is found or made before the first note is written.
          const users = await data.users(names, password);
          const found = new Map<string | null, ImportWriter>();
          for (const [i, owner] of owners.entries()) {
            if (users[i]!.created) process.stderr.write(`created the account ${names[i]}\n`);
            const writer = data.writerFor(users[i]!.id);
            writers.push(writer);
            found.set(owner, writer);
          }
          return found;
        },
      });
    }
  } finally {
    for (const w of writers) w.close();
    data.close();
  }
  process.stdout.write(`${formatReport(report)}\n`);
  if (values.report) fs.writeFileSync(values.report, `${JSON.stringify(report, null, 2)}\n`);
}

main().catch((err: unknown) => {
  const usage = err instanceof UsageError;
  process.stderr.write(
    `notesync-import: ${(err as Error).message}${usage ? " (see notesync-import --help)" : ""}\n`,
  );
  process.exitCode = usage ? 2 : 1;
});
