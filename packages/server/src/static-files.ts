import fs from "node:fs";
import path from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
};

/**
 * What is at `file`, a path inside the web root's real path: a symlink anywhere on the way makes
 * the real path differ, and counts as "symlink", so no link can expose files outside the root.
 */
function lookup(file: string): "file" | "directory" | "missing" | "symlink" {
  let real: string;
  try {
    real = fs.realpathSync(file);
  } catch {
    return "missing";
  }
  if (real !== file) return "symlink";
  return fs.statSync(real).isDirectory() ? "directory" : "file";
}

/**
 * Serves the built web app from `root`. Unknown paths without an extension get index.html
 * (client-side routes); hashed assets are cached for a year, everything else revalidates.
 * Nothing is served through a symlink below the root (the root itself may be one).
 */
export function createStaticHandler(root: string) {
  const absoluteRoot = fs.realpathSync(path.resolve(root));
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const url = new URL(req.url ?? "/", "http://x");
    let rel: string;
    try {
      rel = decodeURIComponent(url.pathname);
    } catch {
      return false;
    }
    let file = path.resolve(absoluteRoot, `.${rel}`);
    if (file !== absoluteRoot && !file.startsWith(absoluteRoot + path.sep)) return false;
    const found = lookup(file);
    if (found === "symlink") return false;
    if (found !== "file") {
      if (path.extname(rel) !== "") return false;
      file = path.join(absoluteRoot, "index.html");
      if (lookup(file) !== "file") return false;
    }
    const immutable = rel.startsWith("/assets/");
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
      "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
      "x-content-type-options": "nosniff",
    });
    if (req.method === "HEAD") res.end();
    else fs.createReadStream(file).pipe(res);
    return true;
  };
}
