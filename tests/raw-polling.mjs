// A long-polling Engine.IO client spoken by hand, for tests that need exact packets on the
// polling transport (re-exported by helpers.mjs).

import { waitFor } from "./helpers.mjs";

/** Engine.IO long-polling payloads: v4 joined by \x1e, v3 as `<UTF-16 length>:<packet>`. */
export function encodePayload(eio, packets) {
  return eio === 4 ? packets.join("\x1e") : packets.map((p) => `${p.length}:${p}`).join("");
}

export function decodePayload(eio, body) {
  if (eio === 4) return body.split("\x1e");
  const out = [];
  let i = 0;
  while (i < body.length) {
    const colon = body.indexOf(":", i);
    const n = Number(body.slice(i, colon));
    out.push(body.substr(colon + 1, n));
    i = colon + 1 + n;
  }
  return out;
}

/**
 * A long-polling Engine.IO session spoken by hand (text payloads): the handshake GET, then a
 * poll loop that records every packet in order (answering v4 pings with a POSTed pong like a
 * live client unless `autoPong` is off), and `send()` as POSTs. The same `next()`, `take()`,
 * `pending()` and `closed()` as RawSocket; `closeInfo` is the HTTP status that ended the loop.
 */
export class RawPolling {
  static async open(server, { eio = 4, room, extra = "", autoPong = true } = {}) {
    const base = `${server.url}/socket.io/?EIO=${eio}&transport=polling` + (room === undefined ? "" : `&room=${encodeURIComponent(room)}`) + extra;
    const res = await fetch(base, { signal: AbortSignal.timeout(10_000) });
    const body = await res.text();
    if (res.status !== 200) throw Object.assign(new Error(`HTTP ${res.status}: ${body}`), { status: res.status, body });
    const s = new RawPolling(base, eio, autoPong);
    s.frames.push(...decodePayload(eio, body));
    return s;
  }

  /** Opens a session and completes the Socket.IO handshake, as RawSocket.connect. */
  static async connect(server, opts = {}) {
    const s = await RawPolling.open(server, opts);
    const open = await s.next();
    s.sid = JSON.parse(open.slice(1)).sid;
    s.url = `${s.base}&sid=${s.sid}`;
    s.start();
    if ((opts.eio ?? 4) === 4) {
      await s.send("40");
      s.socketId = JSON.parse((await s.next()).slice(2)).sid;
    } else {
      const connect = await s.next();
      if (connect !== "40") throw new Error(`expected 40, got ${connect}`);
      s.socketId = s.sid;
    }
    return s;
  }

  constructor(base, eio, autoPong) {
    this.base = base;
    this.eio = eio;
    this.autoPong = autoPong;
    this.frames = [];
    this.cursor = 0;
    this.closeInfo = null;
    this.stopped = false;
    this.abort = new AbortController();
    this.polls = 0;
  }

  /** The poll loop. */
  start() {
    (async () => {
      while (!this.stopped) {
        let res;
        try {
          res = await fetch(this.url, { signal: this.abort.signal });
        } catch {
          break;
        }
        this.polls += 1;
        const body = await res.text().catch(() => "");
        if (res.status !== 200) {
          this.closeInfo = { status: res.status, body };
          break;
        }
        for (const p of decodePayload(this.eio, body)) {
          if (p === "2" && this.eio === 4 && this.autoPong) this.send("3").catch(() => {});
          this.frames.push(p);
          if (p === "1") this.closeInfo = { status: 200, close: true };
        }
        if (this.closeInfo) break;
      }
    })();
  }

  /** POSTs `packets` as one payload; resolves { status, body }. */
  async send(...packets) {
    const res = await fetch(this.url, { method: "POST", body: encodePayload(this.eio, packets), signal: AbortSignal.timeout(10_000) });
    return { status: res.status, body: await res.text() };
  }

  async next({ timeout = 10_000, pings = false } = {}) {
    return waitFor(
      () => {
        while (this.cursor < this.frames.length) {
          const f = this.frames[this.cursor++];
          if (!pings && (f === "2" || f === "6")) continue;
          return { f };
        }
        if (this.closeInfo) throw new Error(`session ended (${JSON.stringify(this.closeInfo)}) while waiting for a packet`);
        return null;
      },
      { timeout, interval: 10, what: `a polled packet (received so far: ${JSON.stringify(this.frames)})` },
    ).then((x) => x.f);
  }

  async take(n, opts) {
    const out = [];
    for (let i = 0; i < n; i++) out.push(await this.next(opts));
    return out;
  }

  pending() {
    return this.frames.slice(this.cursor).filter((f) => f !== "2" && f !== "6");
  }

  /** Waits for the session to end: a close packet, or an HTTP error on a poll. */
  closed(timeout = 10_000) {
    return waitFor(() => this.closeInfo, { timeout, interval: 10, what: "the polling session to end" });
  }

  /** Closes the session from the client side (Engine.IO close packet). */
  close() {
    this.send("1").catch(() => {});
    this.stop();
  }

  /** Stops polling without a word, like a client whose network went away. */
  kill() {
    this.stop();
  }

  stop() {
    this.stopped = true;
    this.abort.abort();
  }
}
