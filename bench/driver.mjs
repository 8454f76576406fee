// The load driver: one Node process, raw websocket frames (bench/lib/rawws.mjs), one scenario
// against one server, results as one JSON line on stdout. Started by bench/bench.mjs per run.
//
//   node bench/driver.mjs --proto sio|floor --port N --server-pid PID --rooms R [options]
//
// Scenario (every wait bounded in time):
//  1. join: R rooms x 2 peers, `--join-concurrency` rooms at a time. Peer A's time from TCP
//     connect to `created` is a join to a fresh room, peer B's to `joined` one to an existing
//     room. A room counts only when A also got `join`+`ready` and B `ready`.
//  2. idle: settle, then the server's resident memory with R idle rooms.
//  3. rate: open loop, `--rate` round trips per second in total, spread round-robin over the
//     rooms (originator alternating between the peers): a round trip is a `message` from one
//     peer, relayed to the other, which answers with a `message`, relayed back.
//  4. saturation: every room keeps `--window` round-trip chains in flight (half started by each
//     peer); each reply immediately starts the next request of its chain.
// Messages carry realistic WebRTC signalling payloads: one in six an SDP offer/answer of
// 3-6 KB, the rest ICE candidates of about 200 B. Every relayed frame is checked: per-direction
// sequence, exact length (and every 64th byte for byte), and, on Socket.IO servers, the
// sender's `Got message:` log line.

import { performance } from "node:perf_hooks";
import { RawWs } from "./lib/rawws.mjs";
import { candidate, sdp } from "./lib/payloads.mjs";
import { cpuSplit, fdCount, hwmKb, machineCpu, rssKb, treePids } from "./lib/proc.mjs";

// ---------- options ----------
const opt = {
  proto: "sio",
  port: 0,
  "server-pid": 0,
  rooms: 1,
  tag: `b${Date.now().toString(36)}`,
  rate: 500, // round trips per second (two relayed messages each)
  "rate-secs": 4,
  "sat-secs": 4,
  warm: 1,
  window: 0, // 0: max(4, ceil(128 / rooms)) rounded up to even
  "join-concurrency": 1,
  "join-timeout": 15,
  settle: 0.5,
  "idle-wait": 0, // extra seconds of idleness before a second memory reading (hibernation)
  load: 1, // 0: joins and idle memory only, no relay phases (the scale measurement)
  // Epoch ms: the saturation window opens then (its warm-up before it), so that two drivers
  // measure two servers side by side over the same seconds (bench.mjs's side-by-side pairs).
  "sat-at": 0,
  // 1: instead, once ready for the saturation phase, say `phase sat-ready` on stderr and wait
  // for a line `go <epoch ms>` on stdin, the time its window opens (bench.mjs sends it to both
  // drivers of a side-by-side pair once both are ready, however long their joins took).
  "sat-barrier": 0,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const k = process.argv[i].replace(/^--/, "");
  if (!(k in opt)) throw new Error(`unknown option --${k}`);
  const v = process.argv[i + 1];
  opt[k] = typeof opt[k] === "number" ? Number(v) : v;
}
const SIO = opt.proto === "sio";
const R = opt.rooms;
let W = opt.window || Math.max(4, Math.ceil(128 / R));
W += W % 2;

// ---------- payloads ----------
/** Message bodies (after the `{"q":..,"c":..,"s":..,` head): index s % 24; 1 in 6 is an SDP. */
const BODIES = [];
for (let i = 0; i < 24; i++) {
  if (i % 6 === 0) {
    const size = 3000 + ((i / 6) | 0) * 1000; // 3000, 4000, 5000, 6000
    BODIES.push(`"type":"${i % 12 === 0 ? "offer" : "answer"}","sdp":"${sdp(size, i)}"}`);
  } else {
    BODIES.push(`"type":"candidate","label":0,"id":"0","candidate":"${candidate(i)}"}`);
  }
}
const HEAD = '42["message",'; // the floor relays the same frames
const msgFrame = (q, c, s) => `${HEAD}{"q":${q},"c":${c},"s":${s},${BODIES[s % 24]}]`;
const MSG_PRE = Buffer.from('42["message",{"q":');
const LOG_MSG_PRE = Buffer.from('42["log",[">>> Message from server: ","Got message:",');
const LOG_PRE = Buffer.from('42["log",');

