/**
 * The wire protocol version, sent in every frame. Bump it on any change to a frame's shape or
 * meaning; `golden.test.ts` fails when the encoding changes without a bump.
 *
 * History:
 * 1: hello / welcome / changes / ack / error; REAL values as msgpack ext type 1.
 * 2: hello and welcome end with the server database's incarnation (PROTOCOL.md §4.1), so a
 *    restored or replaced server database makes every client send everything it has again.
 */
export const PROTOCOL_VERSION = 2;
