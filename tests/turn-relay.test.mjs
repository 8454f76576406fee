// A real relayed call: Debian's coturn (`turnserver`) on loopback with `use-auth-secret`, the
// Worker under `wrangler dev` minting its TURN REST API credentials, and two real browsers that
// may use relay candidates only. It proves the whole path: the credential in `/config.json`
// works on a real TURN server, media flows through it (`getStats()`: the selected candidate pair
// is relay on both ends; coturn logs the allocation for the minted username), and with the
// wrong secret the same call never connects (coturn logs `401: Unauthorized` for it). The time
// from page load to `connected` is printed for a direct call and a relay-only call of one run.
//
// Run: node --test tests/turn-relay.test.mjs   (skips, saying why, when turnserver or Chromium
// is missing; the Firefox case skips without Firefox ESR)

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import dgram from "node:dgram";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { chromiumMissing, closeFirefox, firefoxMissing, launchChromium, launchFirefox, pollPage, uniqueRoom, waitForRemoteFrames, waitForState } from "./browser-helpers.mjs";
import { fatal, freePort, startServer, waitFor, startAll } from "./helpers.mjs";

const TURNSERVER = process.env.TURNSERVER_PATH || "/usr/bin/turnserver";

function turnserverMissing() {
  return existsSync(TURNSERVER)
    ? null
    : `turnserver not found at ${TURNSERVER}: install Debian's coturn package (scripts/setup.sh --browser does), ` +
        "or set TURNSERVER_PATH, to run the relayed-call tests";
}

/** Whether UDP `port` on 127.0.0.1 can be bound right now. */
function udpFree(port) {
  return new Promise((resolve) => {
    const sock = dgram.createSocket("udp4");
    sock.once("error", () => resolve(false));
    sock.bind(port, "127.0.0.1", () => sock.close(() => resolve(true)));
  });
}

/**
 * Starts coturn on 127.0.0.1 (UDP and TCP on one free port, relay ports from a range of 100),
 * authenticating TURN REST API credentials made with `secret`. Loopback peers are allowed (the
 * relayed addresses are 127.0.0.1 too); no TLS, no CLI. Returns `{ port, log(), stop() }`.
 */
