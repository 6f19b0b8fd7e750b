import { SignJWT, jwtVerify } from "jose";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Logger } from "pino";

const ISSUER = "notesync";
/** A generated secret has 43; anything shorter in secret.key was cut off or written by hand. */
const MIN_SECRET_CHARS = 32;

/** A verified token: whose it is and which sign-in it came from. */
export interface Session {
  readonly userId: string;
  /** Null for tokens issued before sessions could be ended one by one. */
  readonly sessionId: string | null;
  /** Unix milliseconds. */
  readonly expiresAt: number;
}

/**
 * Where sign-outs are recorded (the account store, shared by every server process), consulted
 * on every sign and verify.
 */
export interface SessionRegistry {
  /** Raised by "sign out everywhere" and password changes; null for no such user. */
  sessionGeneration(userId: string): Promise<number | null>;
  isSignedOut(sessionId: string): Promise<boolean>;
}

/**
 * Signs and verifies session tokens: HS256 JWTs whose subject is the user id, with a session id
 * (`jti`) and the user's session generation (`gen`) at sign-in, so either can revoke them.
 */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
    private readonly sessions: SessionRegistry,
    /** Milliseconds since the epoch: when tokens are issued and whether they have expired. */
    private readonly now: () => number = Date.now,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  /** The secret from `NOTESYNC_SECRET`, or one generated once and kept in the data directory. */
  static loadSecret(dataDir: string, fromEnv?: string, log?: Pick<Logger, "warn">): string {
    if (fromEnv) return fromEnv;
    const file = path.join(dataDir, "secret.key");
    const existing = readSecret(file);
    if (existing !== null && existing.length >= MIN_SECRET_CHARS) return existing;
    if (existing !== null) {
      log?.warn(
        { file, length: existing.length },
        `${file} holds ${existing.length} characters, fewer than the ${MIN_SECRET_CHARS} a secret needs ` +
          "(cut off, e.g. by a full disk): generated a new secret; everyone must sign in again",
      );
    }
    return writeNewSecret(dataDir, file, existing !== null);
  }

  async sign(userId: string): Promise<string> {
    const generation = await this.sessions.sessionGeneration(userId);
    if (generation === null) throw new Error(`no user ${userId}`);
    return new SignJWT({ gen: generation })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setJti(crypto.randomBytes(16).toString("base64url"))
      .setIssuer(ISSUER)
      .setIssuedAt(Math.floor(this.now() / 1000))
      .setExpirationTime(Math.floor(this.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  /** The user id of a valid token; throws for a malformed, forged, expired or signed-out one. */
  async verify(token: string): Promise<string> {
    return (await this.verifySession(token)).userId;
  }

  async verifySession(token: string): Promise<Session> {
    const { payload } = await jwtVerify(token, this.key, {
      issuer: ISSUER,
      algorithms: ["HS256"],
      currentDate: new Date(this.now()),
    });
    if (typeof payload.sub !== "string") throw new Error("token has no subject");
    // Tokens from before revocation existed carry neither: they belong to generation 0.
    const generation = payload.gen ?? 0;
    if (typeof generation !== "number") throw new Error("token has a malformed generation");
    const sessionId = typeof payload.jti === "string" ? payload.jti : null;
    const current = await this.sessions.sessionGeneration(payload.sub);
    if (current === null) throw new Error("the account does not exist");
    if (
      generation !== current ||
      (sessionId !== null && (await this.sessions.isSignedOut(sessionId)))
    )
      throw new Error("this session was signed out");
    return { userId: payload.sub, sessionId, expiresAt: (payload.exp ?? 0) * 1000 };
  }
}

/** The trimmed secret in `file`, or null when there is no such file. */
function readSecret(file: string): string | null {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new Error(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * Writes a new secret to a temporary file and moves it into place, so `file` is never seen
 * half-written. A new file is linked rather than renamed into place: if another process created
 * one meanwhile, theirs wins and both use it.
 */
function writeNewSecret(dataDir: string, file: string, replace: boolean): string {
  const tmp = path.join(
    dataDir,
    `.secret.key.${process.pid}.${crypto.randomBytes(4).toString("hex")}`,
  );
  try {
    fs.mkdirSync(dataDir, { recursive: true });
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      fs.writeFileSync(fd, `${crypto.randomBytes(32).toString("base64url")}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (replace) fs.renameSync(tmp, file);
    else linkUnlessExists(tmp, file);
  } catch (err) {
    throw new Error(
      `cannot write ${file} (${(err as Error).message}): free some space or set NOTESYNC_SECRET`,
      { cause: err },
    );
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  const secret = readSecret(file);
  if (secret === null || secret.length < MIN_SECRET_CHARS)
    throw new Error(`${file} was written but does not hold the new secret`);
  return secret;
}

function linkUnlessExists(from: string, to: string): void {
  try {
    fs.linkSync(from, to);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
}
