// CPU profiles of the servers at saturation, for finding where the time per message goes.
//
//   node bench/profile.mjs [--rooms 50] [--secs 4] [--servers ours,jsdo,socketio] [--top 30] [--out DIR]
//   node bench/profile.mjs --perf [--rooms 50] [--secs 4] [--dist DIR] [--against jsdo]   # Linux perf
//
// --perf: no inspector. Both workerd servers (ours, the plain-JS object) run with V8's
// `--perf-basic-prof` (JIT code named in /tmp/perf-PID.map) and `perf record -e cpu-clock` samples
// each over its saturation phase; printed: samples per 1,000 relayed messages by binary (workerd
// with V8's built-ins, the kernel, JIT code: our wasm and any JS) and the symbols where ours
// spends more or less than the plain-JS object. Needs `perf` (linux-perf); a software clock
// event, so it works without hardware counters. `--against jsdo-copy|jsdo-read|jsdo-swap`: one of
// the Wasm floors (bench/servers/workerd-js-floor.js) in the plain-JS object's place.
//
// --perf --callgraph: `perf record -g` (call chains, frame pointers), for `perf report -G` or
// `perf script` on the saved file: who called a symbol (a kernel page fault's user frames, say).
// Both servers' minor page faults per 1,000 messages and RSS at the window's edges are printed
// in any --perf run.
//
// --perf --jitdump: V8's `--perf-prof` instead (a jitdump with the machine code of every JIT
// function, our wasm's included), injected into DIR/<server>-R<rooms>.perf.data.jit, so that
// `perf annotate -i FILE --stdio -s SYMBOL` shows where inside a function the samples fall (a
// sample on the instruction after a load is most often that load's cache miss). V8's built-ins
// are in the jitdump too, so in this mode they count as JIT rather than workerd.
//
// Starts each server with the V8 inspector enabled (workerd --inspector-addr, node --inspect),
// runs bench/driver.mjs against it, records a CPU profile (Chrome DevTools protocol) during the
// saturation phase only, saves it as DIR/<server>.cpuprofile (open in Chrome DevTools or
// speedscope) and prints the functions with the most self time, and a breakdown by kind:
// Wasm (our Rust code), JS glue, the runtime outside JS ("(program)": for workerd its C++
// I/O, HTTP and websocket code and the event machinery), and garbage collection.
// The inspector slows the server somewhat; use these for proportions, not for the figures.

import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { FLOORS, ROOT, WORKERD, compatibilityDate, freePort, releaseBuild, stopAll, writeJsRelayConfig, writeWorkerdConfig } from "./lib/servers.mjs";

const argv = process.argv.slice(2);
const val = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const rooms = Number(val("--rooms", 50));
const secs = Number(val("--secs", 4));
const top = Number(val("--top", 30));
const servers = val("--servers", "ours,jsdo,socketio").split(",");
const outDir = path.resolve(val("--out", path.join(os.tmpdir(), "signal-profiles")));
const dist = val("--dist", "");
const jitdump = argv.includes("--jitdump");
const callgraph = argv.includes("--callgraph");
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(path.join(os.tmpdir(), "signal-prof-"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.on("exit", () => {
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

function getJson(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () => {
        try {
          resolve(JSON.parse(b));
        } catch (e) {
          reject(e);
        }
      });
    }).on("error", reject);
  });
}

async function cdp(inspectorPort) {
  let list;
  for (let i = 0; i < 100; i++) {
    try {
      list = await getJson(inspectorPort, "/json/list");
      if (list.length) break;
    } catch {}
    await sleep(100);
  }
  const ws = new WebSocket(list[0].webSocketDebuggerUrl);
  await new Promise((r, j) => (ws.once("open", r), ws.once("error", j)));
  let id = 0;
  const waiting = new Map();
  ws.on("message", (d) => {
    const m = JSON.parse(d);
    if (m.id && waiting.has(m.id)) {
      waiting.get(m.id)(m);
      waiting.delete(m.id);
    }
  });
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const n = ++id;
      waiting.set(n, resolve);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  return { call, close: () => ws.close() };
}