async function startCoturn(secret) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "coturn-"));
  let port;
  for (let i = 0; i < 20 && !port; i++) {
    const p = await freePort();
    if (await udpFree(p)) port = p;
  }
  assert.ok(port, "no free port for coturn");
  const minPort = 40_000 + Math.floor(Math.random() * 200) * 100;
  const logFile = path.join(dir, "turn.log");
  const child = spawn(
    TURNSERVER,
    [
      "-n", // no configuration file
      "-v", // verbose: without it, allocations are not logged
      "--listening-ip=127.0.0.1",
      "--relay-ip=127.0.0.1",
      `--listening-port=${port}`,
      `--min-port=${minPort}`,
      `--max-port=${minPort + 99}`,
      "--use-auth-secret",
      `--static-auth-secret=${secret}`,
      "--realm=test",
      // Without it coturn refuses CREATE_PERMISSION for 127.0.0.1 peers (403).
      "--allow-loopback-peers",
      "--no-tls",
      "--no-dtls",
      "--no-cli",
      "--no-rfc5780",
      "--no-multicast-peers",
      `--log-file=${logFile}`,
      "--no-stdout-log",
      "--simple-log",
      "--fingerprint",
      `--pidfile=${path.join(dir, "turn.pid")}`,
      `--userdb=${path.join(dir, "turndb")}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (out += d));
  let dead = false;
  const exited = new Promise((resolve) => child.once("exit", () => resolve((dead = true))));
  const log = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  const coturn = {
    port,
    /** The relayed addresses' ports: 127.0.0.1:[minPort, maxPort]. */
    minPort,
    maxPort: minPort + 99,
    log,
    async stop() {
      if (!dead) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await waitFor(
      () => {
        if (dead) throw fatal(`turnserver exited:\n${out}\n${log()}`);
        return log().includes(`UDP listener opened on: 127.0.0.1:${port}`);
      },
      { timeout: 15_000, interval: 50, what: "coturn's UDP listener" },
    );
  } catch (err) {
    await coturn.stop();
    throw err;
  }
  return coturn;
}

/** Lines of coturn's log about `username` (it logs `user <name>` on each authenticated request). */
function linesFor(log, username) {
  return log.split("\n").filter((line) => line.includes(`user <${username}>`));
}

/**
 * Runs in each page before its own scripts. Wraps `RTCPeerConnection` so the test can find the
 * page's connections (and, with `relay`, forces `iceTransportPolicy: "relay"` on top of the
 * page's own configuration, in the constructor and in `setConfiguration`), and notes when
 * `#status` first says `connected`, in ms since the page started loading.
 */
function instrument({ relay }) {
  const rec = (window.__turnTest = { pcs: [], connectedAt: null });
  const Native = window.RTCPeerConnection;
  if (Native) {
    const force = (cfg) => (relay ? { ...(cfg ?? {}), iceTransportPolicy: "relay" } : cfg);
    class Instrumented extends Native {
      constructor(cfg, ...rest) {
        super(force(cfg), ...rest);
        rec.pcs.push(this);
      }
      setConfiguration(cfg) {
        return super.setConfiguration(force(cfg));
      }
    }
    window.RTCPeerConnection = Instrumented;
  }
  new MutationObserver(() => {
    if (rec.connectedAt === null && document.getElementById("status")?.dataset.state === "connected") {
      rec.connectedAt = Math.round(performance.now());
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-state"] });
}

/**
 * In the page: the connected peer connection's selected candidate pair, from `getStats()`
 * (`transport.selectedCandidatePairId`; Firefox marks the pair `selected` instead), its local
 * candidate's stats id (a candidate gathered again, after an ICE restart, has a new one), and the
 * TURN username of its configuration.
 */
async function selectedPair() {
  const pc = window.__turnTest.pcs.find((p) => p.connectionState === "connected" || p.iceConnectionState === "connected");
  if (!pc) return null;
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((r) => {
    if (r.type === "transport" && r.selectedCandidatePairId) pairId = r.selectedCandidatePairId;
  });
  if (!pairId) stats.forEach((r) => r.type === "candidate-pair" && r.selected && (pairId = r.id));
  const pair = pairId && stats.get(pairId);
  if (!pair) return null;
  const local = stats.get(pair.localCandidateId);
  const remote = stats.get(pair.remoteCandidateId);
  const username = pc.getConfiguration().iceServers?.find((s) => s.username)?.username ?? null;
  return {
    local: local?.candidateType,
    localId: pair.localCandidateId,
    remote: remote?.candidateType,
    remoteAddress: remote?.address ?? remote?.ip ?? null,
    remotePort: remote?.port ?? null,
    relayProtocol: local?.relayProtocol ?? null,
    bytesReceived: pair.bytesReceived ?? 0,
    username,
  };
}

/**
 * Whether a selected pair is relayed at both ends: this side's candidate is its relay allocation,
 * and the other side's is coturn's relayed address. That one is signalled as `relay`, or, when the
 * other side's connectivity check arrives before its trickled candidate does, learned from the
 * check as `prflx` (peer-reflexive) with the same address: one of coturn's relay ports.
 */
function relayedBothEnds(pair, coturn) {
  if (!pair || pair.local !== "relay") return false;
  if (pair.remote === "relay") return true;
  return pair.remote === "prflx" && pair.remoteAddress === "127.0.0.1" && pair.remotePort >= coturn.minPort && pair.remotePort <= coturn.maxPort;
}

/** Seconds the short-lived credentials last (the page restarts ICE at 75 % of it). */
const SHORT_TTL = 12;

describe("a relay-only call through a real coturn", { skip: turnserverMissing() ?? chromiumMissing() ?? false }, () => {
  const secret = `coturn-${randomBytes(18).toString("base64url")}`;
  const wrongSecret = `wrong-${randomBytes(18).toString("base64url")}`;
  let coturn;
  /** Mints with coturn's secret, and with another one. */
  let server;
  let wrong;
  /** Mints credentials that last only SHORT_TTL seconds. */
  let short;
  let alice;
  let bob;
  const opened = [];
  const timings = {};
  /** Every /config.json answer the Chromium pages received. */
  const answers = [];

  before(async () => {
    coturn = await startCoturn(secret);
    const vars = { TURN_URLS: `turn:127.0.0.1:${coturn.port}?transport=udp`, TURN_TTL: "600" };
    await startAll([
      startServer({ vars, secrets: { TURN_SECRET: secret } }),
      startServer({ vars, secrets: { TURN_SECRET: wrongSecret } }),
      startServer({ vars: { ...vars, TURN_TTL: String(SHORT_TTL) }, secrets: { TURN_SECRET: secret } }),
      launchChromium(),
      launchChromium(),
    ], (v) => ([server, wrong, short, alice, bob] = v));
  });

  // Each test's pages close when it ends: a call left open would go on (ICE restarts every few
  // seconds on the short-lived credentials) under the next test.
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close().catch(() => {})));
  });

  after(async () => {
    await Promise.all([alice?.close(), bob?.close()]);
    await Promise.all([server?.stop(), wrong?.stop(), short?.stop(), coturn?.stop()]);
  });

  /** A page of `browser` on `url`, instrumented before any of its scripts run. */
  async function open(browser, url, { relay }) {
    const context = await browser.newContext({ viewport: { width: 640, height: 480 } });
    opened.push(context);
    await context.addInitScript(instrument, { relay });
    const page = await context.newPage();
    const rec = { page, errors: [], logs: [] };
    page.on("pageerror", (err) => rec.errors.push(err.message));
    page.on("console", (msg) => rec.logs.push(`${msg.type()}: ${msg.text()}`));
    page.on("response", (res) => {
      if (new URL(res.url()).pathname === "/config.json") answers.push(res.text().catch(() => ""));
    });
    await page.goto(url);
    return rec;
  }

  /** What a page of `open` is at, for a wait's error: its status, seat, call, connections and console. */
  async function describePage(rec) {
    const now = await rec.page
      .evaluate(() =>
        JSON.stringify({
          state: document.getElementById("status")?.dataset.state ?? null,
          seat: window.__duet?.seat ?? null,
          call: window.__duet?.call ?? null,
          pcs: window.__turnTest.pcs.map((p) => ({ signalling: p.signalingState, ice: p.iceConnectionState, servers: p.getConfiguration().iceServers?.length ?? 0 })),
        }),
      )
      .catch((err) => `(no answer: ${err.message})`);
    return `${now}; console: ${JSON.stringify(rec.logs.slice(-20))}; errors: ${JSON.stringify(rec.errors)}`;
  }

  /** Both pages of a room connected with frames flowing; returns them and each selected pair. */
  async function call(base, { relay }) {
    const room = uniqueRoom(relay ? "relay" : "direct");
    const a = await open(alice, `${base}/r/${room}`, { relay });
    await waitForState(a.page, "waiting");
    const b = await open(bob, `${base}/r/${room}`, { relay });
    try {
      await Promise.all([waitForState(a.page, "connected", 30_000), waitForState(b.page, "connected", 30_000)]);
      await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    } catch (err) {
      err.message += `\n--- first page ---\n${a.logs.join("\n")}\n--- second page ---\n${b.logs.join("\n")}\n--- coturn ---\n${coturn.log().slice(-4000)}`;
      throw err;
    }
    const pairs = [];
    for (const { page } of [a, b]) {
      pairs.push(await waitFor(() => page.evaluate(selectedPair), { timeout: 10_000, what: "a selected candidate pair" }));
    }
    const connectedAt = await b.page.evaluate(() => window.__turnTest.connectedAt);
    assert.deepEqual([...a.errors, ...b.errors], []);
    return { a, b, pairs, connectedAt };
  }

  test("a direct call (host candidates) connects; time from page load to connected measured", async () => {
    const { pairs, connectedAt } = await call(server.url, { relay: false });
    for (const pair of pairs) assert.deepEqual([pair.local, pair.remote], ["host", "host"]);
    timings.direct = connectedAt;
  });

  test("relay only: connected with frames flowing, the selected pair relay on both sides, coturn allocated for the minted username", async () => {
    const { pairs, connectedAt } = await call(server.url, { relay: true });
    for (const pair of pairs) {
      assert.ok(relayedBothEnds(pair, coturn), `relayed at both ends: ${JSON.stringify(pair)}`);
      assert.equal(pair.relayProtocol, "udp");
      assert.ok(pair.bytesReceived > 0, "bytes came in over the relayed pair");
      assert.match(pair.username, /^\d+:[A-Za-z0-9_-]{16}$/);
    }
    // Each page minted its own credential, and coturn accepted each for an allocation.
    assert.notEqual(pairs[0].username, pairs[1].username);
    for (const { username } of pairs) {
      const lines = linesFor(coturn.log(), username);
      assert.ok(
        lines.some((l) => /ALLOCATE processed, success/.test(l)),
        `no successful allocation for ${username} in coturn's log:\n${lines.join("\n")}`,
      );
    }
    timings.relay = connectedAt;
    console.log(
      `time from page load to connected (second page): direct ${timings.direct} ms, relay-only ${timings.relay} ms`,
    );
  });

  test("relay only, credentials that expire mid-call: an ICE restart with fresh ones before they do, the call stays connected and relayed", async () => {
    const { a, b, pairs } = await call(short.url, { relay: true });
    const before = pairs.map((p) => p.username);
    const t0 = Date.now();
    // The offering page restarts ICE at 75 % of its ttl, or sooner when the answering page asks
    // at 85 % of its own (its servers may be the older: asked for as its page loaded, before the
    // other page came); either way with credentials fetched then.
    const restarted = async (page) =>
      page.evaluate(() =>
        (window.__duet.call?.events ?? []).some((e) => e.what === "restart" && ["credentials expire", "asked by the other side"].includes(e.reason)),
      );
    await waitFor(async () => (await restarted(a.page)) || (await restarted(b.page)), {
      timeout: SHORT_TTL * 1000 + 10_000,
      what: "an ICE restart for expiring credentials",
    });
    const tookS = (Date.now() - t0) / 1000;
    assert.ok(tookS < SHORT_TTL, `the restart came ${tookS} s in, after the ${SHORT_TTL} s credentials expired`);
    // Still one call, still relayed, on fresh credentials coturn accepted.
    // The configuration's username changes when the restart begins; the selected pair only once
    // the restart's own relay candidate (a new local candidate) has replaced the old allocation.
    const after = [];
    for (const [i, { page }] of [a, b].entries()) {
      after.push(
        await waitFor(
          async () => {
            const p = await page.evaluate(selectedPair);
            return relayedBothEnds(p, coturn) && !before.includes(p.username) && p.localId !== pairs[i].localId && p;
          },
          { timeout: 20_000, what: "a relayed pair of a new allocation on fresh credentials" },
        ),
      );
      assert.equal(await page.evaluate(() => document.getElementById("status").dataset.state), "connected");
    }
    await Promise.all([waitForRemoteFrames(a.page), waitForRemoteFrames(b.page)]);
    // coturn writes its log as it goes: the line may follow the allocation by a moment.
    for (const { username } of after) {
      await waitFor(() => linesFor(coturn.log(), username).some((l) => /ALLOCATE processed, success/.test(l)), {
        timeout: 5_000,
        what: `coturn's allocation for ${username}`,
      });
    }
    console.log(`ICE restart for expiring credentials ${tookS.toFixed(1)} s into a ${SHORT_TTL} s ttl; call kept, relayed`);
    assert.deepEqual([...a.errors, ...b.errors], []);
  });

  test("relay only with a wrong TURN_SECRET: never connected within 15 s, coturn answers 401 Unauthorized", async () => {
    const room = uniqueRoom("wrong");
    const a = await open(alice, `${wrong.url}/r/${room}`, { relay: true });
    await waitForState(a.page, "waiting");
    const b = await open(bob, `${wrong.url}/r/${room}`, { relay: true });
    const usernames = [];
    for (const [i, rec] of [a, b].entries()) {
      // The page made its connection with the minted (wrongly keyed) credential.
      usernames.push(
        await pollPage(
          rec.page,
          () => window.__turnTest.pcs.map((p) => p.getConfiguration().iceServers?.find((s) => s.username)?.username).find(Boolean),
          null,
          { timeout: 20_000, what: `page ${"ab"[i]}'s peer connection with a TURN username`, describe: () => describePage(rec) },
        ),
      );
    }
    // Both refused by coturn, each with its own username.
    await waitFor(
      () => usernames.every((u) => linesFor(coturn.log(), u).some((l) => l.includes("401: Unauthorized"))),
      { timeout: 15_000, what: "coturn to refuse both credentials with 401" },
    );
    const connected = () =>
      Promise.race([
        a.page.waitForFunction(() => window.__turnTest.connectedAt !== null, null, { timeout: 15_000, polling: 100 }),
        b.page.waitForFunction(() => window.__turnTest.connectedAt !== null, null, { timeout: 15_000, polling: 100 }),
      ]);
    await assert.rejects(connected(), /Timeout/, "a page connected although coturn refused its credential");
    for (const u of usernames) {
      assert.ok(!linesFor(coturn.log(), u).some((l) => /ALLOCATE processed, success/.test(l)), `coturn allocated for ${u}`);
    }
  });

  test(
    "Firefox, relay only (media.peerconnection.ice.relay_only): relay pair on both sides, frames flowing",
    { skip: firefoxMissing() ?? false },
    async () => {
      // Firefox as in firefox.test.mjs (fake media without prompts, loopback host candidates),
      // and what a person sets in about:config to try a relay-only call (README "TURN").
      const launch = () => launchFirefox({ "media.peerconnection.ice.relay_only": true });
      let browsers = [];
      try {
        // Those that started are closed below even if the other did not.
        await startAll([launch(), launch()], (v) => (browsers = v.filter(Boolean)));
        const room = uniqueRoom("firefox-relay");
        const pages = [];
        for (const browser of browsers) {
          const page = await browser.newPage();
          // Not forced by the wrapper here: the pref alone makes Firefox relay-only.
          await page.evaluateOnNewDocument(instrument, { relay: false });
          await page.goto(`${server.url}/r/${room}`, { timeout: 20_000 });
          pages.push(page);
          if (pages.length === 1) {
            await page.waitForFunction(() => document.getElementById("status")?.dataset.state === "waiting", { timeout: 20_000, polling: 50 });
          }
        }
        for (const page of pages) {
          await page.waitForFunction(() => document.getElementById("status")?.dataset.state === "connected", { timeout: 30_000, polling: 50 });
          await page.waitForFunction(
            () => {
              const v = document.getElementById("remoteVideo");
              return v.videoWidth > 0 && !v.paused && v.currentTime > 0.5;
            },
            { timeout: 15_000, polling: 50 },
          );
        }
        for (const page of pages) {
          const pair = await waitFor(() => page.evaluate(selectedPair), { timeout: 10_000, what: "a selected candidate pair" });
          assert.ok(relayedBothEnds(pair, coturn), `relayed at both ends: ${JSON.stringify(pair)}`);
          const lines = linesFor(coturn.log(), pair.username);
          assert.ok(lines.some((l) => /ALLOCATE processed, success/.test(l)), `no allocation for ${pair.username}`);
        }
      } finally {
        await Promise.all(browsers.map(closeFirefox));
      }
    },
  );

  test("neither secret shows in wrangler's output; the page's answers carry only HMACs", async () => {
    await Promise.all([server.stop(), wrong.stop()]);
    for (const [s, value] of [
      [server, secret],
      [wrong, wrongSecret],
    ]) {
      assert.ok(!s.output().includes(value), "a TURN secret is in wrangler's output");
      assert.match(s.output(), /env\.TURN_SECRET \("\(hidden\)"\)/);
    }
    const bodies = await Promise.all(answers);
    assert.ok(bodies.filter((b) => b.includes('"credential"')).length >= 4, "the pages received minted answers");
    for (const body of bodies) {
      assert.ok(!body.includes(secret) && !body.includes(wrongSecret), `a TURN secret is in an answer: ${body}`);
    }
  });
});
