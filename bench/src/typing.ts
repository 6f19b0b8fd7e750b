import { createNotesApi } from "@notesync/client-core/node";
import Database from "better-sqlite3";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import WebSocket from "ws";
import { WebsocketProvider } from "y-websocket";
import * as Y from "yjs";
import { device, here, signup, startNoteSync, tmp } from "./common.js";
import { startChild, waitUntil } from "./procs.js";
import { fmt, summarize, table, type Summary } from "./stats.js";

/** A TCP proxy on loopback that counts the bytes each way (WebSocket framing included). */
async function countingProxy(
  target: URL,
): Promise<{ url: URL; up: number; down: number; close(): void }> {
  const counts = { up: 0, down: 0 };
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on("data", (d) => {
      counts.up += d.length;
      upstream.write(d);
    });
    upstream.on("data", (d) => {
      counts.down += d.length;
      client.write(d);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end).on("error", end);
    upstream.on("close", end).on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(target);
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url,
    get up() {
      return counts.up;
    },
    get down() {
      return counts.down;
    },
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

/** 30 KB of text: 600 short lines. */
const TEXT = Array.from({ length: 600 }, (_, i) => `Line ${i}: ${"lorem ipsum ".repeat(3)}`)
  .join("\n")
  .slice(0, 30_000);

interface TypingResult {
  readonly latency: Summary;
  readonly upPerEdit: number;
  readonly downPerEdit: number;
  /** Server storage per edit (bytes in use after a checkpoint), or null when nothing is stored. */
  readonly storagePerEdit: number | null;
  /** After all edits: bytes the note adds to the server's database, divided by its text's length. */
  readonly storageToText: number | null;
}

/** Where the writer types: one spot in the middle, as a person editing a paragraph does. */
const SPOT = 15_000;

/**
 * Types `edits` characters at one spot of `mine`, one at a time; over the first `latencyEdits`
 * waits for each to reach `theirs` (the latency samples) and counts the bytes each way.
 */
async function typeInto(
  mine: Y.Text,
  theirs: Y.Text,
  [up, down]: [{ up: number }, { down: number }],
  options: { edits: number; latencyEdits: number; between: () => Promise<void> },
): Promise<{ samples: number[]; perEdit: { up: number; down: number } }> {
  const samples: number[] = [];
  const start = { up: up.up, down: down.down };
  let perEdit = { up: 0, down: 0 };
  let expected = theirs.length;
  for (let i = 0; i < options.edits; i++) {
    const t0 = performance.now();
    mine.insert(SPOT + i, "abcdefghijklmnopqrstuvwxyz"[i % 26]!);
    expected++;
    if (i < options.latencyEdits) {
      await waitUntil(() => theirs.length === expected, 30_000, 0);
      samples.push(performance.now() - t0);
    } else await options.between();
    if (i === options.latencyEdits - 1)
      perEdit = {
        up: (up.up - start.up) / options.latencyEdits,
        down: (down.down - start.down) / options.latencyEdits,
      };
  }
  return { samples, perEdit };
}

/** Bytes in use by a SQLite file after a checkpoint (pages not on the free list). */
function usedBytes(file: string): number {
  const db = new Database(file);
  try {
    db.pragma("wal_checkpoint(TRUNCATE)");
    const pages = db.pragma("page_count", { simple: true }) as number;
    const free = db.pragma("freelist_count", { simple: true }) as number;
    return (pages - free) * (db.pragma("page_size", { simple: true }) as number);
  } finally {
    db.close();
  }
}

async function noteSync(edits: number, latencyEdits: number): Promise<TypingResult> {
  const dataDir = tmp("bench-typing-");
  const server = await startNoteSync(dataDir);
  const dir = tmp("bench-typing-clients-");
  try {
    const token = await signup(server.url, "typist");
    const syncUrl = new URL(`${server.url.replace("http", "ws")}/sync`);
    const upProxy = await countingProxy(syncUrl);
    const downProxy = await countingProxy(syncUrl);
    const writer = await device(dir, "writer", upProxy.url.href, token);
    const reader = await device(dir, "reader", downProxy.url.href, token);
    await Promise.all([writer.client.whenSynced(), reader.client.whenSynced()]);
    // The user's database exists once a device has connected; it holds no note yet.
    const users = path.join(dataDir, "users");
    const userFile = path.join(
      users,
      fs.readdirSync(users).find((f) => f.endsWith(".db"))!,
    );
    const emptyBytes = usedBytes(userFile);
    const notes = createNotesApi(writer.db, { onChange: (l) => writer.client.on("change", l) });
    const readerNotes = createNotesApi(reader.db, {
      onChange: (l) => reader.client.on("change", l),
    });
    const note = await notes.create({ title: "Typing", body: TEXT });
    await writer.client.whenSynced();
    const mine = await notes.openDocument(note.id);
    await waitUntil(async () => (await readerNotes.get(note.id))?.body.length === TEXT.length);
    const theirs = await readerNotes.openDocument(note.id);
    await reader.client.whenSynced();
    const baseBytes = usedBytes(userFile);

    const { samples, perEdit } = await typeInto(mine.body, theirs.body, [upProxy, downProxy], {
      edits,
      latencyEdits,
      // Each keystroke is its own event: let the socket be read between them, as in a page.
      between: async () => {
        await mine.flush();
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    const expected = TEXT.length + edits;
    await writer.client.whenSynced();
    await waitUntil(() => theirs.body.length === expected, 60_000, 5);
    await Promise.all([mine.close(), theirs.close()]);
    await Promise.all([writer.close(), reader.close()]);
    // Settled: devices store their last acknowledgement when they disconnect, and the server
    // then drops the tombstones they have all seen.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const stored = usedBytes(userFile);
    upProxy.close();
    downProxy.close();
    return {
      latency: summarize(samples),
      upPerEdit: perEdit.up,
      downPerEdit: perEdit.down,
      storagePerEdit: (stored - baseBytes) / edits,
      storageToText: (stored - emptyBytes) / expected,
    };
  } finally {
    await server.stop();
  }
}

/** The same edits through y-websocket's server (in memory: it stores nothing durably). */
async function yWebsocket(edits: number, latencyEdits: number): Promise<TypingResult> {
  const server = await startChild(path.join(here, "../src/peers/yjs-server.cjs"));
  const upProxy = await countingProxy(new URL(server.url));
  const downProxy = await countingProxy(new URL(server.url));
  try {
    const connect = (url: URL) => {
      const doc = new Y.Doc();
      const provider = new WebsocketProvider(url.href, "typing", doc, {
        WebSocketPolyfill: WebSocket as never,
        disableBc: true,
      });
      return { doc, provider, body: doc.getText("body") };
    };
    const writer = connect(upProxy.url);
    const reader = connect(downProxy.url);
    await waitUntil(() => writer.provider.synced && reader.provider.synced, 30_000, 5);
    writer.body.insert(0, TEXT);
    await waitUntil(() => reader.body.length === TEXT.length, 30_000, 1);
    const { samples, perEdit } = await typeInto(writer.body, reader.body, [upProxy, downProxy], {
      edits,
      latencyEdits,
      between: async () => undefined,
    });
    const expected = TEXT.length + edits;
    await waitUntil(() => reader.body.length === expected, 60_000, 5);
    writer.provider.destroy();
    reader.provider.destroy();
    return {
      latency: summarize(samples),
      upPerEdit: perEdit.up,
      downPerEdit: perEdit.down,
      storagePerEdit: null,
      storageToText: null,
    };
  } finally {
    upProxy.close();
    downProxy.close();
    await server.stop();
  }
}

/**
 * Typing into a 30 KB note: one character per edit at one spot, a writer and a reader (Node
 * clients, each through a byte-counting proxy), the latency from the writer's keystroke until
 * the reader's document has it, bytes each way per edit, and what the server stores.
 */
export async function typing(
  edits = Number(process.env.BENCH_TYPING_EDITS ?? 10_000),
): Promise<string> {
  const latencyEdits = Math.min(500, edits);
  const ours = await noteSync(edits, latencyEdits);
  console.log(`  NoteSync typing: ${fmt(ours.latency)}`);
  const yjs = await yWebsocket(edits, latencyEdits);
  console.log(`  y-websocket typing: ${fmt(yjs.latency)}`);
  const bytes = (x: number | null) => (x === null ? "n/a (in memory)" : `${Math.round(x)} B`);
  return (
    table(
      ["", "NoteSync", "y-websocket", "NoteSync / y-websocket", "target"],
      [
        [
          "keystroke -> other client, median",
          ours.latency.median.toFixed(2) + " ms",
          yjs.latency.median.toFixed(2) + " ms",
          (ours.latency.median / yjs.latency.median).toFixed(1) + "x",
          "",
        ],
        [
          "keystroke -> other client, p95",
          ours.latency.p95.toFixed(2) + " ms",
          yjs.latency.p95.toFixed(2) + " ms",
          (ours.latency.p95 / yjs.latency.p95).toFixed(1) + "x",
          "",
        ],
        [
          "bytes up per edit (writer)",
          bytes(ours.upPerEdit),
          bytes(yjs.upPerEdit),
          (ours.upPerEdit / yjs.upPerEdit).toFixed(1) + "x",
          "<= 300 B",
        ],
        [
          "bytes down per edit (reader)",
          bytes(ours.downPerEdit),
          bytes(yjs.downPerEdit),
          (ours.downPerEdit / yjs.downPerEdit).toFixed(1) + "x",
          "<= 300 B",
        ],
        [
          `server storage per edit after compaction (${edits} edits)`,
          bytes(ours.storagePerEdit),
          bytes(yjs.storagePerEdit),
          "",
          "<= 1 KB",
        ],
        [
          `note's share of the database / its text, after ${edits} edits`,
          ours.storageToText === null ? "n/a" : ours.storageToText.toFixed(2) + "x",
          "n/a (in memory)",
          "",
          "<= 3x",
        ],
      ],
    ) +
    `\n\nLatency over the first ${latencyEdits} edits, one at a time; bytes over the same edits.`
  );
}
