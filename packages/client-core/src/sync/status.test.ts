import { FakeClock, SocketPair } from "@notesync/protocol/testing";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Database } from "../database.js";
import { openNodeDatabase } from "../node/index.js";
import { createSyncClient, type SyncClient } from "./sync-client.js";

// What the status says while the client cannot sync: no network, or a server that does not answer.
describe("sync status while offline", () => {
  let db: Database;
  let client: SyncClient;
  afterEach(async () => {
    await client.stop();
    await db.close();
  });

  async function setUp(online: { value: boolean }) {
    db = await openNodeDatabase(
      path.join(fs.mkdtempSync(path.join(os.tmpdir(), "ns-status-")), "a.db"),
    );
    const clock = new FakeClock(0, () => 1 - 1e-9);
    const onOnline = new Set<() => void>();
    const dials: SocketPair[] = [];
    client = createSyncClient({
      db,
      url: "memory://sync",
      getToken: () => "token",
      clock,
      reconnect: { initialMs: 500, maxMs: 4000 },
      network: {
        onOnline: (l) => (onOnline.add(l), () => onOnline.delete(l)),
        isOnline: () => online.value,
      },
      dial: () => {
        const pair = new SocketPair();
        dials.push(pair);
        return pair.client;
      },
    });
    const settle = () => new Promise((resolve) => setImmediate(resolve));
    return { clock, dials, settle, backOnline: () => onOnline.forEach((l) => l()) };
  }

  it("says the server is unreachable, and when it tries again, backing off to a low cap", async () => {
    const { clock, dials, settle } = await setUp({ value: true });
    client.start();
    await settle();
    const retries: number[] = [];
    for (let i = 0; i < 5; i++) {
      dials.at(-1)!.breakConnection(); // nobody answers
      expect(client.status).toMatchObject({ state: "offline", offlineCause: "server" });
      retries.push(client.status.retryAt! - clock.now());
      clock.advance(client.status.retryAt! - clock.now());
      await settle();
    }
    expect(retries).toEqual([500, 1000, 2000, 4000, 4000]);
    expect(dials).toHaveLength(6);
  });

  it("says there is no network, waits for it without trying, and connects when it returns", async () => {
    const online = { value: false };
    const { clock, dials, settle, backOnline } = await setUp(online);
    client.start();
    await settle();
    dials.at(-1)!.breakConnection();
    expect(client.status).toMatchObject({
      state: "offline",
      offlineCause: "network",
      retryAt: null,
    });
    clock.advance(60_000);
    await settle();
    expect(dials).toHaveLength(1);
    online.value = true;
    backOnline();
    await settle();
    expect(dials).toHaveLength(2);
    expect(client.status.state).toBe("connecting");
  });
});
