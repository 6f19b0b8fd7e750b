import { SCHEMA_VERSION } from "@notesync/protocol";
import { SignJWT } from "jose";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "@notesync/protocol/testing";
import type { BackoffPolicy } from "./login-throttle.js";
import { RawClient, account, tempDir, testServer } from "./testing/harness.test-helpers.js";

type TestServer = Awaited<ReturnType<typeof testServer>>;
interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const json = (answer: Answer) => JSON.parse(answer.body) as Record<string, unknown>;

/** An HTTP request from a chosen loopback address (every 127.x.y.z is this machine). */
function request(
  server: TestServer,
  target: string,
  options: { from?: string; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: server.port,
        path: target,
        method: options.method ?? "GET",
        localAddress: options.from ?? "127.0.0.1",
        headers: options.headers,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

function postJson(
  server: TestServer,
  target: string,
  body: unknown,
  options: { from?: string; token?: string } = {},
): Promise<Answer> {
  return request(server, target, {
    method: "POST",
    from: options.from,
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: JSON.stringify(body),
  });
}

const login = (server: TestServer, username: string, password: string, from?: string) =>
  postJson(server, "/api/login", { username, password }, { from });

/** The error code a WebSocket hello with `token` is refused with. */
async function helloRefusal(server: TestServer, token: string): Promise<string> {
  const c = await RawClient.connect(server);
  c.send({
    type: "hello",
    schemaVersion: SCHEMA_VERSION,
    siteId: new Uint8Array(16).fill(9),
    serverVersion: 0,
    token,
    incarnation: new Uint8Array(),
  });
  const error = await c.next("error");
  await c.closed;
  return error.code;
}

async function syncs(server: TestServer, token: string): Promise<boolean> {
  const c = await RawClient.sync(server, token, new Uint8Array(16).fill(3));
  c.close();
  await c.closed;
  return true;
}

const generous: BackoffPolicy = {
  freeFailures: 1000,
  baseDelayMs: 1000,
  maxDelayMs: 1000,
  forgetOneMs: 60_000,
};

let servers: TestServer[] = [];
async function start(options: Parameters<typeof testServer>[0] = {}): Promise<TestServer> {
  const server = await testServer(options);
  servers.push(server);
  return server;
}
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

describe("failed sign-ins back off instead of locking the owner out", () => {
  it("delays the owner briefly after wrong passwords, with a growing Retry-After", async () => {
    const clock = new FakeClock(Date.now());
    const server = await start({ clock });
    await account(server, "alice");
    for (let i = 0; i < 5; i++)
      expect((await login(server, "alice", "wrong-password")).status).toBe(401);
    const first = await login(server, "alice", "correct horse");
    expect(first.status).toBe(429);
    expect(json(first)).toMatchObject({ error: "too_many_attempts" });
    expect(first.headers["retry-after"]).toBe("1");

    clock.advance(1000);
    expect((await login(server, "alice", "wrong-password")).status).toBe(401);
    const second = await login(server, "alice", "correct horse");
    expect(second.status).toBe(429);
    expect(second.headers["retry-after"]).toBe("2");

    clock.advance(2000);
    expect((await login(server, "alice", "correct horse")).status).toBe(200);
  });

  it("throttles one address guessing many usernames, and only that address", async () => {
    const server = await start();
    await account(server, "alice");
    for (let i = 0; i < 10; i++)
      expect((await login(server, `guess${i}`, "wrong-password", "127.0.0.2")).status).toBe(401);
    const blocked = await login(server, "alice", "correct horse", "127.0.0.2");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect((await login(server, "alice", "correct horse", "127.0.0.3")).status).toBe(200);
  }, 20_000);

  it("throttles one username guessed from many addresses, and only that username", async () => {
    const server = await start();
    await account(server, "alice");
    await account(server, "bob");
    for (let i = 0; i < 5; i++)
      expect((await login(server, "alice", "wrong-password", `127.0.0.${10 + i}`)).status).toBe(
        401,
      );
    expect((await login(server, "alice", "correct horse", "127.0.0.20")).status).toBe(429);
    expect((await login(server, "bob", "correct horse", "127.0.0.20")).status).toBe(200);
  }, 20_000);

  it("throttles sign-ins overall when many addresses guess many usernames; sync carries on", async () => {
    const server = await start({
      loginThrottle: {
        global: { freeFailures: 6, baseDelayMs: 1000, maxDelayMs: 10_000, forgetOneMs: 60_000 },
      },
    });
    const alice = await account(server, "alice");
    for (let i = 0; i < 6; i++)
      expect((await login(server, `guess${i}`, "wrong-password", `127.0.1.${i + 1}`)).status).toBe(
        401,
      );
    const blocked = await login(server, "alice", "correct horse", "127.0.2.1");
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers["retry-after"])).toBeGreaterThan(0);
    expect(await syncs(server, alice.token)).toBe(true);
  }, 20_000);
});

