import { SignJWT, jwtVerify } from "jose";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const ISSUER = "notesync";

/** Signs and verifies session tokens (HS256 JWTs whose subject is the user id). */
export class TokenService {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    private readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  /** The secret from `NOTESYNC_SECRET`, or one generated once and kept in the data directory. */
  static loadSecret(dataDir: string, fromEnv?: string): string {
    if (fromEnv) return fromEnv;
    const file = path.join(dataDir, "secret.key");
    try {
      return fs.readFileSync(file, "utf8").trim();
    } catch {
      const secret = crypto.randomBytes(32).toString("base64url");
      fs.mkdirSync(dataDir, { recursive: true });
      fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
      return secret;
    }
  }

  async sign(userId: string): Promise<string> {
    return new SignJWT({})
      .setProtectedHeader({ alg: "HS256" })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setIssuedAt()
      .setExpirationTime(`${this.ttlSeconds}s`)
      .sign(this.key);
  }

  /** The user id of a valid token; throws for a malformed, forged or expired one. */
  async verify(token: string): Promise<string> {
    const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: ["HS256"] });
    if (typeof payload.sub !== "string") throw new Error("token has no subject");
    return payload.sub;
  }
}
