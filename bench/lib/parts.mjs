// The parts of a benchmark run besides the relay sweep and the call cost (bench/bench.mjs runs
// them): scale (2,000 idle rooms on one server), long-polling with the real socket.io client,
// time to a call in Chromium; and the merge of a run's sections into bench/RESULTS.md.

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import path from "node:path";
import { timeToCall } from "./call-time.mjs";
import { DelayProxy } from "./delay-proxy.mjs";
import { pollingBench } from "./polling-bench.mjs";
import { startCodelab, startSocketIo, startWorkerd, writeSiteConfig, writeWorkerdConfig } from "./servers.mjs";

const f = (x, d = 2) => (x == null || !Number.isFinite(x) ? "–" : Math.abs(x) >= 1000 ? Math.round(x).toLocaleString("en-US") : Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 10 ? x.toFixed(1) : x.toFixed(d));
const table = (headers, rows) =>
  [`| ${headers.join(" | ")} |`, `|${headers.map((_, i) => (i ? "---:" : "---")).join("|")}|`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
const ratio = (a, b) => (a == null || b == null || !b ? "–" : `${(a / b).toFixed(2)}×`);

// ---------------------------------------------------------------------------------------------
// Scale: R rooms × 2 sockets joined and left idle on one server

/**
 * `start(kind)` starts a server ("ours", "jsdo", "socketio"); `runDriver` is bench.mjs's. Joins
 * four rooms at a time, then 15 s of idleness (workerd evicts an idle object after ~10 s) and a
 * second memory reading.
 */
export async function scaleRun({ rooms, start, runDriver, log }) {
  const out = { rooms, servers: {} };
  for (const kind of ["ours", "jsdo", "socketio"]) {
    log(`scale: ${rooms} rooms on ${kind} ...`);
    let server;
    try {
      server = await start(kind);
      const t0 = Date.now();
      const res = await runDriver(server, "sio", rooms, `sc${kind.slice(0, 2)}${Date.now().toString(36)}`, 15, ["--load", "0", "--join-concurrency", "4"]);
      res.wallSecs = (Date.now() - t0) / 1000;
      out.servers[kind] = res;
    } catch (e) {
      out.servers[kind] = { fatal: String(e?.message ?? e).slice(0, 500) };
    } finally {
      await server?.stop();
    }
    const r = out.servers[kind];
    log(`scale ${kind}: ${r.fatal ?? `joined ${r.roomsJoined}, join p99 ${r.join?.existing?.p99} ms, ${r.memKb?.perIdleRoomLater} KB/room idle, fds ${r.fds}`}`);
  }
  return out;
}

export function scaleMarkdown(res, runLine) {
  const names = { ours: "ours (workerd)", jsdo: "plain-JS object (workerd)", socketio: "socket.io (Node)" };
  const s = res.servers;
  const row = (label, get, unit = (x) => f(x)) => [label, ...Object.keys(names).map((k) => (s[k]?.fatal ? "failed" : unit(get(s[k]))))];
  const errs = (r) => (r ? Object.values(r.errors ?? {}).reduce((a, b) => a + b, 0) : null);
  const rows = [
    row("rooms joined (of " + res.rooms + ")", (r) => r.roomsJoined, (x) => f(x, 0)),
    row("join, fresh room p50 / p99 (ms)", (r) => r, (r) => `${f(r.join.fresh.p50)} / ${f(r.join.fresh.p99)}`),
    row("join, existing room p50 / p99 (ms)", (r) => r, (r) => `${f(r.join.existing.p50)} / ${f(r.join.existing.p99)}`),
    row("errors", errs, (x) => f(x, 0)),
    row("RSS before any room (MB)", (r) => r.memKb.base / 1024),
    row("RSS with every room joined (MB)", (r) => r.memKb.idle / 1024),
    row("RSS after 15 s idle: objects hibernated (MB)", (r) => r.memKb.idleLater / 1024),
    row("per idle room, just joined (KB)", (r) => r.memKb.perIdleRoom),
    row("per idle room after hibernation (KB)", (r) => r.memKb.perIdleRoomLater),
    row("open file descriptors of the server", (r) => r.fds, (x) => f(x, 0)),
  ];
  const o = s.ours;
  const fdsPerRoom = o && !o.fatal ? (o.fds - 20) / res.rooms : null;
  return `## Scale: ${res.rooms.toLocaleString("en-US")} rooms × 2 sockets, joined and idle, on one server

${runLine}

\`bash bench/run.sh --only scale\`. The load driver (bench/driver.mjs \`--load 0\`) joins the rooms four at a time
(peer A \`created\`, then peer B \`joined\`), waits 0.5 s and reads the server's memory, then waits 15 s (workerd evicts an idle
object after about 10 s; the hibernated sockets stay open) and reads it again. Production heartbeat settings, so no
ping falls in the wait.

${table(["R = " + res.rooms.toLocaleString("en-US"), ...Object.values(names)], rows)}

What limits it on one machine: memory, about ${f(o?.memKb?.perIdleRoomLater)} KB per hibernated room on workerd (the
plain-JS object needs about as much: it is the platform's, not ours; hibernation frees little of it locally), and file
descriptors: ours holds ${f(fdsPerRoom)} per room (two sockets, and the room's SQLite database, its WAL and shared-memory
files, which workerd keeps open after eviction; the plain-JS object, which never touches SQL, holds two), so this
machine's limit of 20,000 open files allows about ${fdsPerRoom ? f(20000 / fdsPerRoom, 0) : "–"} rooms. On Cloudflare neither
applies: each object is placed and billed on its own, and a hibernated one costs nothing.
`;
}

// ---------------------------------------------------------------------------------------------
// Long-polling with the real socket.io client (issue 10)

export async function pollingRun({ env, quick, log }) {
  const out = {};
  const opts = { rooms: quick ? 10 : 30, rtts: quick ? 50 : 200 };
  for (const kind of ["ours", "socketio"]) {
    log(`polling: ${kind} ...`);
    let server;
    try {
      if (kind === "ours") {
        const vars = { ...env.baseVars };
        server = await startWorkerd(writeWorkerdConfig(mkdtempSync(path.join(env.tmp, "poll-")), env.distDir, { vars, compatibilityDate: env.compatibilityDate }));
      } else {
        server = await startSocketIo(["--transports", "polling,websocket"]);
      }
      out[kind] = await pollingBench(`http://127.0.0.1:${server.port}`, opts);
    } catch (e) {
      out[kind] = { fatal: String(e?.message ?? e).slice(0, 500) };
    } finally {
      await server?.stop();
    }
    log(`polling ${kind}: ${JSON.stringify(out[kind])}`);
  }
  return { ...out, opts };
}

export function pollingMarkdown(res, runLine) {
  const o = res.ours;
  const s = res.socketio;
  const row = (label, key) => [
    label,
    o?.[key] ? `${f(o[key].p50)} / ${f(o[key].p99)}` : "–",
    s?.[key] ? `${f(s[key].p50)} / ${f(s[key].p99)}` : "–",
    o?.[key] && s?.[key] ? `${ratio(o[key].p50, s[key].p50)} / ${ratio(o[key].p99, s[key].p99)}` : "–",
  ];
  const errs = [...(o?.errors ?? []), ...(s?.errors ?? []), o?.fatal, s?.fatal].filter(Boolean);
  return `## Long-polling: the socket.io client with its default options, and polling-only sessions

${runLine}

\`bash bench/run.sh --only polling\` (bench/lib/polling-bench.mjs). socket.io-client 4 in Node against ours (bare workerd) and
Node + socket.io 4 with its default transports, same run. ${res.opts.rooms} rooms one at a time after a warm-up room: peer A
joins (a fresh room), then peer B with default options (\`io(url, { query: { room } })\`: a long-polling handshake, then
the upgrade): its time from \`io()\` to \`joined\`, and to the engine's \`upgrade\` event. Then one pair with
\`transports: ["polling"]\`: ${res.opts.rtts} round trips one at a time (a 200-byte candidate message each way).

${table(["p50 / p99 (ms)", "ours", "socket.io", "ours ÷ socket.io"], [
    row("default options: io() → created (fresh room)", "joinFresh"),
    row("default options: io() → joined (existing room)", "joinExisting"),
    row("default options: io() → upgraded to websocket", "upgraded"),
    row("polling only: relay round trip", "rtt"),
  ])}
${errs.length ? `\nErrors: ${errs.join("; ")}\n` : "\nNo errors; every default-options session upgraded.\n"}`;
}

// ---------------------------------------------------------------------------------------------
// Time to a call a person sees

export async function callRun({ env, trials, log, beforePage = "", delayMs = 0 }) {
  const vars = { ...env.baseVars, ICE_SERVERS: "[]" };
  const startSite = (publicDir) =>
    startWorkerd(writeSiteConfig(mkdtempSync(path.join(env.tmp, "site-")), env.distDir, { vars, compatibilityDate: env.compatibilityDate, publicDir }));
  const site = await startSite(undefined);
  // `--before-page DIR`: an earlier commit's public/ (bench/page-at.sh), same Worker build.
  const before = beforePage ? await startSite(beforePage) : null;
  const codelab = await startCodelab();
  const proxies = [];
  try {
    const sites = [
      { kind: "ours", label: "ours (workerd, the page from public/)", url: (room) => `http://127.0.0.1:${site.port}/r/${room}` },
      { kind: "codelab", label: "codelab step 05 (Node + socket.io)", url: (room) => `http://127.0.0.1:${codelab.port}/?room=${room}` },
      {
        kind: "ours-cam",
        label: "ours, asking for the codelab's camera (diagnosis)",
        url: (room) => `http://127.0.0.1:${site.port}/r/${room}`,
        opts: { codelabCamera: true },
      },
    ];
    if (before) {
      sites.push({ kind: "ours-before", label: "ours, the earlier page (`--before-page`)", url: (room) => `http://127.0.0.1:${before.port}/r/${room}` });
    }
    // The same pages with everything between browser and server (pages, websockets,
    // /config.json) `delayMs` each way; the media between the browsers stays on loopback.
    if (delayMs > 0) {
      const via = async (port) => {
        const p = await DelayProxy.start(port, delayMs);
        proxies.push(p);
        return p.port;
      };
      const [sp, cp] = [await via(site.port), await via(codelab.port)];
      const rtt = `${2 * delayMs} ms round trip`;
      sites.push({ kind: "ours-net", label: `ours, signalling over a ${rtt}`, url: (room) => `http://127.0.0.1:${sp}/r/${room}` });
      sites.push({ kind: "codelab-net", label: `codelab step 05, signalling over a ${rtt}`, url: (room) => `http://127.0.0.1:${cp}/?room=${room}` });
      if (before) {
        const bp = await via(before.port);
        sites.push({ kind: "ours-before-net", label: `ours, the earlier page, signalling over a ${rtt}`, url: (room) => `http://127.0.0.1:${bp}/r/${room}` });
      }
    }
    return { trials, delayMs, sites: await timeToCall(sites, { trials, log }) };
  } finally {
    for (const p of proxies) await p.stop();
    await site.stop();
    await before?.stop();
    await codelab.stop();
  }
}

export function callMarkdown(res, runLine) {
  const s = res.sites;
  const o = s.ours;
  const c = s.codelab;
  const k = s["ours-cam"];
  const rows = Object.values(s).map((x) => [
    x.label,
    `${f(x.medianB, 0)}`,
    `${f(x.medianA, 0)}`,
    x.firstFrameB.length ? `${f(Math.min(...x.firstFrameB), 0)}–${f(Math.max(...x.firstFrameB), 0)}` : "–",
    x.errors.length ? x.errors.join("; ") : "none",
  ]);
  const timeline = (x, side) => (x?.[side] ?? []).map(([n, t, count]) => `${n} ${f(t, 0)}${count < x.firstFrameB.length ? ` (${count} of ${x.firstFrameB.length})` : ""}`).join(" → ");
  return `## Time to a call a person sees

${runLine}

\`bash bench/run.sh --only call\` (bench/lib/call-time.mjs). Two Debian Chromium processes (fake camera and microphone,
the browser tests' flags), loopback only, no STUN server (ours with \`ICE_SERVERS=[]\`; the codelab's page makes its peer
connection with no configuration). Ours: the whole site on bare workerd (bench/servers/workerd-site.js plays the
platform's assets router). The codelab: bench/codelab/, a written-from-scratch equivalent of its step-05 page and
server (node static files + socket.io with default options). Page A opens the room and waits until seated; at t0 page B
opens it. ${res.trials} trials per site, alternating, after one warm-up call each; medians.${res.delayMs ? ` The rows "signalling over a
${2 * res.delayMs} ms round trip" load the same pages through a proxy (bench/lib/delay-proxy.mjs) that passes every byte between
browser and server on ${res.delayMs} ms later each way, and a new connection's first bytes a round trip later still (its TCP
handshake): pages, websockets and \`/config.json\` as a person on another network sees them; the media between the two
browsers stays on loopback.` : ""}

