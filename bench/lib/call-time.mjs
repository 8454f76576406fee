// Time to a call a person sees: from opening the second page to the first remote video frame,
// ours (the whole site on bare workerd: bench/servers/workerd-site.js in front of the release
// build, ICE_SERVERS=[]) against the codelab's step-05 page and server (bench/codelab/), in the
// same run, on loopback, in real Chromium (two browser processes, fake camera, no STUN).
//
// A trial: page A opens the room alone and waits until it holds its seat (ours: `body[data-phase]`
// `waiting`; the codelab's: its "Created room" console line); then, at t0, page B opens the same
// room. Measured: the first frame each page's `#remoteVideo` presents
// (`requestVideoFrameCallback`), as milliseconds after t0, and a timeline of what led there on
// both pages (an init script marks page start, getUserMedia, the socket opening, the peer
// connection, offer and answer, ICE, the first frame). Servers alternate between trials.

import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../lib/chromium.mjs";
import { median } from "./stats.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs in each page before its scripts: `window.__marks`, [name, epoch ms] in order. */
function MARKS(opts) {
  const marks = (window.__marks = []);
  const mark = (name) => marks.push([name, performance.timeOrigin + performance.now()]);
  mark("navigation start");
  marks[0][1] = performance.timeOrigin;
  document.addEventListener("DOMContentLoaded", () => mark("DOM ready"));
  const md = navigator.mediaDevices;
  const gum = md.getUserMedia.bind(md);
  md.getUserMedia = (c) => {
    mark("getUserMedia asked");
    // Diagnosis only: the codelab's camera (video only, the browser's default size).
    if (opts?.codelabCamera) c = { audio: false, video: true };
    return gum(c).then((s) => (mark("getUserMedia done"), s));
  };
  // Requests for /config.json (our page's ICE servers), from the resource timings.
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (!e.name.endsWith("/config.json")) continue;
      marks.push(["/config.json asked", performance.timeOrigin + e.startTime], ["/config.json answered", performance.timeOrigin + e.responseEnd]);
    }
  }).observe({ type: "resource", buffered: true });
  // Socket.IO events on the websocket, by name (and a message's type): `→ joined`, `← offer`…
  const kindOf = (data) => {
    if (typeof data !== "string" || !data.startsWith("42")) return null;
    try {
      const [name, arg] = JSON.parse(data.slice(data.indexOf("[")));
      if (name !== "message") return name;
      if (typeof arg === "string") return arg;
      return arg?.type === "description" ? arg.description?.type : arg?.type;
    } catch {
      return null;
    }
  };
  const WS = window.WebSocket;
  window.WebSocket = class extends WS {
    constructor(...a) {
      super(...a);
      mark("websocket opening");
      this.addEventListener("open", () => mark("websocket open"));
      this.addEventListener("message", (e) => {
        const k = kindOf(e.data);
        if (k) mark(`← ${k}`);
      });
    }
    send(data) {
      const k = kindOf(data);
      if (k) mark(`→ ${k}`);
      return super.send(data);
    }
  };
  const open = XMLHttpRequest.prototype.open;
  let polled = false;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    if (!polled && String(url).includes("/socket.io/")) {
      polled = true;
      mark("long-polling handshake");
      this.addEventListener("load", () => mark("long-polling open"));
    }
    return open.call(this, method, url, ...rest);
  };
  const PC = window.RTCPeerConnection;
  window.RTCPeerConnection = class extends PC {
    constructor(...a) {
      super(...a);
      mark("peer connection");
      this.addEventListener("iceconnectionstatechange", () => mark(`ICE ${this.iceConnectionState}`));
      this.addEventListener("track", () => mark("remote track"));
    }
    setLocalDescription(d, ...r) {
      mark(`local ${d?.type ?? "description"}`);
      return super.setLocalDescription(d, ...r);
    }
    setRemoteDescription(d, ...r) {
      mark(`remote ${d?.type ?? "description"}`);
      return super.setRemoteDescription(d, ...r);
    }
  };
  const watch = () => {
    const v = document.getElementById("remoteVideo");
    if (!v) return setTimeout(watch, 5);
    v.requestVideoFrameCallback(() => mark("first remote frame"));
  };
  watch();
}

async function openPage(browser, url, onConsole, opts = {}) {
  const context = await browser.newContext({ viewport: { width: 960, height: 540 } });
  await context.addInitScript(MARKS, opts);
  const page = await context.newPage();
  if (onConsole) page.on("console", (m) => onConsole(m.text()));
  page.goto(url).catch(() => {});
  return { page, context };
}

