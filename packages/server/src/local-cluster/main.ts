// `npm run cluster`: the whole multi-node setup on this machine, to try it: an S3-compatible
// store (s3rver), etcd, three nodes and HAProxy in front, each its own process on loopback.
// Ctrl-C stops everything. NOTESYNC_CLUSTER_NODES and NOTESYNC_CLUSTER_PORT change the node
// count (default 3) and HAProxy's port (default 8787); NOTESYNC_CLUSTER_DIR keeps the data.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalCluster } from "./local-cluster.js";

const nodes = Number(process.env.NOTESYNC_CLUSTER_NODES ?? 3);
const port = Number(process.env.NOTESYNC_CLUSTER_PORT ?? 8787);
const dir =
  process.env.NOTESYNC_CLUSTER_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "notesync-cluster-"));

const cluster = await startLocalCluster({ nodes, dir, port });
process.stdout.write(
  [
    "",
    `  NoteSync (${nodes} nodes) is running at ${cluster.url}`,
    "",
    `  HAProxy   ${cluster.url}  (deploy/haproxy.cfg)`,
    `  etcd      ${cluster.etcd.endpoint}`,
    `  S3        ${cluster.s3.endpoint}  (s3rver, bucket "backups")`,
    ...cluster.nodes.map(
      (n) => `  ${n.id.padEnd(9)} ${n.url}  pid ${n.process.pid}, log ${n.logFile}`,
    ),
    "",
    `  Kill a node (kill -9 <pid>) to watch its users move; data in ${dir}`,
    "",
  ].join("\n"),
);
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    if (stopping) return;
    stopping = true;
    void cluster.stop().then(() => process.exit(0));
  });
