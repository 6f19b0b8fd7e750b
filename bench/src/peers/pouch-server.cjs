// A CouchDB-compatible server: express-pouchdb on the memory adapter, on loopback.
const http = require("node:http");
const PouchDB = require("pouchdb-core")
  .plugin(require("pouchdb-adapter-memory"))
  .plugin(require("pouchdb-adapter-http"))
  .plugin(require("pouchdb-replication"))
  .plugin(require("pouchdb-mapreduce"));
const MemPouch = PouchDB.defaults({ adapter: "memory" });
const app = require("express-pouchdb")(MemPouch, {
  mode: "minimumForPouchDB",
  inMemoryConfig: true,
  logPath: "/dev/null",
});
const server = http.createServer(app);
server.listen(0, "127.0.0.1", () => console.log(`READY http://127.0.0.1:${server.address().port}`));
process.on("SIGTERM", () => process.exit(0));
