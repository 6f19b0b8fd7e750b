import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "pino";
import { AccountError, AccountFailure } from "../accounts.js";
import { ACCOUNT_ERROR_STATUS, authenticate, readJson, sendJson } from "../api.js";
import type { TokenService } from "../tokens.js";
import { convertChanges, type CouchChange, type CouchDoc } from "./couch-changes.js";
import { ImportWriter } from "./import-writer.js";
import { NoteMapper } from "./note-mapping.js";

/** Largest body of one import request: the page sends its documents in batches below it. */
export const MAX_IMPORT_BODY = 8 * 1024 * 1024;

/** What the browser route's imports are recorded as coming from. */
const BROWSER_SOURCE = "pouchdb:browser";

/** Paths a page on an allowed origin may call across origins: sign in, then import. */
const CROSS_ORIGIN_PATHS = new Set(["/api/login", "/api/import/pouchdb"]);

export interface ImportApiOptions {
  /** Origins (`https://old-app.example`) whose pages may sign in and import across origins. */
  readonly origins: readonly string[];
  readonly tokens: TokenService;
  /** The user's database file. */
  readonly pathFor: (userId: string) => string;
  /** The size a user's database may reach (NOTESYNC_STORAGE_PER_USER_MB): imports stop there too. */
  readonly storagePerUserBytes: number;
  /**
   * Multi-node: waits until this node serves the user (the import writes the database it
   * serves); rejects with a `ProtocolError` when it cannot in time. One node: resolves at once.
   */
  readonly acquire?: (userId: string) => Promise<void>;
  /** Whether this node may write the user's database now (multi-node: it holds the lease). */
  readonly mayWrite?: (userId: string) => boolean;
  /** Called after an import wrote to the user's database (the backup uploads it). */
  readonly written?: (userId: string) => void;
  readonly log: Logger;
}

function parseBody(body: unknown): { changes: CouchChange[]; leaves: Map<string, CouchDoc[]> } {
  const { changes, leaves = {} } = (body ?? {}) as { changes?: unknown; leaves?: unknown };
  const bad = (message: string) => new AccountFailure(AccountError.InvalidInput, message);
  if (!Array.isArray(changes)) throw bad("send { changes: [...], leaves: { id: [...] } }");
  for (const c of changes as unknown[])
    if (c === null || typeof c !== "object" || typeof (c as CouchChange).id !== "string")
      throw bad("every change needs a string id");
  if (leaves === null || typeof leaves !== "object" || Array.isArray(leaves))
    throw bad("leaves must be an object of document id -> leaf documents");
  const map = new Map<string, CouchDoc[]>();
  for (const [id, docs] of Object.entries(leaves as Record<string, unknown>)) {
    if (!Array.isArray(docs) || docs.some((d) => d === null || typeof d !== "object"))
      throw bad(`leaves of ${id} must be a list of documents`);
    map.set(id, docs as CouchDoc[]);
  }
  return { changes: changes as CouchChange[], leaves: map };
}

/**
 * `POST /api/import/pouchdb` (bearer token): a page that read a browser's old PouchDB database
 * sends its changes (`db.changes({ style: "all_docs", include_docs: true, conflicts: true })`
 * rows, and every leaf of the documents with conflicts); they are mapped and written exactly as
 * `notesync-import couchdb` does, so sending them twice changes nothing. Answers the counts,
 * what could not be mapped, and the attachments it did not import. Also answers the CORS
 * preflight of the allowed origins for it and for `/api/login`.
 */
export function createImportApi(options: ImportApiOptions) {
  const allowed = new Set(options.origins);
  const mapper = new NoteMapper();
  return async (req: IncomingMessage, res: ServerResponse, pathname: string): Promise<boolean> => {
    const origin = req.headers.origin;
    if (origin && allowed.has(origin) && CROSS_ORIGIN_PATHS.has(pathname)) {
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("vary", "origin");
      if (req.method === "OPTIONS") {
        res.writeHead(204, {
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": "content-type, authorization",
          "access-control-max-age": "600",
        });
        res.end();
        return true;
      }
    }
    if (pathname !== "/api/import/pouchdb") return false;
    if (req.method !== "POST") {
      sendJson(res, 405, { error: "method_not_allowed", message: "use POST" }, { allow: "POST" });
      return true;
    }
    try {
      const { userId } = await authenticate(req, options.tokens);
      const { changes, leaves } = parseBody(await readJson(req, MAX_IMPORT_BODY));
      const converted = convertChanges(changes, leaves, mapper);
      const routed = new URL(req.url ?? "/", "http://x").searchParams.get("user");
      if (routed !== null && routed !== userId)
        throw new AccountFailure(
          AccountError.InvalidInput,
          "?user= names another user than the token",
        );
      if (options.acquire) {
        try {
          await options.acquire(userId);
        } catch (err) {
          sendJson(
            res,
            503,
            { error: "unavailable", message: (err as Error).message },
            { "retry-after": "2" },
          );
          return true;
        }
      }
      // The write below is synchronous: the node cannot let the user go in the middle of it.
      if (options.mayWrite && !options.mayWrite(userId)) {
        sendJson(
          res,
          503,
          { error: "unavailable", message: "this server node just let your account go: try again" },
          { "retry-after": "2" },
        );
        return true;
      }
      const writer = new ImportWriter(options.pathFor(userId));
      let counts;
      try {
        const used = writer.sizeBytes();
        if (used >= options.storagePerUserBytes) {
          const mb = (n: number) => Math.round(n / 1024 / 1024);
          sendJson(res, 413, {
            error: "limit_reached",
            message: `your notes take ${mb(used)} MB on the server, its limit for one account: nothing more was imported`,
          });
          return true;
        }
        counts = writer.write(BROWSER_SOURCE, converted.notes, converted.deletions);
      } finally {
        writer.close();
      }
      options.written?.(userId);
      options.log.info({ userId, ...counts }, "imported a browser's PouchDB documents");
      sendJson(res, 200, {
        counts,
        designDocuments: converted.designDocuments,
        unmapped: converted.unmapped,
        attachments: converted.attachments,
      });
    } catch (err) {
      if (!(err instanceof AccountFailure)) throw err;
      sendJson(res, ACCOUNT_ERROR_STATUS[err.code] ?? 400, {
        error: err.code,
        message: err.message,
      });
    }
    return true;
  };
}