${table(["site", "first remote frame on page B (ms after t0)", "on page A", "range on B", "errors"], rows)}

Median timelines (ms after t0; the first of each mark):

- ours, B: ${timeline(o, "timelineB")}
- ours, A: ${timeline(o, "timelineA")}
- codelab, B: ${timeline(c, "timelineB")}
- codelab, A: ${timeline(c, "timelineA")}
- ours with the codelab's camera, B: ${timeline(k, "timelineB")}
${s["ours-before"] ? `- ours, the earlier page, B: ${timeline(s["ours-before"], "timelineB")}\n` : ""}${s["ours-net"] ? `- ${s["ours-net"].label}, B: ${timeline(s["ours-net"], "timelineB")}
- ${s["codelab-net"].label}, B: ${timeline(s["codelab-net"], "timelineB")}
` : ""}${s["ours-before-net"] ? `- ${s["ours-before-net"].label}, B: ${timeline(s["ours-before-net"], "timelineB")}\n` : ""}`;
}

// ---------------------------------------------------------------------------------------------
// bench/RESULTS.md: one section per part, each replaced only by a run that measured it

const MARK = (name) => `<!-- section: ${name} -->`;
const ORDER = ["relay", "cost", "heartbeat", "scale", "call", "polling", "wakes"];

/** RESULTS.md with `head` and the sections in `parts`, the others kept from `file` as they were. */
export function mergeResults(file, head, parts) {
  const old = {};
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/<!-- section: (\w+) -->\n([\s\S]*?)(?=<!-- section: |$)/g)) old[m[1]] = m[2];
  }
  const body = ORDER.filter((n) => parts[n] ?? old[n]).map((n) => `${MARK(n)}\n${(parts[n] ?? old[n]).trimEnd()}\n\n`);
  return `${head}\n${body.join("")}`;
}
