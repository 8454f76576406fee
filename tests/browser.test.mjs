// The room page end to end: two real Chromium processes (fake camera and microphone) call each
// other through `wrangler dev`. There is no network here, so the call must connect over host
// candidates alone. Every wait is a condition with a bounded timeout.
//
// Run: node --test tests/browser.test.mjs   (skips, saying why, when Chromium is missing)

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  Pages,
  chromiumMissing,
  launchChromium,
  pollPage,
  requestsFor,
  stateOf,
  uniqueRoom,
  waitForPhase,
  waitForRemoteFrames,
  waitForState,
} from "./browser-helpers.mjs";
import { ROOT, startServer, waitFor, startAll } from "./helpers.mjs";

const ROOM_ID = /^[A-Za-z0-9_-]{22}$/;
// The README's picture (docs/) is refreshed only on request, so that a test run leaves the work
// tree clean: `UPDATE_SCREENSHOT=1 npm test`.
const SCREENSHOT = process.env.UPDATE_SCREENSHOT
  ? path.join(ROOT, "docs", "screenshot-call.png")
  : path.join(ROOT, "test-results", "screenshot-call.png");

describe("the room page in two Chromium browsers", { skip: chromiumMissing() ?? false }, () => {
  let server;
  /** Two browser processes: "alice" and "bob". */
  let alice;
  let bob;
  const pages = new Pages();
  /** Contexts a test makes by hand, closed at the end too. */
  const opened = [];

  before(async () => {
    await startAll([startServer(), launchChromium(), launchChromium()], (v) => ([server, alice, bob] = v));
  });

  after(async () => {
    await pages.closeAll();
    await Promise.all(opened.map((p) => p.close()));
    await Promise.all([alice?.close(), bob?.close()].filter(Boolean));
    await server?.stop();
  });

  const open = (browser, urlPath, opts) => pages.open(browser, server.url + urlPath, opts);
  /** Opens the room in both browsers (the first waits, the second joins) and waits for the call. */
  const call = (room, opts) => pages.call([alice, bob], [`${server.url}/r/${room}`], opts);

  function assertNoPageErrors(...recs) {
    for (const rec of recs) assert.deepEqual(rec.errors, [], `page errors in ${rec.page.url()}`);
  }

  test("two pages in one room connect, and each shows the other's video", async () => {
    const [a, b] = await call(uniqueRoom("call"));
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    for (const { page } of [a, b]) {
      const local = await page.evaluate(() => document.getElementById("localVideo").videoWidth);
      assert.ok(local > 0, "the local preview shows the camera");
    }
    assertNoPageErrors(a, b);
    await Promise.all([a.close(), b.close()]);
  });

  test("a real call's log lines name room events by the room's tag and carry no SDP, candidate, address, token or room name", async () => {
    const room = uniqueRoom("logs");
    const from = server.output().length;
    const [a, b] = await call(room);
    await waitForRemoteFrames(a.page);
    // The resume tokens the pages sent in their socket URLs.
    const tokens = [a, b].flatMap((p) => p.sockets.map((ws) => new URL(ws.url()).searchParams.get("resume"))).filter(Boolean);
    assert.ok(tokens.length >= 2, "the pages sent their resume tokens");
    await b.close();
    await waitForState(a.page, ["left", "waiting"], 10_000);
    const lines = () =>
      server
        .output()
        .slice(from)
        .split("\n")
        .flatMap((l) => {
          const at = l.indexOf('{"event":');
          if (at < 0) return [];
          try {
            return [JSON.parse(l.slice(at))];
          } catch {
            return [];
          }
        });
    const tagOf = (r) => createHash("sha1").update(`signal-room:${r}`).digest("hex").slice(0, 12);
    await waitFor(() => lines().some((l) => l.event === "seat_freed" && l.room === tagOf(room)), { what: "the seat_freed line" });
    // The room's tag (core/src/ids.rs `room_tag`): other tests' rooms may still be logging.
    const tag = tagOf(room);
    const all = lines();
    for (const l of all) assert.match(l.room, /^[0-9a-f]{12}$/);
    const ours = all.filter((l) => l.room === tag);
    assert.deepEqual(
      ours.filter((l) => l.event === "seat_taken").map((l) => l.seats),
      [1, 2],
    );
    // The page says bye as it goes (pagehide); a page that could not would be "client gone".
    assert.equal(ours.find((l) => l.event === "seat_freed").why, "bye");
    const text = server.output().slice(from);
    for (const secret of [...tokens, "a=ice-ufrag", "a=fingerprint", "candidate:", "v=0"]) {
      assert.ok(!text.includes(secret), `the server output has ${secret}`);
    }
    for (const l of all) {
      const line = JSON.stringify(l);
      assert.ok(!line.includes(room), `room name in ${line}`);
      assert.doesNotMatch(line, /\b\d{1,3}(\.\d{1,3}){3}\b|::1/, `an address in ${line}`);
    }
    await a.close();
  });

  test("a screenshot of a connected call is saved (docs/screenshot-call.png with UPDATE_SCREENSHOT=1)", async () => {
    const [a, b] = await call("team-standup", { viewport: { width: 1280, height: 720 } });
    await waitForRemoteFrames(a.page);
    // Wait for the picture, not the clock: overlay and notices gone.
    await a.page.waitForFunction(
      () => document.getElementById("overlay").hidden && document.getElementById("toast").hidden,
      null,
      { timeout: 10_000 },
    );
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await a.page.screenshot({ path: SCREENSHOT });
    const png = readFileSync(SCREENSHOT);
    assert.equal(png.subarray(1, 4).toString(), "PNG");
    assert.equal(png.readUInt32BE(16), 1280);
    assert.equal(png.readUInt32BE(20), 720);
    assertNoPageErrors(a, b);
    await Promise.all([a.close(), b.close()]);
  });

  test("a third page sees `full` and does not reconnect; a hang-up frees the seat for someone else", async () => {
    const room = uniqueRoom("full");
    const [a, b] = await call(room);
    const c = await open(alice, `/r/${room}`);
    await waitForState(c.page, "full");
    // The server disconnects it; the page must leave it at that.
    await waitFor(() => c.sockets.length === 1 && c.sockets[0].isClosed(), { what: "the third page's websocket to close" });
    await c.page.waitForFunction(() => !window.__duet.socket.connected && !window.__duet.socket.active, null, {
      timeout: 5_000,
    });
    await c.page.getByRole("link", { name: "Start a new room" }).waitFor({ timeout: 2_000 });
    // One Socket.IO CONNECT: the socket opened while the camera started is not connected again
    // when the seat is asked for (the room closes a socket that connects twice, and the page
    // then came back on a second websocket, in about one run in six).
    assert.deepEqual(c.framesSent.filter((f) => f.startsWith("40")), ["40"]);

    // While the third page sits there, a seat becomes free (hang-up on the first page) and a
    // newcomer takes it. A third page that kept reconnecting would have grabbed it instead.
    await a.page.getByRole("button", { name: "Leave" }).click();
    await waitForState(b.page, ["left", "waiting"], 5_000);
    await waitForState(a.page, "left");
    const d = await open(alice, `/r/${room}`);
    await Promise.all([waitForState(b.page, "connected"), waitForState(d.page, "connected")]);
    await waitForRemoteFrames(d.page);

    assert.equal(await stateOf(c.page), "full");
    assert.equal(c.sockets.length, 1, "the full page opened exactly one websocket");
    assertNoPageErrors(a, b, c, d);
    await Promise.all([a.close(), b.close(), c.close(), d.close()]);
  });

  test("closing a page turns the other to left/waiting, and a fresh page (or a dropped socket) connects again", async () => {
    const room = uniqueRoom("leave");
    const [a, b] = await call(room);
    await b.close();
    await waitForState(a.page, ["left", "waiting"], 5_000);
    assert.equal(await a.page.evaluate(() => document.getElementById("remoteVideo").srcObject), null);

    // A newcomer joins without anyone reloading.
    const c = await open(bob, `/r/${room}`);
    await Promise.all([waitForState(a.page, "connected"), waitForState(c.page, "connected")]);
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(c.page)]);

    // The first page's signalling socket drops: it reconnects and takes its seat again, and
    // both keep the call they had (its media never needed the server).
    const before = a.sockets.length;
    await a.page.evaluate(() => (window.__pcBefore = window.__duet.pc));
    await a.page.evaluate(() => window.__duet.socket.io.engine.close());
    await waitFor(() => a.sockets.length > before, { what: "the page to open a new websocket" });
    await waitFor(() => a.sockets.at(-1) && !a.sockets.at(-1).isClosed(), { what: "the new websocket open" });
    await Promise.all([waitForPhase(a.page, "connected"), waitForPhase(c.page, "connected")]);
    assert.equal(await a.page.evaluate(() => window.__duet.pc === window.__pcBefore), true);
    await waitForRemoteFrames(c.page);
    assertNoPageErrors(a, c);
    await Promise.all([a.close(), c.close()]);
  });

  test("a blocked camera and an insecure origin each get a clear message", async () => {
    // Camera and microphone refused (as when a person clicks "Block").
    const blocked = await alice.newContext();
    opened.push({ close: () => blocked.close().catch(() => {}) });
    await blocked.addInitScript(() => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
    });
    const page = await blocked.newPage();
    const sent = [];
    page.on("websocket", (ws) => ws.on("framesent", (f) => sent.push(String(f.payload))));
    await page.goto(`${server.url}/r/${uniqueRoom("blocked")}`);
    await waitForState(page, "error");
    await page.getByRole("heading", { name: "Camera and microphone are blocked" }).waitFor({ timeout: 5_000 });
    await page.getByRole("button", { name: "Try again" }).waitFor({ timeout: 5_000 });
    // No seat is taken without a camera unless the person asks for it: the connection opened
    // while the camera started is let go, no `create or join` was ever sent.
    assert.equal(await page.evaluate(() => window.__duet.socket), null);
    assert.deepEqual(await page.evaluate(() => window.__duet.seat), { state: "idle", role: null, peer: null, attempt: 0 });
    assert.deepEqual(sent.filter((f) => f.includes("create or join")), []);

    // The same page from a plain-http origin that is not localhost: no getUserMedia at all.
    const insecure = await bob.newContext();
    opened.push({ close: () => insecure.close().catch(() => {}) });
    await insecure.route("http://duet.example/**", async (route) => {
      const url = new URL(route.request().url());
      // A late request (the favicon) may still be in flight when the context closes.
      try {
        await route.fulfill({ response: await route.fetch({ url: server.url + url.pathname + url.search }) });
      } catch {}
    });
    const remote = await insecure.newPage();
    await remote.goto(`http://duet.example/r/${uniqueRoom("insecure")}`);
    await waitForState(remote, "error");
    await remote.getByRole("heading", { name: "This page needs a secure connection" }).waitFor({ timeout: 5_000 });
    assert.match(await remote.locator("#overlayText").textContent(), /https:\/\//);
    await Promise.all([blocked.close(), insecure.close()]);
  });

  test("/new makes distinct well-formed rooms, and the landing page leads to working rooms", async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}/new`, { redirect: "manual" });
      assert.equal(res.status, 303);
      const location = new URL(res.headers.get("location"), server.url);
      assert.equal(location.origin, server.url);
      const m = /^\/r\/(.*)$/.exec(location.pathname);
      assert.ok(m, `redirects to /r/<id>, got ${location.pathname}`);
      assert.match(m[1], ROOM_ID);
      ids.add(m[1]);
    }
    assert.equal(ids.size, 5, "every /new gives a different room");

    const home = await open(alice, "/");
    await home.page.getByRole("button", { name: "New room" }).click();
    await home.page.waitForURL((url) => /^\/r\/[A-Za-z0-9_-]{22}$/.test(url.pathname), { timeout: 10_000 });
    await waitForPhase(home.page, "waiting");
    const shared = await home.page.getByLabel("Invite link", { exact: true }).inputValue();
    assert.equal(shared, home.page.url());

    // The name field explains what is wrong, then goes to the room.
    const named = await open(bob, "/");
    const field = named.page.getByLabel("Or join a room by name");
    await field.fill("our room!");
    await field.press("Enter");
    const error = named.page.getByRole("alert");
    await error.waitFor({ timeout: 5_000 });
    assert.match(await error.textContent(), /Spaces aren't allowed/);
    assert.equal(new URL(named.page.url()).pathname, "/");
    await field.fill("x".repeat(65));
    await named.page.getByRole("button", { name: "Join" }).click();
    await named.page.getByText("at most 64 characters").waitFor({ timeout: 5_000 });
    await field.fill("our-room.2");
    await named.page.getByRole("button", { name: "Join" }).click();
    await named.page.waitForURL((url) => url.pathname === "/r/our-room.2", { timeout: 10_000 });
    await waitForPhase(named.page, "waiting");
    assertNoPageErrors(home, named);
    await Promise.all([home.close(), named.close()]);
  });
});

describe("the room page's connection while the camera starts", { skip: chromiumMissing() ?? false }, () => {
  // A short seat grace, so that a camera slower than it is quick to test.
  const SEAT_GRACE = 1500;
  let server;
  let browser;
  const pages = new Pages();

  before(async () => {
    await startAll([startServer({ vars: { SEAT_GRACE } }), launchChromium()], (v) => ([server, browser] = v));
  });

  after(async () => {
    await pages.closeAll();
    await browser?.close();
    await server?.stop();
  });

  /** A page whose camera answers only when `window.__camera()` is called. */
  const slowCamera = (context) =>
    context.addInitScript(() => {
      const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
      let release;
      const released = new Promise((resolve) => (release = resolve));
      window.__camera = () => release();
      navigator.mediaDevices.getUserMedia = (constraints) => released.then(() => real(constraints));
    });

  test("the socket is connected while the camera starts and asks for its seat once it has, also after the seat grace closed it", async () => {
    const room = uniqueRoom("camera");
    // Within the grace: connected (Socket.IO `40` sent) before the camera answers, no seat asked.
    const a = await pages.open(browser, `${server.url}/r/${room}`, { setup: slowCamera });
    await waitFor(() => a.sockets.length === 1 && !a.sockets[0].isClosed(), { what: "page A's websocket open while its camera starts" });
    await pollPage(a.page, () => window.__duet.socket?.connected === true, null, { timeout: 10_000, what: "page A's socket connected" });
    assert.deepEqual(await a.page.evaluate(() => window.__duet.seat.state), "idle");
    assert.equal(a.sockets.length, 1);
    // The ICE servers are asked for meanwhile too.
    await waitFor(() => requestsFor(a, "/config.json").length === 1, { what: "page A asking for its ICE servers while its camera starts" });
    await a.page.evaluate(() => window.__camera());
    await waitForPhase(a.page, "waiting");
    assert.equal(a.sockets.length, 1, "the socket opened while the camera started is the one seated");
    assert.equal(a.framesSent.filter((f) => f.includes("create or join")).length, 1);

    // Slower than the grace: the room closes the seatless socket; nothing reconnects until the
    // camera answers, then the page connects again, asks, and the two are in a call.
    const b = await pages.open(browser, `${server.url}/r/${room}`, { setup: slowCamera });
    await waitFor(() => b.sockets.length === 1, { what: "page B's websocket" });
    await waitFor(() => b.sockets[0].isClosed(), { what: "the room closing page B's seatless socket after its grace" });
    await pollPage(b.page, () => window.__duet.socket?.active === false, null, { timeout: 5_000, what: "page B's socket not reconnecting" });
    assert.equal(b.sockets.length, 1, "no reconnection while the camera has not answered");
    assert.deepEqual(b.framesSent.filter((f) => f.includes("create or join")), []);
    await b.page.evaluate(() => window.__camera());
    await Promise.all([waitForPhase(a.page, "connected"), waitForPhase(b.page, "connected")]);
    assert.equal(b.sockets.length, 2);
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    // One request each: asked ahead, used by the call.
    assert.deepEqual([a, b].map((r) => requestsFor(r, "/config.json").length), [1, 1]);
    assert.deepEqual([...a.errors, ...b.errors], []);
  });
});
