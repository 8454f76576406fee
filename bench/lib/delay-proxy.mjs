// A TCP proxy on 127.0.0.1 that makes loopback look like a network with `oneWayMs` of delay each
// way (round trip 2 × oneWayMs), for the time-to-call part: every chunk is passed on `oneWayMs`
// after it arrived, in order, in both directions, and a new connection's first bytes wait a round
// trip more (the TCP handshake a real connection pays before its client can send anything).
// Closes follow the bytes sent before them. No loss, no bandwidth limit.

import net from "node:net";
import { listenOnLoopback } from "../../lib/net.mjs";

export class DelayProxy {
  static async start(target, oneWayMs) {
    const proxy = new DelayProxy(target, oneWayMs);
    proxy.port = await listenOnLoopback(proxy.server);
    return proxy;
  }

  constructor(target, oneWayMs) {
    this.sockets = new Set();
    this.server = net.createServer((client) => {
      const upstream = net.connect(target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.setNoDelay(true);
        s.on("error", () => {});
        s.on("close", () => this.sockets.delete(s));
      }
      // The handshake's round trip: nothing from the client goes on before it is over.
      const pipe = (from, to, notBefore) => {
        let last = notBefore;
        const later = (fn) => {
          last = Math.max(last, Date.now() + oneWayMs);
          setTimeout(fn, last - Date.now());
        };
        from.on("data", (d) => later(() => to.write(d)));
        from.on("end", () => later(() => to.end()));
        from.on("close", () => later(() => to.destroy()));
      };
      pipe(client, upstream, Date.now() + 3 * oneWayMs);
      pipe(upstream, client, 0);
    });
  }

  async stop() {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
