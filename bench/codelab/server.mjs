// The codelab's step-05 server, reproduced for the time-to-call benchmark (bench/lib/call-time.mjs):
// Google's "Real time communication with WebRTC" codelab, step 05 ("Combine peer connection and
// signaling"), serves its page with node-static and relays with socket.io: `create or join`
// (first socket `created`, second `join` to the room and `joined` to itself, then `ready` to the
// room, a third `full`), `message` broadcast to everyone else, `log` lines. This is a minimal
// equivalent written for this benchmark (not the codelab's code): a static file handler stands
// in for node-static, and the socket.io 4 server of this repository's node_modules (default
// options: long-polling, then the upgrade to websocket) for the codelab's socket.io 2.
//
//   node bench/codelab/server.mjs --port N

import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Server } from "socket.io";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css" };

// The static files (what node-static did): index.html at /, the rest by path, nothing outside.
const httpServer = http.createServer(async (req, res) => {
  const url = new URL(req.url, "http://x");
  const rel = url.pathname === "/" ? "index.html" : path.normalize(url.pathname).replace(/^\/+/, "");
  const file = path.join(HERE, rel);
  if (!file.startsWith(HERE + path.sep)) return res.writeHead(404).end();
  try {
    const body = await readFile(file);
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] ?? "application/octet-stream" }).end(body);
  } catch {
    res.writeHead(404).end();
  }
});

// socket.io with its defaults (it serves its client at /socket.io/socket.io.js).
const io = new Server(httpServer);

io.on("connection", (socket) => {
  const log = (...parts) => socket.emit("log", ["Message from server:", ...parts]);

  socket.on("message", (message) => {
    log("Client said: ", message);
    // The codelab sends a message to every other socket (it has one room in mind).
    socket.broadcast.emit("message", message);
  });

  socket.on("create or join", (room) => {
    log(`Received request to create or join room ${room}`);
    const clients = io.sockets.adapter.rooms.get(room)?.size ?? 0;
    log(`Room ${room} now has ${clients} client(s)`);
    if (clients === 0) {
      socket.join(room);
      socket.emit("created", room, socket.id);
    } else if (clients === 1) {
      io.in(room).emit("join", room);
      socket.join(room);
      socket.emit("joined", room, socket.id);
      io.in(room).emit("ready");
    } else {
      socket.emit("full", room);
    }
  });

  socket.on("bye", () => console.log("received bye"));
});

httpServer.listen(Number(args.port ?? 8080), "127.0.0.1", () => console.log(`codelab step-05 server on ${args.port}`));
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
