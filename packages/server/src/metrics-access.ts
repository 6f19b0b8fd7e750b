import type { IncomingMessage } from "node:http";
import crypto from "node:crypto";
import net from "node:net";

export const DEFAULT_METRICS_ALLOW: readonly string[] = ["127.0.0.0/8", "::1"];

export interface MetricsAccessOptions {
  /** Addresses or CIDR blocks that may read /metrics without a token. */
  readonly allow?: readonly string[];
  /** A bearer token that lets anyone read /metrics. */
  readonly token?: string;
}

function blockList(entries: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of entries) {
    const [address = "", bits] = entry.trim().split("/");
    const family = net.isIP(address) === 6 ? "ipv6" : "ipv4";
    const prefix = Number(bits);
    if (net.isIP(address) === 0 || (bits !== undefined && !Number.isInteger(prefix)))
      throw new Error(
        `invalid metrics address "${entry}": use an address or a block such as 10.0.0.0/8`,
      );
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, prefix, family);
  }
  return list;
}

const digest = (text: string) => crypto.createHash("sha256").update(text).digest();

/** Whether a request may read /metrics: from an allowed address, or with the token. */
export function createMetricsAccess(
  options: MetricsAccessOptions,
): (req: IncomingMessage) => boolean {
  const allowed = blockList(options.allow ?? DEFAULT_METRICS_ALLOW);
  const token = options.token ? digest(options.token) : null;
  return (req) => {
    const [scheme, offered] = (req.headers.authorization ?? "").split(" ");
    if (token && scheme?.toLowerCase() === "bearer" && offered)
      if (crypto.timingSafeEqual(digest(offered), token)) return true;
    // Through a reverse proxy on this host every request comes from loopback: go by the token only.
    if (req.headers["x-forwarded-for"] !== undefined || req.headers.forwarded !== undefined)
      return false;
    const address = req.socket.remoteAddress ?? "";
    const family = net.isIP(address);
    return family !== 0 && allowed.check(address, family === 6 ? "ipv6" : "ipv4");
  };
}
