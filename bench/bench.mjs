// The benchmark's orchestrator; run it through `bash bench/run.sh [--quick]` (see bench/README.md).
//
// For every repetition and room count R it starts each server fresh (rotating their order),
// runs bench/driver.mjs against it, and stops it; then it measures the idle-room wake rate and
// prints the medians as tables, also written to bench/RESULTS.md.

import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadAvg, machineCpu } from "./lib/proc.mjs";
import {
  FLOORS,
  ROOT,
  WORKERD,
  pin,
  pinned,
  releaseBuild,
  startFloor,
  startSocketIo,
  startWorkerd,
  startWranglerDev,
  stopAll,
  writeJsRelayConfig,
  writeWorkerdConfig,
  wranglerToml,
} from "./lib/servers.mjs";
import { idleWakes } from "./lib/wake.mjs";
import { costAndHeartbeat, costMarkdown } from "./lib/cost-report.mjs";
import { callMarkdown, callRun, mergeResults, pollingMarkdown, pollingRun, scaleMarkdown, scaleRun } from "./lib/parts.mjs";
import { median } from "./lib/stats.mjs";

// ---------- options ----------
const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const val = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const QUICK = has("--quick");
const cfg = {
  reps: Number(val("--reps", QUICK ? 1 : 3)),
  rooms: val("--rooms", QUICK ? "1,50" : "1,50,200,500").split(",").map(Number),
  servers: val("--servers", "ours,wrangler,jsdo,socketio,floor").split(","),
  // The wrangler dev reference column runs in the first repetition(s) only.
  refReps: Number(val("--ref-reps", 1)),
  // At the largest R, in the first repetition: a second memory reading after this many seconds
  // of idleness (workerd evicts an idle object after about 10 s).
  idleWait: Number(val("--idle-wait", QUICK ? 0 : 12)),
  // Before each run, wait (bounded) until the rest of the machine uses at most this many cores.
  quiet: Number(val("--quiet", 0.5)),
  quietBudget: Number(val("--quiet-budget", QUICK ? 30 : 120)),
  rateSecs: Number(val("--rate-secs", QUICK ? 2 : 2.5)),
  satSecs: Number(val("--sat-secs", QUICK ? 2 : 2.5)),
  warm: Number(val("--warm", QUICK ? 0.5 : 0.75)),
  rate: Number(val("--rate", 500)),
  wakeSecs: Number(val("--wake-secs", QUICK ? 10 : 20)),
  longWake: !QUICK && !has("--no-long-wake"),
  write: !has("--no-write"),
  dist: val("--dist", ""),
  // Another build of ours (a `wrangler deploy --dry-run --outdir` directory, e.g. from
  // bench/dist-at.sh REV DIR) run as one more server, "before": before/after in the same run.
  before: val("--before", ""),
  // An earlier commit's public/ (bench/page-at.sh REV DIR), run as one more site in the call part.
  beforePage: val("--before-page", ""),
  // Servers on CPU 0, the load driver on CPU 1 (when there are two CPUs or more and taskset
  // exists), so that every server gets the same placement; --no-pin lets the kernel place them.
  pin: !has("--no-pin"),
  // The parts of the run (all by default): relay (the R sweep, with CPU parity against the
  // plain-JS object), wakes (idle-room wakes), cost (call cost and heartbeat settings), scale
  // (2,000 idle rooms), call (time to a call in Chromium), polling (socket.io client joins and
  // round trips over long-polling).
  only: new Set(val("--only", "relay,wakes,cost,scale,call,polling").split(",")),
  scaleRooms: Number(val("--scale-rooms", 2000)),
  callTrials: Number(val("--call-trials", QUICK ? 3 : 8)),
  // The time-to-call part again with signalling over a delaying proxy (ms each way; 0: not).
  callDelay: Number(val("--call-delay", 40)),
  // Parity pairs per R (the relay part): ours and the plain-JS object back to back.
  parityPairs: Number(val("--parity-pairs", QUICK ? 1 : 4)),
  // Side-by-side pairs per R: ours and the plain-JS object at the same time.
  sideBySide: Number(val("--side-by-side", QUICK ? 1 : 4)),
  // Their partner: the plain-JS object (the parity verdict), or e.g. "before" (an A/B of two builds).
  sideBySideWith: val("--side-by-side-with", "jsdo"),
  // Side-by-side pairs per R of the Wasm floor (bench/servers/workerd-js-floor.js) against the
  // plain-JS object, for each of its two steps: the frame copied into Wasm, and also read once.
  floorPairs: Number(val("--floor-pairs", QUICK ? 1 : 4)),
};
if (cfg.before && !cfg.servers.includes("before")) cfg.servers.splice(1, 0, "before");
/**
 * Vars set on top of wrangler.toml's for our server. The product limits each socket to
 * RATE_PER_SEC Socket.IO packets per second (burst RATE_BURST) and silently drops the excess;
 * the baseline has no such limit and the benchmark's load is far above it, so it is lifted
 * (the token bucket is still consulted for every packet, so its cost stays in the figures).
 */
const BENCH_VARS = { RATE_BURST: "1000000000", RATE_PER_SEC: "1000000000", RATE_KICK_AFTER: "1000000000" };
/**
 * The relay runs' vars: BENCH_VARS, and no seat grace. Ours sets each room's alarm 10 s after a
 * socket opens, to close it if it never asks for a seat (the plain-JS object has no such check);
 * it finds both seated and moves on. Joins of 500 rooms take about 3.5 s and the saturation
 * window opens 10 s after the start, so those 500 alarms (and their alarm writes) fell inside
 * it: work that is no relaying, that the JS object never does, billed to ours per relayed
 * message (side by side at R = 500, same build: 1.12–1.17× with it, 1.03–1.08× without,
 * 2026-12-01). The call-cost scenario, the idle wakes and the scale run keep it.
 */
