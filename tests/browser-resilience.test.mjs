// A call between two real Chromium pages survives what networks and deploys do to signalling:
// the server's whole process tree killed mid-call and started again, a reload, a network that
// goes silent without a FIN, a busy room (HTTP 429), a seat lost to someone else. Faults are
// injected for real (SIGKILL, a TCP proxy that stops forwarding); every wait is a condition with
// a bounded timeout; every `data-state` each page ever shows is recorded (browser-helpers'
// `recordStates`) and checked over the whole history.
//
// Run: node --test tests/browser-resilience.test.mjs   (skips, saying why, when Chromium is missing)

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import {
  Pages,
  chromiumMissing,
  launchChromium,
  phaseOf,
  dropSocketUntilBack,
  pollPage,
  requestsFor,
  stateOf,
  statesOf,
  uniqueRoom,
  waitForPhase,
  waitForRemoteFrames,
  waitForState,
} from "./browser-helpers.mjs";
import { RawSocket, TcpProxy, isListening, startServer, waitFor, startAll } from "./helpers.mjs";

// Short heartbeats, so that a silent peer is noticed in seconds. pingTimeout < pingInterval on
// purpose: a server that only checked pongs at the next ping round would take 2 × pingInterval
// (6 s), and the limit below (pingInterval + pingTimeout = 4 s) tells the two apart.
const PING_INTERVAL = 3000;
const PING_TIMEOUT = 1000;
// What `left` may take beyond pingInterval + pingTimeout: the room alarm's own latency under
// wrangler dev, the `bye` crossing to the partner, and this test's 50 ms polling of the page's
// recorded history (the `left` time is the page's own MutationObserver timestamp, so only the
// first two count). The server's own test allows 750 ms for the first two; the same here.
const SLACK = 750;
// The busy test's room cap: two raw sockets without a seat fill it.
const MAX_PENDING = 2;
// Held sockets must outlive the busy test.
const SEAT_GRACE = 60_000;
// The page's reconnection back-off (public/seat.js): attempt n waits at least
// min(1000 · 2^n · (1 - 0.5), 5000) ms.
const BACKOFF_MIN_MS = (n) => Math.min(1000 * 2 ** n * 0.5, 5000);

/** The most reconnection attempts back-off allows within `ms` of a drop. */
function maxAttempts(ms) {
  let n = 0;
  for (let t = BACKOFF_MIN_MS(0); t <= ms; t += BACKOFF_MIN_MS(++n));
  return n;
}

/** The `resume` token in a socket URL. */
const tokenOf = (url) => new URL(url).searchParams.get("resume");

