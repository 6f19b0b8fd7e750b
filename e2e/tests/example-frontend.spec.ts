import { freePort, spawnManaged, waitForHttp } from "@notesync/server";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  expect,
  newContext,
  noteList,
  replaceBody,
  signUp,
  test,
  uniqueName,
  writeNote,
} from "./fixtures";

// examples/vanilla (plain TypeScript + Vite) as someone outside this repository would build it:
// npm pack makes the tarballs of @notesync/protocol and @notesync/client-core, the example is
// copied to a directory outside the repository (so nothing resolves to the workspace), installs
// the tarballs and the rest from the registry, and builds with its own tsc and Vite. `vite
// preview` then serves it, proxying /api and /sync to the real server, next to the Vue app.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
let work: string;
let appDir: string;

/**
 * The environment of the npm that runs these tests, minus what would steer a nested npm, and
 * minus NODE_ENV: Vite's build() (another spec, in this process) sets it to "production", with
 * which npm install would leave out the example's devDependencies (tsc, Vite).
 */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (
      k !== "NODE_ENV" &&
      !/^npm_(package|lifecycle|config_(workspace|prefix|global|local))/i.test(k)
    )
      env[k] = v;
  return { ...env, ...extra };
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, env: cleanEnv(), encoding: "utf8", stdio: "pipe" });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`, {
      cause: err,
    });
  }
}

test.beforeAll(async () => {
  test.setTimeout(300_000);
  work = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-example-"));
  const packs = path.join(work, "packs");
  fs.mkdirSync(packs);
  run(
    "npm",
    ["pack", "--silent", "--pack-destination", packs].concat([
      "-w",
      "@notesync/protocol",
      "-w",
      "@notesync/client-core",
    ]),
    repo,
  );
  const tarballs = fs.readdirSync(packs).map((f) => path.join(packs, f));
  expect(tarballs.map((t) => path.basename(t)).sort()).toEqual([
    "notesync-client-core-0.1.0.tgz",
    "notesync-protocol-0.1.0.tgz",
  ]);

  appDir = path.join(work, "app");
  fs.cpSync(path.join(repo, "examples/vanilla"), appDir, {
    recursive: true,
    filter: (src) => !/[/\\](node_modules|dist)$/.test(src),
  });
  run("npm", ["install", "--include=dev", "--no-audit", "--no-fund", ...tarballs], appDir);
  for (const name of ["client-core", "protocol"]) {
    const installed = path.join(appDir, "node_modules/@notesync", name);
    // A real directory unpacked from the tarball, not a link into the workspace.
    expect(fs.lstatSync(installed).isSymbolicLink()).toBe(false);
    expect(fs.existsSync(path.join(installed, "dist/index.d.ts"))).toBe(true);
  }
  run("npm", ["run", "build"], appDir);
});

test.afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** `vite preview` of the built example, proxying to `serverUrl`; resolves once it answers. */
async function preview(serverUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const vite = path.join(appDir, "node_modules/vite/bin/vite.js");
  const child = spawnManaged(
    "vite preview",
    process.execPath,
    [vite, "preview", "--host", "127.0.0.1", "--port", String(port), "--strictPort"],
    { cwd: appDir, env: cleanEnv({ NOTESYNC_SERVER: serverUrl }) },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(url, child);
  return { url, stop: () => child.stop() };
}

test("the plain TypeScript example, built from the packed packages, edits notes with the Vue app", async ({
  browser,
  server,
}) => {
  const example = await preview(server.url);
  try {
    const user = uniqueName("example");
    const vue = await newContext(browser);
    await signUp(vue.page, server, user);

    const plain = await newContext(browser);
    await plain.page.goto(example.url);
    await plain.page.getByLabel("Username").fill(user);
    await plain.page.getByLabel("Password").fill("correct horse battery");
    await plain.page.getByRole("button", { name: "Sign in" }).click();
    await expect(plain.page.getByRole("status")).toContainText("Live", { timeout: 20_000 });

    // Written in the Vue app: listed in the example, and its text is there when opened.
    await writeNote(vue.page, "From Vue", "written in the Vue app");
    const plainList = plain.page.getByRole("list", { name: "Notes" });
    await plainList.getByRole("button", { name: "From Vue" }).click();
    await expect(plain.page.getByLabel("Title")).toHaveValue("From Vue");
    await expect(plain.page.getByLabel("Body")).toHaveValue("written in the Vue app");

    // Edited in the example: the Vue app's open editor shows the edit.
    await plain.page.getByLabel("Body").fill("written in the Vue app, edited in the example");
    await expect(vue.page.getByLabel("Body")).toHaveText(
      "written in the Vue app, edited in the example",
    );

    // Edited in the Vue app while the example shows the note: the example's field follows.
    await replaceBody(vue.page, "and edited back in Vue");
    await expect(plain.page.getByLabel("Body")).toHaveValue("and edited back in Vue");

    // Created in the example: listed in the Vue app.
    await plain.page.getByRole("button", { name: "New note" }).click();
    await plain.page.getByLabel("Title").fill("From the example");
    await expect(
      noteList(vue.page).getByRole("button", { name: /From the example/ }),
    ).toBeVisible();
    await expect(plainList.getByRole("button", { name: "From the example" })).toBeVisible();

    await vue.context.close();
    await plain.context.close();
  } finally {
    await example.stop();
  }
});
