// `GET /config.json` with TURN configured (contract, "ICE servers and TURN"), under `wrangler dev`:
// Cloudflare Realtime TURN against a fake API this file starts on loopback (the exact request,
// the answer passed on without port-53 URLs, and every failure answered STUN-only with one log
// line), coturn-style TURN REST API credentials (recomputed here), the per-address rate limit,
// and secrets that never show in a response or in wrangler's output. The real relayed call is in
// turn-relay.test.mjs.
//
// Run: node --test tests/turn.test.mjs

import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { execFileSync } from "node:child_process";
import { ROOT, listenOnLoopback, startServer, waitFor } from "./helpers.mjs";

/** A STUN entry on loopback: an answer that must keep it is told apart from an empty one. */
const STUN = [{ urls: "stun:127.0.0.1:3478" }];
const STUN_ONLY = JSON.stringify({ iceServers: STUN });
const RATE_LIMITED = JSON.stringify({ iceServers: STUN, error: "Too many requests" });
/** `[[ratelimits]] TURN_LIMITER` in wrangler.toml: minted answers per address per minute. */
const LIMIT = 20;

/** A secret no file in the repository can contain. */
const freshSecret = (label) => `${label}-${randomBytes(18).toString("base64url")}`;

/**
 * Every answer a test receives, so that the secrets can be looked for in all of them at the end.
 * `get` fetches `/config.json` with a client address of the caller's choosing (wrangler dev
 * passes a `CF-Connecting-IP` sent by the client on to the Worker, as Cloudflare would set it).
 */
function recorder() {
  const bodies = [];
  async function get(server, { ip = "192.0.2.1", pathname = "/config.json" } = {}) {
    const res = await fetch(server.url + pathname, {
      headers: ip ? { "CF-Connecting-IP": ip } : {},
      signal: AbortSignal.timeout(15_000),
    });
    const body = await res.text();
    bodies.push(body);
    return { status: res.status, headers: res.headers, body };
  }
  return { bodies, get };
}

/**
 * The JSON log lines a server printed for `event`, parsed, in order. (wrangler dev shows a
 * Worker's console.error as `✘ [ERROR] <line>` in colour; the platform records the line itself.)
 */
function logLines(output, event) {
  return output
    .replace(/\x1b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((line) => line.includes(`"event":"${event}"`))
    .map((line) => JSON.parse(line.slice(line.indexOf("{"), line.lastIndexOf("}") + 1)));
}

function assertNoStore(res) {
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("cache-control"), "no-store");
}

/**
 * The local minute of wrangler dev's rate limiter is a fixed window (the epoch minute). A burst
 * that must stay inside one window waits, when fewer than `need` ms of the current window are
 * left, until the next one begins: a bounded wait on the clock, at most `need` ms.
 */
async function freshWindow(need = 15_000) {
  const left = 60_000 - (Date.now() % 60_000);
  if (left >= need) return;
  const next = Date.now() + left;
  await waitFor(() => Date.now() >= next + 50, { timeout: need + 1_000, interval: 100, what: "the next rate-limit window" });
}

// ---------------------------------------------------------------------------------------------

/**
 * A stand-in for `https://rtc.live.cloudflare.com` on 127.0.0.1. It records each request and
 * answers the way `answer` says: a function of the request that returns
 * `{ status, body }`, or `"hang"` (never answer), or `"stall"` (headers, half a body, then nothing).
 */
async function fakeCloudflare() {
  const fake = { requests: [], answer: () => ({ status: 500, body: "" }), held: [] };
  fake.server = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const record = { method: req.method, url: req.url, headers: req.headers, body };
      fake.requests.push(record);
      const how = fake.answer(record);
      if (how === "hang") return fake.held.push(res);
      if (how === "stall") {
        res.writeHead(201, { "Content-Type": "application/json" });
        res.write('{"iceServers":[');
        return fake.held.push(res);
      }
      res.writeHead(how.status, { "Content-Type": "application/json" });
      res.end(how.body);
    });
  });
  fake.port = await listenOnLoopback(fake.server);
  fake.origin = `http://127.0.0.1:${fake.port}`;
  fake.close = async () => {
    for (const res of fake.held) res.destroy();
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
  };
  return fake;
}