describe("a call survives what networks and deploys do", { skip: chromiumMissing() ?? false }, () => {
  let server;
  let browsers;
  const pages = new Pages();

  before(async () => {
    await startAll([
      startServer({ vars: { PING_INTERVAL, PING_TIMEOUT, MAX_PENDING, SEAT_GRACE } }),
      launchChromium(),
      launchChromium(),
      launchChromium(),
    ], ([s, ...b]) => ((server = s), (browsers = b)));
  });

  after(async () => {
    await pages.closeAll();
    await Promise.all(browsers.filter(Boolean).map((b) => b.close()));
    await server?.stop();
  });

  const [alice, bob, carol] = [0, 1, 2].map((i) => () => browsers[i]);
  const roomUrl = (room, base = server.url) => `${base}/r/${room}`;

  /** Remembers each page's peer connection (as `window.__pcBefore`); returns the call ids. */
  function rememberCall(...recs) {
    return Promise.all(
      recs.map((r) => r.page.evaluate(() => ((window.__pcBefore = window.__duet.pc), window.__duet.call.id))),
    );
  }

  /** Whether the page still has the peer connection `rememberCall` saw. */
  function samePc(rec) {
    return rec.page.evaluate(() => window.__duet.pc !== null && window.__duet.pc === window.__pcBefore);
  }

  /**
   * The end of a call that was to survive: both pages kept their peer connection (and, with
   * `id`, the same call id), frames flow both ways, the histories are clean, no page error.
   */
  async function assertCallKept(a, b, id) {
    for (const r of [a, b]) {
      assert.equal(await samePc(r), true, "the page kept its RTCPeerConnection");
      if (id !== undefined) assert.equal(await r.page.evaluate(() => window.__duet.call.id), id);
    }
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    for (const r of [a, b]) await assertHistory(r);
    assertNoPageErrors(a, b);
  }

  /** Every recorded state of the page, checked: always a data-state, never `full`. */
  async function assertHistory(rec, { never = ["full"] } = {}) {
    const states = (await statesOf(rec.page)).filter((e) => !e.load);
    assert.ok(states.length > 0, "the recorder saw the page");
    for (const e of states) {
      assert.ok(e.state, `#status lost its data-state at ${e.at} (phase ${e.phase}): ${JSON.stringify(states)}`);
      assert.ok(!never.includes(e.state), `the page showed ${e.state}: ${JSON.stringify(states)}`);
    }
    return states;
  }

  function assertNoPageErrors(...recs) {
    for (const rec of recs) assert.deepEqual(rec.errors, [], `page errors in ${rec.page.url()}`);
  }

  test("the server killed mid-call: frames keep flowing, both pages reconnect, retake their seats and keep the same call; a third page then gets full", async () => {
    const room = uniqueRoom("restart");
    const [a, b] = await pages.call([alice(), bob()], [roomUrl(room)]);
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    const ids = await rememberCall(a, b);
    assert.equal(ids[0], ids[1], "one call");
    const opensBefore = [a.socketOpens.length, b.socketOpens.length];

    const killedAt = Date.now();
    await server.kill();
    // Both pages notice, and say so, without hanging up.
    await Promise.all([a, b].map((r) => waitForPhase(r.page, "reconnecting", 15_000)));
    for (const r of [a, b]) {
      assert.equal(await stateOf(r.page), "connected", "the call is still up");
      assert.match(await r.page.locator("#statusText").textContent(), /reconnecting/i);
    }
    // Down for a few seconds, measured by the remote video's own clock: it moves on by 3 s on
    // both pages while nothing answers on the server's port.
    await Promise.all([a, b].map((r) => waitForRemoteFrames(r.page, 15_000, 3)));
    assert.equal(await isListening(server.port), false, "the server stayed down");
    for (const r of [a, b]) assert.equal(await phaseOf(r.page), "reconnecting");
    const downFor = Date.now() - killedAt;

    const restartAt = Date.now();
    await server.restart();
    const upAt = Date.now();
    await Promise.all([a, b].map((r) => waitForPhase(r.page, "connected", 30_000)));
    const backAt = Date.now();
    console.log(
      `# server down ${downFor} ms; wrangler answered ${upAt - restartAt} ms after the restart began; ` +
        `both pages back in the call ${backAt - upAt} ms after it answered (${backAt - killedAt} ms after the kill)`,
    );

    // The same peer connection on both sides: it stayed connected, so nothing was renegotiated.
    for (const r of [a, b]) {
      assert.equal(await samePc(r), true, "the page kept its RTCPeerConnection");
      assert.equal(await r.page.evaluate(() => window.__duet.call.id), ids[0]);
      assert.equal(await r.page.evaluate(() => window.__duet.callsStarted), 1);
    }
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);

    // Each page reconnected by itself, with its resume token, and with back-off: no more
    // attempts than back-off allows over the time it was away.
    for (const [i, r] of [a, b].entries()) {
      const opens = r.socketOpens.slice(opensBefore[i]);
      assert.ok(opens.length >= 1, "a new websocket");
      for (const o of opens) assert.equal(tokenOf(o.url), tokenOf(r.socketOpens[0].url));
      const during = opens.filter((o) => o.at <= upAt).length;
      assert.ok(during <= maxAttempts(upAt - killedAt), `${during} attempts in ${upAt - killedAt} ms`);
      console.log(`# page ${i + 1}: ${opens.length} websocket attempts to reconnect (${during} while the server was down)`);
    }

    // No stale seat: a third page is told the room is full.
    const c = await pages.open(carol(), roomUrl(room));
    await waitForState(c.page, "full");
    for (const r of [a, b]) await assertHistory(r);
    assert.equal(await phaseOf(a.page), "connected");
    assertNoPageErrors(a, b, c);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  test("a reload mid-call: both pages are connected again within seconds, nobody ever sees full", async () => {
    const room = uniqueRoom("reload");
    const [a, b] = await pages.call([alice(), bob()], [roomUrl(room)]);
    await waitForRemoteFrames(a.page);
    const [before] = await rememberCall(a, b);

    const t0 = Date.now();
    await b.page.reload();
    await waitForPhase(b.page, "connected", 20_000);
    await pollPage(a.page, (id) => window.__duet.call?.id !== id && document.body.dataset.phase === "connected", before, {
      what: "the first page in a new call",
    });
    const took = Date.now() - t0;
    console.log(`# reload: both pages connected again ${took} ms after the reload began`);
    assert.ok(took < 10_000, `took ${took} ms`);
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    // The reloaded page is a new page load: a new resume token.
    assert.notEqual(tokenOf(b.socketOpens.at(-1).url), tokenOf(b.socketOpens[0].url));
    const historyA = await assertHistory(a);
    const historyB = await assertHistory(b);
    assert.equal((await statesOf(b.page)).filter((e) => e.load).length, 2, "the recorder saw both loads");
    // The other side saw the reloading page leave (its `leave` notice), not a dropped connection.
    assert.ok(historyA.some((e) => e.at > t0 && e.phase === "left"), JSON.stringify(historyA));
    assert.ok(!historyA.some((e) => e.phase === "peer-away"), JSON.stringify(historyA));
    assert.ok(historyB.length > 0);
    assertNoPageErrors(a, b);
    await Promise.all([a.close(), b.close()]);
  });

  test("a silent network drop: the partner shows left within pingInterval + pingTimeout of the last frame; back on the network, the page resumes its seat and the call", async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      const room = uniqueRoom("silent");
      const [a, b] = await pages.call([alice(), bob()], [roomUrl(room), roomUrl(room, proxy.url)]);
      await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
      await rememberCall(a, b);
      // A heartbeat or two through the proxy first, so that the drop comes mid-round.
      const firstFrame = proxy.lastFromClient();
      await waitFor(() => proxy.lastFromClient() >= firstFrame + PING_INTERVAL, {
        timeout: 3 * PING_INTERVAL,
        what: "a heartbeat through the proxy",
      });

      proxy.blackhole({ hold: true });
      const dropAt = Date.now();
      const last = proxy.lastFromClient();
      await waitForState(a.page, "left", PING_INTERVAL + PING_TIMEOUT + 10_000);
      const leftAt = (await statesOf(a.page)).find((e) => e.at >= dropAt && e.state === "left").at;
      const took = leftAt - last;
      console.log(
        `# silent drop: the partner showed left ${took} ms after the dropped page's last frame ` +
          `(limit ${PING_INTERVAL + PING_TIMEOUT} + ${SLACK} ms slack)`,
      );
      assert.ok(took <= PING_INTERVAL + PING_TIMEOUT + SLACK, `left after ${took} ms`);
      // Only signalling went: the media is peer to peer, and still comes through on both pages.
      assert.equal(await phaseOf(a.page), "peer-away");
      await waitForPhase(b.page, "reconnecting", PING_INTERVAL + PING_TIMEOUT + 5_000);
      await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);

      // The network comes back: the page reconnects with its resume token, and the two keep
      // the call they had.
      const opensBefore = b.socketOpens.length;
      const restoredAt = Date.now();
      proxy.restore();
      await Promise.all([waitForPhase(a.page, "connected", 20_000), waitForPhase(b.page, "connected", 20_000)]);
      console.log(`# silent drop: back in the call ${Date.now() - restoredAt} ms after the network came back`);
      for (const o of b.socketOpens) assert.equal(tokenOf(o.url), tokenOf(b.socketOpens[0].url));
      assert.ok(b.socketOpens.length > 1 || opensBefore > 1, "the page opened a new socket");
      await assertCallKept(a, b);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.stop();
    }
  });

  test("a network change before the heartbeat notices: the page's new socket takes its old seat over with its resume token, and the call goes on", async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      const room = uniqueRoom("takeover");
      const [a, b] = await pages.call([alice(), bob()], [roomUrl(room), roomUrl(room, proxy.url)]);
      await waitForRemoteFrames(a.page);
      const [id] = await rememberCall(a, b);
      // The old connection is stranded (the server still holds the seat for it), and the
      // browser moves to a new one at once, as after a network change it noticed.
      proxy.strand();
      const t0 = Date.now();
      // Seated again on a new socket, in the same call; the partner saw the old seat go (`bye`:
      // the server closed the stranded socket for the new one), then the same page back.
      await dropSocketUntilBack(b.page, { timeout: 10_000 });
      await pollPage(a.page, (t0) => {
        const h = window.__duetStates.filter((e) => e.at >= t0);
        const away = h.findIndex((e) => e.phase === "peer-away");
        return away >= 0 && h.slice(away).some((e) => e.phase === "connected") && document.body.dataset.phase === "connected";
      }, t0, { timeout: 10_000, what: "the partner seeing the seat go and come back" });
      const took = Date.now() - t0;
      console.log(`# take-over: both pages back in the call ${took} ms after the network change`);
      // Well before the heartbeat could have freed the old seat: the token did it.
      assert.ok(took < PING_INTERVAL + PING_TIMEOUT, `took ${took} ms`);
      assert.equal(tokenOf(b.socketOpens.at(-1).url), tokenOf(b.socketOpens[0].url));
      await assertCallKept(a, b, id);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.stop();
    }
  });

  test("a page whose seat was taken while it was away says full at once, and stops; #status always has a data-state", async () => {
    const proxy = await TcpProxy.start(server.port);
    try {
      const room = uniqueRoom("lost");
      const [a, b] = await pages.call([alice(), bob()], [roomUrl(room), roomUrl(room, proxy.url)]);
      proxy.blackhole({ hold: true });
      await waitForState(a.page, "left", PING_INTERVAL + PING_TIMEOUT + 10_000);
      // Someone else takes the free seat, and the first page calls them instead.
      const c = await pages.open(carol(), roomUrl(room));
      await Promise.all([waitForPhase(a.page, "connected"), waitForPhase(c.page, "connected")]);

      const restoredAt = Date.now();
      proxy.restore();
      await waitForState(b.page, "full", 15_000);
      const fullAt = (await statesOf(b.page)).find((e) => e.state === "full").at;
      // Its way back: the first socket opened after the network returned, then `full`.
      const reconnectedAt = b.socketOpens.find((o) => o.at >= restoredAt - 50)?.at ?? restoredAt;
      console.log(`# full ${fullAt - reconnectedAt} ms after the page's first socket back (${fullAt - restoredAt} ms after the network came back)`);
      assert.ok(fullAt - reconnectedAt < 2_000, `full after ${fullAt - reconnectedAt} ms`);
      // And it stays there: no retry, no call.
      await b.page.waitForFunction(() => !window.__duet.socket.active && window.__duet.pc === null, null, { timeout: 5_000 });
      const opens = b.socketOpens.length;
      await waitForRemoteFrames(a.page); // the others' call goes on meanwhile
      assert.equal(b.socketOpens.length, opens, "no new socket after full");
      assert.equal(await stateOf(b.page), "full");
      for (const r of [a, b, c]) await assertHistory(r, { never: r === b ? [] : ["full"] });
      assertNoPageErrors(a, b, c);
      await Promise.all([a.close(), b.close(), c.close()]);
    } catch (err) {
      // What each page went through, for a failure that does not say it by itself.
      for (const r of pages.opened.slice(-3)) {
        const h = await statesOf(r.page).catch(() => "closed");
        err.message += `\n--- ${r.page.url()} ---\n${JSON.stringify(h)}\n${r.logs.filter((l) => /connect_error|warn/.test(l)).join("\n")}`;
      }
      err.message += `\n--- the server's last output ---\n${server.output().split("\n").slice(-40).join("\n")}`;
      throw err;
    } finally {
      await proxy.stop();
    }
  });

  test("a busy room (HTTP 429 while its cap of sockets without a seat is reached) shows busy, retrying, then connects once a slot frees", async (t) => {
    const probe = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&room=${uniqueRoom("probe")}`);
    if (probe.status !== 200) {
      // Browsers hide a refused websocket upgrade's status; the page can only see a 429 on the
      // long-polling attempt that follows it.
      t.skip(`the server has no long-polling yet (HTTP ${probe.status}: ${await probe.text()}): a page cannot see a 429`);
      return;
    }
    const room = uniqueRoom("busy");
    const squatters = await Promise.all(Array.from({ length: MAX_PENDING }, () => RawSocket.connect(server, { room })));
    try {
      const a = await pages.open(alice(), roomUrl(room));
      await waitForPhase(a.page, "busy", 10_000);
      assert.equal(await stateOf(a.page), "waiting");
      assert.match(await a.page.locator("#statusText").textContent(), /busy, retrying/i);
      // It keeps retrying, calmly: still busy a retry later, never an error.
      await pollPage(a.page, () => window.__duet.seat.attempt >= 2, null, { timeout: 10_000, what: "a second retry" });
      assert.equal(await phaseOf(a.page), "busy");

      squatters.pop().kill();
      await waitForPhase(a.page, "waiting", 15_000);
      await assertHistory(a, { never: ["full", "error"] }).catch((err) => {
        err.message += `\n--- the page's connection errors ---\n${a.logs.filter((l) => /connect_error/.test(l)).join("\n")}`;
        throw err;
      });
      assertNoPageErrors(a);
      await a.close();
    } finally {
      for (const s of squatters) s.kill();
    }
  });

  test("a network that blocks websockets: both pages fall back to long-polling and the call connects", async () => {
    const proxy = await TcpProxy.start(server.port, { refuseWebsocket: true });
    try {
      const room = uniqueRoom("polling");
      const [a, b] = await pages.call([alice(), bob()], [roomUrl(room, proxy.url)]);
      await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
      for (const r of [a, b]) {
        assert.equal(await r.page.evaluate(() => window.__duet.socket.io.engine.transport.name), "polling");
        assert.ok(r.socketOpens.length >= 1, "it tried websocket first");
        assert.ok(requestsFor(r, "/socket.io/").length > 0, "then long-polling");
      }
      assert.ok(proxy.refused >= 2, `${proxy.refused} websocket upgrades refused`);
      // The upgrade probe the server offers is refused too; the session stays on polling and
      // relays signalling: mute on one side shows on the other.
      await a.page.keyboard.press("m");
      await b.page.locator("#remoteMuted").waitFor({ state: "visible", timeout: 10_000 });
      for (const r of [a, b]) await assertHistory(r);
      assertNoPageErrors(a, b);
      await Promise.all([a.close(), b.close()]);
    } finally {
      await proxy.stop();
    }
  });
});
