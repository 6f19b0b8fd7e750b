import { createNotesApi } from "@notesync/client-core/node";
import S3rver from "s3rver";
import { device, signup, startNoteSync, tmp } from "./common.js";
import { noteSyncLatency } from "./live.js";
import { sleep } from "./procs.js";
import { ms, ratio, table } from "./stats.js";

/**
 * What continuous backup costs: live latency (1 writer, 1 reader) with backup off and on in the
 * same run, and bytes uploaded to the object store per edit, for two workloads: the live
 * benchmark's edits of one cell, and new notes with a title and a body. The store is s3rver in
 * this process (no S3 here); uploads every second (NOTESYNC_BACKUP_INTERVAL_MS=1000).
 */
export async function backupCost(edits = 200): Promise<string> {
  const s3 = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: tmp("bench-s3-"),
    configureBuckets: [{ name: "bench" }],
  });
  const { port } = await s3.run();
  const env = {
    NOTESYNC_BACKUP_URL: "s3://bench/notesync",
    NOTESYNC_BACKUP_INTERVAL_MS: "1000",
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: "S3RVER",
    AWS_SECRET_ACCESS_KEY: "S3RVER",
    AWS_REGION: "us-east-1",
  };
  const uploaded = async (url: string) => {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/^notesync_backup_uploaded_bytes_total (\d+)/m.exec(text)?.[1] ?? 0);
  };
  try {
    const off = await noteSyncLatency(1, edits);
    let start = 0;
    let cellBytes = 0;
    const on = await noteSyncLatency(1, edits, env, {
      before: async (url) => {
        await sleep(1500); // the first snapshot and accounts.db are not the edits' cost
        start = await uploaded(url);
      },
      after: async (url) => {
        await sleep(1500);
        cellBytes = (await uploaded(url)) - start;
      },
    });
    const off2 = await noteSyncLatency(1, edits);
    const noteBytes = await bytesPerNewNote(env, uploaded, edits);
    const row = (name: string, x: typeof off) => [
      name,
      ms(x.median),
      ms(x.p95),
      ms(x.p99),
      ratio(off.p99, x.p99),
    ];
    const rows = [
      row("backup off", off),
      row("backup on (every 1 s)", on),
      row("backup off, again", off2),
    ];
    return [
      table(["NoteSync, 1 reader", "median ms", "p95 ms", "p99 ms", "p99 / off"], rows),
      `  uploaded per edit of one cell (${edits} edits, the live workload): ${(cellBytes / edits).toFixed(0)} B`,
      `  uploaded per new note with a title and a 200-character body (${edits} notes): ${noteBytes.toFixed(0)} B`,
    ].join("\n");
  } finally {
    await s3.close();
  }
}

async function bytesPerNewNote(
  env: NodeJS.ProcessEnv,
  uploaded: (url: string) => Promise<number>,
  notes: number,
): Promise<number> {
  const server = await startNoteSync(undefined, undefined, env);
  try {
    const token = await signup(server.url, "notes");
    const d = await device(
      tmp("bench-backup-"),
      "writer",
      `${server.url.replace("http", "ws")}/sync`,
      token,
    );
    const api = createNotesApi(d.db, { onChange: (l) => d.client.on("change", l) });
    await d.client.whenSynced();
    await sleep(1500);
    const start = await uploaded(server.url);
    for (let i = 0; i < notes; i++) await api.create({ title: `note ${i}`, body: "x".repeat(200) });
    await d.client.whenSynced();
    await sleep(1500);
    const bytes = (await uploaded(server.url)) - start;
    await d.close();
    return bytes / notes;
  } finally {
    await server.stop();
  }
}
