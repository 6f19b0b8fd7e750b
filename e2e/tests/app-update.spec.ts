import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, newContext, signUp, startTestServer, test, uniqueName, webRoot } from "./fixtures";

/**
 * Deploys a new version of the built app into `root`, as a release does: the settings' file
 * gets a new name (its content changed), so the server no longer has the old one, and the
 * service worker is a new version that lists the new file.
 */
function deployNewVersion(root: string): void {
  const assets = path.join(root, "assets");
  const old = fs.readdirSync(assets).find((f) => /^SettingsDialog-.*\.js$/.test(f));
  if (!old) throw new Error("the build has no separate settings file");
  const renamed = old.replace(/\.js$/, "-next.js");
  fs.renameSync(path.join(assets, old), path.join(assets, renamed));
  const files = [
    path.join(root, "sw.js"),
    ...fs
      .readdirSync(assets)
      .filter((f) => f.endsWith(".js"))
      .map((f) => path.join(assets, f)),
  ];
  for (const file of files) {
    const text = fs.readFileSync(file, "utf8");
    let next = text.split(old).join(renamed);
    if (file.endsWith("sw.js")) next = next.replace(/("notesync-" \+ ")([^"]+)"/, '$1$2-next"');
    if (next !== text) fs.writeFileSync(file, next);
  }
}

// A tab left open while a new version is deployed loads some of its own files only when asked
// (the settings): its service worker keeps them one version more, since the server has only the
// new ones. The browser's HTTP cache is emptied, as it may be by then.
test("a tab open across an app update still opens its settings", async ({ browser }) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "notesync-web-"));
  fs.cpSync(webRoot, root, { recursive: true });
  const server = await startTestServer({ webRoot: root });
  try {
    const { context, page } = await newContext(browser);
    await signUp(page, server, uniqueName("updater"));
    await page.evaluate(async () => {
      await navigator.serviceWorker.ready;
    });
    await expect.poll(() => page.evaluate(() => !!navigator.serviceWorker.controller)).toBe(true);

    deployNewVersion(root);
    // The new version installs, takes over the open tab, and deletes the old version's cache.
    await page.evaluate(async () => {
      const changed = new Promise((r) =>
        navigator.serviceWorker.addEventListener("controllerchange", r, { once: true }),
      );
      await (await navigator.serviceWorker.getRegistration())!.update();
      await changed;
      const next = navigator.serviceWorker.controller!;
      while (next.state !== "activated") await new Promise((r) => setTimeout(r, 20));
    });
    await expect.poll(() => page.evaluate(async () => (await caches.keys()).length)).toBe(1);
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.clearBrowserCache");

    await page.getByRole("button", { name: "Settings" }).click();
    await expect(page.getByRole("dialog", { name: "Settings" })).toBeVisible();
    await context.close();
  } finally {
    await server.stop();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
