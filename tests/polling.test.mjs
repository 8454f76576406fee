// Long-polling and the upgrade to websocket under `wrangler dev`: real socket.io-client 4.x and
// 2.x with their default options (polling, then the upgrade) and with `transports: ["polling"]`,
// through the whole room table; messages in flight during the upgrade; a silent polling peer;
// and sessions that outlive the object's eviction, mid-upgrade too.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RawPolling, RawSocket, eventFrame, logFrame, startServer, waitFor } from "./helpers.mjs";
import { client as sioClient, names, nextEvent, of, seatMixedPair } from "./sio-clients.mjs";

const client = (server, room, major, transports) => sioClient(server, room, { major, transports });

const PING_INTERVAL = 1500;
const PING_TIMEOUT = 1000;
const newRoom = () => `poll-${randomUUID().slice(0, 8)}`;

const transportOf = (s) => s.io.engine.transport.name;

/** Connected (and, with the default transports, upgraded to websocket). */
async function ready(socket, transports) {
  await waitFor(() => socket.connected, { what: "connected" });
  if (!transports) await waitFor(() => transportOf(socket) === "websocket", { what: "the upgrade to websocket" });
  else assert.equal(transportOf(socket), "polling");
}

describe("real socket.io clients over long-polling", () => {
  let server;
  const opened = [];
  const track = (s) => (opened.push(s), s);
  before(async () => {
    server = await startServer({ vars: { PING_INTERVAL, PING_TIMEOUT } });
  });
  after(async () => {
    for (const s of opened) s.close?.();
    await server?.stop();
  });

  for (const major of [4, 3, 2]) {
    for (const transports of [undefined, ["polling"]]) {
      const how = transports ? 'transports: ["polling"]' : "default options (polling, then websocket)";
      test(`socket.io-client ${major}.x, ${how}: the room table, relays both ways, bye, a newcomer`, async () => {
        const room = newRoom();
        const a = track(client(server, room, major, transports));
        await ready(a, transports);
        a.emit("create or join", room);
        assert.deepEqual(await nextEvent(a, "created"), [room, a.id]);
        const b = track(client(server, room, major, transports));
        await ready(b, transports);
        b.emit("create or join", room);
        assert.deepEqual(await nextEvent(b, "joined"), [room, b.id]);
        assert.deepEqual(await nextEvent(b, "ready"), [room]);
        assert.deepEqual(await nextEvent(a, "ready"), [room]);
        assert.deepEqual(names(a), ["log", "log", "created", "join", "ready"]);
        assert.deepEqual(names(b), ["log", "log", "joined", "ready"]);

        const offer = { type: "offer", sdp: "v=0\r\n".repeat(700) };
        const unicode = { text: "héllo ✓ 日本語 🎥", nested: [1, 2.5, null, true] };
        a.emit("message", offer);
        b.emit("message", unicode);
        assert.deepEqual(await nextEvent(b, "message"), [offer]);
        assert.deepEqual(await nextEvent(a, "message"), [unicode]);
        await waitFor(() => of(a, "log").length >= 3, { what: "the sender's log line" });
        assert.deepEqual(of(a, "log")[2], [[">>> Message from server: ", "Got message:", offer]]);

        const c = track(client(server, room, major, transports));
        await ready(c, transports);
        c.emit("create or join", room);
        assert.deepEqual(await nextEvent(c, "full"), [room]);
        await waitFor(() => c.disconnects.length > 0, { what: "the third client's disconnect" });
        assert.deepEqual(c.disconnects, ["io server disconnect"]);
        if (major >= 3) assert.equal(c.active, false);

        // Heartbeats over a few intervals keep everyone; then b leaves and a newcomer takes the seat.
        const sent = of(a, "message").length;
        await new Promise((r) => setTimeout(r, 2 * PING_INTERVAL)); // idle on purpose: heartbeats only
        b.emit("message", "still here");
        assert.deepEqual(await nextEvent(a, "message", sent + 1), ["still here"]);
        b.disconnect();
        assert.deepEqual(await nextEvent(a, "bye"), [room]);
        const d = track(client(server, room, major, transports));
        await ready(d, transports);
        d.emit("create or join", room);
        assert.deepEqual(await nextEvent(d, "joined"), [room, d.id]);
        assert.deepEqual(await nextEvent(a, "join", 2), [room]);
        a.emit("message", "to the newcomer");
        assert.deepEqual(await nextEvent(d, "message"), ["to the newcomer"]);
      });
    }
  }

  for (const major of [4, 3, 2]) {
    // The client starts its upgrade as soon as its session opens, so whether b's first messages
    // still go out on polling is a race with its `connect` (on a loaded machine the upgrade can
    // win it): the exchange is repeated, each time checked in full, until b's messages crossed
    // the upgrade (at most 4 times).
    test(`socket.io-client ${major}.x: messages sent both ways while the session upgrades arrive once each, in order`, async () => {
      const crossings = [];
      for (let attempt = 0; attempt < 4 && !crossings.some(Boolean); attempt++) crossings.push(await exchangeAcrossUpgrade(major));
      assert.ok(crossings.some(Boolean), `b's messages never crossed the upgrade in ${crossings.length} exchanges`);
    });
  }

  /** One exchange of N messages each way while b upgrades; whether b's crossed the upgrade. */
  async function exchangeAcrossUpgrade(major) {
    const room = newRoom();
    const a = track(client(server, room, major, ["websocket"]));
    await ready(a, ["websocket"]).catch(() => {});
    await waitFor(() => a.connected, { what: "a connected" });
    a.emit("create or join", room);
    await nextEvent(a, "created");
    // b asks for its seat and starts sending at its first moment, on polling, until well
    // after its upgrade; a sends to it all along.
    const N = 40;
    let fromB = 0;
    let fromA = 0;
    let pump;
    const b = track(client(server, room, major));
    b.on("connect", () => {
      b.emit("create or join", room);
      b.emit("message", { from: "b", n: fromB++, t: transportOf(b) });
      pump = setInterval(() => {
        if (fromB < N) b.emit("message", { from: "b", n: fromB++, t: transportOf(b) });
        if (fromA < N && of(b, "ready").length) a.emit("message", { from: "a", n: fromA++ });
      }, 10);
    });
    try {
      await waitFor(() => of(a, "message").length === N && of(b, "message").length === N, {
        timeout: 20_000,
        what: `every message (a got ${of(a, "message").length}, b got ${of(b, "message").length})`,
      });
    } finally {
      clearInterval(pump);
    }
    assert.equal(transportOf(b), "websocket");
    const gotA = of(a, "message").map(([m]) => m);
    assert.deepEqual(gotA.map((m) => m.n), [...Array(N).keys()]);
    assert.deepEqual(of(b, "message").map(([m]) => m.n), [...Array(N).keys()]);
    // Nothing more arrives afterwards (no duplicates in flight).
    a.emit("message", "barrier");
    await nextEvent(b, "message", N + 1);
    assert.equal(of(b, "message").length, N + 1);
    a.close();
    b.close();
    return gotA.some((m) => m.t === "polling") && gotA.some((m) => m.t === "websocket");
  }

  for (const [pollMajor, wsMajor] of [[4, 2], [2, 4], [3, 2]]) {
    test(`binary messages cross transports and revisions: ${pollMajor}.x on polling ↔ ${wsMajor}.x on websocket`, async () => {
      const room = newRoom();
      const a = track(client(server, room, pollMajor, ["polling"]));
      await ready(a, ["polling"]);
      a.emit("create or join", room);
      await nextEvent(a, "created");
      const b = track(client(server, room, wsMajor, ["websocket"]));
      await waitFor(() => b.connected, { what: "b connected" });
      b.emit("create or join", room);
      await nextEvent(a, "ready");
      await nextEvent(b, "ready");
      const bytes = Buffer.from([0, 1, 2, 250, 255, 10, 13]);
      a.emit("message", { kind: "blob", data: bytes });
      b.emit("message", { kind: "blob", data: Buffer.from("from the websocket side") });
      const [toB] = await nextEvent(b, "message");
      const [toA] = await nextEvent(a, "message");
      assert.equal(toB.kind, "blob");
      assert.deepEqual(Buffer.from(toB.data), bytes);
      assert.equal(Buffer.from(toA.data).toString(), "from the websocket side");
    });
  }

  test("a polling peer that stops polling is gone within pingInterval + pingTimeout; its partner gets bye", async () => {
    const room = newRoom();
    const { a, b } = await seatMixedPair(server, room);
    await waitFor(() => b.frames.filter((f) => f === "2").length >= 1, { timeout: 3 * PING_INTERVAL, what: "a ping by poll" });
    b.kill();
    const t0 = Date.now();
    assert.equal(await a.next({ timeout: PING_INTERVAL + PING_TIMEOUT + 5_000 }), eventFrame("bye", room));
    const took = Date.now() - t0;
    console.log(`# bye ${took} ms after the polling peer's last request (limit ${PING_INTERVAL + PING_TIMEOUT})`);
    assert.ok(took <= PING_INTERVAL + PING_TIMEOUT + 750, `${took} ms`);
    a.kill();
  });

  test("a polling page back with its resume token takes over its own stale seat", async () => {
    const room = newRoom();
    const token = randomUUID().replaceAll("-", "");
    const old = await RawPolling.connect(server, { room, extra: `&resume=${token}` });
    await old.send(eventFrame("create or join", room));
    await old.take(3);
    const b = await RawSocket.connect(server, { room });
    b.send(eventFrame("create or join", room));
    await b.take(4);
    old.kill(); // its network is gone, no close
    const back = await RawPolling.connect(server, { room, extra: `&resume=${token}` });
    await back.send(eventFrame("create or join", room));
    assert.deepEqual(await back.take(4), [
      logFrame(`Room ${room} has 1 client(s)`),
      logFrame(`Request to create or join room ${room}`),
      eventFrame("joined", room, back.socketId),
      eventFrame("ready", room),
    ]);
    assert.deepEqual(await b.take(3), [eventFrame("bye", room), eventFrame("join", room), eventFrame("ready", room)]);
    back.kill();
    b.kill();
  });
});

