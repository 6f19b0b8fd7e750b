import type { FrameSocket } from "@notesync/protocol";

/** The standard WebSocket constructor shape: the browser's, or the `ws` package in Node. */
export type WebSocketConstructor = new (url: string) => WebSocket;

/** Opens a connection to the sync endpoint. Messages sent before it is open wait for it. */
export type Dial = (url: string) => FrameSocket;

/**
 * Browsers accept only 1000 and 3000-4999 from a page; a protocol code 1xxx (say 1011, "failed")
 * goes as 4xxx, which keeps its meaning readable in server logs.
 */
const closeCodeForPage = (code: number) =>
  code === 1000 || (code >= 3000 && code <= 4999) ? code : 4000 + (code % 1000);

/** A `Dial` over a standard WebSocket constructor. */
export function webSocketDial(WS: WebSocketConstructor): Dial {
  return (url) => {
    const ws = new WS(url);
    ws.binaryType = "arraybuffer";
    let waiting: Uint8Array[] | null = [];
    let onMessage: (bytes: Uint8Array, binary: boolean) => void = () => undefined;
    let onClose: (code: number) => void = () => undefined;
    ws.onopen = () => {
      for (const bytes of waiting ?? []) ws.send(bytes);
      waiting = null;
    };
    ws.onmessage = (event: MessageEvent) => {
      const binary = typeof event.data !== "string";
      onMessage(binary ? new Uint8Array(event.data as ArrayBuffer) : new Uint8Array(), binary);
    };
    // A failed connection also closes; the close handler says what happened.
    ws.onerror = () => undefined;
    ws.onclose = (event: CloseEvent) => onClose(event.code);
    return {
      send(bytes, written) {
        if (waiting) waiting.push(bytes);
        else if (ws.readyState === 1) ws.send(bytes);
        written?.();
      },
      close(code, reason) {
        waiting = null;
        try {
          ws.close(closeCodeForPage(code), reason);
        } catch {
          // already closing
        }
      },
      onMessage(handler) {
        onMessage = handler;
      },
      onClose(handler) {
        onClose = handler;
      },
    };
  };
}