const RELAY_VARS = { ...BENCH_VARS, SEAT_GRACE: "0" };
const NAMES = {
  ours: "ours (workerd)",
  wrangler: "ours (wrangler dev)",
  socketio: "socket.io",
  floor: "ws floor",
  jsdo: "JS DO on workerd",
  "jsdo-copy": "JS DO + frame copied into Wasm",
  "jsdo-read": "JS DO + frame copied into Wasm and read",
  "jsdo-swap": "JS DO + frame copied into Wasm, its JSON check skipped",
  before: "ours before (workerd)",
};

const tmp = mkdtempSync(path.join(existsShm() ? "/dev/shm" : os.tmpdir(), "signal-bench-"));
function hasTaskset() {
  try {
    execFileSync("taskset", ["-c", "0", "true"]);
    return true;
  } catch {
    return false;
  }
}
function existsShm() {
  try {
    return execFileSync("sh", ["-c", "test -d /dev/shm -a -w /dev/shm && echo y"]).toString().trim() === "y";
  } catch {
    return false;
  }
}
let cleaned = false;
function cleanup() {
  if (cleaned) return;
  cleaned = true;
  stopAll();
  try {
    rmSync(tmp, { recursive: true, force: true });
  } catch {}
}
process.on("exit", cleanup);
for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    cleanup();
    process.exit(130);
  });
}
const log = (...a) => console.error("[bench]", ...a);

// ---------- the release build, as uploaded ----------
function dryRun() {
  log("wrangler deploy --dry-run (runs the release build if sources changed) ...");
  const { outdir, output: out } = releaseBuild(path.join(tmp, "dist"), { stdio: ["ignore", "pipe", "pipe"] });
  const m = /Total Upload:\s*([\d.]+\s*KiB)\s*\/\s*gzip:\s*([\d.]+\s*KiB)/.exec(out);
  return { outdir, upload: m?.[1] ?? "n/a", gzip: m?.[2] ?? "n/a" };
}

// ---------- one run ----------
/**
 * A driver run. `onReady(child)`: with `--sat-barrier 1` in `extra`, called when the driver is
 * ready for its saturation phase (it then waits for `go <epoch ms>` on its stdin).
 */
function runDriver(server, proto, rooms, tag, idleWait, extra = [], onReady = null) {
  const args = [
    path.join(ROOT, "bench/driver.mjs"),
    "--proto", proto,
    "--port", String(server.port),
    "--server-pid", String(server.pid),
    "--rooms", String(rooms),
    "--tag", tag,
    "--rate", String(cfg.rate),
    "--rate-secs", String(cfg.rateSecs),
    "--sat-secs", String(cfg.satSecs),
    "--warm", String(cfg.warm),
    "--join-concurrency", "1",
    "--idle-wait", String(idleWait),
    ...extra,
  ];
  return new Promise((resolve) => {
    const [cmd, cmdArgs] = pinned(pin.driver, process.execPath, args);
    const child = spawn(cmd, cmdArgs, { stdio: [onReady ? "pipe" : "ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => {
      err += d;
      if (onReady && err.includes("phase sat-ready")) {
        const ready = onReady;
        onReady = null;
        ready(child);
      }
    });
    const killer = setTimeout(() => child.kill("SIGKILL"), 240_000 + rooms * 300);
    child.on("exit", () => {
      clearTimeout(killer);
      // Gone before it was ready: its partner is not to wait for it.
      if (onReady) onReady(null);
      const line = out.trim().split("\n").pop();
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ fatal: `driver output unreadable: ${out.slice(-500)} ${err.slice(-500)}` });
      }
    });
  });
}

/** A release build of ours (a `wrangler deploy --dry-run` output directory) on bare workerd. */
function startBuild(outdir, prefix, compat, benchVars) {
  const dir = mkdtempSync(path.join(tmp, prefix));
  const vars = { ...compat.vars, ...benchVars };
  return startWorkerd(writeWorkerdConfig(dir, outdir, { vars, compatibilityDate: compat.date }));
}

/** Starts server `kind` with `vars` on top of its own (RELAY_VARS for the relay runs). */
async function startServer(kind, dist, compat, vars = BENCH_VARS) {
  switch (kind) {
    case "ours":
      return startBuild(dist.outdir, "workerd-", compat, vars);
    case "before":
      if (!cfg.before) throw new Error("--before DIR is needed for the server 'before'");
      return startBuild(cfg.before, "workerd-before-", compat, vars);
    case "wrangler":
      return startWranglerDev(mkdtempSync(path.join(tmp, "wrangler-state-")), vars);
    case "jsdo":
      // The same lifted rate limit as ours (the object consults its bucket for every packet too).
      return startWorkerd(writeJsRelayConfig(mkdtempSync(path.join(tmp, "jsdo-")), compat.date, { vars }));
    case "socketio":
      return startSocketIo();
    case "floor":
      return startFloor();
  }
  if (FLOORS.some((f) => kind === `jsdo-${f}`)) {
    return startWorkerd(writeJsRelayConfig(mkdtempSync(path.join(tmp, `${kind}-`)), compat.date, { vars, floor: kind.slice(5) }));
  }
  throw new Error(`unknown server ${kind}`);
}

