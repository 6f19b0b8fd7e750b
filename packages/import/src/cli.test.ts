import type { RunningServer } from "@notesync/server";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { DataDirectory } from "./accounts.js";
import { bin, cli } from "./testing/cli.test-helpers.js";
import { startCouchStandIn, type CouchStandIn } from "./testing/couch.test-helpers.js";
import { device, signIn, startNoteSync, tempDir } from "./testing/notesync.test-helpers.js";

let couch: CouchStandIn;
let dir: string;
let dataDir: string;
let server: RunningServer;

beforeEach(async () => {
  couch = await startCouchStandIn();
  dir = tempDir();
  dataDir = path.join(dir, "data");
  server = await startNoteSync(dataDir);
  await couch.request("PUT", "/notes");
  await couch.request("POST", "/notes/_bulk_docs", {
    docs: [
      { _id: "a", title: "First", text: "from the old app", updatedAt: 1_700_000_000 },
      {
        _id: "b",
        subject: "Receipt",
        updatedAt: 1_700_000_100,
        _attachments: {
          "scan.pdf": {
            content_type: "application/pdf",
            data: Buffer.from("%PDF-1").toString("base64"),
          },
        },
      },
    ],
  });
});

afterEach(async () => {
  await server.close();
  await couch.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const accountExists = async (username: string) => {
  const data = new DataDirectory(dataDir);
  try {
    return (await data.userIdOf(username)) !== null;
  } finally {
    data.close();
  }
};

it("creates the account with the password from a file, imports with a mapping file, saves attachments and writes the report", async () => {
  const passwords = path.join(dir, "passwords");
  fs.writeFileSync(passwords, "bob:a long new password\n");
  fs.writeFileSync(path.join(dir, "mapping.json"), JSON.stringify({ title: ["title", "subject"] }));
  const attachments = path.join(dir, "attachments");
  const reportFile = path.join(dir, "report.json");

  const run = await cli([
    "couchdb",
    `${couch.url}/notes`,
    "--user",
    "bob",
    "--password-file",
    passwords,
    "--data-dir",
    dataDir,
    "--mapping",
    path.join(dir, "mapping.json"),
    "--attachments-dir",
    attachments,
    "--report",
    reportFile,
  ]);
  expect(run.stderr).toContain("created the account bob");
  expect(run.stderr).toMatch(/2 documents read; 2 notes created/);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain("notes created:           2");
  expect(run.stdout).toContain("b / scan.pdf (application/pdf, 6 bytes) saved as");
  const saved = path.join(attachments, "b", "scan.pdf");
  expect(fs.readFileSync(saved, "utf8")).toBe("%PDF-1");
  const report = JSON.parse(fs.readFileSync(reportFile, "utf8")) as { counts: { created: number } };
  expect(report.counts.created).toBe(2);

  const { token } = await signIn(server, "bob", "a long new password");
  const phone = await device(server, token, dir);
  try {
    const notes = await phone.notes.list();
    expect(notes.map((n) => [n.id, n.title, n.body, n.updatedAt])).toEqual([
      ["b", "Receipt", "", 1_700_000_100_000],
      ["a", "First", "from the old app", 1_700_000_000_000],
    ]);
  } finally {
    await phone.close();
  }
});

it("asks for a new account's password on the terminal, without echoing it", async () => {
  // `script` (util-linux) gives the importer a terminal, as when a person runs it.
  const command = [process.execPath, bin, "couchdb", `${couch.url}/notes`, "--user", "erin"]
    .concat(["--data-dir", dataDir])
    .map((a) => `'${a}'`)
    .join(" ");
  const child = spawn("script", ["-qec", command, "/dev/null"], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  const asked = new Promise<void>((resolve) =>
    child.stdout.on("data", (d: Buffer) => {
      output += d.toString();
      if (output.includes("New NoteSync password for erin: ")) resolve();
    }),
  );
  const exited = new Promise<number | null>((resolve) => child.once("close", resolve));
  await asked;
  child.stdin.write("typed secret 123\r");
  expect(await exited).toBe(0);
  expect(output).toContain("notes created:           2");
  expect(output).not.toContain("typed secret 123");
  expect((await signIn(server, "erin", "typed secret 123")).token).toBeTruthy();
});

it("refuses bad input with one clear line and changes nothing", async () => {
  const passwords = path.join(dir, "pw");
  fs.writeFileSync(passwords, "short\n");
  const base = ["--data-dir", dataDir, "--password-file", passwords];

  const noUser = await cli(["couchdb", `${couch.url}/notes`, ...base]);
  expect(noUser.code).toBe(2);
  expect(noUser.stderr).toBe(
    "notesync-import: couchdb needs --user <name>: whose notes these are (see notesync-import --help)\n",
  );

  const missingDb = await cli(["couchdb", `${couch.url}/nope`, "--user", "carol", ...base]);
  expect(missingDb.code).toBe(1);
  expect(missingDb.stderr).toContain(`${couch.url}/nope answered 404`);

  const weakPassword = await cli(["couchdb", `${couch.url}/notes`, "--user", "carol", ...base]);
  expect(weakPassword.code).toBe(1);
  expect(weakPassword.stderr).toContain("account carol: password must be 8-1024 characters");

  const notUrl = await cli(["couchdb", "notes", "--user", "carol", ...base]);
  expect(notUrl.stderr).toContain('"notes" is not a URL');

  expect(await accountExists("carol")).toBe(false);
  expect(fs.readdirSync(path.join(dataDir, "users"))).toEqual([]);
});
