/**
 * The wire protocol version, sent in every frame. Bump it on any change to a frame's shape or
 * meaning; `golden.test.ts` fails when the encoding changes without a bump.
 *
 * History:
 * 1: hello / welcome / changes / ack / error; REAL values as msgpack ext type 1.
 */
export const PROTOCOL_VERSION = 1;
