import { ErrorCode, ProtocolError, SCHEMA_VERSION, type HelloFrame } from "@notesync/protocol";
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
 * and picks where its catch-up starts.
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
  // A cursor beyond our head means this database was replaced (restored from a backup): start over.
  const fromServerVersion = hello.serverVersion <= head ? hello.serverVersion : 0;
  return { userId, hub, fromServerVersion, headServerVersion: head };
}
