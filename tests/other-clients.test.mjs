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

describe("python-socketio as a peer", { skip: missing }, () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  for (const transports of ["default", "polling", "websocket"]) {
    test(`python-socketio (${transports} transports) and socket.io-client 4.x: the room table and a message each way`, async () => {
      const room = `py-${transports}-${Math.random().toString(36).slice(2, 8)}`;
      const js = client(server, room, { transports: ["websocket"] });
      await waitFor(() => js.connected, { what: "the JS peer" });
      js.emit("create or join", room);
      await nextEvent(js, "created");
      const py = spawn(PYTHON, [path.join(ROOT, "tests/clients/python_peer.py"), server.url, room, transports], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let out = "";
      let err = "";
      py.stdout.on("data", (d) => (out += d));
      py.stderr.on("data", (d) => (err += d));
      const exited = new Promise((resolve) => py.once("exit", resolve));
      try {
        await nextEvent(js, "ready");
        assert.deepEqual(await nextEvent(js, "message"), [{ from: "python", text: "héllo 🐍" }]);
        js.emit("message", { from: "js", n: [1, 2.5, null] });
        assert.deepEqual(await nextEvent(js, "bye"), [room]);
        const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000, "timeout"))]);
        assert.equal(code, 0, `python exited ${code}\n${out}\n${err}`);
      } finally {
        py.kill();
        js.close();
      }
      const events = out.trim().split("\n").map((l) => JSON.parse(l));
      const named = (n) => events.filter((e) => e[0] === n).map((e) => e.slice(1));
      assert.equal(named("joined")[0][0], room);
      assert.deepEqual(named("ready"), [[room]]);
      assert.deepEqual(named("message"), [[{ from: "js", n: [1, 2.5, null] }]]);
      assert.deepEqual(named("log")[0], [[">>> Message from server: ", `Room ${room} has 1 client(s)`]]);
      const last = named("transport")[0]?.[0];
      if (transports === "default") assert.equal(last, "websocket", "python upgraded to websocket");
      else assert.equal(last, transports);
      assert.ok(of(js, "message").length === 1);
    });
  }
});

/**
 * Runs tests/clients/rust_peer as the second peer of a new room whose first is a socket.io-client
 * 4.x: both seated, a message each way, then the Rust peer's `bye`. Returns the events it printed.
 */
async function rustCall(server, transport, hold = 0) {
  const room = `rs-${transport}-${Math.random().toString(36).slice(2, 8)}`;
  const js = client(server, room, { transports: ["websocket"] });
  await waitFor(() => js.connected, { what: "the JS peer" });
  js.emit("create or join", room);
  await nextEvent(js, "created");
  const rs = spawn(RUST_PEER, [server.url, room, transport, String(hold)], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  rs.stdout.on("data", (d) => (out += d));
  rs.stderr.on("data", (d) => (err += d));
  const exited = new Promise((resolve) => rs.once("exit", resolve));
  try {
    await nextEvent(js, "ready");
    const readyAt = Date.now();
    assert.deepEqual(await nextEvent(js, "message", 1, 10_000 + hold), [{ from: "rust", text: "héllo 🦀" }]);
    assert.ok(Date.now() - readyAt >= hold, "the message came after the hold");
    js.emit("message", { from: "js", n: [1, 2.5, null] });
    assert.deepEqual(await nextEvent(js, "bye"), [room]);
    assert.deepEqual(js.disconnects, []);
    const code = await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000, "timeout"))]);
    assert.equal(code, 0, `rust-peer exited ${code}`);
  } catch (e) {
    e.message += `\n--- rust-peer stdout ---\n${out}\n--- stderr ---\n${err}`;
    throw e;
  } finally {
    rs.kill();
    js.close();
  }
  const events = out.trim().split("\n").map((l) => JSON.parse(l));
  const named = (n) => events.filter((e) => e[0] === n).map((e) => e.slice(1));
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
  assert.deepEqual(named("log")[2], [[">>> Message from server: ", "Got message:", { from: "rust", text: "héllo 🦀" }]]);
  assert.deepEqual(named("message"), [[{ from: "js", n: [1, 2.5, null] }]]);
  assert.deepEqual(named("full").concat(named("bye")), []);
  assert.equal(of(js, "message").length, 1);
  return events;
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
