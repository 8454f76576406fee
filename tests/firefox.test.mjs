// The room page end to end in Firefox: two separate Firefox ESR processes (fake camera and
// microphone), driven by puppeteer-core over WebDriver BiDi, call each other through
// `wrangler dev`. There is no network here, so the call must connect over loopback host
// candidates alone. Every wait is a condition with a bounded timeout.
//
// Run: node --test tests/firefox.test.mjs   (skips, saying why, when Firefox ESR is missing)

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import puppeteer from "puppeteer-core";
import { uniqueRoom } from "./browser-helpers.mjs";
import { startServer } from "./helpers.mjs";

export const FIREFOX = process.env.FIREFOX_PATH || "/usr/bin/firefox-esr";

function firefoxMissing() {
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

/** Closes `browser`, killing its process should a clean close take more than 10 s. */
async function closeBrowser(browser) {
  let timer;
  const closed = browser.close().catch(() => {});
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 10_000, "late")));
  if ((await Promise.race([closed, late])) === "late") browser.process()?.kill("SIGKILL");
  clearTimeout(timer);
}

/** One Firefox process (one "person's" browser). Never downloads a browser. */
function launchFirefox() {
  return puppeteer.launch({
    browser: "firefox",
    executablePath: FIREFOX,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
    timeout: 30_000,
    protocolTimeout: 30_000,
  });
}

/** Opens `url` in a new page of `browser`, recording its uncaught errors. */
async function openPage(browser, url) {
  const page = await browser.newPage();
  const rec = { page, errors: [], logs: [] };
  page.on("pageerror", (err) => rec.errors.push(err?.message ?? String(err)));
  page.on("console", (msg) => rec.logs.push(`${msg.type()}: ${msg.text()}`));
  rec.close = () => page.close().catch(() => {});
  await page.setViewport({ width: 1280, height: 720 });
  await page.goto(url, { timeout: 20_000 });
  return rec;
}

function describeState(page) {
  return page
    .evaluate(() => `${document.getElementById("status")?.dataset.state} (${document.getElementById("status")?.textContent})`)
    .catch(() => "unknown");
}

/** Waits until `#status`'s data-state is `state`. */
async function waitForState(page, state, timeout = 20_000) {
  try {
    await page.waitForFunction((want) => document.getElementById("status")?.dataset.state === want, { timeout, polling: 50 }, state);
  } catch (err) {
    throw new Error(`#status never became ${state} within ${timeout} ms; it is ${await describeState(page)}`, { cause: err });
  }
}

/** Waits until `#remoteVideo` shows frames: a size, and a playback clock that moves on. */
async function waitForRemoteFrames(page, timeout = 15_000) {
  const video = () =>
    page
      .evaluate(() => {
        const v = document.getElementById("remoteVideo");
        return JSON.stringify({ w: v.videoWidth, h: v.videoHeight, t: v.currentTime, paused: v.paused, ready: v.readyState });
      })
      .catch(() => "unknown");
  try {
    await page.waitForFunction(
      () => {
        const v = document.getElementById("remoteVideo");
        return v && v.videoWidth > 0 && v.videoHeight > 0 && !v.paused;
      },
      { timeout, polling: 50 },
    );
    const start = await page.evaluate(() => document.getElementById("remoteVideo").currentTime);
    await page.waitForFunction((start) => document.getElementById("remoteVideo").currentTime > start + 0.2, { timeout, polling: 50 }, start);
  } catch (err) {
    throw new Error(`#remoteVideo showed no moving frames within ${timeout} ms: ${await video()}`, { cause: err });
  }
}

describe("the room page in two Firefox browsers", { skip: firefoxMissing() ?? false }, () => {
  let server;
  /** Two browser processes: "alice" and "bob". */
  let alice;
  let bob;
  const opened = [];

  before(async () => {
    const started = await Promise.allSettled([startServer(), launchFirefox(), launchFirefox()]);
    [server, alice, bob] = started.map((r) => (r.status === "fulfilled" ? r.value : undefined));
    const failed = started.find((r) => r.status === "rejected");
    if (failed) throw failed.reason;
  });

  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await Promise.all([alice, bob].filter(Boolean).map(closeBrowser));
    await server?.stop();
  });

  async function open(browser, urlPath) {
    const rec = await openPage(browser, server.url + urlPath);
    opened.push(rec);
    return rec;
  }

  test("two pages in one room connect, and each shows the other's video", async () => {
    const room = uniqueRoom("firefox");
    const a = await open(alice, `/r/${room}`);
    await waitForState(a.page, "waiting");
    const b = await open(bob, `/r/${room}`);
    try {
      await Promise.all([waitForState(a.page, "connected"), waitForState(b.page, "connected")]);
      await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    } catch (err) {
      // What the pages said is the quickest way to see why a call did not connect.
      err.message += `\n--- first page console ---\n${a.logs.join("\n")}\n--- second page console ---\n${b.logs.join("\n")}`;
      throw err;
    }
    for (const rec of [a, b]) {
      const local = await rec.page.evaluate(() => document.getElementById("localVideo").videoWidth);
      assert.ok(local > 0, "the local preview shows the camera");
      assert.deepEqual(rec.errors, [], `page errors in ${rec.page.url()}`);
    }
    await Promise.all([a.close(), b.close()]);
  });
});
