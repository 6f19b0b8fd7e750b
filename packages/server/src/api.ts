import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AccountError, AccountFailure, AccountStore } from "./accounts.js";
import { SignupLimit } from "./signup-limit.js";

/** New accounts one address may create in an hour. */
export const DEFAULT_SIGNUPS_PER_HOUR = 20;
import type { Session, TokenService } from "./tokens.js";

const MAX_BODY = 16 * 1024;
/** The HTTP status of each refusal. */
export const ACCOUNT_ERROR_STATUS: Record<string, number> = {
  [AccountError.InvalidInput]: 400,
  [AccountError.UsernameTaken]: 409,
  [AccountError.BadCredentials]: 401,
  [AccountError.TooManyAttempts]: 429,
  [AccountError.Unauthorized]: 401,
  [AccountError.UnsupportedMediaType]: 415,
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

/**
 * The JSON body of an account request. Other content types are refused: a form or `fetch` from
 * another site may send text/plain without asking first (CORS), but not application/json.
 */
export async function readJson(req: IncomingMessage, maxBytes = MAX_BODY): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json")
    throw new AccountFailure(
      AccountError.UnsupportedMediaType,
      `send the body as JSON with content-type: application/json (got ${type || "none"})`,
    );
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes)
      throw new AccountFailure(AccountError.InvalidInput, "request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new AccountFailure(AccountError.InvalidInput, "request body must be JSON");
  }
}

/** The session of the request's `Authorization: Bearer <token>`. */
export async function authenticate(req: IncomingMessage, tokens: TokenService): Promise<Session> {
  const [scheme, token] = (req.headers.authorization ?? "").split(" ");
  if (scheme?.toLowerCase() !== "bearer" || !token)
    throw new AccountFailure(AccountError.Unauthorized, "send Authorization: Bearer <token>");
  try {
    return await tokens.verifySession(token);
  } catch (err) {
    throw new AccountFailure(
      AccountError.Unauthorized,
      `invalid session token: ${(err as Error).message}`,
    );
  }
}

interface Reply {
  readonly status: number;
  /** Absent: 204 with no body. */
  readonly body?: unknown;
  readonly userId: string;
  readonly done: string;
}
type Route = (req: IncomingMessage) => Promise<Reply>;

/**
 * The caller's address: the connection's, or behind a trusted proxy (HAProxy with
 * `option forwardfor`) the last address in its `X-Forwarded-For`, so sign-in throttles and
 * sign-up limits count callers, not the proxy.
 */
export function clientAddress(
  req: IncomingMessage,
  trustedProxies: ReadonlySet<string> = new Set(),
): string {
  const peer = (req.socket.remoteAddress ?? "unknown").replace(/^::ffff:/, "");
  const forwarded = req.headers["x-forwarded-for"];
  if (!trustedProxies.has(peer) || typeof forwarded !== "string") return peer;
  return forwarded.split(",").at(-1)?.trim() || peer;
}

function routes(
  accounts: AccountStore,
  tokens: TokenService,
  signups: SignupLimit,
  hooks: { onAccountDeleted: (userId: string) => Promise<void> },
  address: (req: IncomingMessage) => string,
): Record<string, Route> {
  const signedIn = async (status: number, userId: string, done: string): Promise<Reply> => ({
    status,
    body: { token: await tokens.sign(userId), userId },
    userId,
    done,
  });
  return {
    "/api/signup": async (req) => {
      const { username, password } = AccountStore.validate(await readJson(req));
      signups.take(address(req));
      return signedIn(201, await accounts.signup(username, password), "account created");
    },
    "/api/login": async (req) => {
      const { username, password } = AccountStore.validate(await readJson(req));
      return signedIn(200, await accounts.login(username, password, address(req)), "signed in");
    },
    "/api/logout": async (req) => {
      const session = await authenticate(req, tokens);
      await accounts.signOut(session);
      return { status: 204, userId: session.userId, done: "signed out" };
    },
    "/api/logout-everywhere": async (req) => {
      const { userId } = await authenticate(req, tokens);
      await accounts.signOutEverywhere(userId);
      return { status: 204, userId, done: "signed out everywhere" };
    },
    "/api/password": async (req) => {
      const { userId } = await authenticate(req, tokens);
      const change = AccountStore.validatePasswordChange(await readJson(req));
      await accounts.changePassword(userId, change.oldPassword, change.newPassword, address(req));
      return signedIn(200, userId, "password changed; other sessions signed out");
    },
    "/api/delete-account": async (req) => {
      const { userId } = await authenticate(req, tokens);
      const { password } = AccountStore.validateDeletion(await readJson(req));
      await accounts.deleteAccount(userId, password, address(req));
      await hooks.onAccountDeleted(userId);
      return { status: 204, userId, done: "account deleted with its data" };
    },
  };
}

/**
 * `POST /api/signup` and `/api/login` (`{ username, password }` -> `{ token, userId }`),
 * `/api/logout` and `/api/logout-everywhere` (bearer token -> 204), `/api/password`
 * (bearer token and `{ oldPassword, newPassword }` -> a new `{ token, userId }`), and
 * `/api/delete-account` (bearer token and `{ password }` -> 204: the account, its sessions and,
 * through `onAccountDeleted`, its database are gone).
 */
export function createAccountsApi(
  accounts: AccountStore,
  tokens: TokenService,
  log: Logger,
  /** Called after sessions of a user ended (sign out, sign out everywhere, new password). */
  onSessionsEnded: (userId: string) => void = () => undefined,
  signupsPerHour = DEFAULT_SIGNUPS_PER_HOUR,
  onRefused: (code: string) => void = () => undefined,
  /** Called after accounts.db changed; the answer waits for it (the backup uploads it). */
  onAccountsChanged: () => Promise<void> = () => Promise.resolve(),
  /** Called once an account is removed: end its connections, delete its database. */
  onAccountDeleted: (userId: string) => Promise<void> = async () => undefined,
  /** Addresses of proxies whose `X-Forwarded-For` names the caller. */
  trustedProxies: ReadonlySet<string> = new Set(),
) {
  const table = routes(
    accounts,
    tokens,
    new SignupLimit(signupsPerHour),
    { onAccountDeleted },
    (req) => clientAddress(req, trustedProxies),
  );
  const ending = new Set(["/api/logout", "/api/logout-everywhere", "/api/password"]);
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> => {
    const route = Object.hasOwn(table, pathname) ? table[pathname] : undefined;
    if (!route) return false;
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "method_not_allowed", message: "use POST" }, { allow: "POST" });
      return true;
    }
    try {
      const reply = await route(req);
      if (pathname !== "/api/login") await onAccountsChanged();
      log.info({ userId: reply.userId, action: pathname.slice(5) }, reply.done);
      if (ending.has(pathname)) onSessionsEnded(reply.userId);
      if (reply.body === undefined)
        res.writeHead(reply.status, { "cache-control": "no-store" }).end();
      else sendJson(res, reply.status, reply.body);
    } catch (err) {
      if (!(err instanceof AccountFailure)) throw err;
      log.info({ code: err.code, action: pathname.slice(5) }, "account request refused");
      onRefused(err.code);
      const headers: Record<string, string> = err.retryAfterSeconds
        ? { "retry-after": String(err.retryAfterSeconds) }
        : {};
      sendJson(
        res,
        ACCOUNT_ERROR_STATUS[err.code] ?? 400,
        { error: err.code, message: err.message },
        headers,
      );
    }
    return true;
  };
}
