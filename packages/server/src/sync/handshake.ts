import {
  ErrorCode,
  ProtocolError,
  SCHEMA_VERSION,
  sameBytes,
  type HelloFrame,
} from "@notesync/protocol";
import type { DbCache } from "../db-cache.js";
import type { ResourceLimits } from "../resource-limits.js";
import type { TokenService } from "../tokens.js";
import type { UserHub } from "./user-hub.js";

/** Whose a hello is: the user its token names, and that user's schema-compatible database. */
export interface AcceptedHello {
  readonly userId: string;
  readonly hub: UserHub;
  /** Where to start sending the server's changes (server clock). */
  readonly fromServerVersion: number;
  /** The database's version now: the client's catch-up is complete there. */
  readonly headServerVersion: number;
  /** Why this hello gave the database a new incarnation, if it did. */
  readonly incarnationChange: string | null;
}

/** Checks a hello's token and schema version; throws `ProtocolError` saying what is wrong. */
export async function verifyHello(hello: HelloFrame, tokens: TokenService): Promise<string> {
  let userId: string;
  try {
    userId = await tokens.verify(hello.token);
  } catch (err) {
    throw new ProtocolError(
      ErrorCode.Unauthorized,
      `invalid session token: ${(err as Error).message}`,
    );
  }
  if (hello.schemaVersion !== SCHEMA_VERSION) {
    const older =
      hello.schemaVersion < SCHEMA_VERSION
        ? "reload the app to upgrade it"
        : "the server must be upgraded";
    throw new ProtocolError(
      ErrorCode.SchemaMismatch,
      `client schema ${hello.schemaVersion}, server schema ${SCHEMA_VERSION}: ${older}`,
    );
  }
  return userId;
}

/**
 * Opens the verified user's database for one more connection (refused past the per-user limit)
 * and picks where its catch-up starts: at the client's cursor when it belongs to this
 * incarnation, else at 0 (PROTOCOL.md §4.1).
 */
export function admit(
  userId: string,
  hello: HelloFrame,
  dbs: DbCache,
  resources: ResourceLimits,
): AcceptedHello {
  const hub = dbs.open(userId);
  if (hub.members.size >= resources.connectionsPerUser)
    throw new ProtocolError(
      ErrorCode.LimitReached,
      `this account already has ${hub.members.size} connections open (the limit is ${resources.connectionsPerUser}): close some tabs or devices`,
    );
  const head = hub.db.dbVersion();
  if (!sameBytes(hello.incarnation, hub.db.incarnation))
    return { userId, hub, fromServerVersion: 0, headServerVersion: head, incarnationChange: null };
  if (hello.serverVersion <= head)
    return {
      userId,
      hub,
      fromServerVersion: hello.serverVersion,
      headServerVersion: head,
      incarnationChange: null,
    };
  // The client saw more of this incarnation than the database holds: its history went back
  // without the file changing (a file-system rollback). Devices must refill it.
  hub.db.newIncarnation();
  return {
    userId,
    hub,
    fromServerVersion: 0,
    headServerVersion: head,
    incarnationChange: `a client had seen version ${hello.serverVersion}, beyond the database's ${head}`,
  };
}
