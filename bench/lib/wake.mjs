// How often an idle two-peer room's Durable Object is woken: one room on bare workerd with a
// short ping interval, two peers that join and then only answer pings, for a bounded time.
//
// Two counts:
// - the object's own log lines (the product prints them when the var LOG_WAKES is "1"):
//   `[room] wake: object created` (the object was constructed: woken from hibernation or
//   eviction) and `[room] handler: <name>` (a handler ran). "n/a" when there are none.
//   WAKE_LOG_RE overrides the pattern (group 1: "created" or group 2: the handler name).
// - the harness's lines from bench/wake-wrap.mjs (`bench-wrap <kind> [detail]`), which wraps the
//   unchanged release build's `Room` class: available today.

import { performance } from "node:perf_hooks";
import { RawWs } from "./rawws.mjs";
import { startWorkerd, writeWorkerdConfig } from "./servers.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function count(lines, re, kindOf) {
  const byKind = {};
  let total = 0;
  for (const l of lines) {
    const m = re.exec(l);
    if (!m) continue;
    const kind = kindOf(m);
    byKind[kind] = (byKind[kind] ?? 0) + 1;
    total++;
  }
  return { total, byKind };
}

/**
 * @returns {Promise<object>} figures, see the end of this function.
 */
export async function idleWakes({ distDir, dir, compatibilityDate, baseVars, interval, timeout, secs }) {
  const vars = { ...baseVars, PING_INTERVAL: String(interval), PING_TIMEOUT: String(timeout), LOG_WAKES: "1" };
  const config = writeWorkerdConfig(dir, distDir, { vars, wrap: true, compatibilityDate });
  const server = await startWorkerd(config);
  const room = `idle-${Date.now().toString(36)}`;
  const peers = [];
  let pings = 0;
  let closes = 0;
  let ending = false;
  try {
    const mk = () =>
      new Promise((resolve, reject) => {
        const p = {};
        const timer = setTimeout(() => reject(new Error("idle-wake join timed out")), 15_000);
        p.ws = new RawWs(server.port, `/socket.io/?EIO=4&transport=websocket&room=${room}`, {
          onText: (b) => {
            const s = b.toString("latin1");
            if (s === "2") {
              pings++;
              p.ws.send("3");
            } else if (s[0] === "0") p.ws.send("40");
            else if (s.startsWith("40{")) p.ws.send(`42["create or join","${room}"]`);
            else if (s.startsWith('42["created"') || s.startsWith('42["joined"')) {
              clearTimeout(timer);
              resolve(p);
            }
          },
          onClose: () => {
            if (!ending) closes++;
          },
        });
        peers.push(p);
      });
    await mk();
    await mk();
    await sleep(500);
    server.mark();
    pings = 0;
    const t0 = performance.now();
    await sleep(secs * 1000);
    const wall = (performance.now() - t0) / 1000;
    const lines = server.output().split("\n");
    const productRe = process.env.WAKE_LOG_RE
      ? new RegExp(process.env.WAKE_LOG_RE)
      : /\[room\] (?:wake: object (created)|handler: (\w+))/;
    const product = count(lines, productRe, (m) => (m[1] ? "new" : m[2]));
    const harness = count(lines, /\bbench-wrap (\w+)(?: (\S+))?/, (m) => (m[2] && m[1] === "message" ? `message ${m[2]}` : m[1]));
    const intervals = (wall * 1000) / interval;
    const per = (n) => Number((n / intervals).toFixed(2));
    const perMinAtProd = (n) => Number(((n / intervals) * (60000 / 25000)).toFixed(2));
    const constructions = harness.byKind.new ?? 0;
    return {
      interval,
      timeout,
      secs: Number(wall.toFixed(1)),
      intervals: Number(intervals.toFixed(2)),
      pingsPerPeerPerInterval: Number((pings / 2 / intervals).toFixed(2)),
      unexpectedCloses: closes,
      // Wakes = handler calls (each would wake a hibernated object); constructions separately.
      product: product.total
        ? {
            ...product,
            perInterval: per(product.total - (product.byKind.new ?? 0)),
            perMinuteAt25s: perMinAtProd(product.total - (product.byKind.new ?? 0)),
            constructionsPerInterval: per(product.byKind.new ?? 0),
          }
        : null,
      harness: {
        ...harness,
        perInterval: per(harness.total - constructions),
        perMinuteAt25s: perMinAtProd(harness.total - constructions),
        constructionsPerInterval: per(constructions),
        pongInvocationsPerInterval: per(harness.byKind['message "3"'] ?? 0),
      },
    };
  } finally {
    ending = true;
    for (const p of peers) p.ws?.close();
    await sleep(200);
    await server.stop();
  }
}