describe("long-polling sessions and the object's eviction", () => {
  let server;
  before(async () => {
    // Heartbeats far apart, so that nothing but the test wakes the room.
    server = await startServer({ vars: { PING_INTERVAL: 60_000, PING_TIMEOUT: 20_000, UPGRADE_TIMEOUT: 60_000, LOG_WAKES: 1 } });
  });
  after(async () => server?.stop());

  const created = () => server.output().split("[room] wake: object created").length - 1;

  /** Idles until the room object has been evicted; `poke` then re-creates it with an event. */
  async function untilEvicted(poke) {
    const before = created();
    await waitFor(
      async () => {
        await new Promise((r) => setTimeout(r, 11_000)); // the local runtime evicts after ~10 s idle
        await poke();
        return waitFor(() => created() > before, { timeout: 2_000, interval: 50 }).then(() => true, () => false);
      },
      { timeout: 80_000, interval: 0, what: "the room object to be evicted and re-created" },
    );
  }

  test("a polling session that was not polling while the object was evicted finds its seat and its queued packets", async () => {
    const room = newRoom();
    const { a, b } = await seatMixedPair(server, room);
    b.stop(); // not polling for a while
    // While b is away, a's message waits in b's queue; the object is evicted meanwhile.
    await untilEvicted(async () => a.send(eventFrame("idle-probe")));
    a.send('42["message","while you were away"]');
    await a.next(); // its log line
    const back = new RawPolling(b.base, 4, true);
    back.url = b.url;
    back.start();
    assert.equal(await back.next(), '42["message","while you were away"]');
    await back.send('42["message","back"]');
    assert.equal(await a.next(), '42["message","back"]');
    // And the seats are intact: a third asker is told full.
    const c = await RawSocket.connect(server, { room });
    c.send(eventFrame("create or join", room));
    assert.equal((await c.take(3))[2], eventFrame("full", room));
    back.kill();
    a.kill();
  });

  test("an upgrade whose object is evicted between the probe and the switch completes", async () => {
    const room = newRoom();
    const { a, b } = await seatMixedPair(server, room);
    const probe = await RawSocket.open(server, { room, extra: `&sid=${b.sid}` });
    probe.send("2probe");
    assert.equal(await probe.next(), "3probe");
    await waitFor(() => b.frames.includes("6"), { what: "the held poll released with a noop" });
    b.stop();
    await untilEvicted(async () => a.send(eventFrame("idle-probe")));
    probe.send("5");
    probe.send('42["message","over the websocket now"]');
    assert.equal(await a.next(), '42["message","over the websocket now"]');
    a.send('42["message","to the upgraded session"]');
    assert.equal(await probe.next(), logFrame("Got message:", "over the websocket now"));
    assert.equal(await probe.next(), '42["message","to the upgraded session"]');
    assert.equal((await fetch(b.url)).status, 400, "the session is no longer on polling");
    probe.kill();
    a.kill();
  });
});
