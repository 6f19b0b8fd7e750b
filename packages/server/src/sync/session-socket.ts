import type { FrameSocket } from "@notesync/protocol";
import type { WebSocket } from "ws";

/** A connection as a sync session sees it: a `FrameSocket` whose message limit can be raised. */
export interface SessionSocket extends FrameSocket {
  /**
   * Accept messages up to `bytes` from now on. A connection starts with a small limit, raised
   * once its hello is verified, so strangers cannot make the server buffer large messages.
   */
  raiseMessageLimit(bytes: number): void;
}

/** The `ws` package's server-side socket as a `SessionSocket`. */
export function wsSessionSocket(ws: WebSocket): SessionSocket {
  return {
    send(bytes, written) {
      if (ws.readyState !== ws.OPEN) return written?.();
      ws.send(bytes, () => written?.());
    },
    close(code, reason) {
      ws.close(code, reason);
    },
    onMessage(handler) {
      ws.on("message", (data, isBinary) => {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        handler(bytes, isBinary);
      });
    },
    onClose(handler) {
      ws.on("close", (code) => handler(code));
    },
    raiseMessageLimit(bytes) {
      // `ws` keeps the limit in its per-connection receiver, which it does not expose. If that
      // ever changes, large frames are refused with 1009, which the large-transfer tests show.
      const receiver = (ws as unknown as { _receiver?: { _maxPayload?: number } })._receiver;
      if (receiver && typeof receiver._maxPayload === "number") receiver._maxPayload = bytes;
    },
  };
}
