// Shared by the integration tests: start `wrangler dev` on a free port and stop it, raw Engine.IO
// sockets that record every frame, and condition waits with bounded timeouts (no fixed sleeps).

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

// Free ports, listening checks and bounded waits are shared with the benchmark (bench/).
export { fatal, freePort, isListening, listenOnLoopback, waitFor } from "../lib/net.mjs";
import { fatal, freePort, isListening, waitFor } from "../lib/net.mjs";

/** Resolves with the first value `emitter` gives for `event`, or rejects after `timeout` ms. */
export function once(emitter, event, timeout = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${timeout} ms waiting for '${event}'`)), timeout);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args.length > 1 ? args : args[0]);
    });
  });
}

/**
 * Starts `wrangler dev` on a free port with its own state directory and the given vars
 * (e.g. `{ PING_INTERVAL: "1000" }`) and secrets (e.g. `{ TURN_SECRET: "…" }`), and waits until
 * it answers HTTP.
 * Returns `{ url, wsUrl, port, stop(), kill(), restart(), output() }`: `kill()` ends the whole
 * process tree at once (SIGKILL, no goodbye to any client: a crash, or a deploy's reset) and
 * resolves once nothing listens on the port any more; `restart()` starts it again on the same
 * port with the same `--persist-to` state and waits until it answers.
 *
 * Secrets go through a file of their own (`--env-file`, mode 0600, deleted on stop), never the
 * command line; wrangler then shows them as "(hidden)". The file is passed even when empty, so a
 * developer's `.dev.vars` or `.env` (e.g. a TURN_SECRET for `npm start`) never reaches a test.
 */
export async function startServer({ vars = {}, secrets = {}, env = {}, args = [], timeout = 120_000 } = {}) {
  const port = await freePort();
  const persist = mkdtempSync(path.join(os.tmpdir(), "signal-state-"));
  // No test browser may look up or reach a public STUN server: only loopback exists for tests.
  vars = { ICE_SERVERS: "[]", ...vars };
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  const secretsFile = path.join(persist, "secrets.env");
  writeFileSync(secretsFile, Object.entries(secrets).map(([k, v]) => `${k}=${v}\n`).join(""), { mode: 0o600 });
  const wranglerArgs = [
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    "--inspector-port", "0",
    "--persist-to", persist,
    "--show-interactive-dev-session=false",
    "--env-file", secretsFile,
    ...varArgs,
    ...args,
  ];
  let out = "";
  /** The running wrangler: { child, exited, dead }. */
  let run = null;
  const url = `http://127.0.0.1:${port}`;

  function spawnWrangler() {
    const child = spawn(path.join(ROOT, "node_modules/.bin/wrangler"), wranglerArgs, {
      cwd: ROOT,
      detached: true, // own process group, so stop() and kill() reach workerd too
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", ...env },
    });
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const r = { child, dead: false };
    r.exited = new Promise((resolve) => child.once("exit", resolve)).then(() => (r.dead = true));
    return r;
  }

  async function ready() {
    const r = run;
    await waitFor(
      async () => {
        if (r.dead) throw fatal(`wrangler dev exited:\n${out}`);
        const res = await fetch(url + "/", { signal: AbortSignal.timeout(2_000) });
        return res.status === 200;
      },
      { timeout, interval: 200, what: `wrangler dev on port ${port}` },
    );
  }

  /** Signals wrangler's whole process group; resolves when wrangler has exited. */
  async function end(signal) {
    const r = run;
    if (!r || r.dead) return;
    try {
      process.kill(-r.child.pid, signal);
    } catch {}
    const timer = setTimeout(() => {
      try {
        process.kill(-r.child.pid, "SIGKILL");
      } catch {}
    }, 5_000);
    await r.exited;
    clearTimeout(timer);
  }

  const server = {
    port,
    url,
    wsUrl: `ws://127.0.0.1:${port}`,
    output: () => out,
    async stop() {
      await end("SIGTERM");
      rmSync(persist, { recursive: true, force: true });
    },
    async kill() {
      await end("SIGKILL");
      await waitFor(async () => !(await isListening(port)), {
        timeout: 10_000,
        what: `port ${port} to close`,
      });
    },
    async restart() {
      if (run && !run.dead) await server.kill();
      run = spawnWrangler();
      await ready();
    },
  };
  run = spawnWrangler();
  try {
    await ready();
  } catch (e) {
    await server.stop();
    throw new Error(`${e.message}\n--- wrangler output ---\n${out}`);
  }
  return server;
}

/**
 * A raw websocket speaking Engine.IO by hand: every frame is recorded in order, and `next()`
 * hands them out one by one, waiting (bounded) when none is there yet.
 */
export class RawSocket {
  constructor(ws, { autoPong = true } = {}) {
    this.ws = ws;
    // Answer Engine.IO v4 server pings like a live client, unless told to play dead.
    this.autoPong = autoPong;
    this.frames = [];
    this.cursor = 0;
    this.waiters = new Set();
    this.closeInfo = null;
    ws.on("message", (data, isBinary) => {
      const frame = isBinary ? Buffer.from(data) : data.toString();
      if (frame === "2" && this.autoPong && ws.readyState === WebSocket.OPEN) ws.send("3");
      this.frames.push(frame);
      this.#wake();
    });
    ws.on("close", (code, reason) => {
      this.closeInfo = { code, reason: reason.toString() };
      this.#wake();
    });
    ws.on("error", () => {});
  }

