// Floor: a bare Node `ws` relay of text frames between the two sockets of a room. No Engine.IO,
// no Socket.IO, no log lines: the least any relay on Node can do per message.
//
//   node bench/servers/ws-floor.mjs --port N
//
// Pairs sockets by the `room` query parameter. So that the driver can time a join the same way
// as on the real servers, the first socket of a room gets the text frame `created`, the second
// `joined` (and the first `ready`). Every other text frame goes verbatim to the other socket.

import http from "node:http";
import { WebSocketServer } from "ws";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 3001);

const httpServer = http.createServer((req, res) => res.writeHead(404).end());
const wss = new WebSocketServer({ server: httpServer, maxPayload: 65536, perMessageDeflate: false });
/** room name -> sockets (at most two). */
const rooms = new Map();

wss.on("connection", (ws, req) => {
  const room = new URL(req.url, "http://x").searchParams.get("room") ?? "";
  let set = rooms.get(room);
  if (!set) rooms.set(room, (set = new Set()));
  if (set.size >= 2) {
    ws.close(1000, "full");
    return;
  }
  const peer = set.values().next().value;
  set.add(ws);
  if (peer) {
    ws.send("joined");
    peer.send("ready");
  } else {
    ws.send("created");
  }
  ws.on("message", (data, isBinary) => {
    for (const other of set) if (other !== ws) other.send(data, { binary: isBinary });
  });
  ws.on("close", () => {
    set.delete(ws);
    if (set.size === 0) rooms.delete(room);
  });
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`ws floor listening on 127.0.0.1:${port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
