// The call-cost scenario: one realistic two-person call against one server on bare workerd,
// counted from the harness around the unchanged build (bench/wake-wrap.mjs) and, for ours, the
// object's own `LOG_WAKES=1` lines.
//
// The call, in phases (each counted on its own):
//  1. join: A connects and asks (`created`), B connects a second later and asks (`joined`,
//     `ready`; A gets `join`, `ready`);
//  2. negotiate: what our page sends to set up a call — `hello` both ways, the offer (5 KB SDP)
//     and the answer (4 KB), 8 trickled ICE candidates from each side, `media` both ways — each
//     message waiting for its delivery;
//  3. settle: until the join's one-off alarms are past (a socket's seat grace);
//  4. idle: both peers only do heartbeats, for `idleRounds` heartbeat rounds at the production
//     ping settings (25 s / 20 s by default): real time, not scaled, so that every round starts
//     from hibernation as it does on Cloudflare (an object idle for 10 s is evicted);
//  5. hang-up: A says `leave` and `bye`, leaves the namespace (`41`) and closes, as the page does;
//     then B closes; counted until one round later
//     (an alarm left set in the empty room would fire by then).
// An hour-long call is join + negotiate + settle + hang-up once, plus the idle phase scaled from its
// rounds to the rest of the hour ((3,600 s - what join, negotiate and settle took) ÷ the round
// length: settle lasts until a design's first heartbeat round after its seat-grace wake, about
// a round, and the designs differ there by less than one alarm a call). The round length is
// the design's: (pingInterval + pingTimeout) ÷ 2 for ours and the plain-JS object while the
// platform takes pongs, pingInterval otherwise (v3 clients ping every pingInterval).
//
// Awake time (what Durable Objects bill as duration): an object that can hibernate is billed
// only while it runs or waits on I/O. Synchronous handlers get no measurable wall time inside
// workerd (its clock stops during synchronous code), so their awake time is taken as the
// server process's CPU time in the phase; handlers that return a promise (a held long-polling
// GET, a POST whose body is still coming) add the wall time from call to settlement (`span`
// lines). A design that cannot hibernate (standard `accept()` websockets, timers) is awake for
// the whole call; the harness shows it by never being constructed again. In the idle phase only
// the CPU around each round's alarm counts (from the last look before its line to 300 ms after):
// workerd evicts the woken object about 10 s later, and that clean-up is CPU spent on an object
// that is no longer billed ("Durable Objects that are idle and eligible for hibernation are not
// billed for duration, even before the runtime has hibernated them", Cloudflare's pricing page);
// it is reported apart, per round (`evictCpuSec`).

import { performance } from "node:perf_hooks";
import { PollPeer, WsPeer, seatPair, sleep } from "./clients.mjs";
import { candidate, sdp } from "./payloads.mjs";
import { cpuPrecise, rssKb } from "./proc.mjs";
import { startWorkerd, writeJsRelayConfig, writeWorkerdConfig } from "./servers.mjs";

/** The designs the scenario runs, and what each runs on. */
export const DESIGNS = {
  "ours-v4": { label: "ours, websocket (v4 clients)", server: "ours", client: "ws", eio: 4 },
  "ours-v3": { label: "ours, websocket (v3 clients)", server: "ours", client: "ws", eio: 3 },
  "ours-polling": { label: "ours, long-polling only (v4)", server: "ours", client: "poll", eio: 4 },
  jsdo: { label: "plain-JS object, hibernation", server: "jsdo", client: "ws", eio: 4 },
  awake: { label: "plain-JS object kept awake (timer pings)", server: "awake", client: "ws", eio: 4 },
  // Only with `--before DIR`: an earlier build of ours, same call, same run.
  "ours-v4-before": { label: "ours before (`--before`), websocket (v4 clients)", server: "ours", client: "ws", eio: 4, before: true },
};

/** The round length (ms) of a design at the given ping settings (see the file's comment). */
export function roundMs(design, interval, timeout) {
  const d = DESIGNS[design] ?? design;
  if (d.server === "awake" || d.eio === 3) return interval;
  if (d.server === "ours" && timeout > interval) return interval;
  return (interval + timeout) / 2;
}