function startsWith(buf, pre) {
  if (buf.length < pre.length) return false;
  for (let i = pre.length - 1; i >= 0; i--) if (buf[i] !== pre[i]) return false;
  return true;
}
let numEnd = 0;
function readInt(buf, i) {
  let v = 0;
  for (;;) {
    const ch = buf[i];
    if (ch < 48 || ch > 57) break;
    v = v * 10 + (ch - 48);
    i++;
  }
  numEnd = i;
  return v;
}

// ---------- state ----------
const errors = {
  connect: 0, // refused upgrades, TCP errors, unexpected closes
  join: 0, // rooms that did not complete the join in time
  unexpected: 0, // frames the scenario does not expect (full, bye, 41, unknown)
  order: 0, // relayed messages out of per-direction sequence
  corrupt: 0, // relayed frames or log lines that differ from what was sent
  missingLogs: 0, // Socket.IO: `Got message:` log lines the sender never got
};
const samples = []; // first few unexpected frames, for diagnosis
let lost = 0;
let relayed = 0; // message frames delivered to a peer
let outstanding = 0; // requests whose reply has not come back
let ending = false;
let mode = "join"; // join | rate | sat | drain
let measureFrom = Infinity;
let measureTo = -Infinity;
const rttRate = [];

const ROOT = opt["server-pid"];
let serverPids = ROOT ? treePids(ROOT) : [];
const mem = { base: 0, idle: 0, idleLater: null, peak: 0, hwm: 0 };
function sampleMem() {
  if (!ROOT) return 0;
  const r = rssKb(serverPids);
  if (r > mem.peak) mem.peak = r;
  return r;
}
let memTick = 0;
const memTimer = setInterval(() => {
  if (ROOT && ++memTick % 5 === 0) serverPids = treePids(ROOT);
  sampleMem();
}, 200);

function note(kind, what) {
  errors[kind]++;
  if (samples.length < 8) samples.push(`${kind}: ${what}`);
}

class Peer {
  constructor(pair, role) {
    this.pair = pair;
    this.role = role;
    this.room = pair.room;
    this.other = null;
    this.ws = null;
    this.sendSeq = 0;
    this.expectSeq = 0;
    this.logs = 0;
    this.sent = new Float64Array(4096); // request send times by chain / slot
    this.slot = 0;
    this.flags = { created: false, joined: false, join: false, ready: false };
    this.t0 = 0;
    this.tJoin = 0;
    this.waiters = [];
    this.closing = false;
  }

  connect() {
    const path = SIO ? `/socket.io/?EIO=4&transport=websocket&room=${this.room}` : `/?room=${this.room}`;
    this.t0 = performance.now();
    this.ws = new RawWs(opt.port, path, {
      onText: (b) => this.onText(b),
      onClose: (why) => {
        if (!ending && !this.closing) note("connect", `${this.room}/${this.role}: ${why}`);
        this.wake();
      },
    });
  }

  wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves when `pred()` holds (checked after every frame), or rejects after `ms`. */
  until(pred, ms, what) {
    return new Promise((resolve, reject) => {
      const deadline = performance.now() + ms;
      const check = () => {
        if (pred()) return resolve();
        if (this.ws?.closed) return reject(new Error(`${what}: socket closed`));
        if (performance.now() > deadline) return reject(new Error(`${what}: timeout`));
        this.waiters.push(check);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((f) => f !== check);
        if (pred()) resolve();
        else reject(new Error(`${what}: timeout`));
      }, ms);
      const origResolve = resolve;
      resolve = (v) => {
        clearTimeout(timer);
        origResolve(v);
      };
      const origReject = reject;
      reject = (e) => {
        clearTimeout(timer);
        origReject(e);
      };
      check();
    });
  }

  sendRequest(c) {
    const s = this.sendSeq++;
    this.sent[c] = performance.now();
    outstanding++;
    this.ws.send(msgFrame(0, c, s));
  }

  onText(b) {
    if (startsWith(b, MSG_PRE)) return this.onMessage(b);
    if (b.length === 1 && b[0] === 50 /* "2" */) {
      if (SIO) this.ws.send("3");
      return;
    }
    // Engine.IO noop: our server's platform answers each pong `3` with `6` (auto-response).
    if (SIO && b.length === 1 && b[0] === 54 /* "6" */) return;
    if (startsWith(b, LOG_PRE)) {
      if (startsWith(b, LOG_MSG_PRE)) this.onLog(b);
      return;
    }
    const s = b.toString("latin1");
    if (SIO) {
      if (s[0] === "0") this.ws.send("40");
      else if (s.startsWith("40{")) this.ws.send(`42["create or join","${this.room}"]`);
      else if (s.startsWith('42["created"')) this.joinedAt("created");
      else if (s.startsWith('42["joined"')) this.joinedAt("joined");
      else if (s.startsWith('42["join"')) this.flags.join = true;
      else if (s.startsWith('42["ready"')) this.flags.ready = true;
      else if (!ending && !this.closing) note("unexpected", `${this.room}/${this.role}: ${s.slice(0, 80)}`);
    } else {
      if (s === "created") this.joinedAt("created");
      else if (s === "joined") {
        this.joinedAt("joined");
        this.flags.ready = true;
      } else if (s === "ready") {
        this.flags.join = true;
        this.flags.ready = true;
      } else if (!ending && !this.closing) note("unexpected", `${this.room}/${this.role}: ${s.slice(0, 80)}`);
    }
    this.wake();
  }

  joinedAt(what) {
    this.flags[what] = true;
    this.tJoin = performance.now() - this.t0;
  }

  onMessage(b) {
    relayed++;
    const q = readInt(b, MSG_PRE.length);
    const c = readInt(b, numEnd + 5); // ,"c":
    const s = readInt(b, numEnd + 5); // ,"s":
    if (s !== this.expectSeq) note("order", `${this.room}/${this.role}: got s=${s}, expected ${this.expectSeq}`);
    this.expectSeq = s + 1;
    const body = BODIES[s % 24];
    if (b.length !== numEnd + 1 + body.length + 1) {
      note("corrupt", `${this.room}/${this.role}: length ${b.length}`);
    } else if ((s & 63) === 0 && b.toString("latin1") !== msgFrame(q, c, s)) {
      note("corrupt", `${this.room}/${this.role}: content of s=${s}`);
    }
    if (q === 0) {
      // A request: answer at once (the answer is a new message from this peer).
      const rs = this.sendSeq++;
      this.ws.send(msgFrame(1, c, rs));
      return;
    }
    // A reply to one of ours.
    outstanding--;
    const sentAt = this.sent[c];
    if (mode === "rate") {
      if (sentAt >= measureFrom && sentAt < measureTo) rttRate.push(performance.now() - sentAt);
    } else if (mode === "sat") {
      this.sendRequest(c);
    }
  }

  onLog(b) {
    // `42["log",[">>> Message from server: ","Got message:",<the message's JSON>]]`
    this.logs++;
    const q = readInt(b, LOG_MSG_PRE.length + 5); // {"q":
    const c = readInt(b, numEnd + 5);
    const s = readInt(b, numEnd + 5);
    const frame = msgFrame(q, c, s);
    const jsonLen = frame.length - HEAD.length - 1;
    if (b.length !== LOG_MSG_PRE.length + jsonLen + 2) {
      note("corrupt", `${this.room}/${this.role}: log line length ${b.length}`);
    } else if ((s & 63) === 0 && b.toString("latin1", LOG_MSG_PRE.length, b.length - 2) !== frame.slice(HEAD.length, -1)) {
      note("corrupt", `${this.room}/${this.role}: log line content of s=${s}`);
    }
  }
}

// ---------- phases ----------
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function pct(arr, p) {
  if (!arr.length) return null;
  const a = Float64Array.from(arr).sort();
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))];
}
const round = (x, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Number(x.toFixed(d)));

const pairs = [];
const joinFresh = [];
const joinExisting = [];

async function joinRoom(i, record = true) {
  const pair = { room: `${opt.tag}-${i}`, ok: false };
  pair.a = new Peer(pair, "A");
  pair.b = new Peer(pair, "B");
  pair.a.other = pair.b;
  pair.b.other = pair.a;
  const ms = opt["join-timeout"] * 1000;
  try {
    pair.a.connect();
    await pair.a.until(() => pair.a.flags.created, ms, "created");
    pair.b.connect();
    await pair.b.until(() => pair.b.flags.joined && pair.b.flags.ready, ms, "joined+ready");
    await pair.a.until(() => pair.a.flags.join && pair.a.flags.ready, ms, "join+ready");
    if (record) {
      joinFresh.push(pair.a.tJoin);
      joinExisting.push(pair.b.tJoin);
    }
    pair.ok = true;
  } catch (e) {
    note("join", `${pair.room}: ${e.message}`);
  }
  if (record) pairs.push(pair);
  return pair;
}

