// Helpers for the browser tests: Debian's Chromium driven by playwright-core, Debian's Firefox ESR
// driven by puppeteer-core (WebDriver BiDi), room pages that record what they show, and bounded
// condition waits on it. The waits and the recorder work on a page of either driver: they only
// use `page.evaluate(fn, arg)`, which both spell the same way.
//
// Hooks a test can put into a page before it loads (each an init script):
// - `recordStates`: every `#status[data-state]` and `body[data-phase]` the page ever shows, with
//   the time, kept across reloads of the tab (`statesOf`).
// - `forceRelay`: `iceTransportPolicy: "relay"` on top of the page's own ICE servers, for every
//   RTCPeerConnection the page makes and every `setConfiguration` it calls (the page fetches
//   fresh servers for each call attempt and keeps them; only the policy is forced).

import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import puppeteer from "puppeteer-core";
import { startTwice } from "../lib/net.mjs";

// ---------------------------------------------------------------------------------------------
// Chromium (playwright-core)

// The launch itself is shared with the benchmark (bench/call-time.mjs).
export { CHROMIUM, CHROMIUM_ARGS, chromiumMissing, launchChromium } from "../lib/chromium.mjs";

/** A path `public/` serves as a file (the assets layer answers it; no Worker code runs). */
function isStaticFile(url) {
  const { pathname } = new URL(url);
  if (pathname.includes("..")) return false;
  const file = path.join(PUBLIC, decodeURIComponent(pathname));
  return existsSync(file) && statSync(file).isFile();
}
const PUBLIC = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "public");

/** The requests of `page` (either driver's) without an answer yet, each with when it was asked. */
function unanswered(page) {
  const pending = new Map();
  page.on("request", (req) => pending.set(req, Date.now()));
  page.on("response", (res) => pending.delete(res.request()));
  page.on("requestfailed", (req) => pending.delete(req));
  return pending;
}

/**
 * Loads `url` in `rec.page` (either driver's); a load that fails closes the page and says what was
 * still unanswered and what the page's console said. One known fault of `wrangler dev`'s own proxy
 * (its ProxyWorker, in front of the Worker) is allowed for, and only that one: now and then it
 * forwards a request and never passes on an answer (as cloudflare/workers-sdk#3942 reports; seen
 * here with an instrumented ProxyWorker: the request left it, none reached the Worker's workerd).
 * When the only requests left unanswered are static files — served by the assets layer, before any
 * code of ours runs, and in production not by this proxy at all — the page is loaded once more, as
 * a person would press reload, and it is said in the output. Anything else unanswered (the room
 * page, `/socket.io/`, `/config.json`) fails the load, with what was still waiting.
 */
async function load(rec, url) {
  try {
    await loadAllowingProxyLoss(rec.page, url, unanswered(rec.page));
  } catch (err) {
    err.message += `\n--- the page's console ---\n${rec.logs.join("\n") || "(empty)"}`;
    await rec.close();
    throw err;
  }
}

async function loadAllowingProxyLoss(page, url, pending) {
  const LOST_AFTER = 8_000;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      await page.goto(url, { timeout: attempt === 1 ? 15_000 : 30_000 });
      return;
    } catch (err) {
      const waiting = [...pending].map(([req, at]) => ({ req, at }));
      const lost = waiting.length > 0 &&
        waiting.every(({ req, at }) => isStaticFile(req.url()) && Date.now() - at >= LOST_AFTER);
      const what = waiting.map(({ req, at }) => `${req.method()} ${req.url()} (asked ${at - started} ms in)`);
      if (attempt === 1 && lost) {
        console.log(`# wrangler dev's proxy lost ${what.join(", ")} loading ${url}; loading it again`);
        pending.clear();
        continue;
      }
      err.message += `\n--- requests unanswered when loading ${url} gave up ---\n${what.join("\n") || "(none)"}`;
      throw err;
    }
  }
}

/**
 * Opens `url` in a fresh context of `browser` and records the page's websockets, requests,
 * errors and console. `setup(context)` runs before the page loads (init scripts, routes); the
 * state recorder is always installed. Returns
 * `{ page, context, sockets, socketOpens: [{ at, url }], framesSent (text of every websocket frame the page sent), requests: [{ at, url, method }], errors, logs, close() }`.
 */
export async function openPage(browser, url, { viewport = { width: 1280, height: 720 }, setup } = {}) {
  const context = await browser.newContext({ viewport });
  await recordStates(context);
  await setup?.(context);
  const page = await context.newPage();
  const rec = { page, context, sockets: [], socketOpens: [], framesSent: [], requests: [], errors: [], logs: [] };
  page.on("websocket", (ws) => {
    rec.sockets.push(ws);
    rec.socketOpens.push({ at: Date.now(), url: ws.url() });
    ws.on("framesent", (f) => rec.framesSent.push(String(f.payload)));
  });
  page.on("request", (req) => rec.requests.push({ at: Date.now(), url: req.url(), method: req.method() }));
  page.on("pageerror", (err) => rec.errors.push(err.message));
  page.on("console", (msg) => rec.logs.push(`${msg.type()}: ${msg.text()}`));
  rec.close = () => context.close().catch(() => {});
  await load(rec, url);
  return rec;
}

