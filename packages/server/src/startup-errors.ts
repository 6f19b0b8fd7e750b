/**
 * One sentence for a failure to start: what went wrong and what to do. Node's own errors
 * (EADDRINUSE and friends) say neither in words an operator acts on.
 */
export function startupProblem(
  err: unknown,
  where: { host: string; port: number; dataDir: string },
): string {
  const e = err as NodeJS.ErrnoException & { syscall?: string; path?: string };
  switch (e.code) {
    case "EADDRINUSE":
      return `port ${where.port} on ${where.host} is already in use (another NoteSync, or another program): stop it or choose another port with --port`;
    case "EADDRNOTAVAIL":
      return `${where.host} is not an address of this machine: choose another with --host`;
    case "EACCES":
    case "EPERM":
      return e.syscall === "listen" || e.syscall === "bind"
        ? `not allowed to listen on port ${where.port}: choose a port above 1023 with --port`
        : `cannot use the data directory ${where.dataDir}: permission denied${e.path ? ` on ${e.path}` : ""}`;
    case "ENOTDIR":
    case "EEXIST":
    case "EROFS":
    case "ENOSPC":
      return `cannot use the data directory ${where.dataDir}: ${e.message}`;
    default:
      return `could not start: ${e.message ?? String(err)}`;
  }
}
