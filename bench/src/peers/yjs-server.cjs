// y-websocket's own server (in memory, nothing durable), on loopback.
const http = require("node:http");
const { WebSocketServer } = require("ws");
const { setupWSConnection } = require("y-websocket/bin/utils");

const server = http.createServer();
const wss = new WebSocketServer({ server });
wss.on("connection", (ws, req) => setupWSConnection(ws, req, { gc: true }));
server.listen(0, "127.0.0.1", () => console.log(`READY ws://127.0.0.1:${server.address().port}`));
process.on("SIGTERM", () => process.exit(0));