/** Counts the harness's and the object's lines in `text`. */
export function countLines(text) {
  const c = {
    workerRequests: 0,
    workerByKind: {},
    constructions: 0,
    fetches: 0,
    fetchByKind: {},
    messages: 0,
    messageByKind: {},
    closes: 0,
    errors: 0,
    alarms: 0,
    setAlarm: 0,
    deleteAlarm: 0,
    sqlStatements: 0,
    sqlRowsWritten: 0,
    sqlRowsRead: 0,
    spans: [],
    // The object's own LOG_WAKES lines.
    own: { created: 0, handlers: 0, storage: 0, aborts: 0, byHandler: {}, storageByOp: {} },
  };
  const bump = (o, k) => (o[k] = (o[k] ?? 0) + 1);
  for (const line of text.split("\n")) {
    let m = /bench-wrap (\w+)(?: (.*))?$/.exec(line);
    if (m) {
      const [, kind, rest = ""] = m;
      const f = rest.split(" ");
      switch (kind) {
        case "worker":
          c.workerRequests++;
          bump(c.workerByKind, `${f[0]} ${f[1]}${f[2] ? " " + f[2] : ""}`);
          break;
        case "new":
          c.constructions++;
          break;
        case "fetch":
          c.fetches++;
          bump(c.fetchByKind, f[0]);
          break;
        case "message":
          c.messages++;
          bump(c.messageByKind, f[0]);
          break;
        case "close":
          c.closes++;
          break;
        case "error":
          c.errors++;
          break;
        case "alarm":
          c.alarms++;
          break;
        case "span":
          c.spans.push([Number(f[1]), Number(f[2]), f[0]]);
          break;
        case "storage":
          if (f[0] === "setAlarm") c.setAlarm++;
          else if (f[0] === "deleteAlarm") c.deleteAlarm++;
          else if (f[0] === "sql") {
            c.sqlStatements++;
            c.sqlRowsWritten += Number(f[1]) || 0;
            c.sqlRowsRead += Number(f[2]) || 0;
          }
          break;
      }
      continue;
    }
    m = /\[room\] (?:wake: object (created)|handler: ([\w ()]+)|storage: (\w+)|abort: )/.exec(line);
    if (m) {
      if (m[1]) c.own.created++;
      else if (m[2]) {
        c.own.handlers++;
        bump(c.own.byHandler, m[2]);
      } else if (m[3]) {
        c.own.storage++;
        bump(c.own.storageByOp, m[3]);
      } else c.own.aborts++;
    }
  }
  return c;
}

