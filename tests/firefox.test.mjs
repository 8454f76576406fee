// The room page end to end in Firefox: two separate Firefox ESR processes (fake camera and
// microphone), driven by puppeteer-core over WebDriver BiDi, call each other through
// `wrangler dev`. There is no network here, so the call must connect over loopback host
// candidates alone. Every wait is a condition with a bounded timeout (the waits are the
// Chromium tests' own, from browser-helpers).
//
// Run: node --test tests/firefox.test.mjs   (skips, saying why, when Firefox ESR is missing)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  closeFirefox,
  dropSocketUntilBack,
  firefoxMissing,
  launchFirefox,
  openFirefoxPage,
  statesOf,
  uniqueRoom,
  waitForPhase,
  waitForRemoteFrames,
  waitForState,
} from "./browser-helpers.mjs";
import { startServer, startAll } from "./helpers.mjs";

describe("the room page in two Firefox browsers", { skip: firefoxMissing() ?? false }, () => {
  let server;
  /** Two browser processes: "alice" and "bob". */
  let alice;
  let bob;
  const opened = [];

  before(async () => {
    await startAll([startServer(), launchFirefox(), launchFirefox()], (v) => ([server, alice, bob] = v));
  });

  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await Promise.all([alice, bob].filter(Boolean).map(closeFirefox));
    await server?.stop();
  });

  async function open(browser, urlPath) {
    const rec = await openFirefoxPage(browser, server.url + urlPath);
    opened.push(rec);
    return rec;
  }

  test("two pages in one room connect, each shows the other's video, and a dropped socket keeps the call", async () => {
    const room = uniqueRoom("firefox");
    const a = await open(alice, `/r/${room}`);
    await waitForPhase(a.page, "waiting");
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
      // `#status` carried a data-state from the first paint on.
      const states = (await statesOf(rec.page)).filter((e) => !e.load);
      assert.ok(states.length > 0 && states.every((e) => e.state), JSON.stringify(states));
    }

    // Signalling drops on one side: the page reconnects, retakes its seat, and both keep the
    // peer connection they had.
    await a.page.evaluate(() => (window.__pcBefore = window.__duet.pc));
    await dropSocketUntilBack(a.page, { timeout: 15_000 });
    await waitForPhase(b.page, "connected");
    assert.equal(await a.page.evaluate(() => window.__duet.pc === window.__pcBefore), true);
    await waitForRemoteFrames(b.page);
    await Promise.all([a.close(), b.close()]);
  });
});
