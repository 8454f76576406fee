// Unmodified socket.io clients of other ecosystems as one peer of a room, a socket.io-client 4.x
// page-like peer as the other: python-socketio (PyPI, installed by scripts/setup.sh into .venv/),
// with python's default transports (polling, then the upgrade) and each one alone; and Rust's
// rust_socketio (crates.io, tests/clients/rust_peer, built by scripts/setup.sh), with each of its
// transport choices, and through heartbeats it must answer itself.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, startServer, waitFor } from "./helpers.mjs";
import { client, nextEvent, of } from "./sio-clients.mjs";

const PYTHON = path.join(ROOT, ".venv/bin/python");
const RUST_PEER = path.join(ROOT, "tests/clients/rust_peer/target/debug/rust-peer");
const rustMissing = existsSync(RUST_PEER) ? false : "no rust_socketio peer built: run scripts/setup.sh --browser";
const missing = existsSync(PYTHON) ? false : "no .venv with python-socketio: run scripts/setup.sh --browser";

/**
 * A call between a socket.io-client 4.x peer, seated first in a new room, and another ecosystem's
 * client run as `command args… URL ROOM extra…`, which joins, sends `sent` once `ready` came
 * (after holding it `hold` ms), and leaves with `bye` once it got the JS peer's message. Checks
 * that exchange from the JS side and that the process exits 0; returns the room and the
 * events the process printed (one JSON array `[name, ...args]` a line) by name.
 */
async function peerCall(server, { name, command, args, extra, sent, hold = 0 }) {
  const room = `${name}-${extra[0]}-${Math.random().toString(36).slice(2, 8)}`;
  const js = client(server, room, { transports: ["websocket"] });
  await waitFor(() => js.connected, { what: "the JS peer" });
  js.emit("create or join", room);
  await nextEvent(js, "created");
  // The process holds from its own `ready`, which cannot come before it started: the hold is
  // measured from the spawn (the JS peer's `ready` may reach this test after the process's).
  const spawnedAt = Date.now();
  const peer = spawn(command, [...args, server.url, room, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  peer.stdout.on("data", (d) => (out += d));
  peer.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => peer.once("exit", resolve));
  try {
    await nextEvent(js, "ready");
    assert.deepEqual(await nextEvent(js, "message", 1, 10_000 + hold), [sent]);
    const heldMs = Date.now() - spawnedAt;
    assert.ok(heldMs >= hold, `the message came ${heldMs} ms after the spawn, before the ${hold} ms hold`);
    js.emit("message", { from: "js", n: [1, 2.5, null] });
    assert.deepEqual(await nextEvent(js, "bye"), [room]);
    assert.deepEqual(js.disconnects, []);
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000, "timeout"))]);
    assert.equal(code, 0, `${name} exited ${code}`);
  } catch (e) {
    e.message += `\n--- ${name} stdout ---\n${out}\n--- stderr ---\n${err}`;
    throw e;
  } finally {
    peer.kill();
    js.close();
  }
  assert.equal(of(js, "message").length, 1);
  const events = out.trim().split("\n").map((l) => JSON.parse(l));
  const named = (n) => events.filter((e) => e[0] === n).map((e) => e.slice(1));
  return { room, events, named };
}

describe("python-socketio as a peer", { skip: missing }, () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  for (const transports of ["default", "polling", "websocket"]) {
    test(`python-socketio (${transports} transports) and socket.io-client 4.x: the room table and a message each way`, async () => {
      const { room, named } = await peerCall(server, {
        name: "python",
        command: PYTHON,
        args: [path.join(ROOT, "tests/clients/python_peer.py")],
        extra: [transports],
        sent: { from: "python", text: "héllo 🐍" },
      });
      assert.equal(named("joined")[0][0], room);
      assert.deepEqual(named("ready"), [[room]]);
      assert.deepEqual(named("message"), [[{ from: "js", n: [1, 2.5, null] }]]);
      assert.deepEqual(named("log")[0], [[">>> Message from server: ", `Room ${room} has 1 client(s)`]]);
      const last = named("transport")[0]?.[0];
      if (transports === "default") assert.equal(last, "websocket", "python upgraded to websocket");
      else assert.equal(last, transports);
    });
  }
});

/**
 * tests/clients/rust_peer as the second peer (see `peerCall`), and what it printed: the room
 * table, its own message's echo, the JS peer's message, each once.
 */
async function rustCall(server, transport, hold = 0) {
  const sent = { from: "rust", text: "héllo 🦀" };
  const { room, events, named } = await peerCall(server, {
    name: "rust-peer",
    command: RUST_PEER,
    args: [],
    extra: [transport, String(hold)],
    sent,
    hold,
  });
  assert.deepEqual(events[0], ["connect"]);
  assert.deepEqual(named("log").slice(0, 2), [
    [[">>> Message from server: ", `Room ${room} has 1 client(s)`]],
    [[">>> Message from server: ", `Request to create or join room ${room}`]],
  ]);
  assert.equal(named("joined").length, 1);
  assert.equal(named("joined")[0][0], room);
  assert.match(named("joined")[0][1], /^[A-Za-z0-9_-]{20}$/);
  assert.deepEqual(named("ready"), [[room]]);
  // The echo of its own message, then the JS peer's message, each once.
  assert.deepEqual(named("log")[2], [[">>> Message from server: ", "Got message:", sent]]);
  assert.deepEqual(named("message"), [[{ from: "js", n: [1, 2.5, null] }]]);
  assert.deepEqual(named("full").concat(named("bye")), []);
}

describe("rust_socketio as a peer", { skip: rustMissing }, () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  // any: a polling handshake, then the upgrade if offered; upgrade: the same, failing if the
  // upgrade does not happen; and each transport alone.
  for (const transport of ["any", "upgrade", "polling", "websocket"]) {
    test(`rust_socketio (${transport}) and socket.io-client 4.x: the room table and a message each way`, async () => {
      await rustCall(server, transport);
    });
  }
});

describe("rust_socketio through heartbeats", { skip: rustMissing }, () => {
  // Rounds of 1 s + 0.5 s: a client that does not pong is closed 1.5 s after a ping.
  const PING_INTERVAL = 1000;
  const PING_TIMEOUT = 500;
  const HOLD = 4 * (PING_INTERVAL + PING_TIMEOUT);
  let server;
  before(async () => {
    server = await startServer({ vars: { PING_INTERVAL: String(PING_INTERVAL), PING_TIMEOUT: String(PING_TIMEOUT) } });
  });
  after(async () => server?.stop());

  for (const transport of ["polling", "websocket"]) {
    test(`rust_socketio (${transport}) answers the pings itself: still seated and relaying after ${HOLD} ms of rounds`, async () => {
      await rustCall(server, transport, HOLD);
    });
  }
});
