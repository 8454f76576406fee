// Test helpers shared by the test files: real socket.io clients that record every room event,
// and raw Engine.IO sockets seated in a room with exact frames.

import assert from "node:assert/strict";
import { io } from "socket.io-client";
import ioV2 from "socket.io-client-v2";
import { io as ioV3 } from "socket.io-client-v3";
import { RawPolling, RawSocket, eventFrame, logFrame, waitFor } from "./helpers.mjs";

const ROOM_EVENTS = ["log", "created", "joined", "join", "ready", "full", "message", "bye"];

/**
 * A real socket.io client (major 4 or 3, or 2 for Engine.IO v3) for `room`, recording every room event
 * in `socket.events` and every disconnect reason in `socket.disconnects`. `transports` undefined:
 * the client's defaults (long-polling, then the upgrade).
 */
export function client(server, room, { major = 4, transports } = {}) {
  const opts = { query: { room }, forceNew: true, ...(transports ? { transports } : {}) };
  const socket = { 4: io, 3: ioV3, 2: ioV2 }[major](server.url, opts);
  socket.events = [];
  socket.disconnects = [];
  for (const name of ROOM_EVENTS) socket.on(name, (...args) => socket.events.push([name, ...args]));
  socket.on("disconnect", (reason) => socket.disconnects.push(reason));
  return socket;
}

/** The names of the events `socket` received, in order. */
export const names = (socket) => socket.events.map((e) => e[0]);

/** The arguments of every `name` event `socket` received. */
export const of = (socket, name) => socket.events.filter((e) => e[0] === name).map((e) => e.slice(1));

/** Waits until `socket` has received its `n`-th (1-based) event `name`; returns its arguments. */
export function nextEvent(socket, name, n = 1, timeout = 10_000) {
  return waitFor(() => of(socket, name)[n - 1], {
    timeout,
    interval: 10,
    what: `event '${name}' #${n} (got ${JSON.stringify(names(socket))})`,
  });
}

/**
 * A raw v4 or v3 socket connected to `/` and seated in `room`, through `via` (a server or a
 * TcpProxy): the two log lines, then `created` (the first) or `joined` + `ready`, exact.
 */
export async function seatRaw(via, room, { eio = 4, extra = "" } = {}) {
  const s = await RawSocket.connect(via, { room, eio, extra });
  s.send(eventFrame("create or join", room));
  const frames = await s.take(3);
  assert.equal(frames[1], logFrame(`Request to create or join room ${room}`));
  if (frames[2].startsWith('42["joined"')) {
    assert.equal(frames[2], eventFrame("joined", room, s.socketId));
    assert.equal(await s.next(), eventFrame("ready", room));
  } else {
    assert.equal(frames[2], eventFrame("created", room, s.socketId));
  }
  return s;
}

/** `a` seated on a websocket, then `b` over long-polling; both past `ready`. */
export async function seatMixedPair(server, room) {
  const a = await seatRaw(server, room);
  const b = await RawPolling.connect(server, { room });
  await b.send(eventFrame("create or join", room));
  assert.deepEqual(await b.take(4), [
    logFrame(`Room ${room} has 1 client(s)`),
    logFrame(`Request to create or join room ${room}`),
    eventFrame("joined", room, b.socketId),
    eventFrame("ready", room),
  ]);
  assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
  return { a, b };
}