// ---------- statistics and formatting ----------
const get = (o, p) => p.split(".").reduce((a, k) => (a == null ? undefined : a[k]), o);

/** The figures of the tables: key, label, path in a driver result, unit scale, better. */
const METRICS = [
  ["joinFresh50", "join, fresh room p50 (ms)", "join.fresh.p50", 1, "low"],
  ["joinFresh99", "join, fresh room p99 (ms)", "join.fresh.p99", 1, "low"],
  ["joinExist50", "join, existing room p50 (ms)", "join.existing.p50", 1, "low"],
  ["joinExist99", "join, existing room p99 (ms)", "join.existing.p99", 1, "low"],
  ["rtt50", "relay round trip p50 (ms)", "rate.p50", 1, "low"],
  ["rtt90", "relay round trip p90 (ms)", "rate.p90", 1, "low"],
  ["rtt99", "relay round trip p99 (ms)", "rate.p99", 1, "low"],
  ["rateCpu", "server cores used at the fixed rate", "rate.serverCpuFrac", 1, "low"],
  ["sat", "relayed msgs/s at saturation", "sat.msgsPerSec", 1, "high"],
  ["satCores", "server cores used at saturation", "sat.serverCores", 1, "info"],
  ["perCore", "relayed msgs/s per server core", "sat.msgsPerCoreSec", 1, "high"],
  ["usPerMsg", "server CPU µs per relayed msg", "sat.cpuUsPerMsg", 1, "low"],
  ["sysUsPerMsg", "… of which in the kernel (µs)", "sat.sysUsPerMsg", 1, "low"],
  ["driverCores", "driver cores used at saturation", "sat.driverCores", 1, "info"],
  ["bgCores", "other load on the machine (cores)", "sat.backgroundCores", 1, "info"],
  ["peakMb", "peak RSS of server process tree (MB)", "memKb.peak", 1 / 1024, "low"],
  ["baseMb", "RSS before any room (MB)", "memKb.base", 1 / 1024, "low"],
  ["roomKb", "RSS per idle room, just joined (KB)", "memKb.perIdleRoom", 1, "low"],
  ["roomKbLater", "RSS per idle room after the idle wait (KB)", "memKb.perIdleRoomLater", 1, "low"],
  ["errors", "errors (all kinds)", "errorsTotal", 1, "low"],
  ["lost", "lost messages", "lost", 1, "low"],
];

function fmt(x) {
  if (x === null || x === undefined) return "–";
  if (typeof x === "string") return x;
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString("en-US");
  if (a >= 100) return x.toFixed(0);
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  return x.toFixed(3);
}
const ratio = (a, b) => (a == null || b == null || b === 0 ? null : a / b);

/** Targets: metric key -> [limit, direction] on ours (workerd) ÷ socket.io. */
const TARGETS = {
  perCore: [1.0, ">="],
  rtt50: [1.0, "<="],
  rtt99: [1.5, "<="],
  joinExist50: [1.0, "<="],
  joinFresh50: [3.0, "<="],
  roomKb: [2.0, "<="],
  roomKbLater: [2.0, "<="],
};

function table(headers, rows) {
  const lines = [`| ${headers.join(" | ")} |`, `|${headers.map((_, i) => (i ? "---:" : "---")).join("|")}|`];
  for (const r of rows) lines.push(`| ${r.join(" | ")} |`);
  return lines.join("\n");
}

/**
 * Waits (at most `maxSecs`) until the machine's other processes use at most `cfg.quiet` cores,
 * measured over one-second windows. Returns the seconds spent.
 */
async function waitQuiet(maxSecs) {
  const t0 = Date.now();
  const cores = os.cpus().length;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 1000));
    const b = machineCpu();
    const busy = (b.busy - a.busy) / ((b.total - a.total) / cores);
    const spent = (Date.now() - t0) / 1000;
    if (busy <= cfg.quiet || spent >= maxSecs) {
      if (spent > 1.5) log(`waited ${spent.toFixed(0)} s for a quieter machine (now ${busy.toFixed(2)} cores busy)`);
      return spent;
    }
  }
}