  /** Opens `/socket.io/?EIO=<eio>&transport=websocket&room=<room>` (plus `extra` query). */
  static async open(server, { eio = 4, room, extra = "", timeout = 10_000, autoPong = true } = {}) {
    const q = `EIO=${eio}&transport=websocket` + (room === undefined ? "" : `&room=${encodeURIComponent(room)}`) + extra;
    const ws = new WebSocket(`${server.wsUrl}/socket.io/?${q}`);
    const sock = new RawSocket(ws, { autoPong });
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("websocket open timed out")), timeout);
      ws.once("open", () => (clearTimeout(timer), resolve()));
      ws.once("unexpected-response", (_req, res) => {
        clearTimeout(timer);
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => reject(Object.assign(new Error(`HTTP ${res.statusCode}: ${body}`), { status: res.statusCode, body })));
      });
      ws.once("error", (e) => (clearTimeout(timer), reject(e)));
    });
    return sock;
  }

  /** Opens a socket and completes the handshake: open packet, then (v4) `40` → `40{"sid"}`. */
  static async connect(server, opts = {}) {
    const sock = await RawSocket.open(server, opts);
    const open = await sock.next();
    sock.sid = JSON.parse(open.slice(1)).sid;
    if ((opts.eio ?? 4) === 4) {
      sock.send("40");
      const connect = await sock.next();
      sock.socketId = JSON.parse(connect.slice(2)).sid;
    } else {
      const connect = await sock.next();
      if (connect !== "40") throw new Error(`expected 40, got ${connect}`);
      sock.socketId = sock.sid;
    }
    return sock;
  }

  #wake() {
    for (const w of this.waiters) w();
  }

  send(data) {
    this.ws.send(data);
  }

  /** The next frame not yet handed out, skipping heartbeat frames (`2`, `6`) unless `pings` is set. */
  async next({ timeout = 10_000, pings = false } = {}) {
    const deadline = Date.now() + timeout;
    for (;;) {
      while (this.cursor < this.frames.length) {
        const f = this.frames[this.cursor++];
        // Heartbeats: the server's ping, and the noop the platform sends back for a v4 pong.
        if (!pings && (f === "2" || f === "6")) continue;
        return f;
      }
      if (this.closeInfo || this.ws._closeFrameReceived) {
        throw new Error(`socket closed (${this.closeInfo?.code ?? this.ws._closeCode}) while waiting for a frame`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no frame within ${timeout} ms (received so far: ${JSON.stringify(this.frames)})`);
      await new Promise((resolve) => {
        const timer = setTimeout(done, left);
        const self = this;
        function done() {
          clearTimeout(timer);
          self.waiters.delete(done);
          resolve();
        }
        this.waiters.add(done);
      });
    }
  }

  /** The next `n` frames. */
  async take(n, opts) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(opts));
    return out;
  }

  /**
   * Waits for the server's close frame; resolves `{ code, reason }`. The frame is what counts:
   * a hibernatable socket closed by the server may keep its TCP connection until the object
   * hibernates, so `ws` only reports 'close' later. (`_closeFrameReceived`, `_closeCode` and
   * `_closeMessage` are ws 8's record of the frame.)
   */
  async closed(timeout = 10_000) {
    const ws = this.ws;
    return waitFor(
      () =>
        this.closeInfo ??
        (ws._closeFrameReceived ? { code: ws._closeCode, reason: String(ws._closeMessage ?? "") } : null),
      { timeout, interval: 10, what: "the socket to close" },
    );
  }

  /** Waits for the TCP connection to end (ws 'close'), which is what many clients wait for. */
  ended(timeout = 10_000) {
    return waitFor(() => this.closeInfo, { timeout, interval: 10, what: "the TCP connection to end" });
  }

  /** Frames not yet handed out (heartbeat frames excluded). */
  pending() {
    return this.frames.slice(this.cursor).filter((f) => f !== "2" && f !== "6");
  }

  close() {
    this.ws.close();
  }

  /** Drops the TCP connection without a close frame, like a crashed peer. */
  kill() {
    this.ws.terminate();
  }
}

/** `42["log",[">>> Message from server: ",…parts]]`, the exact log frame. */
export function logFrame(...parts) {
  return `42${JSON.stringify(["log", [">>> Message from server: ", ...parts]])}`;
}

/** `42[name,…args]`, an exact event frame. */
export function eventFrame(name, ...args) {
  return `42${JSON.stringify([name, ...args])}`;
}

// The TCP proxy for network faults, shared with the benchmark; imported from here as before.
export { TcpProxy } from "../lib/tcp-proxy.mjs";

export { RawPolling, decodePayload, encodePayload } from "./raw-polling.mjs";

/**
 * Starts several things at once (servers, browsers). `keep` gets every value (undefined for one
 * that failed) before the first failure is thrown, so that an `after` hook still stops the rest.
 */
export async function startAll(starts, keep) {
  const settled = await Promise.allSettled(starts);
  keep(settled.map((r) => (r.status === "fulfilled" ? r.value : undefined)));
  const failed = settled.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}