describe("password hashing", () => {
  it("hashes at most two passwords at once: files and /healthz answer while 32 logins wait", async () => {
    const webRoot = tempDir("notesync-web-");
    fs.writeFileSync(path.join(webRoot, "index.html"), "<h1>app</h1>");
    const server = await start({
      webRoot,
      loginThrottle: { perAddress: generous, perUsername: generous },
    });
    await account(server, "alice");
    let done = 0;
    const logins = Array.from({ length: 32 }, () =>
      login(server, "alice", "correct horse").then((answer) => {
        done++;
        return answer;
      }),
    );
    await Promise.race(logins);
    // Reading a file takes a libuv thread, as scrypt does: without the queue it would wait for
    // nearly all 32 hashes.
    const [health, page] = await Promise.all([
      request(server, "/healthz"),
      request(server, "/index.html"),
    ]);
    const doneWhenAnswered = done;
    expect(health.status).toBe(200);
    expect(page.body).toBe("<h1>app</h1>");
    expect(doneWhenAnswered).toBeLessThan(16);
    expect((await Promise.all(logins)).map((answer) => answer.status)).toEqual(Array(32).fill(200));
  }, 60_000);
});

describe("the secret file", () => {
  const captured = () => {
    const lines: string[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => void lines.push(line) });
    return { lines, logger };
  };

  for (const [name, content] of [
    ["empty", ""],
    ["truncated", "Jx3k9"],
  ] as const) {
    it(`regenerates an ${name} secret.key with a clear log line, privately and atomically`, async () => {
      const dataDir = tempDir();
      const file = path.join(dataDir, "secret.key");
      fs.writeFileSync(file, content);
      const { lines, logger } = captured();
      const server = await start({ dataDir, secret: undefined, logger });
      const { token } = await account(server, "alice");
      expect((await login(server, "alice", "correct horse")).status).toBe(200);
      expect(
        lines.some((l) => /secret\.key holds \d+ characters.*generated a new secret/.test(l)),
      ).toBe(true);
      const secret = fs.readFileSync(file, "utf8").trim();
      expect(secret.length).toBeGreaterThanOrEqual(43);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(dataDir).filter((f) => f.includes("secret"))).toEqual(["secret.key"]);

      // The new secret is kept: a restart accepts the token.
      await server.close();
      const again = await start({ dataDir, secret: undefined });
      expect(await syncs(again, token)).toBe(true);
      expect(fs.readFileSync(file, "utf8").trim()).toBe(secret);
    });
  }

  it("creates a missing secret.key readable by the owner only", async () => {
    const dataDir = tempDir();
    const server = await start({ dataDir, secret: undefined });
    await account(server, "alice");
    const file = path.join(dataDir, "secret.key");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, "utf8").trim().length).toBeGreaterThanOrEqual(43);
  });
});

describe("sessions that can be ended", () => {
  it("signs out one session: its token is refused by the API and by a WebSocket hello", async () => {
    const server = await start();
    const signup = await account(server, "alice");
    const a = json(await login(server, "alice", "correct horse")).token as string;
    const b = json(await login(server, "alice", "correct horse")).token as string;

    expect((await postJson(server, "/api/logout", {}, { token: a })).status).toBe(204);
    const again = await postJson(server, "/api/logout", {}, { token: a });
    expect(again.status).toBe(401);
    expect(json(again)).toMatchObject({ error: "unauthorized", message: /signed out/ });
    expect(await helloRefusal(server, a)).toBe("unauthorized");
    expect(await syncs(server, b)).toBe(true);
    expect(await syncs(server, signup.token)).toBe(true);
  });

  it("closes the live connections of a session that ends, and only those", async () => {
    const server = await start();
    await account(server, "alice");
    const a = json(await login(server, "alice", "correct horse")).token as string;
    const b = json(await login(server, "alice", "correct horse")).token as string;
    const onA = await RawClient.sync(server, a, new Uint8Array(16).fill(1));
    const onB = await RawClient.sync(server, b, new Uint8Array(16).fill(2));
    expect((await postJson(server, "/api/logout", {}, { token: a })).status).toBe(204);
    const err = await onA.next("error");
    expect(err).toMatchObject({ code: "unauthorized", message: /this session has ended/ });
    await onA.closed;
    expect(onB.closeCode).toBeNull();
    expect((await postJson(server, "/api/logout-everywhere", {}, { token: b })).status).toBe(204);
    expect((await onB.next("error")).code).toBe("unauthorized");
    await onB.closed;
  });

  it("signs out everywhere: every token of the user is refused, new sign-ins work", async () => {
    const server = await start();
    const signup = await account(server, "alice");
    const bob = await account(server, "bob");
    const a = json(await login(server, "alice", "correct horse")).token as string;

    expect((await postJson(server, "/api/logout-everywhere", {}, { token: a })).status).toBe(204);
    expect(await helloRefusal(server, a)).toBe("unauthorized");
    expect(await helloRefusal(server, signup.token)).toBe("unauthorized");
    expect((await postJson(server, "/api/logout", {}, { token: signup.token })).status).toBe(401);
    const fresh = json(await login(server, "alice", "correct horse")).token as string;
    expect(await syncs(server, fresh)).toBe(true);
    expect(await syncs(server, bob.token)).toBe(true);
  });

  it("changes the password with the old one and ends every other session", async () => {
    const server = await start();
    const signup = await account(server, "alice");
    const other = json(await login(server, "alice", "correct horse")).token as string;
    const change = (token: string | undefined, oldPassword: string) =>
      postJson(server, "/api/password", { oldPassword, newPassword: "battery staple" }, { token });

    expect((await change(undefined, "correct horse")).status).toBe(401);
    const wrong = await change(signup.token, "not the password");
    expect(wrong.status).toBe(401);
    expect(json(wrong)).toMatchObject({ error: "bad_credentials" });
    const changed = await change(signup.token, "correct horse");
    expect(changed.status).toBe(200);
    const { token, userId } = json(changed) as { token: string; userId: string };
    expect(userId).toBe(signup.userId);

    expect(await helloRefusal(server, other)).toBe("unauthorized");
    expect(await helloRefusal(server, signup.token)).toBe("unauthorized");
    expect(await syncs(server, token)).toBe(true);
    expect((await login(server, "alice", "correct horse")).status).toBe(401);
    expect((await login(server, "alice", "battery staple")).status).toBe(200);
  });

  it("accepts tokens issued before sessions had ids until the user signs out", async () => {
    const server = await start();
    const { userId } = await account(server, "alice");
    const old = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer("notesync")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("test-secret-test-secret-test-secret"));
    expect(await syncs(server, old)).toBe(true);
    expect((await postJson(server, "/api/logout", {}, { token: old })).status).toBe(204);
    expect(await helloRefusal(server, old)).toBe("unauthorized");
  });
});

