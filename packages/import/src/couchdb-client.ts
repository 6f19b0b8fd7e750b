/** What went wrong talking to CouchDB, with what it answered. */
export class CouchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CouchError";
  }
}

/**
 * A CouchDB database over HTTP. Credentials in the URL (`http://user:pass@host/db`) become a
 * Basic `Authorization` header: `fetch` refuses URLs that carry them, and they never appear in
 * messages or the checkpoint's name.
 */
export class CouchDatabase {
  /** The database's URL without credentials, for messages and as the checkpoint's name. */
  readonly name: string;
  private readonly base: string;
  private readonly headers: Record<string, string> = {};

  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new CouchError(
        `${JSON.stringify(url)} is not a URL: give http(s)://host:port/database`,
      );
    }
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
      throw new CouchError(`${parsed.protocol} is not supported: give an http(s) URL`);
    if (parsed.pathname.replace(/\/+$/, "") === "")
      throw new CouchError(`${url} names no database: give http(s)://host:port/database`);
    if (parsed.username || parsed.password) {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      this.headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
      parsed.username = "";
      parsed.password = "";
    }
    parsed.search = "";
    parsed.hash = "";
    this.base = parsed.toString().replace(/\/+$/, "");
    this.name = this.base;
  }

  /** GETs `path` (below the database) with `query`, as JSON; anything but 2xx is a CouchError. */
  async get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
    const text = (await this.request(path, query)).toString("utf8");
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CouchError(`${this.name}${path} did not answer JSON`);
    }
  }

  /** GETs `path` as bytes (an attachment). */
  getBytes(path: string): Promise<Buffer> {
    return this.request(path, {}, "*/*");
  }

  private async request(
    path: string,
    query: Record<string, string>,
    accept = "application/json",
  ): Promise<Buffer> {
    const search = Object.keys(query).length ? `?${new URLSearchParams(query)}` : "";
    let res: Response;
    let body: Buffer;
    try {
      res = await fetch(`${this.base}${path}${search}`, {
        headers: { ...this.headers, accept },
      });
      body = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw new CouchError(`cannot read ${this.name}${path}: ${(err as Error).message}`, {
        cause: err,
      });
    }
    if (res.ok) return body;
    const text = body.toString("utf8");
    let reason = text.slice(0, 200);
    try {
      const parsed = JSON.parse(text) as { error?: string; reason?: string };
      reason = [parsed.error, parsed.reason].filter(Boolean).join(": ") || reason;
    } catch {
      // not JSON: the text itself says what happened
    }
    throw new CouchError(`${this.name}${path} answered ${res.status}: ${reason}`);
  }

  /** The URL path of a document (ids may hold `/`, `?`, `#`). */
  static docPath(id: string): string {
    return `/${encodeURIComponent(id)}`;
  }
}