/** Milliseconds covered by the union of `[start, end]` spans. */
export function unionMs(spans) {
  const s = spans.map(([a, b]) => [a, Math.max(a, b)]).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur = null;
  for (const [a, b] of s) {
    if (!cur || a > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [a, b];
    } else cur[1] = Math.max(cur[1], b);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** Billable units of a phase's counts (see bench/lib/prices.mjs for what each costs). */
export function units(c, cpuSec, wallSec, awakeAll) {
  const wsMessages = c.messages;
  const rowsWritten = c.setAlarm + c.deleteAlarm + c.sqlRowsWritten;
  const spanSec = unionMs(c.spans) / 1000;
  return {
    workerRequests: c.workerRequests,
    doRequests: c.fetches + c.alarms,
    wsMessages,
    // Requests as billed: incoming websocket messages at 20:1.
    doBilledRequests: c.fetches + c.alarms + wsMessages / 20,
    alarms: c.alarms,
    wakes: c.constructions,
    handlerCalls: c.fetches + c.messages + c.closes + c.errors + c.alarms,
    rowsWritten,
    rowsRead: c.sqlRowsRead,
    cpuSec,
    spanSec,
    awakeSec: awakeAll ? wallSec : cpuSec + spanSec,
    wallSec,
  };
}

function addUnits(a, b, k = 1) {
  const out = { ...a };
  for (const [key, v] of Object.entries(b)) out[key] = (out[key] ?? 0) + v * k;
  return out;
}

const NEGOTIATION = (() => {
  const msgs = [];
  msgs.push(["A", { type: "hello", call: "c1", connected: false }], ["B", { type: "hello", call: null, connected: false }]);
  msgs.push(["A", { call: "c1", type: "description", description: { type: "offer", sdp: "@5000" } }]);
  msgs.push(["B", { call: "c1", type: "description", description: { type: "answer", sdp: "@4000" } }]);
  for (let i = 0; i < 8; i++) {
    msgs.push(["A", { call: "c1", type: "candidate", candidate: { candidate: candidate(i), sdpMid: "0", sdpMLineIndex: 0 } }]);
    msgs.push(["B", { call: "c1", type: "candidate", candidate: { candidate: candidate(100 + i), sdpMid: "0", sdpMLineIndex: 0 } }]);
  }
  msgs.push(["A", { call: "c1", type: "media", audio: true, video: true }], ["B", { call: "c1", type: "media", audio: true, video: true }]);
  return msgs;
})();

/** The negotiation's messages, with the SDP placeholders filled in. */
function negotiationPayload(p) {
  const s = JSON.stringify(p);
  const m = /"@(\d+)"/.exec(s);
  // sdp() is already JSON-escaped text: splice it in as a string literal.
  return m ? JSON.parse(s.replace(m[0], `"${sdp(Number(m[1]), 7)}"`)) : p;
}

/**
 * Runs one call against a fresh server of `design` and returns its counts per phase and the
 * hour-long call's units. `env`: { distDir, compatibilityDate, baseVars, dir }.
 */
export async function runCall(design, env, { interval = 25000, timeout = 20000, idleRounds = 4, log = () => {} } = {}) {
  const d = DESIGNS[design];
  const vars = { ...env.baseVars, PING_INTERVAL: String(interval), PING_TIMEOUT: String(timeout), LOG_WAKES: "1" };
  const config =
    d.server === "ours"
      ? writeWorkerdConfig(env.dir, d.before ? env.beforeDist : env.distDir, { vars, wrap: true, compatibilityDate: env.compatibilityDate })
      : writeJsRelayConfig(env.dir, env.compatibilityDate, {
          file: d.server === "awake" ? "workerd-js-awake.js" : "workerd-js-relay.js",
          vars,
          wrap: true,
        });
  const server = await startWorkerd(config);
  const round = roundMs(design, interval, timeout);
  const room = `cost-${design}-${Date.now().toString(36)}`;
  const mk = (name) =>
    d.client === "poll" ? new PollPeer({ port: server.port, room, name }) : new WsPeer({ port: server.port, room, eio: d.eio, name });
  const a = mk("A");
  const b = mk("B");
  const phases = {};
  let mark = { at: performance.now(), out: server.output().length, cpu: cpuPrecise([server.pid]) };
  // The server process's CPU while nothing happens (its own housekeeping), taken off each phase.
  let idleCpuPerSec = 0;
  const cut = (name) => {
    const now = { at: performance.now(), out: server.output().length, cpu: cpuPrecise([server.pid]) };
    const counts = countLines(server.output().slice(mark.out, now.out));
    const wallSec = (now.at - mark.at) / 1000;
    const cpuSec = Math.max(0, now.cpu - mark.cpu - idleCpuPerSec * wallSec);
    phases[name] = { counts, cpuSec, wallSec, units: units(counts, cpuSec, wallSec, d.server === "awake") };
    mark = now;
  };
  const errors = [];
  try {
    // The server's own idle CPU, and the probe request startWorkerd made, are no call's.
    await sleep(2000);
    idleCpuPerSec = (cpuPrecise([server.pid]) - mark.cpu) / ((performance.now() - mark.at) / 1000);
    mark = { at: performance.now(), out: server.output().length, cpu: cpuPrecise([server.pid]) };
    const rssBefore = rssKb([server.pid]);

    await a.connect();
    a.join();
    await a.waitEvent("created");
    await sleep(1000);
    await b.connect();
    b.join();
    await b.until(() => b.has("joined") && b.has("ready"), 15_000, "joined+ready");
    await a.until(() => a.has("join") && a.has("ready"), 15_000, "join+ready");
    const bJoinedAt = performance.now();
    cut("join");

    for (const [from, payload] of NEGOTIATION) {
      const [src, dst] = from === "A" ? [a, b] : [b, a];
      const before = dst.events.length;
      src.message(negotiationPayload(payload));
      await dst.until(() => dst.events.slice(before).some((e) => e.name === "message"), 15_000, "relayed message");
    }
    // The senders' log echoes have arrived too.
    await sleep(300);
    cut("negotiate");

    // One-off alarms of the join (a socket's seat grace, SEAT_GRACE after it opened, fires even
    // when the socket took its seat at once) belong to the call, not to every round: the idle
    // phase starts once they are past, just after a heartbeat alarm.
    const alarmsSoFar = () => (server.output().slice(mark.out).match(/bench-wrap alarm/g) ?? []).length;
    const cpuNow = () => cpuPrecise([server.pid]);
    // The CPU of the alarms' wakes that `nextAlarm(…, true)` saw, and their windows' wall time.
    const wake = { cpuSec: 0, wallSec: 0 };
    const nextAlarm = async (limitMs, track = false) => {
      const n = alarmsSoFar();
      const until = performance.now() + limitMs;
      // The window opens at the look before the last one that saw no alarm line (the line
      // reaches us a little after the handler started). Only a tracked wait reads the CPU.
      const look = () => (track ? { cpu: cpuNow(), at: performance.now() } : null);
      let looks = [look()];
      while (alarmsSoFar() === n && performance.now() < until) {
        await sleep(20);
        looks = [looks.at(-1), look()];
      }
      // The handler's own work (pings sent, alarm set) is part of its round.
      await sleep(300);
      const seen = alarmsSoFar() > n;
      if (track && seen) {
        wake.cpuSec += cpuNow() - looks[0].cpu;
        wake.wallSec += (performance.now() - looks[0].at) / 1000;
      }
      return seen;
    };
    const hasAlarms = d.server !== "awake";
    await sleep(Math.max(0, 11_500 - (performance.now() - bJoinedAt)));
    // (A v3 room's first heartbeat alarm comes pingInterval + pingTimeout after its last frame.)
    if (hasAlarms) await nextAlarm(interval + timeout + 5000);
    cut("settle");

    const pingsBefore = a.pings + b.pings;
    const idleStart = performance.now();
    log(`${design}: idle for ${idleRounds} rounds of ${round} ms ...`);
    let idleRoundsSeen = idleRounds;
    if (hasAlarms) {
      // Exactly `idleRounds` heartbeat rounds: from just after one alarm to just after the
      // idleRounds-th next. (A room whose rounds need two alarms each — a pong deadline and a
      // ping — counts them by time instead.)
      const until = idleStart + idleRounds * round + 10_000;
      while (performance.now() < until && (performance.now() - idleStart) < idleRounds * round - round / 2) {
        if (!(await nextAlarm(until - performance.now(), true))) break;
      }
      idleRoundsSeen = (performance.now() - idleStart) / round;
      if (Math.abs(idleRoundsSeen - Math.round(idleRoundsSeen)) < 0.2) idleRoundsSeen = Math.round(idleRoundsSeen);
    } else {
      await sleep(idleRounds * round);
    }
    const idleSecs = (performance.now() - idleStart) / 1000;
    const pings = a.pings + b.pings - pingsBefore;
    cut("idle");
    if (hasAlarms) {
      // Billed: the wakes alone (see the top of this file); the rest of the phase's CPU is the
      // evictions between them.
      const idle = phases.idle;
      const cpuSec = Math.max(0, wake.cpuSec - idleCpuPerSec * wake.wallSec);
      idle.evictCpuSec = Math.max(0, idle.cpuSec - cpuSec);
      idle.cpuSec = cpuSec;
      idle.units = units(idle.counts, cpuSec, idle.wallSec, false);
    }
    if (a.closed || b.closed || a.has("bye") || b.has("bye")) errors.push(`a peer was dropped while idle (${a.closeWhy ?? b.closeWhy ?? "bye"})`);

    a.message({ type: "leave" });
    a.send(`42${JSON.stringify(["bye", room])}`);
    await b.waitEvent("bye", 15_000).catch((e) => errors.push(e.message));
    // As the page does (seat.js `leave()`): its socket.io disconnect (`41`), then the close.
    a.send("41");
    a.close();
    await sleep(300);
    b.close();
    // Until the object has finished: closes handled, the empty room reset, and any alarm still
    // set (one round at most) has fired.
    await sleep(round + 2000);
    cut("hangup");
    const rssAfter = rssKb([server.pid]);

    // The rest of the hour after the one-off phases of the call (the hang-up ends it).
    const oneOffMs = (phases.join.wallSec + phases.negotiate.wallSec + phases.settle.wallSec) * 1000;
    const roundsPerHour = (3_600_000 - oneOffMs) / round;
    const perRound = Object.fromEntries(Object.entries(phases.idle.units).map(([k, v]) => [k, v / idleRoundsSeen]));
    // An hour-long call: the one-off phases plus idle rounds for the rest of the hour.
    let hour = addUnits(addUnits(addUnits(phases.join.units, phases.negotiate.units), phases.settle.units), phases.hangup.units);
    hour = addUnits(hour, perRound, roundsPerHour);
    if (d.server === "awake") hour.awakeSec = 3600;
    return {
      design,
      label: d.label,
      interval,
      timeout,
      roundMs: round,
      roundsPerHour,
      idleRounds: Number(idleRoundsSeen.toFixed(2)),
      pingsPerPeerPerRound: Number((pings / 2 / idleRoundsSeen).toFixed(2)),
      idleCpuPerSec,
      // The evictions' CPU between the idle rounds' wakes, per round (not billed).
      evictCpuPerRound: (phases.idle.evictCpuSec ?? 0) / idleRoundsSeen,
      rssKb: { before: rssBefore, after: rssAfter },
      phases,
      perRound,
      hour,
      errors,
    };
  } finally {
    for (const p of [a, b]) p.kill?.();
    await server.stop();
  }
}
