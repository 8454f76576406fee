// Long-polling with the real socket.io client (issue 10): join latency of a client with its
// default options (`io(url, { query: { room } })`: a long-polling handshake, then the upgrade to
// websocket) and the relay round trip of a polling-only session (`transports: ["polling"]`),
// ours on bare workerd against Node + socket.io 4 with its default transports, in the same run.
//
// Per room: A joins (fresh room), then B (existing room); B's time from `io()` to `joined`, and to
// the engine's `upgrade` event (the session is on websocket). Rooms one at a time. Then one
// polling-only pair: `rtts` round trips, one at a time (A sends a 200-byte candidate message, B
// answers with one, A times the answer).

import { performance } from "node:perf_hooks";
import { io } from "socket.io-client";
import { candidate } from "./payloads.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function pct(xs, p) {
  if (!xs.length) return null;
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
}

function onceEvent(target, name, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: no ${name} within ${ms} ms`)), ms);
    target.once(name, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

const client = (url, room, opts = {}) => io(url, { query: { room }, forceNew: true, reconnection: false, ...opts });

/** Joins of default-options clients: times to `created`/`joined` and to the upgrade. */
async function joins(url, rooms, tag) {
  const out = { fresh: [], existing: [], upgraded: [], errors: [] };
  const sockets = [];
  for (let i = 0; i < rooms; i++) {
    const room = `${tag}-${i}`;
    try {
      const t0 = performance.now();
      const a = client(url, room);
      sockets.push(a);
      a.emit("create or join", room);
      await onceEvent(a, "created", 10_000, "A");
      out.fresh.push(performance.now() - t0);
      const t1 = performance.now();
      const b = client(url, room);
      sockets.push(b);
      const upgraded = new Promise((resolve) => b.io.engine.once("upgrade", () => resolve(performance.now() - t1)));
      b.emit("create or join", room);
      await onceEvent(b, "joined", 10_000, "B");
      out.existing.push(performance.now() - t1);
      out.upgraded.push(await Promise.race([upgraded, sleep(10_000).then(() => null)]));
    } catch (e) {
      out.errors.push(e.message);
    }
  }
  for (const s of sockets) s.close();
  return out;
}

/** Round trips between two polling-only clients. */
async function pollingRtt(url, n, tag) {
  const room = `${tag}-rtt`;
  const a = client(url, room, { transports: ["polling"] });
  const b = client(url, room, { transports: ["polling"] });
  const rtts = [];
  const errors = [];
  try {
    a.emit("create or join", room);
    await onceEvent(a, "created", 10_000, "A");
    b.emit("create or join", room);
    await onceEvent(b, "joined", 10_000, "B");
    await sleep(200);
    b.on("message", (m) => b.emit("message", { ...m, reply: true }));
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const got = onceEvent(a, "message", 10_000, "A");
      a.emit("message", { type: "candidate", label: 0, id: "0", candidate: candidate(i), s: i });
      const [m] = await got;
      if (m.s !== i || !m.reply) errors.push(`round trip ${i}: got ${JSON.stringify(m).slice(0, 80)}`);
      rtts.push(performance.now() - t0);
    }
  } catch (e) {
    errors.push(e.message);
  } finally {
    a.close();
    b.close();
  }
  return { rtts, errors };
}

const ms = (x) => (x == null ? null : Number(x.toFixed(2)));
const summary = (xs) => ({ n: xs.filter((x) => x != null).length, p50: ms(pct(xs.filter((x) => x != null), 0.5)), p99: ms(pct(xs.filter((x) => x != null), 0.99)) });

/** Runs both measurements against `url`; one warm-up room first. */
export async function pollingBench(url, { rooms = 30, rtts = 200, tag = `pb${Date.now().toString(36)}` } = {}) {
  await joins(url, 1, `${tag}-warm`);
  const j = await joins(url, rooms, tag);
  const r = await pollingRtt(url, rtts, tag);
  return {
    joinFresh: summary(j.fresh),
    joinExisting: summary(j.existing),
    upgraded: summary(j.upgraded),
    notUpgraded: j.upgraded.filter((x) => x == null).length,
    rtt: summary(r.rtts),
    errors: [...j.errors, ...r.errors],
  };
}
