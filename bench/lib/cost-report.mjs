// What a call costs on Cloudflare, and the heartbeat trade-off: runs the call-cost scenario
// (bench/lib/cost.mjs) for every design and heartbeat setting, and the dead-peer detection
// measurement (bench/lib/heartbeat.mjs), all at once (they are mostly idle waiting for real
// heartbeat rounds), then prices them (bench/lib/prices.mjs). Returns the figures and the
// markdown sections for bench/RESULTS.md.

import { mkdtempSync } from "node:fs";
import path from "node:path";
import { DESIGNS, roundMs, runCall } from "./cost.mjs";
import { detection } from "./heartbeat.mjs";
import { PRICES, PRICES_READ, billable, dollars, monthly, vmMonthly } from "./prices.mjs";
import { sleep } from "./clients.mjs";
import { median } from "./stats.mjs";

/** Heartbeat settings compared (ms), ours unless `server` says otherwise. */
export const SETTINGS = [
  { interval: 25000, timeout: 20000, eio: 4, note: "default" },
  { interval: 25000, timeout: 5000, eio: 4 },
  { interval: 10000, timeout: 5000, eio: 4 },
  { interval: 60000, timeout: 30000, eio: 4 },
  { interval: 25000, timeout: 30000, eio: 4, note: "timeout > interval: pongs reach the object" },
  { interval: 25000, timeout: 20000, eio: 3, note: "v3 clients: the platform answers their pings" },
];

