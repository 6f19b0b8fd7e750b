import { afterEach, beforeEach, describe, expect, it } from "vitest";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { RawClient, account, tempDir, testServer } from "./testing/harness.test-helpers.js";

describe("accounts API and server endpoints", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  const post = (path: string, body: unknown) =>
    fetch(`${server.url}${path}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  beforeEach(async () => {
    server = await testServer();
  });
  afterEach(() => server.close());

  it("signs up and signs in with a password, returning a token for the same user", async () => {
    const signup = await post("/api/signup", { username: "alice", password: "correct horse" });
    expect(signup.status).toBe(201);
    const created = (await signup.json()) as { token: string; userId: string };
    expect(created.userId).toMatch(/^[a-f0-9]{32}$/);
    const login = await post("/api/login", { username: "Alice", password: "correct horse" });
    expect(login.status).toBe(200);
    const session = (await login.json()) as { token: string; userId: string };
    expect(session.userId).toBe(created.userId);
    // The token works on the sync endpoint.
    const c = await RawClient.sync(server, session.token, new Uint8Array(16).fill(7));
    c.close();
  });

  it("refuses a taken username, bad input and wrong passwords with clear errors", async () => {
    await account(server, "alice");
    expect((await post("/api/signup", { username: "ALICE", password: "another one" })).status).toBe(
      409,
    );
    const bad = await post("/api/signup", { username: "a", password: "x" });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: "invalid_input",
      message: expect.stringMatching(/username/) as unknown,
    });
    const notJson = await fetch(`${server.url}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{",
    });
    expect(notJson.status).toBe(400);
    const wrong = await post("/api/login", { username: "alice", password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: "bad_credentials",
      message: "wrong username or password",
    });
    expect((await post("/api/login", { username: "nobody", password: "whatever1" })).status).toBe(
      401,
    );
  });

  it("rate-limits failed sign-ins, even with the right password afterwards", async () => {
    await account(server, "alice");
    for (let i = 0; i < 5; i++)
      expect(
        (await post("/api/login", { username: "alice", password: "wrong-password" })).status,
      ).toBe(401);
    const blocked = await post("/api/login", { username: "alice", password: "correct horse" });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("answers /healthz and /metrics, and 404 with JSON elsewhere", async () => {
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({
      ok: true,
      connections: 0,
    });
    const { token } = await account(server, "alice");
    const c = await RawClient.sync(server, token, new Uint8Array(16).fill(1));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/^notesync_connections 1$/m);
    expect(metrics).toMatch(/^notesync_open_databases 1$/m);
    expect(metrics).toMatch(/notesync_frames_in_total\{type="hello"\} 1/);
    c.close();
    const missing = await fetch(`${server.url}/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: "not_found" });
  });
});

describe("serving the web app", () => {
  it("serves files from the web root, index.html for app routes, and nothing outside it", async () => {
    const root = tempDir("notesync-web-");
    fs.writeFileSync(path.join(root, "index.html"), "<h1>app</h1>");
    fs.mkdirSync(path.join(root, "assets"));
    fs.writeFileSync(path.join(root, "assets", "app.js"), "console.log(1)");
    fs.mkdirSync(`${root}-secret`);
    fs.writeFileSync(`${root}-secret/key.txt`, "do not serve");
    const server = await testServer({ webRoot: root });
    try {
      const js = await fetch(`${server.url}/assets/app.js`);
      expect(js.headers.get("content-type")).toMatch(/javascript/);
      expect(js.headers.get("cache-control")).toMatch(/immutable/);
      expect(await (await fetch(`${server.url}/notes/some-id`)).text()).toBe("<h1>app</h1>");
      const get = (rawPath: string) =>
        new Promise<number>((resolve) =>
          http.get({ host: "127.0.0.1", port: server.port, path: rawPath }, (res) =>
            resolve(res.statusCode ?? 0),
          ),
        );
      const sibling = `/..%2f${path.basename(root)}-secret%2fkey.txt`;
      expect(await get(sibling)).toBe(404);
      expect(await get("/..%2f..%2f..%2fetc%2fpasswd")).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("serves nothing through a symlink in the web root, even one the root itself is", async () => {
    const root = tempDir("notesync-web-");
    const outside = tempDir("notesync-outside-");
    fs.writeFileSync(path.join(root, "index.html"), "<h1>app</h1>");
    fs.writeFileSync(path.join(outside, "secret.txt"), "do not serve");
    fs.symlinkSync(path.join(outside, "secret.txt"), path.join(root, "leak.txt"));
    fs.symlinkSync(outside, path.join(root, "linked"));
    const rootLink = path.join(tempDir("notesync-link-"), "current");
    fs.symlinkSync(root, rootLink);
    const server = await testServer({ webRoot: rootLink });
    try {
      for (const target of ["/leak.txt", "/linked/secret.txt"]) {
        const res = await fetch(`${server.url}${target}`);
        expect(res.status).toBe(404);
        expect(await res.text()).not.toContain("do not serve");
      }
      expect(await (await fetch(`${server.url}/index.html`)).text()).toBe("<h1>app</h1>");
    } finally {
      await server.close();
    }
  });
});
