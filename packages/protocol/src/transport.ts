/**
 * One end of a connection that carries encoded frames: all the sync engines need of a WebSocket.
 * Adapters wrap the browser's WebSocket or the `ws` package; tests use the hand-flushed pair in
 * `@notesync/protocol/testing`.
 */
export interface FrameSocket {
  /** Queues one message. `written` runs once it has left this process, or the socket has closed. */
  send(bytes: Uint8Array, written?: () => void): void;
  /** Closes the connection with a WebSocket close code. Later calls do nothing. */
  close(code: number, reason?: string): void;
  /** Sets the handler of incoming messages; `binary` is false for a text message. */
  onMessage(handler: (bytes: Uint8Array, binary: boolean) => void): void;
  /** Sets the handler run once when the connection ends, closed by either side. */
  onClose(handler: (code: number) => void): void;
}
