import type { FrameSocket } from "../transport.js";

type Direction = "toServer" | "toClient";
type Item =
  | { readonly kind: "message"; readonly bytes: Uint8Array; readonly written?: () => void }
  | { readonly kind: "close"; readonly code: number };

/** One end of a `SocketPair`. The server's end also takes the message limit a WebSocket server has. */
export interface PairEnd extends FrameSocket {
  /** Messages larger than this close the connection with 1009, as a WebSocket server does. */
  raiseMessageLimit(bytes: number): void;
  readonly isOpen: boolean;
}

/**
 * Two connected `FrameSocket`s in one process whose messages move only when the test flushes
 * them, one direction or one message at a time, so every interleaving is reachable and
 * repeatable. Closing is a handshake: the closer's messages already sent still arrive, then
 * both ends see the close. `breakConnection` drops everything at once, like a lost network.
 */
export class SocketPair {
  readonly client: PairEnd;
  readonly server: PairEnd;
  private readonly queues: Record<Direction, Item[]> = { toServer: [], toClient: [] };
  private open = true;
  private closing = { client: false, server: false };
  private readonly handlers = {
    client: { message: noMessage, close: noClose },
    server: { message: noMessage, close: noClose },
  };

  constructor(private maxMessageBytes = Infinity) {
    this.client = this.end("client");
    this.server = this.end("server");
  }

  get isOpen(): boolean {
    return this.open;
  }

  /** Messages waiting in `direction`. */
  queued(direction: Direction): number {
    return this.queues[direction].length;
  }

  /** Delivers the next message (or close) waiting in `direction`; false when there was none. */
  deliverOne(direction: Direction): boolean {
    const item = this.queues[direction].shift();
    if (!item) return false;
    const to = direction === "toServer" ? "server" : "client";
    if (item.kind === "close") {
      this.finish(item.code);
      return true;
    }
    item.written?.();
    if (!this.open) return true;
    if (to === "server" && item.bytes.length > this.maxMessageBytes) {
      this.finish(1009);
      return true;
    }
    this.handlers[to].message(item.bytes, true);
    return true;
  }

  /** Delivers everything waiting in `direction` (or both, alternating), including what it causes. */
  flush(direction?: Direction): number {
    let delivered = 0;
    for (;;) {
      const before = delivered;
      if (direction !== "toClient" && this.deliverOne("toServer")) delivered++;
      if (direction !== "toServer" && this.deliverOne("toClient")) delivered++;
      if (delivered === before) return delivered;
    }
  }

  /** Both ends see the connection end at once with 1006; nothing queued arrives. */
  breakConnection(): void {
    this.finish(1006);
  }

  private finish(code: number): void {
    if (!this.open) return;
    this.open = false;
    for (const d of ["toServer", "toClient"] as const) {
      for (const item of this.queues[d].splice(0)) if (item.kind === "message") item.written?.();
    }
    this.handlers.server.close(code);
    this.handlers.client.close(code);
  }

  private end(side: "client" | "server"): PairEnd {
    const out: Direction = side === "client" ? "toServer" : "toClient";
    const isOpen = () => this.open && !this.closing[side];
    return {
      get isOpen() {
        return isOpen();
      },
      send: (bytes, written) => {
        if (!isOpen()) return written?.();
        this.queues[out].push({ kind: "message", bytes: Uint8Array.from(bytes), written });
      },
      close: (code) => {
        if (!isOpen()) return;
        this.closing[side] = true;
        this.queues[out].push({ kind: "close", code });
      },
      onMessage: (handler) => {
        this.handlers[side].message = handler;
      },
      onClose: (handler) => {
        this.handlers[side].close = handler;
      },
      raiseMessageLimit: (bytes) => {
        if (side === "server") this.maxMessageBytes = bytes;
      },
    };
  }
}

const noMessage: (bytes: Uint8Array, binary: boolean) => void = () => undefined;
const noClose: (code: number) => void = () => undefined;
