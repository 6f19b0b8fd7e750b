import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// `notesync-server --help` names every flag the CLI parses and every NOTESYNC_ variable the
// server reads, and so does the README's configuration table. Both lists come from the sources,
// so a new flag or variable without a line in the help fails here.
const here = path.dirname(fileURLToPath(import.meta.url));
const cli = path.resolve(here, "../dist/cli.js");
const repo = path.resolve(here, "../../..");

/**
 * Set by the primary for its workers, read by the shipped HAProxy configuration (which the
 * local cluster launcher fills in) or by `npm run cluster` (README, "Several nodes"): not
 * settings of the server.
 */
const INTERNAL = new Set([
  "NOTESYNC_CLUSTER_WORKER",
  "NOTESYNC_CLUSTER_NODES",
  "NOTESYNC_CLUSTER_PORT",
  "NOTESYNC_CLUSTER_DIR",
  "NOTESYNC_HAPROXY_BIND",
  "NOTESYNC_NODE",
  "NOTESYNC_NODE1",
]);

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter(
      (f) => /\.(ts|mjs)$/.test(f) && !/\.test(-helpers)?\.ts$/.test(f) && !f.endsWith(".d.ts"),
    )
    .map((f) => path.join(dir, f));
}

function flagsOfCli(): string[] {
  const source = fs.readFileSync(path.join(here, "cli.ts"), "utf8");
  const block = /const OPTIONS = \{([\s\S]*?)\n\} as const;/.exec(source)?.[1] ?? "";
  return [...block.matchAll(/^\s+"?([a-z][a-z-]*)"?: \{/gm)].map((m) => `--${m[1]}`);
}

function variablesRead(): string[] {
  const files = [
    ...sourceFiles(here),
    ...sourceFiles(path.join(repo, "packages/crsqlite-native/src")),
  ];
  const names = new Set<string>();
  for (const f of files)
    for (const m of fs.readFileSync(f, "utf8").matchAll(/NOTESYNC_[A-Z0-9_]+/g))
      if (!INTERNAL.has(m[0])) names.add(m[0]);
  return [...names].sort();
}

describe("notesync-server --help", () => {
  const run = spawnSync(process.execPath, [cli, "--help"], { encoding: "utf8" });

  it("prints the help on stdout and exits 0", () => {
    expect(run.status).toBe(0);
    expect(run.stderr).toBe("");
    expect(run.stdout).toMatch(/^notesync-server: /);
  });

  it("lists every flag the CLI accepts", () => {
    const flags = flagsOfCli();
    expect(flags).toContain("--data-dir");
    expect(flags.length).toBeGreaterThanOrEqual(11);
    for (const flag of flags) expect(run.stdout, flag).toContain(flag);
    expect(run.stdout).toContain("-h, --help");
  });

  it("lists every NOTESYNC_ variable the server reads, and so does the README", () => {
    const variables = variablesRead();
    expect(variables).toContain("NOTESYNC_CRSQLITE_PATH"); // read by crsqlite-native
    expect(variables.length).toBeGreaterThanOrEqual(17);
    const readme = fs.readFileSync(path.join(repo, "README.md"), "utf8");
    for (const name of variables) {
      expect(run.stdout, name).toMatch(new RegExp(`\\b${name}\\b`));
      expect(readme, `README: ${name}`).toMatch(new RegExp(`\`${name}\``));
    }
  });
});
