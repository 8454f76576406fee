// Baseline: what a user of the codelab would run instead of this project. Node + socket.io 4,
// websocket transport only (`--transports polling,websocket` for socket.io's default, which the
// long-polling benchmark uses), implementing CONTRACT.md's room events (same frames, same log
// lines).
//
//   node bench/servers/socketio.mjs --port N [--ping-interval ms] [--ping-timeout ms] [--transports list]
//
// Deliberately idiomatic socket.io code (rooms via socket.join, relay via socket.to(room).emit),
// the way the codelab's server is written, with the contract's two-seat rules added.

import http from "node:http";
import { Server } from "socket.io";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((acc, a, i, all) => (a.startsWith("--") ? [...acc, [a.slice(2), all[i + 1]]] : acc), []),
);
const port = Number(args.port ?? 3000);
const ROOM_RE = /^[A-Za-z0-9._-]{1,64}$/;

const httpServer = http.createServer((req, res) => {
  res.writeHead(404).end();
});
const io = new Server(httpServer, {
  transports: (args.transports ?? "websocket").split(","),
  pingInterval: Number(args["ping-interval"] ?? 25000),
  pingTimeout: Number(args["ping-timeout"] ?? 20000),
  maxHttpBufferSize: 65536,
  serveClient: false,
  cors: { origin: true },
});

/** room name -> sockets holding its seats (at most two). */
const seats = new Map();

io.use((socket, next) => {
  const room = socket.handshake.query.room;
  if (typeof room !== "string" || !ROOM_RE.test(room)) return next(new Error("Bad request"));
  next();
});

io.on("connection", (socket) => {
  const room = socket.handshake.query.room;
  let seated = false;

  function log(...parts) {
    socket.emit("log", [">>> Message from server: ", ...parts]);
  }

  function depart() {
    if (!seated) return;
    seated = false;
    const set = seats.get(room);
    set.delete(socket);
    socket.leave(room);
    if (set.size === 0) seats.delete(room);
    else socket.to(room).emit("bye", room);
  }

  socket.on("create or join", (asked) => {
    if (asked !== room) {
      log(`Ignored create or join: this connection belongs to room ${room}`);
      return;
    }
    const set = seats.get(room) ?? new Set();
    const taken = set.size;
    log(`Room ${room} has ${taken} client(s)`);
    log(`Request to create or join room ${room}`);
    if (seated) {
      log(`You already have a seat in room ${room}`);
      return;
    }
    if (taken === 0) {
      seats.set(room, set);
      set.add(socket);
      seated = true;
      socket.join(room);
      socket.emit("created", room, socket.id);
    } else if (taken === 1) {
      set.add(socket);
      seated = true;
      socket.emit("joined", room, socket.id);
      socket.emit("ready", room);
      socket.to(room).emit("join", room);
      socket.to(room).emit("ready", room);
      socket.join(room);
    } else {
      socket.emit("full", room);
      socket.disconnect(true);
    }
  });

  socket.on("message", (message) => {
    if (!seated) return;
    socket.to(room).emit("message", message);
    log("Got message:", message);
  });

  socket.on("bye", () => depart());
  socket.on("disconnect", () => depart());
});

httpServer.listen(port, "127.0.0.1", () => {
  console.log(`socket.io baseline listening on 127.0.0.1:${port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
