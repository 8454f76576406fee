// The signalling Worker end to end under `wrangler dev`: the real socket.io-client 4.x (EIO=4) and
// 2.x (EIO=3), and raw Engine.IO sockets for exact wire strings.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RawSocket, eventFrame, logFrame, startServer, waitFor } from "./helpers.mjs";
import { client, names, nextEvent, seatRaw } from "./sio-clients.mjs";

const PING_INTERVAL = 1500;
const PING_TIMEOUT = 1000;

const newRoom = () => `room-${randomUUID().slice(0, 8)}`;

/** A real socket.io client on websocket (major 4 or 3, or 2 for Engine.IO v3). */
const wsClient = (server, room, major = 4) => client(server, room, { major, transports: ["websocket"] });

/** Raw socket connected to `/` and seated in `room` (the first gets created, the second joined). */
const seated = (server, room, eio = 4) => seatRaw(server, room, { eio });

describe("signalling under wrangler dev", () => {
  let server;
  const opened = [];
  const track = (s) => (opened.push(s), s);

  before(async () => {
    server = await startServer({ vars: { PING_INTERVAL, PING_TIMEOUT } });
  });
  after(async () => {
    for (const s of opened) s.close?.() ?? s.disconnect?.();
    await server?.stop();
  });

  for (const major of [4, 3, 2]) {
    test(`socket.io-client ${major}.x: created, then join + joined + ready, then full with no reconnect`, async () => {
      const room = newRoom();
      const a = track(wsClient(server, room, major));
      await waitFor(() => a.connected, { what: "first client connected" });
      a.emit("create or join", room);
      assert.deepEqual(await nextEvent(a, "created"), [room, a.id]);
      assert.deepEqual(a.events.slice(0, 2), [
        ["log", [">>> Message from server: ", "Room " + room + " has 0 client(s)"]],
        ["log", [">>> Message from server: ", "Request to create or join room " + room]],
      ]);

      const b = track(wsClient(server, room, major));
      await waitFor(() => b.connected, { what: "second client connected" });
      b.emit("create or join", room);
      assert.deepEqual(await nextEvent(b, "joined"), [room, b.id]);
      assert.deepEqual(await nextEvent(b, "ready"), [room]);
      assert.deepEqual(await nextEvent(a, "join"), [room]);
      assert.deepEqual(await nextEvent(a, "ready"), [room]);
      assert.deepEqual(names(b), ["log", "log", "joined", "ready"]);
      assert.deepEqual(names(a), ["log", "log", "created", "join", "ready"]);

      const c = track(wsClient(server, room, major));
      await waitFor(() => c.connected, { what: "third client connected" });
      c.emit("create or join", room);
      assert.deepEqual(await nextEvent(c, "full"), [room]);
      await waitFor(() => c.disconnects.length > 0, { what: "third client disconnected" });
      assert.deepEqual(c.disconnects, ["io server disconnect"]);
      // The client gives up instead of reconnecting in a loop.
      if (major >= 3) assert.equal(c.active, false);
      else assert.equal(c.io.skipReconnect, true);
      assert.equal(c.connected, false);
      // ready went exactly once to each side; the seats are intact.
      assert.equal(a.events.filter((e) => e[0] === "ready").length, 1);
      assert.equal(b.events.filter((e) => e[0] === "ready").length, 1);
      a.emit("message", { ping: major });
      assert.deepEqual(await nextEvent(b, "message"), [{ ping: major }]);
    });
  }

  test("a 2.x and a 4.x client relay messages both ways, objects intact", async () => {
    const room = newRoom();
    const v2 = track(wsClient(server, room, 2));
    await waitFor(() => v2.connected, { what: "v2 connected" });
    v2.emit("create or join", room);
    await nextEvent(v2, "created");
    const v4 = track(wsClient(server, room, 4));
    await waitFor(() => v4.connected, { what: "v4 connected" });
    v4.emit("create or join", room);
    await nextEvent(v4, "ready");
    await nextEvent(v2, "ready");

    const offer = { type: "offer", sdp: sdp(4500) };
    const candidate = { type: "candidate", label: 0, id: "0", candidate: "candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw network-cost 999" };
    const unicode = { text: "héllo wörld ✓ 日本語 🎥", nested: [1, 2.5, null, true, { deep: ["x"] }] };
    v4.emit("message", offer);
    v4.emit("message", candidate);
    v2.emit("message", unicode);
    v2.emit("message", "got user media");
    assert.deepEqual(await nextEvent(v2, "message", 1), [offer]);
    assert.deepEqual(await nextEvent(v2, "message", 2), [candidate]);
    assert.deepEqual(await nextEvent(v4, "message", 1), [unicode]);
    assert.deepEqual(await nextEvent(v4, "message", 2), ["got user media"]);
    // Each sender got its "Got message:" log line, with its message.
    const logs = (s) => s.events.filter((e) => e[0] === "log").map((e) => e[1]);
    await waitFor(() => logs(v4).length >= 4, { what: "v4 log lines" });
    assert.deepEqual(logs(v4).slice(2), [
      [">>> Message from server: ", "Got message:", offer],
      [">>> Message from server: ", "Got message:", candidate],
    ]);
    await waitFor(() => logs(v2).length >= 4, { what: "v2 log lines" });
    assert.deepEqual(logs(v2)[3], [">>> Message from server: ", "Got message:", "got user media"]);
  });

  test("message frames are relayed byte for byte, with the sender's log line", async () => {
    const room = newRoom();
    const a = track(await seated(server, room));
    const b = track(await seated(server, room));
    await a.take(2); // join, ready
    const payloads = [
      JSON.stringify({ type: "offer", sdp: sdp(5800) }),
      `{"type":"candidate","label":0,"id":"audio","candidate":"candidate:1 1 udp 2122260223 192.168.1.20 54321 typ host"}`,
      `{ "spaced" :  [1 ,2] , "esc":"\\u00e9\\n\\"q\\"" }`,
      `"héllo ✓ 🎥"`,
      `[1,{"a":null}]`,
    ];
    for (const p of payloads) {
      a.send(`42["message",${p}]`);
      assert.equal(await b.next(), `42["message",${p}]`);
      assert.equal(await a.next(), `42["log",[">>> Message from server: ","Got message:",${p}]]`);
      b.send(`42["message",${p}]`);
      assert.equal(await a.next(), `42["message",${p}]`);
      assert.equal(await b.next(), `42["log",[">>> Message from server: ","Got message:",${p}]]`);
    }
  });

  test("two rooms at once never see each other's traffic", async () => {
    const [r1, r2] = [newRoom(), newRoom()];
    const a1 = track(await seated(server, r1));
    const a2 = track(await seated(server, r2));
    const b1 = track(await seated(server, r1));
    const b2 = track(await seated(server, r2));
    await a1.take(2);
    await a2.take(2);
    for (let i = 0; i < 20; i++) {
      a1.send(`42["message","r1-${i}"]`);
      a2.send(`42["message","r2-${i}"]`);
    }
    const got1 = await b1.take(20);
    const got2 = await b2.take(20);
    assert.deepEqual(got1, Array.from({ length: 20 }, (_, i) => `42["message","r1-${i}"]`));
    assert.deepEqual(got2, Array.from({ length: 20 }, (_, i) => `42["message","r2-${i}"]`));
    // A last round trip in each room: nothing else arrived before it.
    b1.send(`42["message","end1"]`);
    b2.send(`42["message","end2"]`);
    // 20 log lines for the sender's own messages, then the peer's reply.
    const rest1 = (await a1.take(21)).filter((f) => f.startsWith('42["message"'));
    const rest2 = (await a2.take(21)).filter((f) => f.startsWith('42["message"'));
    assert.deepEqual(rest1, [`42["message","end1"]`]);
    assert.deepEqual(rest2, [`42["message","end2"]`]);
  });

  test("a peer killed without a close frame: the other gets bye, and a newcomer takes the seat", async () => {
    const room = newRoom();
    const a = track(await seated(server, room));
    const b = await seated(server, room);
    await a.take(2);
    const t0 = Date.now();
    b.kill();
    assert.equal(await a.next({ timeout: PING_INTERVAL + PING_TIMEOUT + 5_000 }), eventFrame("bye", room));
    const took = Date.now() - t0;
    assert.ok(took <= PING_INTERVAL + PING_TIMEOUT + 5_000, `bye after ${took} ms`);

    const c = track(await RawSocket.connect(server, { room }));
    c.send(eventFrame("create or join", room));
    assert.deepEqual(await c.take(4), [
      logFrame(`Room ${room} has 1 client(s)`),
      logFrame(`Request to create or join room ${room}`),
      eventFrame("joined", room, c.socketId),
      eventFrame("ready", room),
    ]);
    assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
  });

  test("a silent peer (no pongs) is closed after the ping timeout and the other gets bye", async () => {
    const room = newRoom();
    const a = track(await seated(server, room));
    const b = await RawSocket.connect(server, { room, autoPong: false });
    b.send(eventFrame("create or join", room));
    await b.take(4);
    await a.take(2);
    // b saw a ping it never answered, then its close.
    const { code } = await b.closed(PING_INTERVAL + PING_TIMEOUT + 5_000);
    assert.equal(code, 1000);
    assert.ok(b.frames.includes("2"), "b was pinged");
    assert.equal(await a.next(), eventFrame("bye", room));
  });

  test("Engine.IO v3: client pings are answered with pong, and a silent v3 client is closed", async () => {
    const room = newRoom();
    const a = track(await seated(server, room, 4));
    const v3 = await seated(server, room, 3);
    await a.take(2);
    v3.send("2");
    assert.equal(await v3.next(), "3");
    v3.send("2probe");
    assert.equal(await v3.next(), "3probe");
    // Now silent: closed within pingInterval + pingTimeout (+ alarm slack), peer told.
    const { code } = await v3.closed(PING_INTERVAL + PING_TIMEOUT + 5_000);
    assert.equal(code, 1000);
    assert.equal(await a.next(), eventFrame("bye", room));
  });

  test("a peer back on a new socket with its resume token takes over its stale seat", async () => {
    const room = newRoom();
    const token = randomUUID().replaceAll("-", "");
    const old = await RawSocket.connect(server, { room, extra: `&resume=${token}` });
    old.send(eventFrame("create or join", room));
    await old.take(3);
    const b = track(await seated(server, room));
    await old.take(2);
    // The old socket's network is gone (no close yet); the page reconnects with the same token.
    const back = track(await RawSocket.connect(server, { room, extra: `&resume=${token}` }));
    back.send(eventFrame("create or join", room));
    assert.deepEqual(await back.take(4), [
      logFrame(`Room ${room} has 1 client(s)`),
      logFrame(`Request to create or join room ${room}`),
      eventFrame("joined", room, back.socketId),
      eventFrame("ready", room),
    ]);
    assert.deepEqual(await b.take(3), [eventFrame("bye", room), eventFrame("join", room), eventFrame("ready", room)]);
    assert.equal((await old.closed()).code, 1000);
    back.send(`42["message","again"]`);
    assert.equal(await b.next(), `42["message","again"]`);
    // Someone else's token does not: the room is full.
    const other = await RawSocket.connect(server, { room, extra: `&resume=${randomUUID().replaceAll("-", "")}` });
    other.send(eventFrame("create or join", room));
    assert.equal((await other.take(4))[2], eventFrame("full", room));
    await assert.rejects(RawSocket.open(server, { room, extra: "&resume=short" }), (e) => e.status === 400);
  });

  test("the v4 open packet and connect reply are the reference strings", async () => {
    const s = track(await RawSocket.open(server, { room: newRoom() }));
    const open = await s.next();
    const { sid } = JSON.parse(open.slice(1));
    assert.match(sid, /^[A-Za-z0-9_-]{20}$/);
    assert.equal(open, `0{"sid":"${sid}","upgrades":[],"pingInterval":${PING_INTERVAL},"pingTimeout":${PING_TIMEOUT},"maxPayload":65536}`);
    s.send("40");
    const connect = await s.next();
    assert.match(connect, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
    assert.notEqual(JSON.parse(connect.slice(2)).sid, sid);
    const v3 = track(await RawSocket.open(server, { room: newRoom(), eio: 3 }));
    const open3 = await v3.next();
    const sid3 = JSON.parse(open3.slice(1)).sid;
    assert.equal(open3, `0{"sid":"${sid3}","upgrades":[],"pingInterval":${PING_INTERVAL},"pingTimeout":${PING_TIMEOUT}}`);
    assert.equal(await v3.next(), "40");
  });
});

describe("hibernation", () => {
  let server;
  before(async () => {
    // Pings far apart so that nothing wakes the idle room.
    server = await startServer({ vars: { PING_INTERVAL: 60_000, PING_TIMEOUT: 20_000, LOG_WAKES: 1 } });
  });
  after(async () => server?.stop());

  test("a room left idle until its object is evicted still relays and still knows its seats", async () => {
    const room = newRoom();
    const a = await seated(server, room);
    const b = await seated(server, room);
    await a.take(2);
    const created = () => server.output().split("[room] wake: object created").length - 1;
    const before = created();
    assert.ok(before >= 1);
    // Idle past the local runtime's eviction delay (about 10 s), then poke the room with an
    // ignored event; repeat until the poke had to create the object anew.
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 11_000));
        a.send(eventFrame("idle-probe"));
        return waitFor(() => created() > before, { timeout: 2_000, interval: 50 }).then(() => true, () => false);
      },
      { timeout: 80_000, interval: 0, what: "the room object to be evicted and re-created" },
    );
    // The re-created object rebuilt both seats from the attachments.
    a.send(`42["message",{"after":"hibernation"}]`);
    assert.equal(await b.next(), `42["message",{"after":"hibernation"}]`);
    assert.equal(await a.next(), logFrame("Got message:", { after: "hibernation" }));
    b.send(`42["message","back"]`);
    assert.equal(await a.next(), `42["message","back"]`);
    const c = await RawSocket.connect(server, { room });
    c.send(eventFrame("create or join", room));
    assert.deepEqual(await c.take(4), [
      logFrame(`Room ${room} has 2 client(s)`),
      logFrame(`Request to create or join room ${room}`),
      eventFrame("full", room),
      "41",
    ]);
    a.close();
    b.close();
  });

  test("relaying writes nothing to storage, for v3 and v4 clients alike", async () => {
    // A v3 client's silence deadline moves with every frame it sends; the alarm is not moved
    // for that (it fires early and finds nothing due), so a message costs no storage write.
    for (const eio of [3, 4]) {
      const room = newRoom();
      const a = await seated(server, room, eio);
      const b = await seated(server, room, eio);
      await a.take(2);
      const from = server.output().length;
      for (let i = 0; i < 20; i++) {
        a.send(`42["message",${i}]`);
        assert.equal(await b.next(), `42["message",${i}]`);
        assert.equal(await a.next(), logFrame("Got message:", i));
        b.send(`42["message",${-i}]`);
        assert.equal(await a.next(), `42["message",${-i}]`);
        assert.equal(await b.next(), logFrame("Got message:", -i));
      }
      const tail = () => server.output().slice(from).split("\n");
      await waitFor(() => tail().filter((l) => l.includes("[room] handler: websocket_message")).length >= 40, {
        what: "the log lines of the 40 messages",
      });
      const writes = tail().filter((l) => l.includes("[room] storage:") && l.includes("(in websocket_message)"));
      assert.deepEqual(writes, [], `EIO=${eio}: storage written while relaying`);
      a.close();
      b.close();
    }
  });
});

