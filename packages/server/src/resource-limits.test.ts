import { ErrorCode, SCHEMA_VERSION, type Change } from "@notesync/protocol";
import WebSocket from "ws";
import { afterEach, describe, expect, it, vi } from "vitest";
import { RawClient, account, testServer } from "./testing/harness.test-helpers.js";

// Bounds on what one connection or one user can take (issue 13, finding 6), each against the
// real server with the bound set low.

const site = (n: number) => new Uint8Array(16).fill(n);
const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"));

/** One note_updates row of `bytes` bytes for note 'n1' (the packed key of ('n1', 'r<i>')). */
function updateRow(i: number, bytes: number, from: Uint8Array): Change {
  const id = `r${i}`.padEnd(8, "x");
  return {
    table: "note_updates",
    pk: hex(`020b026e310b08${Buffer.from(id).toString("hex")}`),
    cid: "data",
    val: new Uint8Array(bytes).fill(i % 256),
    colVersion: 1,
    dbVersion: i,
    siteId: from,
    cl: 1,
    seq: 0,
  };
}

describe("resource limits", () => {
  let server: Awaited<ReturnType<typeof testServer>>;
  afterEach(() => server.close());

  it("closes a connection that does not say hello in time", async () => {
    server = await testServer({ resources: { helloTimeoutMs: 150 } });
    const c = await RawClient.connect(server);
    const err = await c.next("error");
    expect(err.code).toBe(ErrorCode.LimitReached);
    expect(err.message).toMatch(/no valid hello within 150 ms/);
    expect(await c.closed).toBe(1008);
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/notesync_rejected_frames_total\{code="limit_reached"\} 1/);
    expect(text).toMatch(/notesync_limit\{name="helloTimeoutMs"\} 150/);
    expect(text).toMatch(/notesync_limit\{name="connectionsPerUser"\} 64/);
  });

  it("accepts only small messages before the hello, and full-size frames after it", async () => {
    server = await testServer({ resources: { preAuthMessageBytes: 16 * 1024 } });
    const stranger = new WebSocket(server.syncUrl);
    await new Promise((resolve) => stranger.once("open", resolve));
    stranger.send(new Uint8Array(1024 * 1024));
    const code = await new Promise<number>((resolve) => stranger.once("close", resolve));
    expect(code).toBe(1009); // message too big, before any of it was buffered whole

    const alice = await account(server, "alice");
    const c = await RawClient.sync(server, alice.token, site(1));
    c.send({
      type: "changes",
      clientVersion: 1,
      partial: false,
      changes: [updateRow(1, 512 * 1024, site(1))],
    });
    expect((await c.next("ack")).clientVersion).toBe(1);
    c.close();
  });

  it("refuses connections beyond the limit per user, and not another user's", async () => {
    server = await testServer({ resources: { connectionsPerUser: 2 } });
    const alice = await account(server, "alice");
    const bob = await account(server, "bob");
    const open = [
      await RawClient.sync(server, alice.token, site(1)),
      await RawClient.sync(server, alice.token, site(2)),
    ];
    const third = await RawClient.connect(server);
    third.send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: site(3),
      serverVersion: 0,
      token: alice.token,
      incarnation: new Uint8Array(),
    });
    const err = await third.next("error");
    expect(err.code).toBe(ErrorCode.LimitReached);
    expect(err.message).toMatch(/already has 2 connections open \(the limit is 2\)/);
    const other = await RawClient.sync(server, bob.token, site(4));
    other.close();
    open[0]!.close();
    await open[0]!.closed;
    // A connection that went away frees its place.
    const again = await RawClient.sync(server, alice.token, site(3));
    again.close();
    open[1]!.close();
  });

  it("refuses changes once a user's storage is full, keeping everything acknowledged before", async () => {
    server = await testServer({ resources: { storagePerUserBytes: 300 * 1024 } });
    const alice = await account(server, "alice");
    const c = await RawClient.sync(server, alice.token, site(1));
    await c.next("changes");
    let i = 0;
    let refused = null;
    while (!refused && i < 20) {
      i++;
      c.send({
        type: "changes",
        clientVersion: i,
        partial: false,
        changes: [updateRow(i, 64 * 1024, site(1))],
      });
      // Whichever comes: the ack, or the refusal (after which the connection closes).
      await vi.waitFor(() => expect(c.frames.some((f) => f.type !== "changes")).toBe(true));
      const reply = c.frames.find((f) => f.type === "ack" || f.type === "error")!;
      c.frames.splice(c.frames.indexOf(reply), 1);
      if (reply.type === "error") refused = reply;
    }
    expect(refused?.code).toBe(ErrorCode.LimitReached);
    expect(refused?.message).toMatch(
      /storage on the server is full \(0\.3 MB of 0\.3 MB\)|storage on the server is full/,
    );
    // Everything acknowledged is there for the next device.
    const laptop = await RawClient.sync(server, alice.token, site(2));
    const rows = (await laptop.changesUntil(0)).filter((ch) => ch.table === "note_updates");
    expect(rows.length).toBe(i - 1);
    laptop.close();
  });
});