describe("sign-ups", () => {
  it("are limited per address per hour, with a Retry-After, and not for other addresses", async () => {
    const server = await start({ signupsPerHour: 2 });
    const signup = (username: string, from?: string) =>
      postJson(server, "/api/signup", { username, password: "correct horse" }, { from });
    expect((await signup("one")).status).toBe(201);
    expect((await signup("two")).status).toBe(201);
    const third = await signup("three");
    expect(third.status).toBe(429);
    expect(json(third)).toMatchObject({ message: /too many new accounts from this address/ });
    expect(Number(third.headers["retry-after"])).toBeGreaterThan(3500);
    expect((await signup("three", "127.0.0.9")).status).toBe(201);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toMatch(/notesync_account_refusals_total\{code="too_many_attempts"\} 1/);
    expect(metrics).toMatch(/notesync_limit\{name="signupsPerHour"\} 2/);
    expect((await login(server, "one", "correct horse")).status).toBe(200);
  });
});

describe("account endpoints take JSON only", () => {
  it("refuses other content types with 415, so another site cannot sign a browser in", async () => {
    const server = await start();
    await account(server, "alice");
    const body = JSON.stringify({ username: "alice", password: "correct horse" });
    const as = (type: string | null, target = "/api/login") =>
      request(server, target, {
        method: "POST",
        headers: type ? { "content-type": type } : {},
        body,
      });
    const plain = await as("text/plain");
    expect(plain.status).toBe(415);
    expect(json(plain)).toEqual({
      error: "unsupported_media_type",
      message: "send the body as JSON with content-type: application/json (got text/plain)",
    });
    expect((await as("application/x-www-form-urlencoded", "/api/signup")).status).toBe(415);
    expect((await as(null)).status).toBe(415);
    expect((await as("Application/JSON; charset=utf-8")).status).toBe(200);
  });
});

describe("/metrics", () => {
  it("answers only the configured addresses, or anyone with the token", async () => {
    const server = await start({ metricsAllow: ["127.0.0.1"], metricsToken: "scrape-me-please" });
    const metrics = (from: string, headers: Record<string, string> = {}) =>
      request(server, "/metrics", { from, headers });
    expect((await metrics("127.0.0.1")).body).toMatch(/^notesync_connections 0$/m);
    const refused = await metrics("127.0.0.2");
    expect(refused.status).toBe(403);
    expect(json(refused)).toMatchObject({ error: "forbidden" });
    expect((await metrics("127.0.0.2", { authorization: "Bearer scrape-me-please" })).status).toBe(
      200,
    );
    expect((await metrics("127.0.0.2", { authorization: "Bearer guess" })).status).toBe(403);
    // A reverse proxy on this host makes everyone look like loopback.
    expect((await metrics("127.0.0.1", { "x-forwarded-for": "203.0.113.9" })).status).toBe(403);
  });

  it("answers loopback by default and nobody else when the list is empty", async () => {
    const open = await start();
    expect((await request(open, "/metrics", { from: "127.0.0.5" })).status).toBe(200);
    const tokenOnly = await start({ metricsAllow: [], metricsToken: "scrape-me-please" });
    expect((await request(tokenOnly, "/metrics")).status).toBe(403);
  });
});