/** An SDP-like blob of about `size` bytes. */
function sdp(size) {
  const lines = ["v=0", "o=- 4611731400430051336 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0 1", "a=msid-semantic: WMS stream"];
  let i = 0;
  while (lines.join("\r\n").length < size) {
    lines.push(`a=candidate:${i} 1 udp 2122260223 192.168.1.${i % 255} ${50000 + i} typ host generation 0 network-id 1`);
    lines.push(`a=rtpmap:${96 + (i++ % 30)} VP8/90000`);
  }
  return lines.join("\r\n") + "\r\n";
}

describe("heartbeats of an idle room", () => {
  let server;
  const INTERVAL = 1500;
  before(async () => {
    server = await startServer({ vars: { PING_INTERVAL: INTERVAL, PING_TIMEOUT: 1000, LOG_WAKES: 1 } });
  });
  after(async () => server?.stop());

  test("v4 pongs are answered by the platform and never reach the room: one wake per ping round", async () => {
    const room = newRoom();
    const a = await seated(server, room);
    const b = await seated(server, room);
    await a.take(2);
    const lines = () => server.output().split("\n");
    const handlerCalls = (from) => lines().slice(from).filter((l) => l.includes("[room] handler:"));
    const pings = () => a.frames.filter((f) => f === "2").length;
    // Count from the first ping round on: the log lines of the joins (printed by wrangler a
    // little later than the frames arrive) are all out by then.
    await waitFor(() => pings() >= 1, { timeout: INTERVAL + 10_000, what: "the first ping round" });
    const start = lines().length;
    const p0 = pings();
    // Five ping rounds, answered by both peers.
    await waitFor(() => pings() >= p0 + 5, { timeout: 5 * INTERVAL + 10_000, what: "five ping rounds" });
    await waitFor(() => a.frames.filter((f) => f === "6").length >= 4, { what: "the platform's noop answers" });
    const calls = handlerCalls(start);
    assert.deepEqual(
      calls.filter((l) => !l.includes("handler: alarm")),
      [],
      "no handler ran but the alarm",
    );
    assert.ok(calls.length >= 4 && calls.length <= 6, `${calls.length} alarm wakes for 5 rounds`);
    // Both peers still in their seats, still relaying.
    a.send(`42["message","still here"]`);
    assert.equal(await b.next(), `42["message","still here"]`);
    a.close();
    b.close();
  });

  test("a room its clients left deletes its alarm and nothing wakes it again", async () => {
    // The clients leave (a hang-up): the empty room deletes its alarm and goes idle. (A reset of
    // the object at that moment dropped the deletion, and the alarm then woke a fresh object for
    // nothing a round later: a billed request per call.)
    const room = newRoom();
    const a = await seated(server, room);
    const b = await seated(server, room);
    await a.take(2);
    await waitFor(() => a.frames.includes("2"), { timeout: INTERVAL + 10_000, what: "a ping round (the alarm is set)" });
    const lines = () => server.output().split("\n");
    const start = lines().length;
    a.close();
    b.close();
    await waitFor(() => lines().slice(start).some((l) => l.includes("[room] storage: deleteAlarm (in websocket_close)")), {
      what: "the emptied room's deleteAlarm",
    });
    const emptied = lines().length;
    // The alarm was due within one round (1250 ms) of the closes; watch for two rounds and a
    // margin past that: a deadline, not a hope (what is asserted is that nothing happens).
    const deadline = Date.now() + 2 * 1250 + 1500;
    await waitFor(() => Date.now() >= deadline, { timeout: 10_000, interval: 100, what: "the watch window" });
    const after = lines().slice(emptied);
    assert.deepEqual(
      after.filter((l) => l.includes("[room] handler: alarm") || l.includes("[room] wake: object created") || l.includes("[room] abort")),
      [],
      "nothing woke the empty room",
    );
  });

});
