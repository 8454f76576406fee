// Unmodified socket.io clients of another ecosystem: python-socketio (PyPI, installed by
// scripts/setup.sh into .venv/) as one peer of a room, a socket.io-client 4.x page-like peer as
// the other, with python's default transports (polling, then the upgrade) and each one alone.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { ROOT, startServer, waitFor } from "./helpers.mjs";
import { client, nextEvent, of } from "./sio-clients.mjs";

const PYTHON = path.join(ROOT, ".venv/bin/python");
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
