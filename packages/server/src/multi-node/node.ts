import type { Etcd3 } from "etcd3";
import type { Logger } from "pino";
import type { BackupService } from "../backup/backup-service.js";
import type { ObjectStore } from "../backup/object-store.js";
import type { MultiNodeConfig } from "../server.js";
import type { SyncHost } from "../sync/sync-host.js";
import { EtcdOwnership } from "./etcd-ownership.js";
import { takeOverUser } from "./take-over.js";

/** The longest a node waits for a user's last changes to upload before letting the user go. */
const FLUSH_BEFORE_RELEASE_MS = 5_000;

/**
 * Makes this server a node of a multi-node cluster: it serves a user only while it holds the
 * user's lease in etcd, restores a user it takes over from the backup, and uploads a user's last
 * changes before another node takes the user.
 */
export async function startOwnership(
  config: MultiNodeConfig,
  deps: {
    readonly etcd: Etcd3;
    readonly prefix: string;
    readonly log: Logger;
    readonly sync: SyncHost;
    readonly backup: BackupService;
    readonly store: ObjectStore;
    readonly usersDir: string;
  },
): Promise<EtcdOwnership> {
  const { sync, backup, log } = deps;
  const ownership = new EtcdOwnership({
    etcd: deps.etcd,
    endpoints: config.etcdEndpoints,
    nodeId: config.nodeId,
    prefix: deps.prefix,
    leaseTtlSeconds: config.leaseTtlSeconds ?? 5,
    idleReleaseMs: config.idleReleaseMs,
    log,
    hasConnections: (userId) => sync.hasConnections(userId),
    takeOver: async (userId) => {
      backup.forget(userId);
      sync.dbs.closeUser(userId);
      const how = await takeOverUser(deps.store, deps.usersDir, userId);
      // A kept local copy may hold versions the backup lacks; a restored one has a new
      // incarnation, which wants a new snapshot: either way, upload.
      backup.userChanged(userId);
      return how;
    },
    giveUp: async (userId, reason) => {
      sync.giveUp(userId, `this server node let your account go (${reason}); reconnecting`);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        backup.flushUser(userId),
        new Promise((resolve) => (timer = setTimeout(resolve, FLUSH_BEFORE_RELEASE_MS))),
      ])
        .catch((err: unknown) =>
          log.warn(
            { err, userId },
            "could not upload the user's last changes; devices refill them",
          ),
        )
        .finally(() => clearTimeout(timer));
      // An upload still running (past the wait above) writes no manifest from now on; one being
      // written finishes before the owner key goes.
      backup.forget(userId);
      await backup.manifestSettled(userId);
      sync.dbs.closeUser(userId);
    },
  });
  await ownership.start();
  sync.setOwnership(ownership, true);
  return ownership;
}
