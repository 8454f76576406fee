// A TCP proxy for the network faults real networks make (silent drops, stranded connections,
// websockets blocked), shared by the raw-socket tests, the browser tests and the benchmark.

import net from "node:net";
import { listenOnLoopback } from "./net.mjs";

/**
 * A TCP proxy on 127.0.0.1 in front of `target` (a port), for faults a real network makes:
 * `blackhole()` stops forwarding bytes in both directions on every connection it carries,
 * without a FIN or RST (both ends see a silent peer; a close from either end is not passed on
 * either), `restore()` forwards again. By default a blackhole drops the bytes, as a dead link
 * does; `blackhole({ hold: true })` keeps them instead (the network is down, TCP retransmits):
 * on `restore()` whatever was sent meanwhile, new connections included, goes through, and so
 * does any close that came in meanwhile. For each connection it records when it last forwarded
 * bytes from the client (`lastFromClient`). With `refuseWebsocket`, a websocket upgrade request
 * is answered `400 Bad Request` and the connection closed, as by a proxy that blocks websockets.
 * `strand()` silences the connections open now for good and forwards new ones.
 */
export class TcpProxy {
  static async start(target, opts) {
    const proxy = new TcpProxy(target, opts);
    proxy.port = await listenOnLoopback(proxy.server);
    proxy.url = `http://127.0.0.1:${proxy.port}`;
    proxy.wsUrl = `ws://127.0.0.1:${proxy.port}`;
    return proxy;
  }

  constructor(target, { refuseWebsocket = false } = {}) {
    this.target = target;
    this.forwarding = true;
    this.holding = false;
    this.connections = [];
    /** Websocket upgrades refused (with `refuseWebsocket`). */
    this.refused = 0;
    this.server = net.createServer((client) => {
      const upstream = net.connect(target, "127.0.0.1");
      const conn = { client, upstream, lastFromClient: 0, held: { up: [], down: [] }, ended: false, first: true };
      this.connections.push(conn);
      client.on("data", (d) => {
        if (conn.first && refuseWebsocket && /\r\nupgrade:[ \t]*websocket/i.test(d.toString("latin1"))) {
          this.refused += 1;
          client.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
          upstream.destroy();
          return;
        }
        conn.first = false;
        if (conn.stranded) return;
        if (this.holding) {
          conn.held.up.push(d);
          client.pause();
        } else if (this.forwarding) {
          conn.lastFromClient = Date.now();
          upstream.write(d);
        }
      });
      upstream.on("data", (d) => {
        if (conn.stranded) return;
        if (this.holding) {
          conn.held.down.push(d);
          upstream.pause();
        } else if (this.forwarding) client.write(d);
      });
      const end = () => {
        // Through a blackhole not even a close gets across; it does once the network is back.
        if (!this.forwarding || conn.stranded) {
          conn.ended = true;
          return;
        }
        client.destroy();
        upstream.destroy();
      };
      client.on("close", end);
      upstream.on("close", end);
      client.on("error", () => {});
      upstream.on("error", () => {});
      if (this.holding) client.pause();
    });
  }

  /** Stops forwarding: bytes that arrive are dropped (or, with `hold`, kept), connections stay open. */
  blackhole({ hold = false } = {}) {
    this.forwarding = false;
    this.holding = hold;
    if (hold) for (const c of this.connections) c.client.pause(), c.upstream.pause();
  }

  /**
   * Strands every connection open now: they go silent for good (no bytes, no close, either way),
   * while new connections are forwarded as usual — a network change that leaves the old
   * connections dead without either end being told.
   */
  strand() {
    for (const c of this.connections) c.stranded = true;
  }

  restore() {
    this.forwarding = true;
    this.holding = false;
    for (const c of this.connections) {
      if (c.stranded) continue;
      if (c.held.up.length) c.lastFromClient = Date.now();
      for (const d of c.held.up.splice(0)) c.upstream.write(d);
      for (const d of c.held.down.splice(0)) c.client.write(d);
      c.client.resume();
      c.upstream.resume();
      if (c.ended) c.client.end(), c.upstream.end();
    }
  }

  /** The latest time any connection forwarded client bytes. */
  lastFromClient() {
    return Math.max(0, ...this.connections.map((c) => c.lastFromClient));
  }

  async stop() {
    for (const c of this.connections) {
      c.client.destroy();
      c.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }
}
