import { describe, expect, it } from "vitest";
import { SocketPair } from "./socket-pair.js";

const bytes = (...b: number[]) => Uint8Array.from(b);

describe("SocketPair", () => {
  it("moves messages only when flushed, in order, one direction at a time", () => {
    const pair = new SocketPair();
    const atServer: number[] = [];
    const atClient: number[] = [];
    pair.server.onMessage((b) => atServer.push(b[0]!));
    pair.client.onMessage((b) => atClient.push(b[0]!));
    pair.client.send(bytes(1));
    pair.client.send(bytes(2));
    pair.server.send(bytes(9));
    expect(atServer).toEqual([]);
    expect(pair.deliverOne("toServer")).toBe(true);
    expect(atServer).toEqual([1]);
    expect(pair.flush("toClient")).toBe(1);
    expect(atClient).toEqual([9]);
    expect(pair.flush()).toBe(1);
    expect(atServer).toEqual([1, 2]);
    expect(pair.deliverOne("toServer")).toBe(false);
  });

  it("reports a message written once it is delivered, and delivers what was sent before a close", () => {
    const pair = new SocketPair();
    const written: string[] = [];
    const got: number[] = [];
    const closes: string[] = [];
    pair.client.onMessage((b) => got.push(b[0]!));
    pair.client.onClose((code) => closes.push(`client ${code}`));
    pair.server.onClose((code) => closes.push(`server ${code}`));
    pair.server.send(bytes(7), () => written.push("7"));
    pair.server.close(1008);
    pair.server.send(bytes(8), () => written.push("8")); // after close: dropped at once
    expect(written).toEqual(["8"]);
    expect(pair.server.isOpen).toBe(false);
    pair.flush();
    expect(got).toEqual([7]);
    expect(written).toEqual(["8", "7"]);
    expect(closes).toEqual(["server 1008", "client 1008"]);
  });

  it("drops everything queued when the connection breaks, and closes both ends with 1006", () => {
    const pair = new SocketPair();
    const got: number[] = [];
    const closes: number[] = [];
    pair.server.onMessage((b) => got.push(b[0]!));
    pair.client.onClose((code) => closes.push(code));
    pair.client.send(bytes(1));
    pair.breakConnection();
    expect(pair.flush()).toBe(0);
    expect(got).toEqual([]);
    expect(closes).toEqual([1006]);
  });

  it("closes with 1009 when a client message exceeds the server's limit, until it is raised", () => {
    const small = new SocketPair(4);
    const closes: number[] = [];
    small.server.onClose((code) => closes.push(code));
    small.client.send(new Uint8Array(5));
    small.flush();
    expect(closes).toEqual([1009]);

    const raised = new SocketPair(4);
    const got: number[] = [];
    raised.server.onMessage((b) => got.push(b.length));
    raised.server.raiseMessageLimit(8);
    raised.client.send(new Uint8Array(5));
    raised.flush();
    expect(got).toEqual([5]);
  });
});
