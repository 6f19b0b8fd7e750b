import { SCHEMA_VERSION, encodeClientFrame } from "@notesync/protocol";
import WebSocket from "ws";
import { afterEach, describe, expect, it } from "vitest";
import type { RunningServer } from "./server.js";
import {
  RawClient,
  account,
  clientDb,
  tempDir,
  testServer,
} from "./testing/harness.test-helpers.js";

const ANY_SITE = new Uint8Array(16);
let server: RunningServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function unsentBytes(s: RunningServer): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`)).text();
  return Number(/^notesync_unsent_bytes (\d+)/m.exec(text)?.[1]);
}

describe("flow control and liveness", () => {
  it("bounds what it queues for a client that stops reading, and that client catches up from its cursor", async () => {
    const highWater = 64 * 1024;
    server = await testServer({ highWaterBytes: highWater, targetFrameBytes: 32 * 1024 });
    const alice = await account(server, "alice");
    const dir = tempDir();
    const phone = clientDb(dir, "phone");
    const writer = await RawClient.sync(server, alice.token, phone.siteId);
    const slow = await RawClient.sync(server, alice.token, new Uint8Array(16).fill(9));
    await slow.next("changes");
    // The slow client stops reading its socket: the kernel buffers fill, then the server's.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();

    let pushed = 0;
    let maxUnsent = 0;
    for (let round = 0; round < 16; round++) {
      phone.exec(`INSERT INTO note_versions (id, title, body) WITH RECURSIVE s(v) AS (SELECT 1 UNION ALL SELECT v + 1 FROM s WHERE v < 100)
        SELECT 'r${round}-' || v, 'note', hex(randomblob(2000)) FROM s`);
      const changes = phone.readChanges(pushed, ANY_SITE, 1e6).changes;
      writer.sendChanges(changes, { targetFrameBytes: 512 * 1024 });
      pushed = phone.dbVersion();
      await writer.next("ack", (a) => a.clientVersion === pushed);
      maxUnsent = Math.max(maxUnsent, await unsentBytes(server));
    }
    // About 6.4 MB of notes went by; the server held at most the high-water mark plus one page.
    expect(maxUnsent).toBeGreaterThan(0);
    expect(maxUnsent).toBeLessThan(highWater + 1024 * 1024);

    (slow.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    const notes = new Set<string>();
    for (;;) {
      const f = await slow.next("changes", () => true, 20_000);
      for (const c of f.changes)
        if (c.cid === "title") notes.add(Buffer.from(c.pk).toString("hex"));
      if (notes.size === 1600) break;
    }
    expect(notes.size).toBe(1600);
    writer.close();
    slow.close();
    phone.close();
  }, 60_000);

  it("drops a connection that stops answering pings", async () => {
    server = await testServer({ pingIntervalMs: 100 });
    const alice = await account(server, "alice");
    const ws = new WebSocket(server.syncUrl, { autoPong: false });
    await new Promise((resolve) => ws.once("open", resolve));
    ws.send(
      encodeClientFrame({
        type: "hello",
        schemaVersion: SCHEMA_VERSION,
        siteId: ANY_SITE,
        serverVersion: 0,
        token: alice.token,
        incarnation: new Uint8Array(),
      }),
    );
    const closedAt = await new Promise<number>((resolve) =>
      ws.once("close", () => resolve(Date.now())),
    );
    expect(closedAt).toBeGreaterThan(0);
    const health = (await (await fetch(`${server.url}/healthz`)).json()) as { connections: number };
    expect(health.connections).toBe(0);
  });

  it("keeps a connection that answers pings", async () => {
    server = await testServer({ pingIntervalMs: 50 });
    const alice = await account(server, "alice");
    const c = await RawClient.sync(server, alice.token, ANY_SITE);
    // Eight pings answered: a connection dropped for a missed ping would have closed by then.
    let pings = 0;
    await new Promise<void>((resolve) => c.ws.on("ping", () => ++pings === 8 && resolve()));
    expect(c.closeCode).toBeNull();
    c.close();
  });
});