const marksOf = (page) => page.evaluate(() => window.__marks ?? []).catch(() => []);

async function waitMark(page, name, ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const m = (await marksOf(page)).find(([n]) => n === name);
    if (m) return m[1];
    await sleep(25);
  }
  return null;
}

/**
 * One trial against `site`: { kind: "ours" | "codelab", url(room) }. Returns
 * { a, b, t0, firstFrameB, firstFrameA } (ms after t0) or { error }.
 */
async function trial(browsers, site, room) {
  let seated = false;
  const a = await openPage(
    browsers[0],
    site.url(room),
    (text) => {
      if (/^Created room/.test(text)) seated = true;
    },
    site.opts,
  );
  let b;
  try {
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      if (site.kind.startsWith("ours")) {
        // `body[data-phase]` "waiting": seated, alone (public/view.js).
        seated = await a.page.evaluate(() => document.body.dataset.phase === "waiting").catch(() => false);
      }
      if (seated) break;
      await sleep(25);
    }
    if (!seated) return { error: "page A never held its seat" };
    // The first page is settled (its camera on, its seat taken).
    await sleep(500);
    const t0 = Date.now();
    b = await openPage(browsers[1], site.url(room), null, site.opts);
    const [fb, fa] = await Promise.all([waitMark(b.page, "first remote frame", 20_000), waitMark(a.page, "first remote frame", 20_000)]);
    const rel = (marks) => marks.map(([n, t]) => [n, Math.round(t - t0)]);
    const out = { t0, a: rel(await marksOf(a.page)), b: rel(await marksOf(b.page)) };
    if (fb === null || fa === null) return { ...out, error: `no remote frame on ${fb === null ? "B" : "A"} within 20 s` };
    return { ...out, firstFrameB: fb - t0, firstFrameA: fa - t0 };
  } finally {
    await a.context.close().catch(() => {});
    await b?.context.close().catch(() => {});
  }
}

/** The median time of each mark over trials (the first of each name per page). */
function medianTimeline(trials, side) {
  const names = [];
  const times = {};
  for (const t of trials) {
    const seen = new Set();
    for (const [n, ms] of t[side] ?? []) {
      if (seen.has(n)) continue;
      seen.add(n);
      if (!times[n]) {
        times[n] = [];
        names.push(n);
      }
      times[n].push(ms);
    }
  }
  return names.map((n) => [n, median(times[n]), times[n].length]).sort((x, y) => x[1] - y[1]);
}

/**
 * `sites`: [{ kind, label, url(room), opts }] (`opts.codelabCamera`: ask for the codelab's camera
 * instead of the page's own, to tell what the camera costs). Two Chromium processes (one per person) for all trials;
 * `trials` per site, alternating.
 */
export async function timeToCall(sites, { trials = 5, log = () => {} } = {}) {
  const browsers = await Promise.all([0, 1].map(() => chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 })));
  const results = Object.fromEntries(sites.map((s) => [s.kind, []]));
  try {
    // One throw-away call per site: the first page load warms caches and compilers.
    for (const s of sites) await trial(browsers, s, `warm${s.kind}${Date.now().toString(36)}`);
    for (let i = 0; i < trials; i++) {
      for (const s of i % 2 ? [...sites].reverse() : sites) {
        const r = await trial(browsers, s, `tc${i}${s.kind}${Date.now().toString(36)}`);
        results[s.kind].push(r);
        log(`time to call ${s.kind} #${i + 1}: ${r.error ?? `B ${r.firstFrameB} ms, A ${r.firstFrameA} ms`}`);
      }
    }
  } finally {
    await Promise.all(browsers.map((b) => b.close().catch(() => {})));
  }
  return Object.fromEntries(
    sites.map((s) => {
      const rs = results[s.kind];
      const ok = rs.filter((r) => !r.error);
      return [
        s.kind,
        {
          label: s.label,
          trials: rs.length,
          errors: rs.filter((r) => r.error).map((r) => r.error),
          firstFrameB: ok.map((r) => r.firstFrameB),
          firstFrameA: ok.map((r) => r.firstFrameA),
          medianB: median(ok.map((r) => r.firstFrameB)),
          medianA: median(ok.map((r) => r.firstFrameA)),
          timelineB: medianTimeline(ok, "b"),
          timelineA: medianTimeline(ok, "a"),
        },
      ];
    }),
  );
}