/** What Cloudflare documents `generate-ice-servers` to answer, with the port-53 URLs it can add. */
function cloudflareAnswer(username, credential) {
  return {
    iceServers: [
      { urls: ["stun:stun.cloudflare.com:3478", "stun:stun.cloudflare.com:53"] },
      {
        urls: [
          "turn:turn.cloudflare.com:3478?transport=udp",
          "turn:turn.cloudflare.com:53?transport=udp",
          "turn:turn.cloudflare.com:3478?transport=tcp",
          "turn:turn.cloudflare.com:80?transport=tcp",
          "turns:turn.cloudflare.com:5349?transport=tcp",
          "turns:turn.cloudflare.com:443?transport=tcp",
        ],
        username,
        credential,
      },
    ],
  };
}

describe("Cloudflare Realtime TURN (against a fake API on loopback)", () => {
  const token = freshSecret("cf-token");
  const keyId = `key${randomBytes(8).toString("hex")}`;
  const { bodies, get } = recorder();
  let fake;
  let server;

  before(async () => {
    fake = await fakeCloudflare();
    server = await startServer({
      vars: { ICE_SERVERS: JSON.stringify(STUN), TURN_KEY_ID: keyId, TURN_TTL: "600", TURN_API_ORIGIN: fake.origin },
      secrets: { TURN_KEY_API_TOKEN: token },
    });
  });

  after(async () => {
    await server?.stop();
    await fake?.close();
  });

  test("the exact documented request; the answer passed on without port-53 URLs, with ttl", async () => {
    const username = randomBytes(16).toString("hex");
    const credential = randomBytes(16).toString("hex");
    fake.answer = () => ({ status: 201, body: JSON.stringify(cloudflareAnswer(username, credential)) });
    const res = await get(server, { ip: "192.0.2.10" });
    assert.equal(res.status, 200);
    assertNoStore(res);
    assert.equal(
      res.body,
      JSON.stringify({
        iceServers: [
          { urls: ["stun:stun.cloudflare.com:3478"] },
          {
            urls: [
              "turn:turn.cloudflare.com:3478?transport=udp",
              "turn:turn.cloudflare.com:3478?transport=tcp",
              "turn:turn.cloudflare.com:80?transport=tcp",
              "turns:turn.cloudflare.com:5349?transport=tcp",
              "turns:turn.cloudflare.com:443?transport=tcp",
            ],
            username,
            credential,
          },
        ],
        ttl: 600,
      }),
    );
    assert.equal(fake.requests.length, 1);
    const [req] = fake.requests;
    assert.equal(req.method, "POST");
    assert.equal(req.url, `/v1/turn/keys/${keyId}/credentials/generate-ice-servers`);
    assert.equal(req.headers.authorization, `Bearer ${token}`);
    assert.equal(req.headers["content-type"], "application/json");
    assert.equal(req.body, '{"ttl":600}');
  });

  test("each answer asks Cloudflare afresh", async () => {
    const before = fake.requests.length;
    let n = 0;
    fake.answer = () => ((n += 1), { status: 201, body: JSON.stringify(cloudflareAnswer(`user${n}`, `cred${n}`)) });
    const first = JSON.parse((await get(server, { ip: "192.0.2.11" })).body);
    const second = JSON.parse((await get(server, { ip: "192.0.2.11" })).body);
    assert.equal(fake.requests.length, before + 2);
    assert.equal(first.iceServers[1].username, "user1");
    assert.equal(second.iceServers[1].username, "user2");
  });

  // Each failure: HTTP 200 with the STUN-only answer, and exactly one log line with the reason,
  // in the order they happened (checked at the end: a Worker's log line can reach wrangler's
  // output a moment after its answer reaches the client).
  const failures = [];

  for (const [name, answer, reason, status] of [
    ["401 (token refused)", () => ({ status: 401, body: '{"errors":[{"message":"Unauthorized"}]}' }), "unauthorized", 401],
    ["403", () => ({ status: 403, body: "Forbidden" }), "unauthorized", 403],
    ["500", () => ({ status: 500, body: "Internal Server Error" }), "http_status", 500],
    ["a body that is not JSON", () => ({ status: 201, body: "<html>Bad gateway</html>" }), "not_json"],
    ["JSON of the wrong shape", () => ({ status: 201, body: '{"iceServers":"turn:turn.cloudflare.com"}' }), "bad_shape"],
    ["no relay left once port 53 is out", () => ({ status: 201, body: '{"iceServers":[{"urls":["turn:turn.cloudflare.com:53"],"username":"u","credential":"c"}]}' }), "no_relay"],
  ]) {
    test(`${name} → the STUN-only answer and one log line`, async () => {
      fake.answer = answer;
      const res = await get(server, { ip: "192.0.2.20" });
      assert.equal(res.status, 200);
      assertNoStore(res);
      assert.equal(res.body, STUN_ONLY);
      failures.push(status ? { reason, status } : { reason });
    });
  }

  for (const [name, how] of [
    ["an API that never answers", "hang"],
    ["an API that sends headers and stalls mid-body", "stall"],
  ]) {
    test(`${name} → the STUN-only answer after the 3 s bound`, async () => {
      fake.answer = () => how;
      const started = Date.now();
      const res = await get(server, { ip: "192.0.2.21" });
      const took = Date.now() - started;
      assert.equal(res.status, 200);
      assert.equal(res.body, STUN_ONLY);
      assert.ok(took >= 2_900 && took < 6_000, `answered after ${took} ms`);
      failures.push({ reason: "timeout" });
    });
  }

  // Last: the fake stops listening, so the port refuses connections.
  test("a refused connection → the STUN-only answer and one log line", async () => {
    await fake.close();
    const res = await get(server, { ip: "192.0.2.22" });
    assert.equal(res.status, 200);
    assert.equal(res.body, STUN_ONLY);
    failures.push({ reason: "network" });
  });

  test("one log line per failure, in fixed words; the token never in any answer or log", async () => {
    await waitFor(() => logLines(server.output(), "turn_provider_failed").length >= failures.length, {
      what: `${failures.length} log lines`,
    });
    await server.stop();
    const output = server.output();
    const why = `\n--- wrangler output ---\n${output.replaceAll(token, "<TOKEN>")}`;
    assert.deepEqual(
      logLines(output, "turn_provider_failed"),
      failures.map((f) => ({ event: "turn_provider_failed", provider: "cloudflare", ...f })),
      why,
    );
    assert.ok(!output.includes(token), `the token is in wrangler's output${why}`);
    for (const body of bodies) assert.ok(!body.includes(token), `the token is in an answer: ${body}`);
    // The bindings table shows secrets hidden.
    assert.match(output, /env\.TURN_KEY_API_TOKEN \("\(hidden\)"\)/, why);
  });
});