const f = (x, d = 2) => (x == null || !Number.isFinite(x) ? "–" : x >= 1000 ? Math.round(x).toLocaleString("en-US") : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(d));
const usd = (x) => (x == null ? "–" : x >= 1 ? `$${x.toFixed(2)}` : x >= 0.01 ? `$${x.toFixed(3)}` : `$${x.toFixed(4)}`);
const table = (headers, rows) =>
  [`| ${headers.join(" | ")} |`, `|${headers.map((_, i) => (i ? "---:" : "---")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
/**
 * `env`: { distDir, compatibilityDate, baseVars, tmp }. `quick`: fewer idle rounds and settings.
 */
export async function costAndHeartbeat(env, { quick = false, log = () => {} } = {}) {
  const budgetMs = quick ? 50_000 : 140_000;
  const roundsFor = (round) => Math.max(2, Math.min(quick ? 2 : 6, Math.floor(budgetMs / round)));
  const dirFor = (name) => mkdtempSync(path.join(env.tmp, `${name}-`));
  const jobs = [];
  let stagger = 0;
  const later = async (fn) => {
    // Start the servers a little apart, so that no two joins share the CPU.
    await sleep((stagger++ % 20) * 700);
    return fn();
  };
  const calls = {};
  for (const design of Object.keys(DESIGNS)) {
    if (DESIGNS[design].before && !env.beforeDist) continue;
    const round = roundMs(design, 25000, 20000);
    jobs.push(
      later(() => runCall(design, { ...env, dir: dirFor(design) }, { interval: 25000, timeout: 20000, idleRounds: roundsFor(round), log }))
        .then((r) => (calls[design] = r))
        .catch((e) => (calls[design] = { design, fatal: String(e?.stack ?? e).slice(0, 600) })),
    );
  }
  const settings = quick ? SETTINGS.filter((s, i) => i === 0 || i === 5) : SETTINGS;
  const hb = settings.map((s) => ({ ...s }));
  for (const s of hb) {
    const design = s.eio === 3 ? "ours-v3" : "ours-v4";
    if (!(s.interval === 25000 && s.timeout === 20000)) {
      const round = roundMs(design, s.interval, s.timeout);
      jobs.push(
        later(() => runCall(design, { ...env, dir: dirFor(`hb-${design}`) }, { interval: s.interval, timeout: s.timeout, idleRounds: roundsFor(round), log }))
          .then((r) => (s.call = r))
          .catch((e) => (s.call = { fatal: String(e?.stack ?? e).slice(0, 600) })),
      );
    }
    jobs.push(
      later(() => detection({ ...s, server: "ours" }, { ...env, dir: dirFor("det") }, { trials: quick ? 2 : 3, log }))
        .then((r) => (s.detect = r))
        .catch((e) => (s.detect = { fatal: String(e?.stack ?? e).slice(0, 600) })),
    );
  }
  const sio = { interval: 25000, timeout: 20000, eio: 4 };
  jobs.push(
    later(() => detection({ ...sio, server: "socketio" }, env, { trials: quick ? 2 : 3, log }))
      .then((r) => (sio.detect = r))
      .catch((e) => (sio.detect = { fatal: String(e?.stack ?? e).slice(0, 600) })),
  );
  await Promise.all(jobs);
  for (const s of hb) if (s.interval === 25000 && s.timeout === 20000) s.call = calls[s.eio === 3 ? "ours-v3" : "ours-v4"];
  return { calls, heartbeat: hb, socketio: sio, quick };
}

/** The markdown sections of a `costAndHeartbeat` result. */
export function costMarkdown(res, runLine) {
  const { calls, heartbeat, socketio } = res;
  const priced = (c) => {
    const b = billable(c.hour);
    return { b, d: dollars(b) };
  };
  const rows = [];
  for (const [design, c] of Object.entries(calls)) {
    if (c.fatal) {
      rows.push([DESIGNS[design].label, `failed: ${c.fatal.split("\n")[0]}`, "", "", "", "", "", "", "", "", ""]);
      continue;
    }
    const { b, d } = priced(c);
    const h = c.hour;
    rows.push([
      DESIGNS[design].label,
      f(h.workerRequests, 0),
      f(h.doRequests, 0),
      f(h.wsMessages, 0),
      f(b.doRequests, 0),
      f(h.wakes, 0),
      f(h.rowsWritten, 0),
      f(h.awakeSec, 2),
      f(b.doGbSeconds, 2),
      usd(d.total * 1000),
      `${usd(d.requests * 1000)} / ${usd(d.duration * 1000)} / ${usd(d.rowsWritten * 1000)} / ${usd(d.workerRequests * 1000)}`,
    ]);
  }
  const vm = vmMonthly();
  rows.push([
    `always-on VM running the socket.io server (${PRICES.vm.name})`,
    "–",
    "–",
    "–",
    "–",
    "–",
    "–",
    "3,600",
    "–",
    `${usd(vm)} a month, however many calls`,
    "fixed price: 1,000 calls a month cost the whole month",
  ]);
  const costTable = table(
    [
      "design (per hour-long call)",
      "Worker requests",
      "object requests (fetch + alarm)",
      "incoming ws messages",
      "billed object requests (messages 20:1)",
      "object constructions",
      "rows written",
      "awake s",
      "GB-s",
      "$ per 1,000 calls",
      "of which requests / duration / rows written / Worker requests",
    ],
    rows,
  );

  const monthRows = [];
  for (const n of [1_000, 10_000, 100_000, 1_000_000]) {
    const cells = Object.entries(calls).map(([, c]) => (c.fatal ? "–" : usd(monthly(priced(c).b, n))));
    monthRows.push([n.toLocaleString("en-US"), ...cells, usd(vm)]);
  }
  const monthTable = table(
    ["hour-long calls a month", ...Object.keys(calls).map((k) => DESIGNS[k].label), "always-on VM"],
    monthRows,
  );

  // Where ours' units come from, phase by phase.
  const phaseRows = [];
  for (const design of ["ours-v4", "ours-v4-before", "ours-v3", "ours-polling", "jsdo", "awake"]) {
    const c = calls[design];
    if (!c || c.fatal) continue;
    for (const [name, p] of Object.entries(c.phases)) {
      const u = name === "idle" ? c.perRound : p.units;
      const k = p.counts;
      phaseRows.push([
        `${DESIGNS[design].label}: ${name === "idle" ? "idle, per round" : name}`,
        f(u.workerRequests),
        f(u.doRequests),
        f(u.wsMessages),
        f(u.alarms),
        f(u.wakes),
        f(u.rowsWritten),
        f(u.cpuSec * 1000, 2),
        f(u.spanSec * 1000, 0),
        name === "idle" ? `${c.idleRounds} rounds of ${c.roundMs} ms${c.evictCpuPerRound ? `; evictions between them ${f(c.evictCpuPerRound * 1000, 1)} ms CPU per round, not billed` : ""}` : Object.entries({ ...k.fetchByKind, ...(k.setAlarm ? { setAlarm: k.setAlarm } : {}), ...(k.deleteAlarm ? { deleteAlarm: k.deleteAlarm } : {}), ...(k.sqlStatements ? { "SQL statements": k.sqlStatements } : {}) }).map(([x, n]) => `${x} ${n}`).join(", "),
      ]);
    }
  }
  const phaseTable = table(
    ["design: phase", "Worker requests", "object requests", "incoming ws messages", "alarms", "constructions", "rows written", "CPU ms", "held-request ms", "detail"],
    phaseRows,
  );

  const hbRows = heartbeat.map((s) => {
    const c = s.call;
    const det = s.detect?.detections ?? [];
    const fromSign = det.map((x) => x.fromLastSign);
    const fromDrop = det.map((x) => x.fromDrop);
    let units = ["–", "–", "–", "–", "–"];
    if (c && !c.fatal) {
      const { b, d } = priced(c);
      units = [f(c.roundMs / 1000, 1), f(c.roundsPerHour, 0), f(b.doRequests, 0), f(b.rowsWritten, 0), usd(d.total * 1000)];
    }
    return [
      `${s.interval} / ${s.timeout}${s.eio === 3 ? " (v3)" : ""}${s.note ? ` — ${s.note}` : ""}`,
      ...units,
      det.length ? `${f(Math.min(...fromDrop) / 1000, 1)}–${f(Math.max(...fromDrop) / 1000, 1)} (median ${f(median(fromDrop) / 1000, 1)})` : s.detect?.fatal ? `failed: ${s.detect.fatal.split("\n")[0]}` : "–",
      det.length ? f(Math.max(...fromSign) / 1000, 1) : "–",
      f((s.interval + s.timeout) / 1000, 0),
    ];
  });
  const sd = socketio.detect?.detections ?? [];
  hbRows.push([
    "socket.io (Node) 25000 / 20000, for reference",
    "25.0",
    "144",
    "(VM)",
    "(VM)",
    "(VM)",
    sd.length ? `${f(Math.min(...sd.map((x) => x.fromDrop)) / 1000, 1)}–${f(Math.max(...sd.map((x) => x.fromDrop)) / 1000, 1)}` : "–",
    sd.length ? f(Math.max(...sd.map((x) => x.fromLastSign)) / 1000, 1) : "–",
    "45",
  ]);
  const hbTable = table(
    [
      "PING_INTERVAL / PING_TIMEOUT (ms)",
      "round (s)",
      "idle rounds per call-hour",
      "billed object requests per call-hour",
      "rows written per call-hour",
      "$ per 1,000 call-hours",
      "bye after the drop (s), measured",
      "bye after the last sign of life (s), max",
      "contract bound (s)",
    ],
    hbRows,
  );
  const errs = [
    ...Object.values(calls).flatMap((c) => (c.errors ?? []).map((e) => `${c.design}: ${e}`)),
    ...heartbeat.flatMap((s) => (s.detect?.errors ?? []).map((e) => `${s.interval}/${s.timeout} v${s.eio}: ${e}`)),
  ];
  return {
    cost: `## What a call costs on Cloudflare

${runLine}

\`bash bench/run.sh --only cost\` (bench/lib/cost.mjs, bench/lib/prices.mjs). One two-person call per design on bare
workerd: join, negotiation (hello both ways, a 5 KB offer, a 4 KB answer, 8 trickled candidates from each side,
media state both ways), a settling phase until the join's one-off alarms are past (a socket's seat grace wakes the
room once even for a socket that took its seat at once: ours sends its first pings then) and the first heartbeat round after them, idle with heartbeats for ${res.quick ? 2 : "up to 6"} real rounds at the production settings
(25 s / 20 s, so every round wakes the object from hibernation, as on Cloudflare; counted from just after one alarm to
just after the last), hang-up (A sends \`leave\`, \`bye\` and \`41\` and closes, as the page does; then B closes; counted until a
round later, so that an alarm left set in the empty room shows). An
hour-long call = the one-off phases + the idle phase scaled to the rounds in the rest of the hour. Counted from the harness around the unchanged build (bench/wake-wrap.mjs):
Worker requests, object requests (fetch, alarm), incoming websocket messages (pongs the platform answers never reach
the object and are not billed), object constructions (wakes from hibernation), rows written (each setAlarm() and
deleteAlarm() one row; SQL rows as workerd counts them). Awake time: the server's CPU time (workerd's clock stands
still in synchronous code) plus the wall time of requests the object holds open (long-polling GETs); a design that
cannot hibernate is awake the whole hour. In the idle rounds only the CPU around each alarm counts (from just before
its line to 300 ms after): workerd evicts the woken object about 10 s later, and an object idle and eligible for
hibernation is not billed, even before it is evicted (Cloudflare's pricing page); that clean-up's CPU is in the last
column. The one-off phases count all of the server's CPU, their evictions included.

Prices read ${PRICES_READ} (bench/lib/prices.mjs has the quotes and sources): object requests $${PRICES.doRequestPerMillion}/million
(incoming websocket messages 20:1), duration $${PRICES.doGbSecondPerMillion}/million GB-s at 128 MB, rows written
$${PRICES.rowWrittenPerMillion.toFixed(2)}/million, Worker requests $${PRICES.workerRequestPerMillion}/million; marginal prices, beyond the Paid plan's monthly
allowances. VM: ${PRICES.vm.name}, €${PRICES.vm.eurPerMonth}/month (≈ ${usd(vm)} at $${PRICES.vm.usdPerEur}/€).

${costTable}

A month's bill, with the Paid plan's allowances (1 M object requests, 400,000 GB-s, 50 M rows written, 10 M Worker
requests) and its $${PRICES.planMinimum} minimum:

${monthTable}

Where the units come from (per phase; the idle phase per heartbeat round):

${phaseTable}
${errs.length ? `\nErrors: ${errs.join("; ")}\n` : "\nNo errors: every call joined, relayed every negotiation message and got its bye.\n"}`,
    heartbeat: `## Heartbeat settings: what they cost and how fast a dead peer is noticed

${runLine}

\`bash bench/run.sh --only cost\` (bench/lib/heartbeat.mjs). Units per hour-long call measured as above at each
setting; detection measured on bare workerd: ${res.quick ? 2 : 3} rooms per setting, one peer of each behind a TCP proxy
that stops forwarding (no FIN, no RST: lib/tcp-proxy.mjs) at moments spread over one heartbeat cycle, timed to the
partner's \`bye\`. "After the last sign of life" counts from the last bytes the proxy forwarded from the dropped peer
(its last pong, or a v3 client's last ping): the contract's bound is pingInterval + pingTimeout from there.

${hbTable}
`,
  };
}