/**
 * One throwaway room before any measurement: the first request to a fresh server pays for
 * starting it (isolate and Wasm compilation, JIT warm-up), which is no room's cost.
 */
async function warmUp() {
  const pair = await joinRoom("warm", false);
  if (pair.ok) {
    for (let c = 0; c < 32; c++) (c % 2 ? pair.b : pair.a).sendRequest(c);
    await drain(3000);
  }
  pair.a.closing = pair.b.closing = true;
  pair.a.ws?.close();
  pair.b.ws?.close();
  await sleep(500);
}

async function phaseJoin() {
  let next = 0;
  const worker = async () => {
    while (next < R) await joinRoom(next++);
  };
  await Promise.all(Array.from({ length: Math.min(opt["join-concurrency"], R) }, worker));
}

function snapshot() {
  const cpu = process.cpuUsage();
  const srv = ROOT ? cpuSplit(serverPids) : { total: 0, sys: 0 };
  return {
    t: performance.now(),
    relayed,
    server: srv.total,
    serverSys: srv.sys,
    driver: (cpu.user + cpu.system) / 1e6,
    machine: machineCpu(),
  };
}
function diff(a, b) {
  const wall = (b.t - a.t) / 1000;
  return {
    wall,
    relayed: b.relayed - a.relayed,
    server: b.server - a.server,
    serverSys: b.serverSys - a.serverSys,
    driver: b.driver - a.driver,
    machineBusy: b.machine.busy - a.machine.busy,
    machineTotal: b.machine.total - a.machine.total,
  };
}

async function drain(ms) {
  const deadline = performance.now() + ms;
  while (outstanding > 0 && performance.now() < deadline) await sleep(20);
  const left = Math.max(0, outstanding);
  outstanding = 0;
  return left;
}

async function phaseRate(live) {
  mode = "rate";
  const q = opt.rate;
  const t0 = performance.now();
  const warmEnd = t0 + opt.warm * 1000;
  const end = warmEnd + opt["rate-secs"] * 1000;
  measureFrom = warmEnd;
  measureTo = end;
  let issued = 0;
  let before = null;
  await new Promise((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (before === null && now >= warmEnd) before = snapshot();
      if (now >= end) {
        clearInterval(timer);
        return resolve();
      }
      const target = Math.floor(((now - t0) / 1000) * q);
      while (issued < target) {
        const pair = live[issued % live.length];
        const from = Math.floor(issued / live.length) % 2 ? pair.b : pair.a;
        from.sendRequest(from.slot++ & 4095);
        issued++;
      }
    }, 1);
  });
  const d = diff(before ?? snapshot(), snapshot());
  mode = "drain";
  const left = await drain(5000);
  lost += left;
  return {
    n: rttRate.length,
    p50: round(pct(rttRate, 0.5)),
    p90: round(pct(rttRate, 0.9)),
    p99: round(pct(rttRate, 0.99)),
    max: round(pct(rttRate, 1)),
    roundTripsPerSec: round(q, 0),
    serverCpuFrac: round(d.server / d.wall),
    driverCpuFrac: round(d.driver / d.wall),
    lost: left,
  };
}

/** The `go <epoch ms>` line the harness sends on stdin (`--sat-barrier 1`). */
function satGo() {
  return new Promise((resolve, reject) => {
    let buf = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (d) => {
      buf += d;
      const m = /^go (\d+)$/m.exec(buf);
      if (m) {
        process.stdin.pause();
        resolve(Number(m[1]));
      }
    });
    process.stdin.on("end", () => reject(new Error("no `go` before stdin closed")));
  });
}