/**
 * The room pages a Chromium test opens, closed together at the end: `open()` one, or `call()`
 * to open a room in two browsers (the first waits alone, the second joins) and wait for the call.
 */
export class Pages {
  constructor() {
    this.opened = [];
  }

  async open(browser, url, opts) {
    const rec = await openPage(browser, url, opts);
    this.opened.push(rec);
    return rec;
  }

  async call([first, second], [urlA, urlB = urlA], opts) {
    const a = await this.open(first, urlA, opts);
    await waitForPhase(a.page, "waiting");
    const b = await this.open(second, urlB, opts);
    await Promise.all([waitForPhase(a.page, "connected"), waitForPhase(b.page, "connected")]);
    return [a, b];
  }

  closeAll() {
    return Promise.all(this.opened.map((rec) => rec.close()));
  }
}

/** The requests `rec` made for `pathname` (e.g. "/config.json"). */
export function requestsFor(rec, pathname) {
  return rec.requests.filter((r) => new URL(r.url).pathname === pathname);
}

// ---------------------------------------------------------------------------------------------
// Firefox ESR (puppeteer-core over WebDriver BiDi)

export const FIREFOX = process.env.FIREFOX_PATH || "/usr/bin/firefox-esr";

export function firefoxMissing() {
  return existsSync(FIREFOX)
    ? null
    : `Firefox not found at ${FIREFOX}: install Debian's firefox-esr package (apt-get install -y firefox-esr), ` +
        "or set FIREFOX_PATH, to run the Firefox test";
}

export const FIREFOX_PREFS = {
  // A fake camera and microphone, granted without a prompt.
  "media.navigator.streams.fake": true,
  "media.navigator.permission.disabled": true,
  // Count the fake devices as a real capture. Without it, Firefox treats the page as not capturing
  // and gathers ICE candidates on the default-route address only; with no network but loopback
  // there is none, so gathering fails ("failed to find default addresses") and the call never
  // connects.
  "media.navigator.permission.fake": true,
  // Offer host candidates on 127.0.0.1 and ::1 (left out by default): with no network but
  // loopback they are the only ones there are.
  "media.peerconnection.ice.loopback": true,
};

/**
 * One Firefox process (one "person's" browser), with `prefs` on top of `FIREFOX_PREFS`. Never
 * downloads a browser. A Firefox that does not start is started once more: in a CI run two
 * starting at once on two cores, one's WebDriver BiDi session was not ready within 30 s
 * ("session.new timed out"); puppeteer has ended that process by the time it rejects.
 */
export function launchFirefox(prefs = {}) {
  const options = {
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: { ...FIREFOX_PREFS, ...prefs },
    timeout: 30_000,
    protocolTimeout: 30_000,
  };
  return startTwice("Firefox", () => puppeteer.launch(options));
}

/** Closes a puppeteer `browser`, killing its process should a clean close take more than 10 s. */
export async function closeFirefox(browser) {
  let timer;
  const closed = browser.close().catch(() => {});
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 10_000, "late")));
  if ((await Promise.race([closed, late])) === "late") browser.process()?.kill("SIGKILL");
  clearTimeout(timer);
}

/** Opens `url` in a new page of a puppeteer `browser`, recording its errors and console. */
export async function openFirefoxPage(browser, url) {
  const page = await browser.newPage();
  const rec = { page, errors: [], logs: [] };
  page.on("pageerror", (err) => rec.errors.push(err?.message ?? String(err)));
  page.on("console", (msg) => rec.logs.push(`${msg.type()}: ${msg.text()}`));
  rec.close = () => page.close().catch(() => {});
  await page.evaluateOnNewDocument(STATE_RECORDER);
  await page.setViewport({ width: 1280, height: 720 });
  await load(rec, url);
  return rec;
}

// ---------------------------------------------------------------------------------------------
// Waiting on what a page shows (either driver)

/**
 * Drops the page's signalling socket (its Engine.IO transport closed, as a network change
 * does) and waits until the page is back in the call on a new socket.
 */
export async function dropSocketUntilBack(page, { timeout = 15_000 } = {}) {
  const oldSid = await page.evaluate(() => {
    const sid = window.__duet.socket.id;
    window.__duet.socket.io.engine.close();
    return sid;
  });
  await pollPage(page, (sid) => window.__duet.socket.id && window.__duet.socket.id !== sid && document.body.dataset.phase === "connected", oldSid, {
    timeout,
    what: "the page back in the call on a new socket",
  });
}

/**
 * Polls `fn(arg)` in the page until it returns a truthy value (returned); fails after `timeout`
 * ms with `what` and, if given, `describe()`'s account of the page.
 */