// ---------- main ----------
async function main() {
  const t0 = Date.now();
  const compat = wranglerToml();
  const machine = {
    cpu: /model name\s*:\s*(.*)/.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? "?",
    cores: os.cpus().length,
    memGb: (os.totalmem() / 2 ** 30).toFixed(1),
    kernel: os.release(),
    node: process.version,
    workerd: execFileSync(WORKERD, ["--version"]).toString().trim(),
    socketio: JSON.parse(readFileSync(path.join(ROOT, "node_modules/socket.io/package.json"), "utf8")).version,
    ws: JSON.parse(readFileSync(path.join(ROOT, "node_modules/ws/package.json"), "utf8")).version,
    wrangler: JSON.parse(readFileSync(path.join(ROOT, "node_modules/wrangler/package.json"), "utf8")).version,
    commit: (() => {
      try {
        return execFileSync("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"]).toString().trim();
      } catch {
        return "?";
      }
    })(),
    loadBefore: loadAvg(),
  };
  if (cfg.pin && os.cpus().length >= 2 && hasTaskset()) {
    pin.server = "0";
    pin.driver = "1";
  }
  machine.pinning = pin.server ? `servers on CPU ${pin.server}, driver on CPU ${pin.driver}` : "none";
  const dist = cfg.dist ? { outdir: cfg.dist, upload: "n/a", gzip: "n/a" } : dryRun();
  log(`upload ${dist.upload}, gzip ${dist.gzip}; config: ${JSON.stringify(cfg)}`);
  const cpu0 = machineCpu();

  /** results[kind][rooms] = [driver result per repetition] */
  const results = {};
  for (const k of cfg.servers) results[k] = Object.fromEntries(cfg.rooms.map((r) => [r, []]));
  const runLog = [];
  const REF = new Set(["wrangler"]);
  const maxRooms = Math.max(...cfg.rooms);
  let quietLeft = cfg.quietBudget;
  /** A driver result with its errors of all kinds added up (`errorsTotal`). */
  const withErrorsTotal = (res) => {
    if (!res.fatal) res.errorsTotal = Object.values(res.errors).reduce((a, b) => a + b, 0);
    return res;
  };
  /** One run: a quiet machine, a fresh server, the driver, the server stopped. */
  const runOnce = async (kind, rooms, tag, idleWait) => {
    quietLeft -= await waitQuiet(Math.min(quietLeft, 20));
    let server;
    let res;
    try {
      server = await startServer(kind, dist, compat, RELAY_VARS);
      res = await runDriver(server, kind === "floor" ? "floor" : "sio", rooms, tag, idleWait);
    } catch (e) {
      res = { fatal: String(e?.message ?? e).slice(0, 2000) };
    } finally {
      await server?.stop();
    }
    return withErrorsTotal(res);
  };
  for (let rep = 0; rep < (cfg.only.has("relay") ? cfg.reps : 0); rep++) {
    for (const [ri, rooms] of cfg.rooms.entries()) {
      const kinds = cfg.servers.filter((k) => !REF.has(k) || rep < cfg.refReps);
      const n = kinds.length;
      const order = kinds.map((_, i) => kinds[(i + rep + ri) % n]);
      for (const kind of order) {
        const tag = `${kind.slice(0, 2)}${rep}r${rooms}x${Date.now().toString(36)}`;
        const idleWait = rep === 0 && rooms === maxRooms ? cfg.idleWait : 0;
        const res = await runOnce(kind, rooms, tag, idleWait);
        results[kind][rooms].push(res);
        const brief = res.fatal
          ? `FATAL ${res.fatal.slice(0, 300)}`
          : `join ${fmt(res.join.fresh.p50)}/${fmt(res.join.existing.p50)} ms, rtt p50 ${fmt(res.rate?.p50)} p99 ${fmt(res.rate?.p99)} ms, ` +
            `sat ${fmt(res.sat?.msgsPerSec)}/s on ${fmt(res.sat?.serverCores)} cores (driver ${fmt(res.sat?.driverCores)}, other ${fmt(res.sat?.backgroundCores)}), ` +
            `${fmt(res.sat?.cpuUsPerMsg)} µs/msg, peak ${fmt(res.memKb.peak / 1024)} MB, ${fmt(res.memKb.perIdleRoom)} KB/room, ` +
            `errors ${res.errorsTotal}, lost ${res.lost}${res.samples?.length ? ` [${res.samples.slice(0, 3).join("; ")}]` : ""}`;
        log(`rep ${rep + 1}/${cfg.reps} R=${rooms} ${NAMES[kind]}: ${brief}`);
        runLog.push(`rep ${rep + 1} R=${rooms} ${NAMES[kind]}: ${brief}`);
      }
    }
  }

  // ---------- parity pairs ----------
  // Ours against the plain-JS object, back to back per pair (order alternating), so that the
  // machine's drift over minutes (±15 % here between repetitions) falls on both sides of each
  // ratio; the verdict is the median of the paired ratios.
  const pairs = Object.fromEntries(cfg.rooms.map((r) => [r, []]));
  const withParity = cfg.only.has("relay") && cfg.servers.includes("ours") && cfg.servers.includes("jsdo");
  for (let k = 0; k < (withParity ? cfg.parityPairs : 0); k++) {
    for (const rooms of cfg.rooms) {
      const order = k % 2 ? ["jsdo", "ours"] : ["ours", "jsdo"];
      const pair = {};
      for (const kind of order) {
        const res = await runOnce(kind, rooms, `pa${k}${kind.slice(0, 2)}r${rooms}x${Date.now().toString(36)}`, 0);
        if (res.fatal) log(`parity pair ${k + 1} R=${rooms} ${kind}: ${res.fatal.slice(0, 300)}`);
        else if (!res.errorsTotal && !res.lost) pair[kind] = res.sat?.cpuUsPerMsg;
      }
      if (pair.ours && pair.jsdo) pairs[rooms].push({ ours: pair.ours, jsdo: pair.jsdo, ratio: pair.ours / pair.jsdo });
      const last = pairs[rooms].at(-1);
      log(`parity pair ${k + 1}/${cfg.parityPairs} R=${rooms}: ${last ? `ours ${fmt(last.ours)}, JS ${fmt(last.jsdo)} µs/msg, ${last.ratio.toFixed(3)}×` : "incomplete"}`);
    }
  }

  // ---------- side-by-side pairs ----------
  // Ours and the plain-JS object at the same time: both servers on the servers' CPU, both
  // drivers on the driver's, their saturation windows opened at the same instant (--sat-barrier), so
  // that whatever the machine does during those seconds falls on both alike.
  // The Wasm floor's pairs run among them, the same way: the plain-JS object with a minimal Wasm
  // step before each message (bench/servers/workerd-js-floor.js) against the plain one.
  const sideBySide = Object.fromEntries(cfg.rooms.map((r) => [r, []]));
  const floors = FLOORS.map((f) => `jsdo-${f}`);
  const floorSide = Object.fromEntries(floors.map((f) => [f, Object.fromEntries(cfg.rooms.map((r) => [r, []]))]));
  /** `first` and `second` at the same time: both results, filed as `a` and `b`. */
  const runSideBySide = async (rooms, k, first, second) => {
    quietLeft -= await waitQuiet(Math.min(quietLeft, 20));
    const kinds = k % 2 ? [second, first] : [first, second];
    const servers = {};
    try {
      for (const kind of kinds) servers[kind] = await startServer(kind, dist, compat, RELAY_VARS);
      // Both windows open at one instant, set once both drivers have joined and run their
      // fixed-rate phases (on one shared CPU, however long that took): a barrier, not a guess.
      const ready = [];
      const arrive = (child) => {
        if (child === null) {
          for (const c of ready) c.stdin.end();
          return;
        }
        ready.push(child);
        if (ready.length < kinds.length) return;
        const at = Date.now() + 100 + cfg.warm * 1000;
        for (const c of ready) c.stdin.end(`go ${at}\n`);
      };
      const tag = (kind) => `sb${k}${kind.replace(/\W/g, "").slice(0, 6)}r${rooms}x${Date.now().toString(36)}`;
      const res = await Promise.all(kinds.map((kind) => runDriver(servers[kind], "sio", rooms, tag(kind), 0, ["--sat-barrier", "1"], arrive)));
      return Object.fromEntries(kinds.map((kind, i) => [kind === first ? "a" : "b", withErrorsTotal(res[i])]));
    } catch (e) {
      return { fatal: String(e?.message ?? e).slice(0, 2000) };
    } finally {
      for (const server of Object.values(servers)) await server.stop();
    }
  };
  /** One side-by-side pair, logged; its CPU per message (`a`, `b`) and ratio, unless left out. */
  const sideBySidePair = async (rooms, k, first, second) => {
    const got = await runSideBySide(rooms, k, first, second);
    const bad = got.fatal ?? ["a", "b"].map((s) => got[s].fatal && `${s === "a" ? first : second}: ${got[s].fatal}`).find(Boolean);
    const faults = bad ? 0 : ["a", "b"].reduce((n, s) => n + got[s].errorsTotal + got[s].lost, 0);
    const skew = bad ? null : Math.abs(got.a.sat.startedAt - got.b.sat.startedAt);
    let line;
    let pair = null;
    if (bad) line = `failed: ${bad.slice(0, 300)}`;
    else if (faults) line = `${faults} errors or lost messages: left out`;
    // A driver that reached the window late measured other seconds than its partner.
    else if (skew > 100) line = `windows ${skew} ms apart: left out`;
    else {
      pair = { a: got.a.sat.cpuUsPerMsg, b: got.b.sat.cpuUsPerMsg };
      pair.ratio = pair.a / pair.b;
      // The cores each server used in its window (≈ 0.5 each when both are CPU-bound).
      const cores = (s) => ((got[s].sat.msgsPerSec * got[s].sat.cpuUsPerMsg) / 1e6).toFixed(2);
      line = `${NAMES[first] ?? first} ${fmt(pair.a)}, ${NAMES[second] ?? second} ${fmt(pair.b)} µs/msg, ${pair.ratio.toFixed(3)}× (windows ${skew} ms apart; ${got.a.sat.msgsPerSec}/${got.b.sat.msgsPerSec} msgs/s, ${cores("a")}/${cores("b")} cores)`;
    }
    log(`side by side ${k + 1}/${sideBySideRounds} R=${rooms}: ${line}`);
    return pair;
  };
  const withSideBySide = cfg.only.has("relay") && cfg.servers.includes("ours") && (cfg.sideBySideWith !== "jsdo" || withParity);
  const withFloor = cfg.only.has("relay") && withParity;
  const sideBySideRounds = Math.max(withSideBySide ? cfg.sideBySide : 0, withFloor ? cfg.floorPairs : 0);
  for (let k = 0; k < sideBySideRounds; k++) {
    for (const rooms of cfg.rooms) {
      if (withSideBySide && k < cfg.sideBySide) {
        const pair = await sideBySidePair(rooms, k, "ours", cfg.sideBySideWith);
        // Filed as "ours" and "jsdo" whatever the partner is: the tally below compares those two.
        if (pair) sideBySide[rooms].push({ ours: pair.a, jsdo: pair.b, ratio: pair.ratio });
      }
      for (const f of withFloor && k < cfg.floorPairs ? floors : []) {
        const pair = await sideBySidePair(rooms, k, f, "jsdo");
        if (pair) floorSide[f][rooms].push({ ours: pair.a, jsdo: pair.b, ratio: pair.ratio });
      }
    }
  }

  // ---------- idle wakes ----------
  const wakes = [];
  if (cfg.only.has("wakes")) {
    const variants = [{ interval: 2000, timeout: 1500, secs: cfg.wakeSecs }];
    if (cfg.longWake) variants.push({ interval: 12000, timeout: 5000, secs: 40 });
    for (const v of variants) {
      log(`idle-room wakes: PING_INTERVAL=${v.interval} for ${v.secs} s ...`);
      try {
        const dir = mkdtempSync(path.join(tmp, "wake-"));
        wakes.push(await idleWakes({ distDir: dist.outdir, dir, compatibilityDate: compat.date, baseVars: { ...compat.vars, ...BENCH_VARS }, ...v }));
      } catch (e) {
        wakes.push({ interval: v.interval, fatal: String(e?.message ?? e).slice(0, 500) });
      }
      log(JSON.stringify(wakes.at(-1)));
    }
  }

  // ---------- report ----------
  const med = (kind, rooms, p) => median((results[kind]?.[rooms] ?? []).filter((r) => !r.fatal).map((r) => get(r, p)));
  const cols = cfg.servers;
  const sections = [];
  const verdicts = [];
  const parity = [];
  for (const rooms of cfg.rooms) {
    const headers = ["R = " + rooms, ...cols.map((k) => NAMES[k])];
    const hasBoth = cols.includes("ours") && cols.includes("socketio");
    if (hasBoth) headers.push("ours ÷ socket.io", "target");
    const hasBefore = cols.includes("ours") && cols.includes("before");
    if (hasBefore) headers.push("ours ÷ before");
    const hasJs = cols.includes("ours") && cols.includes("jsdo");
    if (hasJs) headers.push("ours ÷ JS DO");
    if (cols.includes("wrangler") && cols.includes("socketio")) headers.push("wrangler dev ÷ socket.io");
    if (cols.includes("jsdo") && cols.includes("socketio")) headers.push("JS DO ÷ socket.io");
    if (cols.includes("floor") && cols.includes("socketio")) headers.push("socket.io ÷ floor");
    const rows = [];
    for (const [key, label, p, scale] of METRICS) {
      const vals = cols.map((k) => {
        const v = med(k, rooms, p);
        return v == null ? null : v * scale;
      });
      if (vals.every((x) => x == null)) continue;
      const cells = vals.map((v, i) => {
        let s = fmt(v);
        // A saturation figure where the driver used (nearly) a whole core may be driver-bound.
        if ((key === "sat" || key === "perCore") && (med(cols[i], rooms, "sat.driverCores") ?? 0) >= 0.9) s += " (driver-bound?)";
        return s;
      });
      const row = [label, ...cells];
      // Ratios of the driver's or the machine's load say nothing about the servers.
      const v = Object.fromEntries(cols.map((k, i) => [k, key === "driverCores" || key === "bgCores" ? null : vals[i]]));
      if (hasBoth) {
        const r = ratio(v.ours, v.socketio);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
        const t = TARGETS[key];
        if (t && r != null) {
          const ok = t[1] === ">=" ? r >= t[0] : r <= t[0];
          row.push(`${t[1]} ${t[0]}× ${ok ? "✔" : "✘"}`);
          verdicts.push({ rooms, key, label, ratio: r, ok, limit: `${t[1]} ${t[0]}×` });
        } else row.push("");
      }
      if (hasBefore) {
        const r = ratio(v.ours, v.before);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
      }
      if (hasJs) {
        const r = ratio(v.ours, v.jsdo);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
        if (key === "usPerMsg" && r != null) parity.push({ rooms, ours: v.ours, jsdo: v.jsdo, ratio: r });
      }
      if (cols.includes("wrangler") && cols.includes("socketio")) {
        const r = ratio(v.wrangler, v.socketio);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
      }
      if (cols.includes("jsdo") && cols.includes("socketio")) {
        const r = ratio(v.jsdo, v.socketio);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
      }
      if (cols.includes("floor") && cols.includes("socketio")) {
        const r = ratio(v.socketio, v.floor);
        row.push(r == null ? "–" : `${r.toFixed(2)}×`);
      }
      rows.push(row);
    }
    sections.push(`### R = ${rooms} rooms (${rooms * 2} sockets)\n\n${table(headers, rows)}`);
  }

  // Target summary over all R.
  const summaryRows = [];
  for (const key of Object.keys(TARGETS)) {
    const vs = verdicts.filter((v) => v.key === key);
    if (!vs.length) continue;
    summaryRows.push([
      vs[0].label,
      vs[0].limit,
      ...cfg.rooms.map((r) => {
        const v = vs.find((x) => x.rooms === r);
        return v ? `${v.ratio.toFixed(2)}× ${v.ok ? "✔" : "✘"}` : "–";
      }),
    ]);
  }
  let wakeText = "";
  const wakeRows = wakes.map((w) =>
    w.fatal
      ? [`${w.interval} ms`, `failed: ${w.fatal}`, "", "", "", "", ""]
      : [
          `${w.interval} ms / ${w.timeout} ms, ${w.secs} s (${w.intervals} intervals)`,
          w.product
            ? `${w.product.perInterval} (${w.product.perMinuteAt25s}/min at 25 s); constructions ${w.product.constructionsPerInterval}`
            : "n/a",
          `${w.harness.perInterval} (${w.harness.perMinuteAt25s}/min at 25 s)`,
          String(w.harness.constructionsPerInterval),
          String(w.harness.pongInvocationsPerInterval),
          Object.entries(w.harness.byKind).map(([k, n]) => `${k}: ${n}`).join(", ") || "none",
          `${w.pingsPerPeerPerInterval} pings/peer/interval, ${w.unexpectedCloses} unexpected closes`,
        ],
  );
  if (wakeRows.length) {
    const t = wakes.find((w) => !w.fatal && w.interval === 2000);
    const ok = t ? (t.product ?? t.harness).perInterval <= 1.0 : null;
    summaryRows.push([
      "idle room: DO wakes (handler calls) per ping interval",
      "<= 1",
      t ? `${(t.product ?? t.harness).perInterval} ${ok ? "✔" : "✘"}${t.product ? "" : " (harness count)"}` : "–",
      ...cfg.rooms.slice(1).map(() => ""),
    ]);
    wakeText = table(
      [
        "ping interval / timeout, duration",
        "object's own log lines: handler calls per interval",
        "harness: handler calls per interval",
        "harness: constructions per interval",
        "harness: pong (`3`) handler calls per interval",
        "all harness lines",
        "check",
      ],
      wakeRows,
    );
  }

  // ---------- the other parts ----------
  const env = { distDir: dist.outdir, beforeDist: cfg.before || undefined, compatibilityDate: compat.date, baseVars: { ...compat.vars }, tmp };
  const part = {};
  const stamp = () => `Run: ${new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC")}, ${machine.cpu} (${machine.cores} cores), product commit ${machine.commit}, load average ${loadAvg()} at the end.`;
  const mdParts = {};
  if (cfg.only.has("cost")) {
    await waitQuiet(Math.min(quietLeft, 20));
    log("call cost and heartbeat settings (all designs at once, real heartbeat rounds) ...");
    part.cost = await costAndHeartbeat(env, { quick: QUICK, log });
    Object.assign(mdParts, costMarkdown(part.cost, stamp()));
  }
  if (cfg.only.has("scale")) {
    await waitQuiet(Math.min(quietLeft, 20));
    part.scale = await scaleRun({ rooms: cfg.scaleRooms, start: (k) => startServer(k, dist, compat), runDriver, log });
    mdParts.scale = scaleMarkdown(part.scale, stamp());
  }
  if (cfg.only.has("polling")) {
    await waitQuiet(Math.min(quietLeft, 20));
    part.polling = await pollingRun({ env, quick: QUICK, log });
    mdParts.polling = pollingMarkdown(part.polling, stamp());
  }
  if (cfg.only.has("call")) {
    await waitQuiet(Math.min(quietLeft, 20));
    part.call = await callRun({ env, trials: cfg.callTrials, log, beforePage: cfg.beforePage, delayMs: cfg.callDelay });
    mdParts.call = callMarkdown(part.call, stamp());
  }

  const cpu1 = machineCpu();
  const bgCores = (cpu1.busy - cpu0.busy) / ((cpu1.total - cpu0.total) / machine.cores);
  const date = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
  const secs = Math.round((Date.now() - t0) / 1000);
  const head = `# Benchmark results

Last run of \`bash bench/run.sh${QUICK ? " --quick" : ""}${argv.includes("--only") ? ` --only ${[...cfg.only].join(",")}` : ""}\` (see bench/README.md for the method).
Each section below says when it ran; a run with \`--only\` replaces only its own sections.

- Date: ${date}; took ${secs} s
- Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGb} GB RAM, Linux ${machine.kernel}
- Load: load average ${machine.loadBefore} before the run, ${loadAvg()} after; over the whole run the machine
  was ${(100 * bgCores / machine.cores).toFixed(0)} % busy (all processes, including these).
- Software: Node ${machine.node}, workerd ${machine.workerd}, wrangler ${machine.wrangler}, socket.io ${machine.socketio},
  ws ${machine.ws}, Chromium (Debian); product commit ${machine.commit}
- CPU placement (relay sweep): ${machine.pinning}
- Upload size (\`wrangler deploy --dry-run\`): ${dist.upload}, gzip ${dist.gzip}
`;
  if (cfg.only.has("relay")) {
    /** Medians of paired runs: µs/msg of each, and the ratio with its range. */
    const paired = (ps) => {
      const rs = ps.map((q) => q.ratio).sort((a, b) => a - b);
      const m = median(rs);
      return {
        m,
        us: ps.length ? `${fmt(median(ps.map((q) => q.ours)))} / ${fmt(median(ps.map((q) => q.jsdo)))}` : "–",
        ratio: m == null ? "–" : `${m.toFixed(2)}× (${rs[0].toFixed(2)}–${rs.at(-1).toFixed(2)}, ${rs.length})`,
      };
    };
    const mark = (m) => (m == null ? "–" : m <= 1.0 ? "✔" : "✘");
    const parityRows = parity.map((x) => {
      const back = paired(pairs[x.rooms] ?? []);
      // Another partner than the JS object is an A/B of builds, told in the log only.
      const side = paired(cfg.sideBySideWith === "jsdo" ? (sideBySide[x.rooms] ?? []) : []);
      const [read, copy, swap] = ["read", "copy", "swap"].map((f) => paired(floorSide[`jsdo-${f}`][x.rooms]));
      return [
        `R = ${x.rooms}`,
        `${fmt(x.ours)} / ${fmt(x.jsdo)}`,
        `${x.ratio.toFixed(2)}×`,
        back.us,
        back.ratio,
        mark(back.m ?? x.ratio),
        side.us,
        side.ratio,
        mark(side.m),
        ...(withFloor ? [copy.ratio, read.ratio, side.m == null || read.m == null ? "–" : `${(side.m / read.m).toFixed(2)}×`, swap.ratio] : []),
      ];
    });
    mdParts.relay = `## Relay: CPU per message against the platform floor, and against socket.io

${stamp()}

Scenario: R rooms × 2 peers (joins one at a time), then ${cfg.rate} round trips/s in total for ${cfg.rateSecs} s
(after ${cfg.warm} s warm-up), then saturation for ${cfg.satSecs} s (after ${cfg.warm} s warm-up) with
max(4, ⌈128/R⌉) round-trip chains in flight per room. Payloads: 1 in 6 an SDP of 3–6 KB, else an ICE
candidate of ~200 B. ${cfg.reps} repetition(s), servers in rotated order, each started fresh per run
and warmed with one throw-away room; every figure is the median over the repetitions. Before each
run the benchmark waited (at most 20 s, ${cfg.quietBudget} s in all) for the rest of the machine to
use ≤ ${cfg.quiet} cores.${cfg.idleWait ? ` At R = ${Math.max(...cfg.rooms)} (first repetition) memory was read again after
${cfg.idleWait} s of idleness (workerd evicts idle objects after ~10 s; their sockets stay open).` : ""}

### Parity: server CPU µs per relayed message, ours ÷ the plain-JS object (target ≤ 1.0×)

The plain-JS object (bench/servers/workerd-js-relay.js) does the same work per message as ours: Engine.IO
and Socket.IO headers, the rate bucket, \`JSON.parse\` with a depth limit of 128, the reserved names, the
forward of the frame as it arrived and the \`Got message:\` echo cut from it.

Three estimates from the same run: the sweep's medians (${cfg.reps} repetition(s), the servers rotated, so ours and the
JS object of one repetition ran up to a few minutes apart); ${cfg.parityPairs} pairs per R run after the sweep, ours
and the JS object back to back (order alternating), whose paired ratios cancel the machine's drift over minutes;
and ${cfg.sideBySide} side-by-side pairs per R, ours and the JS object at the same time (both servers on the servers'
CPU, both drivers on the driver's, the two saturation windows opened at the same instant, a pair left out when
they opened more than 100 ms apart), whose ratios also cancel what the machine does within seconds; each
server then has about half a CPU. Ratios: medians of the paired ratios, their range and count in brackets.

${table(["R", "sweep: ours / JS (µs/msg)", "sweep: ours ÷ JS", "back to back: ours / JS (µs/msg, medians)", "back to back: ours ÷ JS", "≤ 1.0×", "side by side: ours / JS (µs/msg, medians)", "side by side: ours ÷ JS", "≤ 1.0×", ...(withFloor ? ["side by side: JS + frame copied into Wasm ÷ JS", "side by side: JS + copied and read ÷ JS", "ours ÷ that floor (medians)", "side by side: JS with its JSON check swapped for the copy ÷ JS"] : [])], parityRows)}
${withFloor ? `
The last four columns are the floor under any room written for Wasm (bench/servers/workerd-js-floor.js,
wasm-floor.wat), ${cfg.floorPairs} side-by-side pairs per R against the plain-JS object, run among ours: the same
plain-JS object, calling a minimal Wasm module with each message before handling it. That call copies the frame
into the module's memory with \`TextEncoder.encodeInto\` (as our room does), and, in the second column, the module
also looks at every byte once, sixteen at a time, for quotes and backslashes; it decides nothing. What that
object costs above the plain one is what a room in Wasm pays before doing any work of its own, and the third
column is what ours costs above it (the two side-by-side medians divided). In the last column the object copies
the frame in and then skips its own JSON check of a relayed message (\`JSON.parse\` and the depth limit): a room
whose check in Wasm cost nothing and whose other work cost what it costs in JS, the least a Wasm room can cost.
` : ""}
### Against socket.io (reference; the throughput and memory targets were retired by issue 13)

${table(["figure", "limit", ...cfg.rooms.map((r) => `R = ${r}`)], summaryRows)}

### Figures

Columns: our release build on bare workerd (production has no dev proxy); the same through
\`wrangler dev\` (reference); the plain-JavaScript Durable Object doing the same work on bare
workerd (what the platform itself costs, bench/servers/workerd-js-relay.js); the Node +
socket.io 4 baseline; the bare Node \`ws\` relay floor${cfg.before ? `; "ours before": an earlier build of ours (\`--before\`), same method` : ""}.
Join = TCP connect + websocket upgrade → \`created\` (fresh room) / \`joined\` (existing room).
"per server core" = relayed messages per CPU-second of the server's process tree (= 10⁶ ÷ µs per msg).

${sections.join("\n\n")}

### Runs

\`\`\`
${runLog.join("\n")}
\`\`\`
`;
  }
  if (cfg.only.has("wakes")) {
    mdParts.wakes = `## Idle room: Durable Object wakes

${stamp()}

One room, two peers that only answer pings, on bare workerd with a short ping interval.
"Object's own log lines" counts the product's \`[room] wake: object created\` / \`[room] handler: …\`
lines (printed with \`LOG_WAKES=1\`): handler calls = wakes of a hibernated object; the harness count
comes from bench/wake-wrap.mjs, which wraps the unchanged release build's \`Room\` class. While the
platform takes the pongs, rounds are (pingInterval + pingTimeout) / 2 apart: 1.14 rounds per 2 s interval
at 2000 / 1500.

${wakeText || "not measured"}
`;
  }
  const md = mergeResults(path.join(ROOT, "bench/RESULTS.md"), head, mdParts);
  console.log(`\n${md}`);
  if (cfg.write) {
    writeFileSync(path.join(ROOT, "bench/RESULTS.md"), md);
    writeFileSync(path.join(ROOT, "bench/results.json"), JSON.stringify({ date, machine, cfg: { ...cfg, only: [...cfg.only] }, dist, results, sideBySide, floor: floorSide, wakes, part }, null, 1));
    log("wrote bench/RESULTS.md and bench/results.json (the latter is not committed)");
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanup);
