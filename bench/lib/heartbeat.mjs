// Dead-peer detection, measured: how long after a peer goes silent without a FIN (a TCP proxy in
// front of it stops forwarding, lib/tcp-proxy.mjs) its partner gets `bye`, at given
// `pingInterval` / `pingTimeout` settings, on our build (bare workerd) or the Node socket.io
// baseline. Several rooms per setting, their peers dropped at staggered moments of the heartbeat
// cycle; each room's time is taken from the dropped peer's last sign of life (the last bytes the
// proxy forwarded from it: a v4 pong or a v3 ping) to the partner's `bye`.

import { TcpProxy } from "../../lib/tcp-proxy.mjs";
import { WsPeer, seatPair, sleep } from "./clients.mjs";
import { roundMs } from "./cost.mjs";
import { startSocketIo, startWorkerd, writeWorkerdConfig } from "./servers.mjs";

/**
 * `setting`: { interval, timeout, eio, server: "ours" | "socketio" }. `env` as for runCall.
 * Returns { detections: [{ fromLastSign, fromDrop }] (ms), bound, errors }.
 */
export async function detection(setting, env, { trials = 3, log = () => {} } = {}) {
  const { interval, timeout, eio = 4 } = setting;
  let server;
  if (setting.server === "socketio") {
    server = await startSocketIo(["--ping-interval", String(interval), "--ping-timeout", String(timeout)]);
  } else {
    const vars = { ...env.baseVars, PING_INTERVAL: String(interval), PING_TIMEOUT: String(timeout) };
    server = await startWorkerd(writeWorkerdConfig(env.dir, env.distDir, { vars, compatibilityDate: env.compatibilityDate }));
  }
  const rooms = [];
  const errors = [];
  try {
    for (let j = 0; j < trials; j++) {
      const proxy = await TcpProxy.start(server.port);
      const room = `hb-${interval}-${timeout}-${eio}-${j}-${Date.now().toString(36)}`;
      const a = new WsPeer({ port: server.port, room, eio, name: `A${j}` });
      const b = new WsPeer({ port: proxy.port, room, eio, name: `B${j}` });
      const r = { proxy, a, b, bye: null };
      a.onEvent = (ev) => {
        if (ev.name === "bye" && r.bye === null) r.bye = Date.now();
      };
      await seatPair(a, b);
      rooms.push(r);
    }
    // Drops spread over one heartbeat round (the time between two pings), after a round of
    // normal life, so that they fall at different moments of the ping cycle.
    const cycle = interval + timeout;
    const round = setting.server === "socketio" ? interval : roundMs(eio === 3 ? "ours-v3" : "ours-v4", interval, timeout);
    await sleep(round);
    const t0 = Date.now();
    rooms.forEach((r, j) => {
      setTimeout(() => {
        r.dropAt = Date.now();
        r.proxy.blackhole();
      }, (j * round) / trials);
    });
    log(`heartbeat ${setting.server} ${interval}/${timeout} v${eio}: ${trials} drops over ${round} ms ...`);
    // Every partner is told within the bound; wait a little beyond it (bounded).
    const deadline = t0 + cycle + cycle + 5000;
    while (Date.now() < deadline && rooms.some((r) => r.bye === null)) await sleep(100);
    const detections = rooms.map((r, j) => {
      if (r.bye === null) {
        errors.push(`room ${j}: no bye within ${deadline - r.dropAt} ms of the drop`);
        return null;
      }
      const lastSign = r.proxy.connections.reduce((m, c) => Math.max(m, c.lastFromClient), 0);
      return { fromLastSign: r.bye - lastSign, fromDrop: r.bye - r.dropAt };
    });
    return { setting, detections: detections.filter(Boolean), bound: cycle, errors };
  } finally {
    for (const r of rooms) {
      r.a.kill();
      r.b.kill();
      await r.proxy.stop();
    }
    await server.stop();
  }
}
