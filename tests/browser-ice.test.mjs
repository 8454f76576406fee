// The page's ICE servers, in two real Chromium pages: fetched fresh from `/config.json` for every
// call attempt (never once per page load), refreshed with an ICE restart before credentials with
// a `ttl` expire (the test routes `/config.json` to add a short `ttl` to the Worker's answer), and
// used as they are when the Worker answers 429 or not at all. Every wait is a condition with a
// bounded timeout.
//
// Run: node --test tests/browser-ice.test.mjs   (skips, saying why, when Chromium is missing)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Pages,
  chromiumMissing,
  launchChromium,
  pollPage,
  requestsFor,
  statesOf,
  uniqueRoom,
  waitForPhase,
  waitForRemoteFrames,
  waitForState,
} from "./browser-helpers.mjs";
import { startServer, startAll } from "./helpers.mjs";

/** Seconds the routed `/config.json` says its credentials last. */
const TTL = 6;

/**
 * Routes `/config.json` in `context` through `change(status, body, n)` → `{ status, body }` (or
 * a promise of it: the answer waits), `n` counting that context's answers from 0.
 */
function routeConfig(change) {
  return (context) => {
    let n = 0;
    return context.route("**/config.json", async (route) => {
      const res = await route.fetch();
      const { status, body } = await change(res.status(), await res.json(), n++);
      await route.fulfill({ status, contentType: "application/json", body: JSON.stringify(body) });
    });
  };
}

/** The local ICE ufrag of the page's current peer connection. */
function localUfrag(page) {
  return page.evaluate(() => /a=ice-ufrag:(\S+)/.exec(window.__duet.pc?.localDescription?.sdp ?? "")?.[1] ?? null);
}

/** Waits until each page's local ICE ufrag differs from its one in `ufrags` (an ICE restart's). */
function waitForNewUfrags(recs, ufrags) {
  return Promise.all(
    recs.map((r, i) =>
      pollPage(r.page, (old) => (/a=ice-ufrag:(\S+)/.exec(window.__duet.pc?.localDescription?.sdp ?? "")?.[1] ?? old) !== old, ufrags[i], {
        timeout: 10_000,
        what: "a new local ICE ufrag",
      }),
    ),
  );
}

/** Asserts that each page's connection stayed `connected` from `at` on. */
async function assertConnectedSince(recs, at) {
  for (const r of recs) {
    const since = (await statesOf(r.page)).filter((e) => !e.load && e.at >= at);
    assert.ok(since.every((e) => e.state === "connected"), JSON.stringify(since));
  }
}

