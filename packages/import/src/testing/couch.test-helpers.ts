import expressPouchDB from "express-pouchdb";
import http from "node:http";
import type { AddressInfo } from "node:net";
import PouchDB from "pouchdb-core";
import PouchHttp from "pouchdb-adapter-http";
import PouchMemory from "pouchdb-adapter-memory";
import PouchMapReduce from "pouchdb-mapreduce";
import PouchReplication from "pouchdb-replication";

/**
 * A CouchDB stand-in: express-pouchdb 4.2 on PouchDB's memory adapter, on loopback. CouchDB
 * itself is not installable here (no Debian package); express-pouchdb implements the HTTP API the
 * importer uses (`_changes` with all_docs/conflicts, `open_revs=all`, `_bulk_docs` with
 * new_edits:false, attachments). Its sequences are integers where CouchDB 3's are opaque strings;
 * the importer treats both as opaque.
 */
export interface CouchStandIn {
  readonly url: string;
  /** `_changes` requests answered so far. */
  changesRequests: number;
  /** When set, the `_changes` request with this number (1-based) has its connection cut. */
  cutChangesRequest: number | null;
  request(method: string, path: string, body?: unknown): Promise<unknown>;
  close(): Promise<void>;
}

let instances = 0;
/** Plugins can be added to PouchDB only once per process. */
const Pouch = PouchDB.plugin(PouchMemory)
  .plugin(PouchHttp)
  .plugin(PouchReplication)
  .plugin(PouchMapReduce);

export async function startCouchStandIn(): Promise<CouchStandIn> {
  const app = expressPouchDB(
    Pouch.defaults({ adapter: "memory", prefix: `standin${instances++}-` }),
    {
      mode: "minimumForPouchDB",
      inMemoryConfig: true,
      logPath: "/dev/null",
    },
  );
  const standIn = {
    url: "",
    changesRequests: 0,
    cutChangesRequest: null as number | null,
    async request(method: string, path: string, body?: unknown) {
      const res = await fetch(`${standIn.url}${path}`, {
        method,
        headers: { "content-type": "application/json", accept: "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const json = (await res.json()) as unknown;
      if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
      return json;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const server = http.createServer((req, res) => {
    if (req.url?.includes("/_changes")) {
      standIn.changesRequests++;
      if (standIn.changesRequests === standIn.cutChangesRequest) return req.socket.destroy();
    }
    app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  standIn.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return standIn;
}
