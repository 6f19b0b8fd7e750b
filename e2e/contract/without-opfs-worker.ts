// client-core's database worker in a browser without synchronous OPFS access handles: the
// contract runs against its IndexedDB fallback too. The worker looks for them when it opens a
// database, after this module has run.
import "@notesync/client-core/database-worker";

delete (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle;