describe("fresh ICE servers for each call attempt", { skip: chromiumMissing() ?? false }, () => {
  let server;
  let browsers;
  const pages = new Pages();

  before(async () => {
    await startAll([startServer(), launchChromium(), launchChromium()], ([s, ...b]) => ((server = s), (browsers = b)));
  });

  after(async () => {
    await pages.closeAll();
    await Promise.all(browsers.filter(Boolean).map((b) => b.close()));
    await server?.stop();
  });

  const url = (room) => `${server.url}/r/${room}`;

  test("one /config.json request per call attempt, the first asked as the page loads: a second call in the same page asks again", async () => {
    const room = uniqueRoom("ice");
    const [a, b] = await pages.call(browsers, [url(room)]);
    assert.equal(requestsFor(a, "/config.json").length, 1);
    assert.equal(requestsFor(b, "/config.json").length, 1);
    // The other person leaves; someone new comes: the page that stayed makes a new call, with
    // servers asked for again.
    await b.page.getByRole("button", { name: "Leave" }).click();
    await waitForState(a.page, "left");
    const c = await pages.open(browsers[1], url(room));
    await Promise.all([waitForPhase(a.page, "connected"), waitForPhase(c.page, "connected")]);
    assert.equal(requestsFor(a, "/config.json").length, 2);
    assert.equal(requestsFor(c, "/config.json").length, 1);
    assert.equal(requestsFor(b, "/config.json").length, 1, "hanging up asks for nothing");
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test(`credentials with a ttl (${TTL} s) are refreshed by one ICE restart before they expire; the call stays connected and frames keep flowing`, async () => {
    const room = uniqueRoom("ttl");
    // Each page's first answer lasts TTL; the fresh ones after it ten minutes, so that the one
    // restart is the only one however long the checks below take (another would be due 0.75 TTL
    // after the first restart's servers were fetched).
    const withTtl = routeConfig((status, body, n) => ({ status, body: { ...body, ttl: n === 0 ? TTL : 600 } }));
    const [a, b] = await pages.call(browsers, [url(room)], { setup: withTtl });
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    const pcs = await Promise.all([a, b].map((r) => r.page.evaluate(() => ((window.__pcBefore = window.__duet.pc), true))));
    assert.deepEqual(pcs, [true, true]);
    const ufrags = await Promise.all([localUfrag(a.page), localUfrag(b.page)]);
    const connectedAt = Date.now();
    const offerer = (await a.page.evaluate(() => window.__duet.call.offerer)) ? a : b;
    const answerer = offerer === a ? b : a;

    // The offerer restarts ICE with fresh servers before the first ones expire.
    const events = await pollPage(
      offerer.page,
      () => {
        const ev = window.__duet.call.events;
        return ev.some((e) => e.what === "restart") ? ev : null;
      },
      null,
      { timeout: TTL * 1000 + 5_000, what: "an ICE restart on the offerer" },
    );
    const [first, second] = events.filter((e) => e.what === "ice-servers");
    const restart = events.find((e) => e.what === "restart");
    assert.equal(first.ttl, TTL);
    assert.ok(second, "fresh servers fetched for the restart");
    // The restart is due at 75 % of the offerer's ttl, or when the answerer asks for it at 85 %
    // of its own, whichever comes first (each side's servers were asked for ahead of the call,
    // the first page's as it loaded, so either may be the older).
    const theirs = (await answerer.page.evaluate(() => window.__duet.call.events)).find((e) => e.what === "ice-servers");
    assert.equal(theirs.ttl, TTL);
    const due = Math.min(first.fetchedAt + 0.75 * TTL * 1000, theirs.fetchedAt + 0.85 * TTL * 1000);
    const expiry = Math.min(first.fetchedAt, theirs.fetchedAt) + TTL * 1000;
    console.log(
      `# ttl ${TTL} s: the offerer restarted ICE ${restart.at - first.fetchedAt} ms after its servers were fetched ` +
        `(the answerer's ${restart.at - theirs.fetchedAt} ms after its), ${expiry - restart.at} ms before the first expired`,
    );
    assert.ok(restart.at < expiry, "the restart came before either side's servers expired");
    assert.ok(restart.at >= due - 50, "and not before it was due");

    // Both sides use new ICE credentials (new ufrags); the answerer fetched its own fresh
    // servers for the restart rather than asking for another one.
    await waitForNewUfrags([a, b], ufrags);
    const answererEvents = await answerer.page.evaluate(() => window.__duet.call.events);
    assert.equal(answererEvents.filter((e) => e.what === "ice-servers").length, 2);
    // It asked at most once, and only when its own servers were due (otherwise the offerer's
    // schedule came first).
    const asks = answererEvents.filter((e) => e.what === "ask-restart");
    assert.ok(asks.length <= 1, "the answerer did not ask for a second restart");
    for (const ask of asks) assert.ok(ask.at >= theirs.fetchedAt + 0.85 * TTL * 1000 - 50, "the answerer asked when due");
    const restarts = await offerer.page.evaluate(() => window.__duet.call.events.filter((e) => e.what === "restart").length);
    assert.equal(restarts, 1, "one restart, by one side");
    // One /config.json request per call attempt: the call, then its restart.
    assert.equal(requestsFor(a, "/config.json").length, 2);
    assert.equal(requestsFor(b, "/config.json").length, 2);

    // Connected throughout, on the same peer connection, and the media goes on.
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    await assertConnectedSince([a, b], connectedAt);
    for (const r of [a, b]) {
      assert.equal(await r.page.evaluate(() => window.__duet.pc === window.__pcBefore), true);
      assert.equal(await r.page.evaluate(() => window.__duet.phase), "connected");
    }
    await Promise.all([a.close(), b.close()]);
  });

  // The offerer's refresh and the answerer's ask come due together, in either order; each case's
  // first ttls (the first page to the room answers, the second offers: `pages.call` seats the
  // first before opening the second) put one of them clearly first. `offerer`: what the offerer
  // logs. Its own refresh is logged when its timer fires, the answerer's ask when its turn comes
  // in the call's queue (after the restart under way).
  const bothDue = [
    {
      first: "the answerer's ask",
      ttls: { answerer: TTL, offerer: 10 },
      leftOut: "credentials expire",
      offerer: ["restart-wanted: asked by the other side", "restart-wanted: credentials expire", "restart: asked by the other side", "restart-skipped: credentials expire"],
    },
    {
      first: "the offerer's own refresh",
      ttls: { answerer: 14, offerer: TTL },
      leftOut: "asked by the other side",
      offerer: ["restart-wanted: credentials expire", "restart: credentials expire", "restart-wanted: asked by the other side", "restart-skipped: asked by the other side"],
    },
  ];
  for (const { first, ttls, leftOut, offerer: logged } of bothDue) {
    test(`the offerer's refresh and the answerer's ask due together make one ICE restart (${first} first): the request that finds it under way or unseen is left out`, async () => {
      const room = uniqueRoom("ttl-both");
      // Each page's first answer has its role's ttl; the answers after it (a restart's fresh
      // servers) wait until both sides have asked for a refresh, so that the second request
      // always comes while the restart the first began is still fetching its servers.
      let open;
      const gate = new Promise((resolve) => (open = resolve));
      const roles = ["answerer", "offerer"];
      let contexts = 0;
      const held = (context) => {
        const ttl = ttls[roles[contexts++]];
        return routeConfig(async (status, body, n) => {
          if (n > 0) await gate;
          return { status, body: { ...body, ttl: n === 0 ? ttl : 600 } };
        })(context);
      };
      try {
        const [answerer, offerer] = await pages.call(browsers, [url(room)], { setup: held });
        assert.equal(await offerer.page.evaluate(() => window.__duet.call.offerer), true, "the second page offers");
        await Promise.all([waitForRemoteFrames(answerer.page), waitForRemoteFrames(offerer.page)]);
        const connectedAt = Date.now();
        const ufrags = await Promise.all([localUfrag(answerer.page), localUfrag(offerer.page)]);
        const asked = (page, what, reason) =>
          pollPage(page, ([w, r]) => window.__duet.call.events.find((e) => e.what === w && (r === null || e.reason === r)) ?? null, [what, reason], {
            timeout: Math.max(ttls.answerer, ttls.offerer) * 1000 + 5_000,
            what: `${what}${reason ? ` (${reason})` : ""}`,
          });
        await Promise.all([asked(answerer.page, "ask-restart", null), asked(offerer.page, "restart-wanted", "credentials expire")]);
        open();
        const skipped = await pollPage(offerer.page, () => window.__duet.call.events.find((e) => e.what === "restart-skipped") ?? null, null, {
          timeout: 10_000,
          what: "the second request left out",
        });
        assert.equal(skipped.reason, leftOut);
        await waitForNewUfrags([answerer, offerer], ufrags);
        const ev = await offerer.page.evaluate(() => window.__duet.call.events);
        assert.deepEqual(
          ev.filter((e) => e.what.startsWith("restart")).map((e) => `${e.what}: ${e.reason}`),
          logged,
          "two requests, one restart",
        );
        const asks = (await answerer.page.evaluate(() => window.__duet.call.events)).filter((e) => e.what === "ask-restart");
        assert.deepEqual(asks.map((e) => e.seen), [0], "the answerer asked once, before it had seen a restart");
        assert.equal(requestsFor(answerer, "/config.json").length, 2);
        assert.equal(requestsFor(offerer, "/config.json").length, 2);
        // Connected throughout, and the media goes on.
        await Promise.all([waitForRemoteFrames(answerer.page), waitForRemoteFrames(offerer.page)]);
        await assertConnectedSince([answerer, offerer], connectedAt);
        await Promise.all([answerer.close(), offerer.close()]);
      } finally {
        open();
      }
    });
  }

  test("a 429 from /config.json: its STUN-only iceServers are used; no answer at all: none, and the call still connects", async () => {
    // A STUN server of its own (on loopback, where nothing answers), to tell its list apart.
    const stunOnly = [{ urls: ["stun:127.0.0.1:9"] }];
    const busy = routeConfig(() => ({ status: 429, body: { iceServers: stunOnly, error: "Too many requests" } }));
    const [a, b] = await pages.call(browsers, [url(uniqueRoom("ice429"))], { setup: busy });
    await waitForRemoteFrames(b.page);
    for (const r of [a, b]) {
      const used = await r.page.evaluate(() => window.__duet.pc.getConfiguration().iceServers);
      assert.deepEqual(used.map((s) => [].concat(s.urls)), [["stun:127.0.0.1:9"]]);
      assert.deepEqual(r.errors, []);
    }
    await Promise.all([a.close(), b.close()]);

    const down = (context) => context.route("**/config.json", (route) => route.abort("connectionrefused"));
    const [c, d] = await pages.call(browsers, [url(uniqueRoom("icedown"))], { setup: down });
    await waitForRemoteFrames(d.page);
    for (const r of [c, d]) {
      assert.deepEqual(await r.page.evaluate(() => window.__duet.pc.getConfiguration().iceServers), []);
      // Asked as the page loaded, and once more by the call attempt, since that got no answer.
      assert.equal(requestsFor(r, "/config.json").length, 2);
    }
    await Promise.all([c.close(), d.close()]);
  });
});
