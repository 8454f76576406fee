// Minimal Socket.IO peers for the call-cost scenario, the heartbeat measurement and the churn
// soak: websocket (Engine.IO v4 or v3, over bench/lib/rawws.mjs) and long-polling (v4), each
// speaking the room protocol by hand and behaving like a live client on heartbeats (v4: answer
// the server's pings; v3: ping every pingInterval). Every wait is bounded.

import { performance } from "node:perf_hooks";
import { RawWs } from "./rawws.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** What the peers share: events in order, and bounded waits on them. */
class Peer {
  constructor({ room, name = "peer" }) {
    this.room = room;
    this.name = name;
    /** Every `42[...]` event, parsed, with its arrival time: `{ name, args, at }`. */
    this.events = [];
    this.pings = 0;
    this.closed = false;
    this.closeWhy = null;
    this.waiters = new Set();
    this.onEvent = null;
  }

  _wake() {
    for (const w of this.waiters) w();
  }

  _event(text) {
    let ev;
    try {
      const [name, ...args] = JSON.parse(text.slice(2));
      ev = { name, args, at: performance.now() };
    } catch {
      ev = { name: "?", args: [text], at: performance.now() };
    }
    this.events.push(ev);
    this.onEvent?.(ev);
    this._wake();
  }

  /** Resolves with `pred()`'s first truthy value (checked after every frame), or rejects after `ms`. */
  until(pred, ms = 15_000, what = "condition") {
    return new Promise((resolve, reject) => {
      const check = () => {
        const v = pred();
        if (v) {
          done();
          resolve(v);
        } else if (this.closed) {
          done();
          reject(new Error(`${this.name}: ${what}: closed (${this.closeWhy})`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: ${what}: timed out after ${ms} ms`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The first event named `name` (after index `from`). */
  event(name, from = 0) {
    for (let i = from; i < this.events.length; i++) if (this.events[i].name === name) return this.events[i];
    return null;
  }

  has(name) {
    return this.events.some((e) => e.name === name);
  }

  /** Waits for the event `name` (counting from index `from`). */
  waitEvent(name, ms, from = 0) {
    return this.until(() => this.event(name, from), ms, `event ${name}`);
  }

  message(payload) {
    this.send(`42${JSON.stringify(["message", payload])}`);
  }

  join() {
    this.send(`42${JSON.stringify(["create or join", this.room])}`);
  }
}

/**
 * A websocket peer. `eio` 4 or 3; `port` the server's (or a TCP proxy's); `query` extra query
 * (e.g. `&resume=…`). `connect()` resolves once Socket.IO is connected (`40{sid}` on v4, the
 * server's `40` on v3).
 */
export class WsPeer extends Peer {
  constructor({ port, room, eio = 4, query = "", name, autoHeartbeat = true }) {
    super({ room, name });
    this.port = port;
    this.eio = eio;
    this.query = query;
    this.autoHeartbeat = autoHeartbeat;
    this.connected = false;
    this.pingInterval = 25000;
    this.v3Timer = null;
  }

  connect(ms = 15_000) {
    this.t0 = performance.now();
    this.ws = new RawWs(this.port, `/socket.io/?EIO=${this.eio}&transport=websocket&room=${encodeURIComponent(this.room)}${this.query}`, {
      onText: (b) => this._text(b.toString("utf8")),
      onClose: (why) => {
        this.closed = true;
        this.closeWhy = why;
        clearInterval(this.v3Timer);
        this._wake();
      },
    });
    return this.until(() => this.connected, ms, "connect");
  }

  _text(s) {
    if (s === "2") {
      // v4: the server's ping; v3: never sent by a server.
      this.pings++;
      if (this.autoHeartbeat && this.eio === 4) this.ws.send("3");
      return;
    }
    if (s === "3" || s === "6") return; // v3 pong to our ping; the platform's noop for a v4 pong
    if (s[0] === "0") {
      this.pingInterval = JSON.parse(s.slice(1)).pingInterval;
      if (this.eio === 4) this.ws.send("40");
      else if (this.autoHeartbeat) this.v3Timer = setInterval(() => this.ws.send("2"), this.pingInterval);
      return;
    }
    if (s.startsWith("40")) {
      this.connected = true;
      this.connectedAt = performance.now();
      this._wake();
      return;
    }
    if (s.startsWith("42")) return this._event(s);
    if (s === "41") {
      this.events.push({ name: "41", args: [], at: performance.now() });
      this._wake();
    }
  }

  send(s) {
    return this.ws.send(s);
  }

  /** Stops heartbeats (v3 pings, v4 pongs) without a word: a peer that goes silent. */
  silence() {
    this.autoHeartbeat = false;
    clearInterval(this.v3Timer);
  }

  /** Orderly close (close frame). */
  close() {
    clearInterval(this.v3Timer);
    this.ws?.close();
  }

  /** Drops the TCP connection without a close frame. */
  kill() {
    clearInterval(this.v3Timer);
    this.ws?.sock.destroy();
  }
}

/** A long-polling-only Engine.IO v4 peer (what `transports: ["polling"]` gives). */
export class PollPeer extends Peer {
  constructor({ port, room, name }) {
    super({ room, name });
    this.base = `http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling&room=${encodeURIComponent(room)}`;
    this.connected = false;
    this.stopped = false;
    this.abort = new AbortController();
    this.gets = 0;
    this.posts = 0;
  }

  async connect(ms = 15_000) {
    this.t0 = performance.now();
    const res = await fetch(this.base, { signal: AbortSignal.timeout(ms) });
    const open = (await res.text()).split("\x1e")[0];
    if (res.status !== 200 || open[0] !== "0") throw new Error(`${this.name}: handshake ${res.status} ${open}`);
    this.sid = JSON.parse(open.slice(1)).sid;
    this.url = `${this.base}&sid=${this.sid}`;
    this.loop();
    await this.post("40");
    return this.until(() => this.connected, ms, "connect");
  }

  async loop() {
    while (!this.stopped) {
      let body;
      try {
        const res = await fetch(this.url, { signal: this.abort.signal });
        this.gets++;
        body = await res.text();
        if (res.status !== 200) throw new Error(`poll ${res.status} ${body}`);
      } catch (e) {
        if (!this.stopped) {
          this.closed = true;
          this.closeWhy = String(e.message ?? e);
          this._wake();
        }
        return;
      }
      for (const p of body.split("\x1e")) {
        if (p === "2") {
          this.pings++;
          this.post("3").catch(() => {});
        } else if (p.startsWith("40")) {
          this.connected = true;
          this.connectedAt = performance.now();
          this._wake();
        } else if (p.startsWith("42")) this._event(p);
        else if (p === "1") {
          this.closed = true;
          this.closeWhy = "close packet";
          this._wake();
          return;
        }
      }
    }
  }

  async post(...packets) {
    this.posts++;
    const res = await fetch(this.url, { method: "POST", body: packets.join("\x1e"), signal: AbortSignal.timeout(15_000) });
    await res.text();
    return res.status;
  }

  send(s) {
    this.post(s).catch(() => {});
  }

  close() {
    this.post("1").catch(() => {});
    this.stop();
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }

  kill() {
    this.stop();
  }
}

/** Seats a pair in `room`: A gets `created`, then B `joined` + `ready` and A `join` + `ready`. */
export async function seatPair(a, b, ms = 15_000) {
  await a.connect(ms);
  a.join();
  await a.waitEvent("created", ms);
  await b.connect(ms);
  b.join();
  await b.until(() => b.has("joined") && b.has("ready"), ms, "joined+ready");
  await a.until(() => a.has("join") && a.has("ready"), ms, "join+ready");
}

export { sleep };
