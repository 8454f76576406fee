// Helpers for the browser tests: Debian's Chromium driven by playwright-core, room pages that
// record what they do, and bounded condition waits on what the page shows.

import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing() {
  return existsSync(CHROMIUM)
    ? null
    : `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium), ` +
        "or set CHROMIUM_PATH, to run the browser tests";
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  // With no network but loopback (CI sandboxes, `unshare -n`), Chromium gathers no host ICE
  // candidates at all unless loopback is allowed; the call then never connects.
  "--allow-loopback-in-peer-connection",
];

/** One Chromium process (one "person's" browser). Never downloads a browser. */
export function launchChromium() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
}

/**
 * Opens `url` in a fresh context of `browser` and records the page's websockets, errors and
 * console. Returns `{ page, context, sockets, errors, logs, close() }`.
 */
export async function openPage(browser, url, { viewport = { width: 1280, height: 720 } } = {}) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  const rec = { page, context, sockets: [], errors: [], logs: [] };
  page.on("websocket", (ws) => rec.sockets.push(ws));
  page.on("pageerror", (err) => rec.errors.push(err.message));
  page.on("console", (msg) => rec.logs.push(`${msg.type()}: ${msg.text()}`));
  rec.close = () => context.close().catch(() => {});
  await page.goto(url);
  return rec;
}

/** `#status`'s data-state (null when it has none). */
export function stateOf(page) {
  return page.evaluate(() => document.getElementById("status")?.dataset.state ?? null);
}

/** Waits until `#status`'s data-state is one of `states`. */
export async function waitForState(page, states, timeout = 20_000) {
  const want = [].concat(states);
  try {
    await page.waitForFunction(
      (want) => want.includes(document.getElementById("status")?.dataset.state),
      want,
      { timeout, polling: 50 },
    );
  } catch (err) {
    const now = await page
      .evaluate(() => `${document.getElementById("status")?.dataset.state} (${document.getElementById("status")?.textContent})`)
      .catch(() => "unknown");
    throw new Error(`#status never became ${want.join(" or ")} within ${timeout} ms; it is ${now}`, { cause: err });
  }
}

/** Waits until `#remoteVideo` shows frames: a size, and a playback clock that moves on. */
export async function waitForRemoteFrames(page, timeout = 15_000) {
  await page.waitForFunction(
    () => {
      const v = document.getElementById("remoteVideo");
      return v && v.videoWidth > 0 && v.videoHeight > 0 && !v.paused;
    },
    null,
    { timeout, polling: 50 },
  );
  const start = await page.evaluate(() => document.getElementById("remoteVideo").currentTime);
  await page.waitForFunction(
    (start) => document.getElementById("remoteVideo").currentTime > start + 0.2,
    start,
    { timeout, polling: 50 },
  );
}

/** A room name no other test uses. */
export function uniqueRoom(prefix) {
  return `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
}
