import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import { account, testServer } from "../testing/harness.test-helpers.js";
import { UserDatabase } from "../user-db.js";

const servers: Awaited<ReturnType<typeof testServer>>[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const OLD_APP = "http://127.0.0.1:5999";

async function server() {
  const s = await testServer({ importOrigins: [OLD_APP] });
  servers.push(s);
  return s;
}

const importRequest = (url: string, body: unknown, token?: string) =>
  fetch(`${url}/api/import/pouchdb`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(token && { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });

it("imports a browser's PouchDB changes for the signed-in user only, and refuses bad input without writing", async () => {
  const s = await server();
  const { token, userId } = await account(s, "mover");
  const file = path.join(s.dataDir, "users", `${userId}.db`);

  expect((await importRequest(s.url, { changes: [] })).status).toBe(401);
  const bad = await importRequest(s.url, { changes: [{ id: 7 }] }, token);
  expect(bad.status).toBe(400);
  expect(await bad.json()).toMatchObject({ message: "every change needs a string id" });
  expect(fs.existsSync(file)).toBe(false);

  const ok = await importRequest(
    s.url,
    {
      changes: [
        {
          id: "n1",
          changes: [{ rev: "1-a" }],
          doc: { _id: "n1", _rev: "1-a", title: "Hi", body: "there" },
        },
        { id: "_design/x", changes: [{ rev: "1-b" }], doc: { _id: "_design/x", _rev: "1-b" } },
      ],
    },
    token,
  );
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({
    counts: { created: 1 },
    designDocuments: 1,
    unmapped: [],
  });
  expect(fs.existsSync(file)).toBe(true);
});

it("answers the CORS preflight of listed origins only", async () => {
  const s = await server();
  const preflight = (origin: string, target: string) =>
    fetch(`${s.url}${target}`, {
      method: "OPTIONS",
      headers: { origin, "access-control-request-method": "POST" },
    });
  const allowed = await preflight(OLD_APP, "/api/import/pouchdb");
  expect(allowed.status).toBe(204);
  expect(allowed.headers.get("access-control-allow-origin")).toBe(OLD_APP);
  expect(allowed.headers.get("access-control-allow-headers")).toBe("content-type, authorization");
  expect((await preflight(OLD_APP, "/api/login")).headers.get("access-control-allow-origin")).toBe(
    OLD_APP,
  );
  const other = await preflight("http://evil.example", "/api/import/pouchdb");
  expect(other.headers.get("access-control-allow-origin")).toBeNull();
  const notListed = await preflight(OLD_APP, "/api/password");
  expect(notListed.headers.get("access-control-allow-origin")).toBeNull();
});

it("stops at the per-user storage limit, like sync does", async () => {
  const s = await testServer({ resources: { storagePerUserBytes: 4096 } });
  servers.push(s);
  const { token, userId } = await account(s, "full");
  const change = {
    id: "n1",
    changes: [{ rev: "1-a" }],
    doc: { _id: "n1", _rev: "1-a", title: "x" },
  };
  const res = await importRequest(s.url, { changes: [change] }, token);
  expect(res.status).toBe(413);
  expect(((await res.json()) as { message: string }).message).toContain(
    "nothing more was imported",
  );
  const db = new UserDatabase(path.join(s.dataDir, "users", `${userId}.db`));
  try {
    expect(db.query("SELECT id FROM notes")).toEqual([]);
  } finally {
    db.close();
  }
});
