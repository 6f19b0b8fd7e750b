import { SCHEMA_VERSION, type ClientChangesFrame } from "@notesync/protocol";
import fs from "node:fs";
import path from "node:path";
import { afterEach, expect, it } from "vitest";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";

const servers: Awaited<ReturnType<typeof testServer>>[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

const post = (url: string, target: string, body: unknown, token: string) =>
  fetch(`${url}${target}`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });

/** Every file under `dir` whose bytes contain one of `needles`. */
function filesContaining(dir: string, needles: string[]): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    const bytes = fs.readFileSync(file);
    if (needles.some((n) => bytes.includes(Buffer.from(n)))) found.push(file);
  }
  return found;
}

it("deletes an account with its password: its sessions end, and nothing of the user stays on disk", async () => {
  const server = await testServer();
  servers.push(server);
  const alice = await account(server, "alice-deletes");
  const bob = await account(server, "bob-stays");

  // Alice has notes on the server and a device connected.
  const phone = clientDb(tempDir(), "phone");
  const live = await RawClient.sync(server, alice.token, phone.siteId);
  await live.next("changes");
  phone.exec("INSERT INTO notes (id, created_at) VALUES ('alice-secret-note', 1)");
  const frame: ClientChangesFrame = {
    type: "changes",
    clientVersion: phone.dbVersion(),
    partial: false,
    changes: phone.readChanges(0, new Uint8Array(16), 1_000).changes,
  };
  live.send(frame);
  await live.next("ack");
  const bobsDevice = await RawClient.sync(server, bob.token, new Uint8Array(16).fill(9));
  const users = path.join(server.dataDir, "users");
  const aliceFile = path.join(users, `${alice.userId}.db`);
  expect(fs.existsSync(aliceFile)).toBe(true);
  const needles = [alice.userId, "alice-deletes", "alice-secret-note"];
  expect(filesContaining(server.dataDir, needles).length).toBeGreaterThan(0);

  // A wrong password changes nothing.
  const wrong = await post(
    server.url,
    "/api/delete-account",
    { password: "not it at all" },
    alice.token,
  );
  expect(wrong.status).toBe(401);
  expect(fs.existsSync(aliceFile)).toBe(true);
  expect(live.closeCode).toBeNull();

  const res = await post(
    server.url,
    "/api/delete-account",
    { password: "correct horse" },
    alice.token,
  );
  expect(res.status).toBe(204);
  expect((await live.next("error")).code).toBe("unauthorized");
  await live.closed;

  expect(fs.readdirSync(users).filter((f) => f.startsWith(alice.userId))).toEqual([]);
  expect(filesContaining(server.dataDir, needles)).toEqual([]);
  // The token, the username's sign-in and a new connection all fail; the name is free again.
  expect((await post(server.url, "/api/logout", {}, alice.token)).status).toBe(401);
  const login = await fetch(`${server.url}/api/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "alice-deletes", password: "correct horse" }),
  });
  expect(login.status).toBe(401);
  const again = await RawClient.connect(server);
  again.send({
    type: "hello",
    schemaVersion: SCHEMA_VERSION,
    siteId: phone.siteId,
    serverVersion: 0,
    token: alice.token,
    incarnation: new Uint8Array(),
  });
  expect((await again.next("error")).code).toBe("unauthorized");
  expect(fs.existsSync(aliceFile)).toBe(false);

  // Bob is untouched.
  expect(bobsDevice.closeCode).toBeNull();
  expect(fs.existsSync(path.join(users, `${bob.userId}.db`))).toBe(true);
  expect((await account(server, "alice-deletes")).userId).not.toBe(alice.userId);
  phone.close();
});