// As bench.mjs's RELAY_VARS: no rate limit, and no seat-grace alarms in the saturation window.
const BENCH_VARS = { RATE_BURST: "1000000000", RATE_PER_SEC: "1000000000", RATE_KICK_AFTER: "1000000000", SEAT_GRACE: "0" };

/** The release build to run: `--dist`, or a fresh `wrangler deploy --dry-run` (made once). */
function ourDist() {
  if (dist) return dist;
  const out = path.join(tmp, "dist");
  return existsSync(out) ? out : releaseBuild(out).outdir;
}

/** A workerd config for ours or the plain-JS object (the rate limit lifted, as in the benchmark). */
function workerdConfig(kind) {
  const dir = mkdtempSync(path.join(tmp, `${kind}-`));
  if (kind === "ours") return writeWorkerdConfig(dir, ourDist(), { vars: BENCH_VARS, compatibilityDate: compatibilityDate() });
  const floor = FLOORS.find((f) => kind === `jsdo-${f}`);
  if (kind !== "jsdo" && !floor) throw new Error(`unknown server ${kind}`);
  return writeJsRelayConfig(dir, compatibilityDate(), { vars: BENCH_VARS, floor });
}

function summarize(name, profile) {
  const self = new Map();
  const byKind = new Map();
  const dt = profile.timeDeltas;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const hits = new Map();
  for (let i = 0; i < profile.samples.length; i++) {
    const d = (dt[i + 1] ?? dt[i] ?? 0) / 1000; // ms to the next sample
    hits.set(profile.samples[i], (hits.get(profile.samples[i]) ?? 0) + d);
  }
  let total = 0;
  for (const [nid, ms] of hits) {
    const n = nodes.get(nid);
    const f = n.callFrame;
    const fname = f.functionName || "(anonymous)";
    let kind;
    if (fname === "(idle)") kind = "idle";
    else if (fname === "(garbage collector)") kind = "garbage collector";
    else if (fname === "(program)") kind = "runtime outside JS/Wasm (program)";
    else if (f.url.startsWith("wasm://") || /^\$?func\d+|::|wasm-function/.test(fname)) kind = "Wasm";
    else if (f.url) kind = `JS ${path.basename(f.url.split("?")[0])}`;
    else kind = "JS built-ins / runtime APIs";
    const key = `${fname}  [${f.url ? path.basename(f.url) : "native"}]`;
    self.set(key, (self.get(key) ?? 0) + ms);
    byKind.set(kind, (byKind.get(kind) ?? 0) + ms);
    if (kind !== "idle") total += ms;
  }
  const lines = [`== ${name}: ${total.toFixed(0)} ms busy in the profile (idle excluded)`];
  lines.push("-- by kind (share of busy time):");
  for (const [k, ms] of [...byKind].sort((a, b) => b[1] - a[1])) {
    lines.push(`${(k === "idle" ? "   (idle)" : `${((100 * ms) / total).toFixed(1).padStart(6)} %`)}  ${ms.toFixed(0).padStart(6)} ms  ${k}`);
  }
  lines.push(`-- top ${top} functions by self time:`);
  for (const [k, ms] of [...self].filter(([k]) => !k.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    lines.push(`${((100 * ms) / total).toFixed(1).padStart(6)} %  ${k.slice(0, 150)}`);
  }
  return lines.join("\n");
}

async function profileServer(kind) {
  const port = await freePort();
  const inspectorPort = await freePort();
  let child;
  if (kind === "ours" || kind === "jsdo") {
    child = spawn(WORKERD, ["serve", workerdConfig(kind), "--experimental", `--socket-addr=http=127.0.0.1:${port}`, `--inspector-addr=127.0.0.1:${inspectorPort}`], {
      detached: true,
      stdio: "ignore",
    });
  } else {
    child = spawn(process.execPath, [`--inspect=127.0.0.1:${inspectorPort}`, path.join(ROOT, "bench/servers/socketio.mjs"), "--port", String(port)], {
      detached: true,
      stdio: "ignore",
    });
  }
  try {
    const session = await cdp(inspectorPort);
    await session.call("Profiler.enable");
    await session.call("Profiler.setSamplingInterval", { interval: 100 });
    const driver = spawn(
      process.execPath,
      [path.join(ROOT, "bench/driver.mjs"), "--proto", "sio", "--port", String(port), "--server-pid", String(child.pid), "--rooms", String(rooms), "--rate-secs", "1", "--sat-secs", String(secs), "--warm", "1"],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    driver.stdout.on("data", (d) => (out += d));
    let profileP = null;
    driver.stderr.on("data", (d) => {
      const s = d.toString();
      if (s.includes("phase sat-start")) session.call("Profiler.start");
      if (s.includes("phase sat-end")) profileP = session.call("Profiler.stop");
    });
    await new Promise((r) => driver.on("exit", r));
    const res = JSON.parse(out.trim().split("\n").pop());
    const stop = await profileP;
    const profile = stop.result.profile;
    const file = path.join(outDir, `${kind}-R${rooms}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    session.close();
    console.log(`\n${kind}: ${res.sat.msgsPerSec} msgs/s, ${res.sat.cpuUsPerMsg} µs/msg (with the inspector attached); profile in ${file}`);
    console.log(summarize(kind, profile));
  } finally {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
}

/** Ours or the plain-JS object under `perf record`: symbol → samples, and messages relayed. */
async function perfServer(kind) {
  const port = await freePort();
  const config = workerdConfig(kind);
  const v8Flag = jitdump ? "--perf-prof" : "--perf-basic-prof";
  writeFileSync(config, readFileSync(config, "utf8").replace("const config :Workerd.Config = (", `const config :Workerd.Config = (\n  v8Flags = ["${v8Flag}"],`));
  const pinned = (cpu, cmd, args) => (os.cpus().length >= 2 ? ["taskset", ["-c", cpu, cmd, ...args]] : [cmd, args]);
  const child = spawn(...pinned("0", WORKERD, ["serve", config, "--experimental", `--socket-addr=http=127.0.0.1:${port}`]), { detached: true, stdio: "ignore", cwd: path.dirname(config) });
  const data = path.join(outDir, `${kind}-R${rooms}.perf.data`);
  // With --jitdump: the samples with the JIT code's symbols, written by `perf inject` below.
  const reported = jitdump ? `${data}.jit` : data;
  // A jitdump's timestamps are CLOCK_MONOTONIC: perf must sample on the same clock.
  const clock = jitdump ? ["-k", "mono"] : [];
  try {
    let pid = null;
    for (let i = 0; i < 100 && !pid; i++) {
      await sleep(100);
      try {
        pid = Number(execFileSync("pgrep", ["-f", `serve ${config}`]).toString().trim().split("\n").pop()) || null;
      } catch {}
    }
    if (!pid) throw new Error("workerd did not start");
    const driver = spawn(...pinned("1", process.execPath, [path.join(ROOT, "bench/driver.mjs"), "--proto", "sio", "--port", String(port), "--server-pid", String(pid), "--rooms", String(rooms), "--rate-secs", "1", "--sat-secs", String(secs), "--warm", "1"]), { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let perf = null;
    driver.stdout.on("data", (d) => (out += d));
    // Minor page faults and RSS of the server at the window's edges: pages the kernel had to
    // hand out (and zero) while it relayed.
    const mem = () => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
        const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))[1];
        return { minflt: Number(stat[7]), rssKb: Number(rss) };
      } catch {
        return null; // the server is gone
      }
    };
    const edges = [];
    driver.stderr.on("data", (d) => {
      const t = d.toString();
      if (t.includes("phase sat-start") || t.includes("phase sat-end")) edges.push(mem());
      if (t.includes("phase sat-start")) perf = spawn("perf", ["record", "-q", ...clock, ...(callgraph ? ["-g"] : []), "-e", "cpu-clock", "-F", "4000", "-p", String(pid), "-o", data], { stdio: "ignore" });
      if (t.includes("phase sat-end")) perf?.kill("SIGINT");
    });
    await new Promise((r) => driver.on("exit", r));
    // perf writes its file on SIGINT and exits (bounded wait).
    for (let i = 0; i < 200 && perf && perf.exitCode === null && perf.signalCode === null; i++) await sleep(50);
    // The jitdump file lives in workerd's working directory, removed at exit: inject it now.
    if (jitdump) execFileSync("perf", ["inject", "--jit", "-i", data, "-o", reported], { stdio: "ignore", cwd: path.dirname(config) });
    const res = JSON.parse(out.trim().split("\n").pop());
    const report = execFileSync("perf", ["report", "-i", reported, "--no-children", "--sort", "dso,sym", "--stdio", "-F", "sample,dso,sym"], { maxBuffer: 1 << 28, stdio: ["ignore", "pipe", "ignore"] }).toString();
    const samples = new Map();
    for (const line of report.split("\n")) {
      const m = /^\s*(\d+)\s+(\S.*?)\s+\[.\]\s+(.*)$/.exec(line);
      if (!m) continue;
      const dso = m[2].startsWith("[JIT]") || m[2].startsWith("jitted-") ? "JIT" : m[2];
      // One name per function, whichever tier or instance compiled it.
      const sym = m[3].replace(/-\d+-(turbofan|liftoff|maglev)/, "").replace(/::h[0-9a-f]{16}/g, "").replace(/ \S+\.js:\d+:\d+/, "").slice(0, 120);
      const key = `${dso}\t${sym}`;
      samples.set(key, (samples.get(key) ?? 0) + Number(m[1]));
    }
    const [m0, m1] = edges;
    const faults = m0 && m1 ? `, ${(((m1.minflt - m0.minflt) * 1000) / res.sat.relayed).toFixed(1)} minor faults per 1,000 messages, RSS ${m0.rssKb} → ${m1.rssKb} KB` : "";
    console.log(`${kind}: ${res.sat.msgsPerSec} msgs/s, ${res.sat.cpuUsPerMsg} µs/msg under perf, ${res.sat.relayed} relayed in the window${faults}; ${data}`);
    return { samples, relayed: res.sat.relayed };
  } finally {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {}
  }
}

function perfReport(a, b) {
  const per = (x, key) => ((x.samples.get(key) ?? 0) * 1000) / x.relayed;
  const byDso = (x) => {
    const m = new Map();
    for (const [k, n] of x.samples) m.set(k.split("\t")[0], (m.get(k.split("\t")[0]) ?? 0) + (n * 1000) / x.relayed);
    return m;
  };
  const [da, db] = [byDso(a), byDso(b)];
  const total = (m) => [...m.values()].reduce((s, v) => s + v, 0);
  console.log(`\n== samples (250 µs each) per 1,000 relayed messages: ours ${total(da).toFixed(1)}, plain-JS object ${total(db).toFixed(1)}`);
  for (const d of [...new Set([...da.keys(), ...db.keys()])].sort((x, y) => (db.get(y) ?? 0) - (db.get(x) ?? 0))) {
    console.log(`  ${(da.get(d) ?? 0).toFixed(1).padStart(7)} ${(db.get(d) ?? 0).toFixed(1).padStart(7)}  ${d}`);
  }
  const keys = [...new Set([...a.samples.keys(), ...b.samples.keys()])];
  const rows = keys.map((k) => [per(a, k) - per(b, k), per(a, k), per(b, k), k.replace("\t", "  ")]).sort((x, y) => y[0] - x[0]);
  const line = (r) => `  ${(r[0] >= 0 ? "+" : "") + r[0].toFixed(2)}  ${r[1].toFixed(2).padStart(6)} ${r[2].toFixed(2).padStart(6)}  ${r[3]}`;
  console.log(`-- where ours spends more (difference, ours, plain-JS; per 1,000 messages):`);
  rows.slice(0, top).forEach((r) => console.log(line(r)));
  console.log(`-- where the plain-JS object spends more:`);
  rows.slice(-Math.min(top, 15)).forEach((r) => console.log(line(r)));
}

if (argv.includes("--perf")) {
  const ours = await perfServer("ours");
  const jsdo = await perfServer(val("--against", "jsdo"));
  perfReport(ours, jsdo);
} else {
  for (const s of servers) await profileServer(s);
}
process.exit(0);
