// The HTTP surface of the contract under `wrangler dev`: the reference server's 400 bodies,
// routing, the room page, new room ids and the client bundle.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { ROOT, RawSocket, startServer } from "./helpers.mjs";

describe("HTTP surface", () => {
  let server;
  before(async () => {
    server = await startServer();
  });
  after(async () => server?.stop());

  /** A plain HTTP GET (fetch() refuses Upgrade headers). Resolves { status, headers, text() }. */
  const get = (p, headers = {}) =>
    new Promise((resolve, reject) => {
      const req = http.get(server.url + p, { headers, timeout: 10_000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (body += d));
        res.on("end", () =>
          resolve({
            status: res.statusCode,
            headers: { get: (k) => res.headers[k.toLowerCase()] ?? null },
            text: async () => body,
            json: async () => JSON.parse(body),
          }),
        );
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${p} timed out`)));
      req.on("error", reject);
    });
  const upgrade = { Upgrade: "websocket", Connection: "Upgrade", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" };

  const cases = [
    ["websocket without upgrade", "/socket.io/?EIO=4&transport=websocket&room=r", {}, '{"code":0,"message":"Transport unknown"}'],
    ["no transport", "/socket.io/?EIO=4&room=r", upgrade, '{"code":0,"message":"Transport unknown"}'],
    ["unknown transport", "/socket.io/?EIO=4&transport=webtransport&room=r", upgrade, '{"code":0,"message":"Transport unknown"}'],
    ["EIO=5", "/socket.io/?EIO=5&transport=websocket&room=r", upgrade, '{"code":5,"message":"Unsupported protocol version"}'],
    ["no EIO", "/socket.io/?transport=websocket&room=r", upgrade, '{"code":5,"message":"Unsupported protocol version"}'],
    ["no room", "/socket.io/?EIO=4&transport=websocket", upgrade, '{"code":3,"message":"Bad request"}'],
    ["room with a space", "/socket.io/?EIO=4&transport=websocket&room=a%20b", upgrade, '{"code":3,"message":"Bad request"}'],
    ["room of 65 chars", `/socket.io/?EIO=4&transport=websocket&room=${"a".repeat(65)}`, upgrade, '{"code":3,"message":"Bad request"}'],
    ["transport judged before EIO and room", "/socket.io/?EIO=9&transport=flash", upgrade, '{"code":0,"message":"Transport unknown"}'],
    ["EIO judged before room", "/socket.io/?EIO=9&transport=websocket&room=%00", upgrade, '{"code":5,"message":"Unsupported protocol version"}'],
    ["other path under /socket.io/", "/socket.io/other?EIO=4&transport=flash&room=r", {}, '{"code":0,"message":"Transport unknown"}'],
    ["polling without a room", "/socket.io/?EIO=4&transport=polling", {}, '{"code":3,"message":"Bad request"}'],
  ];
  for (const [name, url, headers, body] of cases) {
    test(`400 with the reference body: ${name}`, async () => {
      const res = await get(url, headers);
      assert.equal(res.status, 400);
      assert.equal(res.headers.get("content-type"), "application/json");
      assert.equal(await res.text(), body);
    });
  }

  test("rejected websocket upgrades get the same JSON bodies", async () => {
    await assert.rejects(RawSocket.open(server, { eio: 5, room: "r" }), (e) => e.status === 400 && e.body === '{"code":5,"message":"Unsupported protocol version"}');
    await assert.rejects(RawSocket.open(server, { room: "bad room!" }), (e) => e.status === 400 && e.body === '{"code":3,"message":"Bad request"}');
    await assert.rejects(RawSocket.open(server, {}), (e) => e.status === 400 && e.body === '{"code":3,"message":"Bad request"}');
  });

  test("/ is the landing page and /r/<room> the room page", async () => {
    const home = await get("/");
    assert.equal(home.status, 200);
    assert.match(home.headers.get("content-type"), /text\/html/);
    const page = await get("/r/My-room_1.x");
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type"), /text\/html/);
    assert.equal(await page.text(), readFileSync(path.join(ROOT, "public/room.html"), "utf8"));
    assert.equal((await get("/r/bad%20room")).status, 404);
    assert.equal((await get(`/r/${"x".repeat(65)}`)).status, 404);
  });

  test("each page preloads exactly the modules its script imports, and the server answers each", async () => {
    const file = (p) => readFileSync(path.join(ROOT, "public", p), "utf8");
    /** The modules `entry` imports, directly or not (static `import … from "/x.js"` lines). */
    const imports = (entry, seen = new Set()) => {
      for (const [, dep] of file(entry).matchAll(/^import\s[^;]*?from\s+"(\/[^"]+\.js)";/gms)) {
        if (!seen.has(dep)) imports(dep, seen.add(dep));
      }
      return seen;
    };
    for (const [html, entry] of [["index.html", "/app.js"], ["room.html", "/room.js"]]) {
      const page = file(html);
      assert.ok(page.includes(`<script type="module" src="${entry}"></script>`), `${html} runs ${entry}`);
      const preloaded = [...page.matchAll(/<link rel="modulepreload" href="([^"]+)">/g)].map((m) => m[1]);
      const needed = [...imports(entry)].filter((m) => m !== entry);
      assert.ok(needed.length > 0, `${entry} imports modules`);
      assert.deepEqual([...preloaded].sort(), needed.sort(), `${html}'s modulepreload links`);
      // The scripts come first: a browser with few connections asks for them before the rest.
      assert.ok(page.indexOf(`src="${entry}"`) < page.indexOf("modulepreload"), `${html}: ${entry} before the preloads`);
      for (const m of preloaded) {
        const res = await get(m);
        assert.equal(res.status, 200, m);
        assert.match(res.headers.get("content-type"), /javascript/, m);
      }
    }
  });

  test("/new redirects to a fresh unguessable room every time", async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const res = await get("/new");
      assert.equal(res.status, 303);
      assert.equal(res.headers.get("cache-control"), "no-store");
      const m = new URL(res.headers.get("location")).pathname.match(/^\/r\/([A-Za-z0-9_-]{22})$/);
      assert.ok(m, res.headers.get("location"));
      ids.add(m[1]);
    }
    assert.equal(ids.size, 5);
  });

  test("/socket.io/socket.io.js is the pinned socket.io-client 4.x browser bundle", async () => {
    const res = await get("/socket.io/socket.io.js");
    assert.equal(res.status, 200);
    const body = await res.text();
    const pinned = JSON.parse(readFileSync(path.join(ROOT, "node_modules/socket.io-client/package.json"), "utf8")).version;
    assert.match(pinned, /^4\./);
    assert.ok(body.includes(`Socket.IO v${pinned}`), "bundle banner names the pinned version");
    assert.equal(body, readFileSync(path.join(ROOT, "node_modules/socket.io-client/dist/socket.io.min.js"), "utf8"));
  });

  test("/config.json gives the page the ICE servers of ICE_SERVERS, not to be cached", async () => {
    // The tests' servers set ICE_SERVERS=[] (no public STUN server from a test browser).
    const res = await get("/config.json");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.equal(await res.text(), '{"iceServers":[]}');
  });

  test("unknown paths are 404", async () => {
    assert.equal((await get("/nope")).status, 404);
    assert.equal((await get("/r/")).status, 404);
  });
});