export async function pollPage(page, fn, arg, { timeout = 20_000, interval = 50, what = "a condition", describe } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await page.evaluate(fn, arg);
      if (v) return v;
    } catch (err) {
      lastError = err; // a navigation in between, say; try again
    }
    if (Date.now() > deadline) {
      const now = describe ? await describe().catch(() => "unknown") : null;
      throw new Error(
        `${what} did not happen within ${timeout} ms${now ? `; ${now}` : ""}${lastError ? ` (${lastError.message})` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}

/** `#status`'s data-state (null when it has none). */
export function stateOf(page) {
  return page.evaluate(() => document.getElementById("status")?.dataset.state ?? null);
}

/** The page's phase, `body[data-phase]` (finer than data-state: "waiting", "reconnecting", …). */
export function phaseOf(page) {
  return page.evaluate(() => document.body?.dataset.phase ?? null);
}

function describeStatus(page) {
  return page.evaluate(() => {
    const s = document.getElementById("status");
    return `it is data-state=${s?.dataset.state}, phase ${document.body?.dataset.phase} (${s?.textContent})`;
  });
}

/** Waits until `#status`'s data-state is one of `states`. */
export function waitForState(page, states, timeout = 20_000) {
  const want = [].concat(states);
  return pollPage(page, (want) => want.includes(document.getElementById("status")?.dataset.state), want, {
    timeout,
    what: `#status becoming ${want.join(" or ")}`,
    describe: () => describeStatus(page),
  });
}

/** Waits until the page's phase is one of `phases`. */
export function waitForPhase(page, phases, timeout = 20_000) {
  const want = [].concat(phases);
  return pollPage(page, (want) => want.includes(document.body?.dataset.phase), want, {
    timeout,
    what: `the page's phase becoming ${want.join(" or ")}`,
    describe: () => describeStatus(page),
  });
}

/** `#remoteVideo`'s playback clock (seconds), or -1 when it shows nothing. */
export function remoteClock(page) {
  return page.evaluate(() => {
    const v = document.getElementById("remoteVideo");
    return v && v.videoWidth > 0 && !v.paused ? v.currentTime : -1;
  });
}

/** Waits until `#remoteVideo` shows frames: a size, and a playback clock that moves on by `by` s. */
export async function waitForRemoteFrames(page, timeout = 15_000, by = 0.2) {
  const video = () =>
    page.evaluate(() => {
      const v = document.getElementById("remoteVideo");
      return `#remoteVideo is ${JSON.stringify({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime, paused: v.paused, ready: v.readyState })}`;
    });
  const start = await pollPage(
    page,
    () => {
      const v = document.getElementById("remoteVideo");
      return v && v.videoWidth > 0 && v.videoHeight > 0 && !v.paused ? { t: v.currentTime } : null;
    },
    null,
    { timeout, what: "remote video frames", describe: video },
  );
  await pollPage(page, (t) => document.getElementById("remoteVideo").currentTime > t, start.t + by, {
    timeout,
    what: `#remoteVideo's clock moving on by ${by} s`,
    describe: video,
  });
}

// ---------------------------------------------------------------------------------------------
// Init scripts

/**
 * Records every `#status[data-state]` and `body[data-phase]` the page shows, as
 * `{ at, state, phase }` in `window.__duetStates`, from before the first paint. The history is
 * kept in sessionStorage, so it survives reloads of the tab (a new load adds `{ at, load: true }`).
 */
function STATE_RECORDER() {
  const KEY = "__duetStates";
  let history = [];
  try {
    history = JSON.parse(sessionStorage.getItem(KEY) ?? "[]");
  } catch {}
  history.push({ at: Date.now(), load: true });
  window.__duetStates = history;
  const now = { state: undefined, phase: undefined };
  let seen = false;
  const push = () => {
    const last = history.findLast((e) => !e.load);
    if (seen && last && last.state === now.state && last.phase === now.phase) return;
    seen = true;
    history.push({ at: Date.now(), state: now.state, phase: now.phase });
    try {
      sessionStorage.setItem(KEY, JSON.stringify(history));
    } catch {}
  };
  // Once per task that changed anything (what a person could ever see: nothing paints in between).
  new MutationObserver(() => {
    const status = document.getElementById("status");
    if (!status) return;
    now.state = status.getAttribute("data-state");
    now.phase = document.body?.dataset.phase ?? null;
    push();
  }).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ["data-state", "data-phase"],
  });
}

/** Installs the state recorder in every page of a playwright `context`. */
export function recordStates(context) {
  return context.addInitScript(STATE_RECORDER);
}

/** What `recordStates` saw in `page`: `[{ at, state, phase }]`, page loads as `{ at, load: true }`. */
export function statesOf(page) {
  return page.evaluate(() => window.__duetStates ?? []);
}

/** Forces `iceTransportPolicy: "relay"` in every page of a playwright `context` (see the top). */
export function forceRelay(context) {
  return context.addInitScript(() => {
    const Native = window.RTCPeerConnection;
    const relay = (config) => ({ ...(config ?? {}), iceTransportPolicy: "relay" });
    class RelayOnly extends Native {
      constructor(config, ...rest) {
        super(relay(config), ...rest);
      }
      setConfiguration(config) {
        return super.setConfiguration(relay(config));
      }
    }
    window.RTCPeerConnection = RelayOnly;
  });
}

/** A room name no other test uses. */
export function uniqueRoom(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
