// Conformance with the Socket.IO protocol (v5 over Engine.IO v4, websocket and long-polling
// transports), written from the specification, against the conformance profile (`wrangler dev --env conformance`):
// the settings and handlers the official test suite expects of a server under test.

import assert from "node:assert/strict";
import http from "node:http";
import { after, afterEach, before, describe, test } from "node:test";
import { RawSocket, decodePayload, startServer, waitFor } from "./helpers.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
const SLACK = 1_500; // alarm scheduling and a loaded 2-core machine

/** A GET by node:http: `sent` resolves once the request is written out, `answer` with the response. */
function heldGet(url) {
  let onSent;
  const sent = new Promise((r) => (onSent = r));
  const answer = new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("finish", onSent);
    req.on("error", reject);
  });
  return { sent, answer };
}

describe("Socket.IO protocol conformance (profile: --env conformance)", () => {
  let server;
  let sockets = [];
  const open = async (opts = {}) => {
    const s = await RawSocket.open(server, { autoPong: false, ...opts });
    sockets.push(s);
    return s;
  };
  /** Opened, connected to `/`, and past the `auth` packet. */
  const connected = async () => {
    const s = await open({ autoPong: true });
    await s.next();
    s.send("40");
    assert.match(await s.next(), /^40\{"sid":"[^"]+"\}$/);
    assert.equal(await s.next(), '42["auth",{}]');
    return s;
  };

  before(async () => {
    server = await startServer({ args: ["--env", "conformance"] });
  });
  afterEach(() => {
    for (const s of sockets) s.close();
    sockets = [];
  });
  after(async () => server?.stop());

  describe("Engine.IO handshake", () => {
    test("the open packet carries the suite's settings and no upgrades", async () => {
      const s = await open();
      const open0 = await s.next();
      assert.ok(open0.startsWith("0"));
      const v = JSON.parse(open0.slice(1));
      assert.deepEqual(Object.keys(v).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
      assert.equal(typeof v.sid, "string");
      assert.deepEqual(v.upgrades, []);
      assert.equal(v.pingInterval, PING_INTERVAL);
      assert.equal(v.pingTimeout, PING_TIMEOUT);
      assert.equal(v.maxPayload, 1_000_000);
    });

    test("an invalid EIO or transport is refused", async () => {
      await assert.rejects(open({ eio: "abc" }), (e) => e.status === 400);
      await assert.rejects(RawSocket.open(server, { eio: 4, extra: "&transport=abc" }), (e) => e.status === 400);
      const res = await fetch(`${server.url}/socket.io/?EIO=4`);
      assert.equal(res.status, 400);
    });
  });

  describe("Engine.IO long-polling", () => {
    // Its own server with heartbeats a little less tight than the suite's 300/200 ms, so that a
    // loaded machine does not turn the order of two requests into a test of its scheduler.
    const POLL_INTERVAL = 1000;
    const POLL_TIMEOUT = 1000;
    let polling;
    before(async () => {
      polling = await startServer({
        args: ["--env", "conformance"],
        vars: { PING_INTERVAL: POLL_INTERVAL, PING_TIMEOUT: POLL_TIMEOUT, CONNECT_TIMEOUT: 10_000 },
      });
    });
    after(async () => polling?.stop());
    const base = () => `${polling.url}/socket.io/?EIO=4&transport=polling`;
    const handshake = async () => {
      const res = await fetch(base());
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.ok(body.startsWith("0"), body);
      return JSON.parse(body.slice(1));
    };
    const get = (sid) => fetch(`${base()}&sid=${sid}`);
    const post = (sid, body) => fetch(`${base()}&sid=${sid}`, { method: "POST", body });

    test("the handshake offers the upgrade to websocket", async () => {
      const v = await handshake();
      assert.deepEqual(Object.keys(v).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
      assert.deepEqual(v.upgrades, ["websocket"]);
      assert.deepEqual([v.pingInterval, v.pingTimeout, v.maxPayload], [POLL_INTERVAL, POLL_TIMEOUT, 1_000_000]);
    });

    test("a handshake by another method than GET is refused", async () => {
      for (const method of ["POST", "PUT"]) assert.equal((await fetch(base(), { method })).status, 400, method);
    });

    test("pings come by GET and pongs go by POST", async () => {
      const { sid } = await handshake();
      for (let i = 0; i < 3; i++) {
        const res = await get(sid);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "2");
        assert.equal((await post(sid, "3")).status, 200);
      }
    });

    test("a session without pongs is gone pingTimeout after its ping, within pingInterval + pingTimeout", async () => {
      const { sid } = await handshake();
      const t0 = Date.now();
      // The first GET is held until the ping. It comes pingInterval after the open, or with a
      // round of the room's other sessions once half of that has passed (sessions of the tests
      // before are still open: README, "Heartbeats without timers").
      const first = await get(sid);
      assert.equal(first.status, 200);
      assert.equal(await first.text(), "2");
      const pinged = Date.now();
      assert.ok(pinged - t0 >= POLL_INTERVAL / 2 - 50, `pinged ${pinged - t0} ms after the open`);
      // Polled without ever answering the ping: the session ends pingTimeout after the ping.
      await waitFor(async () => (await get(sid)).status === 400, {
        timeout: POLL_INTERVAL + POLL_TIMEOUT + SLACK - (pinged - t0),
        interval: 0,
        what: "the session to time out",
      });
      assert.ok(Date.now() - pinged >= POLL_TIMEOUT - 100, `gone ${Date.now() - pinged} ms after the ping`);
    });

    test("a close packet ends the session: the held poll gets a noop, the next one 400", async () => {
      const { sid } = await handshake();
      // The close is sent once the GET has been written out whole (as the official suite,
      // which sends both at once).
      const held = heldGet(`${base()}&sid=${sid}`);
      await held.sent;
      // A noop through the same way: the GET, sent first, is at the room by the time it is back.
      assert.equal((await post(sid, "6")).status, 200);
      assert.equal((await post(sid, "1")).status, 200);
      assert.deepEqual(await held.answer, { status: 200, body: "6" });
      assert.equal((await get(sid)).status, 400);
    });

    test("upgrade: 2probe, 3probe, the held poll released with a noop, then 5; polling refused after", async () => {
      const { sid } = await handshake();
      const heldGet_ = heldGet(`${base()}&sid=${sid}`);
      await heldGet_.sent;
      assert.equal((await post(sid, "6")).status, 200);
      const held = heldGet_.answer.then((a) => ({ status: a.status, text: async () => a.body }));
      const ws = await RawSocket.open(polling, { extra: `&sid=${sid}`, autoPong: true });
      sockets.push(ws);
      ws.send("2probe");
      assert.equal(await ws.next(), "3probe");
      const res = await held;
      assert.equal(res.status, 200);
      assert.deepEqual(decodePayload(4, await res.text()), ["6"]);
      ws.send("5");
      ws.send("40");
      assert.match(await ws.next(), /^40\{"sid":/);
      assert.equal((await get(sid)).status, 400);
      // A second websocket with the same sid is accepted and closed at once, TCP included.
      const again = await RawSocket.open(polling, { extra: `&sid=${sid}` });
      assert.equal((await again.closed()).code, 1002);
      await again.ended(SLACK);
    });
  });

  describe("Engine.IO heartbeat", () => {
    test("the server pings and the client's pongs keep the session", async () => {
      const s = await open();
      await s.next();
      for (let i = 0; i < 3; i++) {
        assert.equal(await s.next({ pings: true, timeout: PING_INTERVAL + SLACK }), "2");
        s.send("3");
      }
    });

    test("a session without pongs is closed after pingInterval + pingTimeout", async () => {
      const s = await open();
      await s.next();
      const t0 = Date.now();
      // The ping comes pingInterval after the open, or with a round of the room's other sessions
      // once half of that has passed (as the polling case above).
      assert.equal(await s.next({ pings: true, timeout: PING_INTERVAL + SLACK }), "2");
      const pinged = Date.now();
      assert.ok(pinged - t0 >= PING_INTERVAL / 2 - 50, `pinged ${pinged - t0} ms after the open`);
      // Never answered: the session is closed pingTimeout after the ping.
      const { code } = await s.closed(PING_TIMEOUT + SLACK);
      assert.ok(Date.now() - pinged >= PING_TIMEOUT - 50, `closed ${Date.now() - pinged} ms after the ping`);
      assert.equal(code, 1000);
      // The connection itself ends too (the official suite waits for that).
      await s.ended(SLACK);
    });
  });

  describe("Engine.IO close", () => {
    test("a close packet closes the session", async () => {
      const s = await open();
      await s.next();
      s.send("1");
      await s.closed(2_000);
    });
  });

  describe("Socket.IO connect", () => {
    test("to the main namespace: sid, then auth echoed", async () => {
      const s = await open();
      await s.next();
      s.send("40");
      const reply = await s.next();
      assert.ok(reply.startsWith("40"));
      assert.deepEqual(Object.keys(JSON.parse(reply.slice(2))), ["sid"]);
      assert.equal(await s.next(), '42["auth",{}]');
    });

    test("to the main namespace with a payload", async () => {
      const s = await open();
      await s.next();
      s.send('40{"token":"123"}');
      assert.deepEqual(Object.keys(JSON.parse((await s.next()).slice(2))), ["sid"]);
      assert.equal(await s.next(), '42["auth",{"token":"123"}]');
    });

    test("to a custom namespace, with and without a payload", async () => {
      const s = await open();
      await s.next();
      s.send("40/custom,");
      const reply = await s.next();
      assert.ok(reply.startsWith("40/custom,"));
      assert.deepEqual(Object.keys(JSON.parse(reply.slice(10))), ["sid"]);
      assert.equal(await s.next(), '42/custom,["auth",{}]');
      const t = await open();
      await t.next();
      t.send('40/custom,{"token":"abc"}');
      assert.ok((await t.next()).startsWith("40/custom,"));
      assert.equal(await t.next(), '42/custom,["auth",{"token":"abc"}]');
    });

    test("to an unknown namespace: connect error, session kept", async () => {
      const s = await open();
      await s.next();
      s.send("40/random");
      assert.equal(await s.next(), '44/random,{"message":"Invalid namespace"}');
      s.send("40");
      assert.match(await s.next(), /^40\{"sid"/);
    });

    test("an invalid handshake closes the session", async () => {
      const s = await open();
      await s.next();
      s.send("4abc");
      await s.closed(2_000);
    });

    test("no handshake within the connect timeout closes the session", async () => {
      const s = await open({ autoPong: true });
      await s.next();
      await s.closed(1_000 + SLACK);
      await s.ended(SLACK);
    });
  });

  describe("Socket.IO disconnect", () => {
    test("from the main namespace: the session stays and is pinged", async () => {
      const s = await connected();
      s.send("41");
      assert.equal(await s.next({ pings: true, timeout: PING_INTERVAL + SLACK }), "2");
    });

    test("connect then disconnect a custom namespace; the main one still answers", async () => {
      const s = await connected();
      s.send("40/custom");
      assert.ok((await s.next()).startsWith("40/custom,"));
      assert.equal(await s.next(), '42/custom,["auth",{}]');
      s.send("41/custom");
      s.send('42["message","message to main namespace"]');
      assert.equal(await s.next(), '42["message-back","message to main namespace"]');
      s.send('42/custom,["message","x"]');
      await s.closed(2_000); // no longer connected to /custom
    });
  });

  describe("Socket.IO messages", () => {
    test("a plain-text event", async () => {
      const s = await connected();
      s.send('42["message",1,"2",{"3":[true]}]');
      assert.equal(await s.next(), '42["message-back",1,"2",{"3":[true]}]');
    });

    test("an event with binary attachments", async () => {
      const s = await connected();
      s.send('452-["message",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      s.send(Uint8Array.from([1, 2, 3]));
      s.send(Uint8Array.from([4, 5, 6]));
      assert.equal(await s.next(), '452-["message-back",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assert.deepEqual(await s.next(), Buffer.from([1, 2, 3]));
      assert.deepEqual(await s.next(), Buffer.from([4, 5, 6]));
    });

    test("an event with an ack", async () => {
      const s = await connected();
      s.send('42456["message-with-ack",1,"2",{"3":[false]}]');
      assert.equal(await s.next(), '43456[1,"2",{"3":[false]}]');
    });

    test("an event with binary attachments and an ack", async () => {
      const s = await connected();
      s.send('452-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      s.send(Uint8Array.from([1, 2, 3]));
      s.send(Uint8Array.from([4, 5, 6]));
      assert.equal(await s.next(), '462-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
      assert.deepEqual(await s.next(), Buffer.from([1, 2, 3]));
      assert.deepEqual(await s.next(), Buffer.from([4, 5, 6]));
    });

    for (const [name, frame] of [
      ["unknown packet type", "4abc"],
      ["invalid payload format", "42{}"],
      ["invalid ack id", '42abc["message-with-ack",1,"2",{"3":[false]}]'],
    ]) {
      test(`invalid format closes the session: ${name}`, async () => {
        const s = await connected();
        s.send(frame);
        await s.closed(2_000);
      });
    }
  });

  // Not the suite's: the profile's crash frame (src/room_object/mod.rs, CRASH_FRAME) panics in a
  // room, which must cost no other room its sessions (src/entry.mjs: the module is reset and each
  // room made again from its attachments).
  describe("A crash in one room", () => {
    let crashy;
    before(async () => {
      crashy = await startServer({ args: ["--env", "conformance"], vars: { LOG_WAKES: 1 } });
    });
    after(async () => crashy?.stop());
    const connectIn = async (room) => {
      const s = await RawSocket.open(crashy, { room, autoPong: true });
      sockets.push(s);
      assert.ok((await s.next()).startsWith("0"));
      s.send("40");
      const sid = JSON.parse((await s.next()).slice(2)).sid;
      assert.equal(await s.next(), '42["auth",{}]');
      return { s, sid };
    };
    // The server's log lines (LOG_WAKES) reach its output a little after the frames they go with.
    const count = (re) => (crashy.output().match(re) ?? []).length;
    const made = () => count(/\[room\] wake: object created/g);
    const closes = () => count(/\[room\] handler: websocket_close/g);

    test("resets the Wasm module; every room is made again and its sockets keep their sessions", async () => {
      const a = await connectIn("crash-a");
      const b = await connectIn("crash-b");
      a.s.send('42["message","before"]');
      assert.equal(await a.s.next(), '42["message-back","before"]');
      await waitFor(() => made() === 2, { what: "two rooms made" });
      const rooms = made();

      b.s.send('42["conformance: crash"]');
      await waitFor(() => /Rust panic:[^]*crash frame/.test(crashy.output()), { timeout: 10_000, what: "the panic in the log" });

      // Room A's next message reaches a room made again (from the socket's attachment: the
      // session is still connected to `/`, with no new handshake), and is answered.
      a.s.send('42["message","after"]');
      assert.equal(await a.s.next(), '42["message-back","after"]');
      await waitFor(() => made() >= rooms + 1, { what: "room A made again" });
      // So does the room that crashed.
      b.s.send('42["message","after"]');
      assert.equal(await b.s.next(), '42["message-back","after"]');
      await waitFor(() => made() >= rooms + 2, { what: "room B made again" });
      // The same sessions: A's Socket.IO sid carries over (a connect to `/custom` is answered
      // with it), and B is still connected to `/` (a second connect is refused, closing it).
      a.s.send("40/custom,");
      assert.equal(await a.s.next(), `40/custom,{"sid":"${a.sid}-custom"}`);
      assert.equal(await a.s.next(), '42/custom,["auth",{}]');
      b.s.send("40");
      await b.s.closed(2_000);
      a.s.send('42["message","still"]');
      assert.equal(await a.s.next(), '42["message-back","still"]');
      // Each room was made again once, not at every call: counted once A's close is in the log,
      // and with it every line before.
      const closed = closes();
      a.s.close();
      await waitFor(() => closes() > closed, { what: "A's close in the log" });
      assert.equal(made(), rooms + 2);
    });
  });
});