// ---------------------------------------------------------------------------------------------

describe("coturn-style TURN REST API credentials, and the rate limit", () => {
  const secret = freshSecret("coturn-secret");
  const urls = ["turn:127.0.0.1:3478?transport=udp", "turn:127.0.0.1:3478?transport=tcp"];
  const { bodies, get } = recorder();
  let server;
  let stunOnly;

  before(async () => {
    [server, stunOnly] = await Promise.all([
      startServer({
        vars: { ICE_SERVERS: JSON.stringify(STUN), TURN_URLS: urls.join(","), TURN_TTL: "600" },
        secrets: { TURN_SECRET: secret },
      }),
      startServer({ vars: { ICE_SERVERS: JSON.stringify(STUN) } }),
    ]);
  });

  after(async () => {
    await Promise.all([server?.stop(), stunOnly?.stop()]);
  });

  /** Checks one coturn answer; returns its username and credential. */
  function checkMinted(res, { now }) {
    assert.equal(res.status, 200);
    assertNoStore(res);
    const answer = JSON.parse(res.body);
    assert.deepEqual(Object.keys(answer), ["iceServers", "ttl"]);
    assert.equal(answer.ttl, 600);
    assert.equal(answer.iceServers.length, 2);
    assert.deepEqual(answer.iceServers[0], STUN[0]);
    const turn = answer.iceServers[1];
    assert.deepEqual(Object.keys(turn), ["urls", "username", "credential"]);
    assert.deepEqual(turn.urls, urls);
    const m = /^(\d+):([A-Za-z0-9_-]{16})$/.exec(turn.username);
    assert.ok(m, `username ${turn.username}`);
    const expiry = Number(m[1]);
    assert.ok(Math.abs(expiry - (now + 600)) <= 2, `expiry ${expiry}, now ${now}`);
    // What coturn does with use-auth-secret: HMAC-SHA1 of the username under the shared secret.
    assert.equal(turn.credential, createHmac("sha1", secret).update(turn.username).digest("base64"));
    return turn;
  }

  test("a credential the TURN server can verify, expiring TURN_TTL from now, fresh per answer", async () => {
    const a = checkMinted(await get(server, { ip: "198.51.100.1" }), { now: Math.floor(Date.now() / 1000) });
    const b = checkMinted(await get(server, { ip: "198.51.100.1" }), { now: Math.floor(Date.now() / 1000) });
    assert.notEqual(a.username, b.username);
    assert.notEqual(a.credential, b.credential);
  });

  test(`the ${LIMIT + 1}th minted answer to one address within a minute is 429 with the STUN-only servers`, async () => {
    await freshWindow();
    const statuses = [];
    let last;
    for (let i = 0; i <= LIMIT; i++) {
      last = await get(server, { ip: "198.51.100.2" });
      statuses.push(last.status);
    }
    assert.deepEqual(statuses, [...Array(LIMIT).fill(200), 429]);
    assertNoStore(last);
    assert.equal(last.headers.get("retry-after"), "60");
    assert.equal(last.body, RATE_LIMITED);
    // Other addresses are counted apart; an IPv6 address counts as its /64.
    assert.equal((await get(server, { ip: "198.51.100.3" })).status, 200);
    for (let i = 0; i < LIMIT; i++) assert.equal((await get(server, { ip: `2001:db8:5:6::${(i + 1).toString(16)}` })).status, 200);
    const sameSlash64 = await get(server, { ip: "2001:db8:5:6:ffff:1:2:3" });
    assert.equal(sameSlash64.status, 429);
    assert.equal(sameSlash64.body, RATE_LIMITED);
    assert.equal((await get(server, { ip: "2001:db8:5:7::1" })).status, 200);
  });

  test("STUN-only answers (no TURN configured) are never rate limited", async () => {
    await freshWindow();
    for (let i = 0; i < LIMIT * 2; i++) {
      const res = await get(stunOnly, { ip: "198.51.100.4" });
      assert.equal(res.status, 200, `answer ${i + 1}`);
      assertNoStore(res);
      assert.equal(res.body, STUN_ONLY);
    }
  });

  test("the secret is in no answer and no log line; only its HMAC leaves the Worker", async () => {
    await server.stop();
    const output = server.output();
    assert.ok(bodies.length > LIMIT, "answers were recorded");
    assert.ok(!output.includes(secret), "the secret is in wrangler's output");
    for (const body of bodies) assert.ok(!body.includes(secret), `the secret is in an answer: ${body}`);
    assert.match(output, /env\.TURN_SECRET \("\(hidden\)"\)/);
    assert.deepEqual(logLines(output, "turn_provider_failed"), []);
    assert.deepEqual(logLines(output, "rate_limiter_failed"), []);
  });
});

