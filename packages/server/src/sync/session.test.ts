import {
  ERROR_RULES,
  ErrorCode,
  SCHEMA_VERSION,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  type ClientFrame,
  type ServerFrame,
} from "@notesync/protocol";
import { FakeClock, SocketPair } from "@notesync/protocol/testing";
import path from "node:path";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { tempDir } from "../testing/harness.test-helpers.js";
import { TokenService } from "../tokens.js";
import { SyncHost } from "./sync-host.js";

// A session driven over an in-memory socket pair on a fake clock: no network, no sleeping.
const USER = "fedcba9876543210fedcba9876543210";
const SITE = new Uint8Array(16).fill(3);

describe("SyncSession over an in-memory socket", () => {
  let clock: FakeClock;
  let tokens: TokenService;
  let host: SyncHost;
  let pair: SocketPair;
  let received: ServerFrame[];
  let closedWith: number | null;

  beforeEach(() => {
    clock = new FakeClock();
    tokens = new TokenService(
      "session-test-secret-session-test-secret",
      3600,
      { sessionGeneration: () => Promise.resolve(0), isSignedOut: () => Promise.resolve(false) },
      () => clock.now(),
    );
    host = new SyncHost({
      usersDir: path.join(tempDir(), "users"),
      tokens,
      log: pino({ level: "silent" }),
      clock,
      resources: { helloTimeoutMs: 1000, preAuthMessageBytes: 1024 },
    });
    connect();
  });
  afterEach(() => host.close());

  /** A new connection to the host; what it receives starts empty. */
  function connect(): void {
    pair = new SocketPair(1024);
    received = [];
    closedWith = null;
    pair.client.onMessage((bytes) => {
      const r = decodeServerFrame(bytes);
      if (!r.ok) throw r.error;
      received.push(r.frame);
    });
    pair.client.onClose((code) => (closedWith = code));
    host.accept(pair.server, "test");
  }

  const send = (frame: ClientFrame) => pair.client.send(encodeClientFrame(frame));
  /** Delivers both ways until nothing moves, letting the session's async work run between. */
  async function exchange(): Promise<void> {
    for (let i = 0; i < 5; i++) {
      pair.flush();
      await Promise.all([...host.sessions].map((s) => s.settled()));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  const hello = async () =>
    send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: SITE,
      serverVersion: 0,
      token: await tokens.sign(USER),
      incarnation: new Uint8Array(),
    });

  it("refuses a connection with no hello once the deadline passes on its clock, and not before", async () => {
    clock.advance(999);
    await exchange();
    expect(received).toEqual([]);
    clock.advance(1);
    await exchange();
    expect(received).toMatchObject([{ type: "error", code: ErrorCode.LimitReached }]);
    expect(closedWith).toBe(1008);
  });

  it("welcomes a valid hello, sends the caught-up marker, and takes full-size frames afterwards", async () => {
    await hello();
    await exchange();
    expect(received).toMatchObject([
      { type: "welcome", clientVersion: 0, serverVersion: 0 },
      { type: "changes", serverVersion: 0, partial: false, changes: [] },
    ]);
    send({ type: "changes", clientVersion: 0, partial: false, changes: [] });
    pair.client.send(new Uint8Array(4096)); // over the pre-hello limit: refused as a frame, not by size
    await exchange();
    expect(received.at(-2)).toEqual({ type: "ack", clientVersion: 0 });
    expect(received.at(-1)).toMatchObject({ type: "error", code: ErrorCode.MalformedFrame });
  });

  it("refuses a frame only servers send, and a second hello", async () => {
    pair.client.send(
      encodeServerFrame({
        type: "welcome",
        schemaVersion: 1,
        siteId: SITE,
        clientVersion: 0,
        serverVersion: 0,
        incarnation: new Uint8Array(16),
      }),
    );
    await exchange();
    expect(received).toMatchObject([{ type: "error", code: ErrorCode.UnexpectedFrame }]);

    connect();
    await hello();
    await hello();
    await exchange();
    expect(received.map((f) => f.type)).toEqual(["welcome", "changes", "error"]);
    expect(received.at(-1)).toMatchObject({ code: ErrorCode.UnexpectedFrame });
  });

  it("refuses a token that expired on the server's clock", async () => {
    const token = await tokens.sign(USER);
    clock.advance(3601 * 1000);
    connect(); // a new connection, after the token's hour
    send({
      type: "hello",
      schemaVersion: SCHEMA_VERSION,
      siteId: SITE,
      serverVersion: 0,
      token,
      incarnation: new Uint8Array(),
    });
    await exchange();
    expect(received).toMatchObject([{ type: "error", code: ErrorCode.Unauthorized }]);
    expect(closedWith).toBe(ERROR_RULES[ErrorCode.Unauthorized].closeCode);
  });
});
