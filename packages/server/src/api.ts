import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AccountError, AccountFailure, AccountStore } from "./accounts.js";
import type { TokenService } from "./tokens.js";

const MAX_BODY = 16 * 1024;
const STATUS: Record<string, number> = {
  [AccountError.InvalidInput]: 400,
  [AccountError.UsernameTaken]: 409,
  [AccountError.BadCredentials]: 401,
  [AccountError.TooManyAttempts]: 429,
};

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, {
    "content-type": "application/json",
    "cache-control": "no-store",
    ...headers,
  });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new AccountFailure(AccountError.InvalidInput, "request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new AccountFailure(AccountError.InvalidInput, "request body must be JSON");
  }
}

/** `POST /api/signup` and `POST /api/login`: `{ username, password }` -> `{ token, userId }`. */
export function createAccountsApi(accounts: AccountStore, tokens: TokenService, log: Logger) {
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> => {
    if (pathname !== "/api/signup" && pathname !== "/api/login") return false;
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "method_not_allowed", message: "use POST" }, { allow: "POST" });
      return true;
    }
    try {
      const { username, password } = AccountStore.validate(await readJson(req));
      const userId =
        pathname === "/api/signup"
          ? await accounts.signup(username, password)
          : await accounts.login(username, password, req.socket.remoteAddress ?? "unknown");
      log.info(
        { userId, action: pathname.slice(5) },
        pathname === "/api/signup" ? "account created" : "signed in",
      );
      sendJson(res, pathname === "/api/signup" ? 201 : 200, {
        token: await tokens.sign(userId),
        userId,
      });
    } catch (err) {
      if (!(err instanceof AccountFailure)) throw err;
      log.info({ code: err.code, action: pathname.slice(5) }, "account request refused");
      const headers: Record<string, string> = err.retryAfterSeconds
        ? { "retry-after": String(err.retryAfterSeconds) }
        : {};
      sendJson(res, STATUS[err.code] ?? 400, { error: err.code, message: err.message }, headers);
    }
    return true;
  };
}