// ---------------------------------------------------------------------------------------------

describe("TURN configuration mistakes and where secrets may live", () => {
  test("half a configuration gives the STUN-only answer and a log line naming the missing var", async () => {
    const { get } = recorder();
    const server = await startServer({ vars: { ICE_SERVERS: JSON.stringify(STUN), TURN_URLS: "turn:127.0.0.1:3478" } });
    try {
      const res = await get(server);
      assert.equal(res.status, 200);
      assert.equal(res.body, STUN_ONLY);
      await waitFor(() => logLines(server.output(), "turn_config_invalid").length > 0, { what: "the log line" });
    } finally {
      await server.stop();
    }
    assert.deepEqual(logLines(server.output(), "turn_config_invalid"), [
      { event: "turn_config_invalid", reason: "TURN_URLS is set but TURN_SECRET is not" },
    ]);
  });

  test("no secret in the repository: none in wrangler.toml's vars, .dev.vars and .env ignored by git", () => {
    const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
    for (const name of ["TURN_SECRET", "TURN_KEY_API_TOKEN"]) {
      assert.doesNotMatch(toml, new RegExp(`^\\s*${name}\\s*=`, "m"), `${name} set in wrangler.toml`);
    }
    const tracked = execFileSync("git", ["ls-files"], { cwd: ROOT, encoding: "utf8" }).split("\n");
    assert.deepEqual(tracked.filter((f) => /(^|\/)(\.dev\.vars|\.env)(\.|$)/.test(f)), []);
    for (const file of [".dev.vars", ".dev.vars.conformance", ".env"]) {
      // `git check-ignore` exits 0 when the path is ignored, and throws otherwise.
      execFileSync("git", ["check-ignore", "-q", file], { cwd: ROOT });
    }
  });
});
