import { startLocalCluster } from "@notesync/server";
import fs from "node:fs";
import path from "node:path";
import { connect, inBatches, pushLatency } from "./capacity.js";
import { tmp } from "./common.js";
import { openFiles, openUserDatabases, rssOf, sleep } from "./procs.js";
import { fmt, table } from "./stats.js";

/** Resident memory, open files and open user databases of one process, from /proc. */
function processUse(pid: number): { rssMiB: number; files: number; databases: number } {
  return {
    rssMiB: rssOf(pid) / 2 ** 20,
    files: openFiles([pid]),
    databases: openUserDatabases([pid]),
  };
}

/**
 * Multi-node capacity (issue 16): the same users on one node and spread over two, each node a
 * real process in multi-node mode behind HAProxy, with etcd and s3rver (each its own process). Users sign up through
 * HAProxy; each has two raw protocol connections; a tenth write once a second.
 */
export async function nodesCapacity(users = 500, seconds = 10): Promise<string> {
  const rows: (string | number)[][] = [];
  let baseline: number | null = null;
  for (const nodes of [1, 2]) {
    const dir = tmp("bench-nodes-");
    const cluster = await startLocalCluster({
      nodes,
      dir: path.join(dir, "cluster"),
      env: { NOTESYNC_SIGNUPS_PER_HOUR: "1000000", NOTESYNC_LOG_LEVEL: "warn" },
    });
    try {
      const accounts = await inBatches(users, 8, async (i) => {
        const res = await fetch(`${cluster.url}/api/signup`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ username: `bench-user-${i}`, password: "benchmark-password" }),
        });
        if (!res.ok) throw new Error(`signup: ${res.status} ${await res.text()}`);
        return (await res.json()) as { token: string; userId: string };
      });
      const ws = cluster.url.replace("http", "ws");
      const pairs = await inBatches(users, 50, async (i) => {
        const { token, userId } = accounts[i]!;
        const url = `${ws}/sync?user=${userId}`;
        return [await connect(url, token), await connect(url, token)] as const;
      });
      await sleep(500);
      const latency = await pushLatency(pairs, seconds);
      const perNode = cluster.nodes.map((n) => processUse(n.process.pid));
      const served = await Promise.all(
        cluster.nodes.map(
          async (n) =>
            ((await (await fetch(`${n.url}/healthz`)).json()) as { users: number }).users,
        ),
      );
      for (const [a, b] of pairs) {
        a.ws.terminate();
        b.ws.terminate();
      }
      baseline ??= latency.p99;
      const line = `  ${nodes} node(s), ${users} users, ${users * 2} connections: push ${fmt(latency)} (p99 x${(latency.p99 / baseline).toFixed(2)} of one node); per node: ${perNode.map((u, i) => `${served[i]} users, ${u.rssMiB.toFixed(0)} MiB, ${u.files} open files, ${u.databases} user databases open`).join("; ")}`;
      console.log(line);
      rows.push([
        nodes,
        users,
        users * 2,
        latency.median.toFixed(2),
        latency.p99.toFixed(2),
        (latency.p99 / baseline).toFixed(2),
        served.join(" / "),
        perNode.map((u) => u.rssMiB.toFixed(0)).join(" / "),
        perNode.map((u) => u.files).join(" / "),
        perNode.map((u) => u.databases).join(" / "),
      ]);
    } finally {
      await cluster.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return table(
    [
      "nodes",
      "users",
      "connections",
      "push median ms",
      "push p99 ms",
      "p99 vs one node",
      "users per node",
      "RSS MiB per node",
      "open files per node",
      "user databases open per node",
    ],
    rows,
  );
}