async function phaseSat(live) {
  if (opt["sat-barrier"]) {
    process.stderr.write("phase sat-ready\n");
    opt["sat-at"] = await satGo();
  }
  if (opt["sat-at"]) await sleep(Math.max(0, opt["sat-at"] - opt.warm * 1000 - Date.now()));
  mode = "sat";
  for (const pair of live) {
    for (let c = 0; c < W; c++) (c < W / 2 ? pair.a : pair.b).sendRequest(c);
  }
  await sleep(opt.warm * 1000);
  const a = snapshot();
  const startedAt = Date.now();
  process.stderr.write("phase sat-start\n"); // bench/profile.mjs profiles between these marks
  await sleep(opt["sat-secs"] * 1000);
  const b = snapshot();
  process.stderr.write("phase sat-end\n");
  mode = "drain";
  const left = await drain(5000);
  lost += left;
  const d = diff(a, b);
  const background = d.machineBusy - d.server - d.driver;
  return {
    window: W,
    startedAt,
    secs: round(d.wall),
    relayed: d.relayed,
    msgsPerSec: round(d.relayed / d.wall, 0),
    serverCpuSec: round(d.server),
    serverCores: round(d.server / d.wall),
    cpuUsPerMsg: round((d.server * 1e6) / d.relayed, 2),
    sysUsPerMsg: round((d.serverSys * 1e6) / d.relayed, 2),
    msgsPerCoreSec: round(d.relayed / d.server, 0),
    driverCores: round(d.driver / d.wall),
    backgroundCores: round(Math.max(0, background) / d.wall),
    machineCores: round(d.machineTotal / d.wall, 1),
    lost: left,
  };
}

async function main() {
  const started = performance.now();
  await warmUp();
  serverPids = ROOT ? treePids(ROOT) : [];
  mem.base = sampleMem();
  await phaseJoin();
  const live = pairs.filter((p) => p.ok);
  await sleep(opt.settle * 1000);
  serverPids = ROOT ? treePids(ROOT) : [];
  mem.idle = sampleMem();
  if (opt["idle-wait"] > 0) {
    // Rooms left alone long enough for workerd to evict their objects (about 10 s).
    await sleep(opt["idle-wait"] * 1000);
    serverPids = ROOT ? treePids(ROOT) : [];
    mem.idleLater = sampleMem();
  }
  const fds = ROOT ? fdCount(serverPids) : null;
  let rate = null;
  let sat = null;
  if (live.length && opt.load) {
    rate = await phaseRate(live);
    sat = await phaseSat(live);
  }
  // Log lines: every message a Socket.IO peer sent must have come back to it as a log line.
  if (SIO) {
    await sleep(300);
    for (const p of live) {
      for (const peer of [p.a, p.b]) {
        const miss = peer.sendSeq - peer.logs;
        if (miss > 0) {
          note("missingLogs", `${p.room}/${peer.role}: ${miss}`);
          errors.missingLogs += miss - 1;
        }
      }
    }
  }
  mem.hwm = ROOT ? hwmKb(serverPids) : 0;
  sampleMem();
  ending = true;
  for (const p of pairs) {
    p.a.ws?.close();
    p.b.ws?.close();
  }
  clearInterval(memTimer);
  const out = {
    proto: opt.proto,
    rooms: R,
    roomsJoined: live.length,
    join: {
      fresh: { n: joinFresh.length, p50: round(pct(joinFresh, 0.5)), p99: round(pct(joinFresh, 0.99)) },
      existing: { n: joinExisting.length, p50: round(pct(joinExisting, 0.5)), p99: round(pct(joinExisting, 0.99)) },
    },
    rate,
    sat,
    memKb: {
      base: mem.base,
      idle: mem.idle,
      peak: Math.max(mem.peak, mem.idle),
      hwmSum: mem.hwm,
      idleLater: mem.idleLater,
      perIdleRoom: live.length ? round((mem.idle - mem.base) / live.length, 1) : null,
      perIdleRoomLater: live.length && mem.idleLater !== null ? round((mem.idleLater - mem.base) / live.length, 1) : null,
      idleWaitSecs: opt["idle-wait"],
    },
    fds,
    errors,
    lost,
    samples,
    secs: round((performance.now() - started) / 1000, 1),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  await sleep(200);
  process.exit(0);
}

const hardStop = setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ fatal: "driver hard time limit", errors, samples })}\n`);
  process.exit(2);
}, (opt["join-timeout"] * 4 + opt["idle-wait"] + opt["rate-secs"] + opt["sat-secs"] + opt.warm * 2 + 60) * 1000 + R * 200);
hardStop.unref();

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ fatal: String(e?.stack ?? e), errors, samples })}\n`);
  process.exit(1);
});
