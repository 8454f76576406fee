// What real networks do to a call, under `wrangler dev`: crowds opening a room's link at once,
// idle sockets squatting a room, and peers whose network goes silent without a FIN (a TCP proxy
// that stops forwarding). Raw Engine.IO sockets, exact frames, every wait bounded.

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { RawSocket, TcpProxy, eventFrame, logFrame, startServer, waitFor } from "./helpers.mjs";
import { seatRaw } from "./sio-clients.mjs";

const PING_INTERVAL = 1500;
const PING_TIMEOUT = 1000;
const SEAT_GRACE = 1500;
// What a bye may take beyond pingInterval + pingTimeout: the alarm's own latency under
// wrangler dev and the relay of the bye (measured here: see the printed figures).
const SLACK = 750;

const newRoom = () => `res-${randomUUID().slice(0, 8)}`;

let server;
before(async () => {
  server = await startServer({ vars: { PING_INTERVAL, PING_TIMEOUT, SEAT_GRACE } });
});
after(async () => server?.stop());

/** A socket connected to `/` and seated in `room`. */
const seated = (room, { eio = 4, via = server } = {}) => seatRaw(via, room, { eio });

/** Opens `n` v4 sockets connected to `/` at once. */
function crowd(room, n) {
  return Promise.all(Array.from({ length: n }, () => RawSocket.connect(server, { room, timeout: 30_000 })));
}

describe("crowds", () => {
  test("200 sockets asking at once in an empty room: one created, one joined, 198 full, none refused", async () => {
    const room = newRoom();
    const socks = await crowd(room, 200);
    for (const s of socks) s.send(eventFrame("create or join", room));
    const third = await Promise.all(socks.map((s) => s.take(3, { timeout: 30_000 }).then((f) => f[2])));
    const created = third.filter((f) => f.startsWith('42["created"'));
    const joined = third.filter((f) => f.startsWith('42["joined"'));
    const full = third.filter((f) => f === eventFrame("full", room));
    assert.deepEqual([created.length, joined.length, full.length], [1, 1, 198]);
    for (const [i, s] of socks.entries()) {
      if (third[i] === eventFrame("full", room)) {
        assert.equal(await s.next(), "41");
        assert.equal((await s.closed(15_000)).code, 1000);
      }
    }
    // The two seated ones are a working pair.
    const a = socks[third.findIndex((f) => f.startsWith('42["created"'))];
    const b = socks[third.findIndex((f) => f.startsWith('42["joined"'))];
    assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
    a.send('42["message","after the crowd"]');
    assert.equal(await b.next(), eventFrame("ready", room));
    assert.equal(await b.next(), '42["message","after the crowd"]');
    for (const s of socks) s.kill();
  });

  test("a crowd of 200 opening a full room's link together all see full, and the call goes on", async () => {
    const room = newRoom();
    const a = await seated(room);
    const b = await seated(room);
    assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
    const socks = await crowd(room, 200);
    for (const s of socks) s.send(eventFrame("create or join", room));
    const got = await Promise.all(socks.map((s) => s.take(4, { timeout: 30_000 })));
    for (const frames of got) {
      assert.deepEqual(frames, [
        logFrame(`Room ${room} has 2 client(s)`),
        logFrame(`Request to create or join room ${room}`),
        eventFrame("full", room),
        "41",
      ]);
    }
    a.send('42["message","still here"]');
    assert.equal(await b.next(), '42["message","still here"]');
    assert.deepEqual(a.pending().filter((f) => !f.startsWith('42["log"')), []);
    for (const s of [a, b, ...socks]) s.kill();
  });
});

describe("squatters", () => {
  test("sockets that never ask for a seat are closed after the seat grace; a real asker gets in meanwhile", async () => {
    const room = newRoom();
    const t0 = Date.now();
    const idle = await Promise.all([
      RawSocket.connect(server, { room }), // connected to /, never asks
      RawSocket.connect(server, { room, eio: 3 }),
      RawSocket.open(server, { room }), // not even connected to /
    ]);
    // Someone real opens the link while they sit there.
    const a = await seated(room);
    for (const s of idle) {
      const { code, reason } = await s.closed(SEAT_GRACE + 5_000);
      assert.deepEqual([code, reason], [1000, "no seat taken"]);
    }
    const took = Date.now() - t0;
    assert.ok(took >= SEAT_GRACE - 100, `closed after ${took} ms`);
    console.log(`# squatters closed ${took} ms after opening (seat grace ${SEAT_GRACE} ms)`);
    // The seat holder is never closed for it.
    const b = await seated(room);
    assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
    a.send('42["message",1]');
    assert.equal(await b.next(), '42["message",1]');
    a.kill();
    b.kill();
  });
});

describe("silent network drops (a proxy that stops forwarding, no FIN, no RST)", () => {
  for (const eio of [4, 3]) {
    test(`EIO=${eio}: the partner gets bye within pingInterval + pingTimeout of the dropped peer's last frame`, async () => {
      const room = newRoom();
      const a = await seated(room);
      const proxy = await TcpProxy.start(server.port);
      try {
        const b = await seated(room, { eio, via: proxy });
        assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
        // A v3 client pings every pingInterval (the raw socket does it by hand).
        const pinger = eio === 3 ? setInterval(() => b.send("2"), PING_INTERVAL) : null;
        try {
          // Let a heartbeat or two pass, then the network goes silent mid-round.
          await waitFor(() => b.frames.filter((f) => f === (eio === 4 ? "2" : "3")).length >= 2, {
            timeout: 4 * PING_INTERVAL + 5_000,
            what: "two heartbeats through the proxy",
          });
          await new Promise((r) => setTimeout(r, Math.random() * PING_INTERVAL));
          proxy.blackhole();
          const last = proxy.lastFromClient();
          assert.equal(await a.next({ timeout: PING_INTERVAL + PING_TIMEOUT + 10_000 }), eventFrame("bye", room));
          const took = Date.now() - last;
          console.log(`# EIO=${eio}: bye ${took} ms after the dropped peer's last frame (limit ${PING_INTERVAL + PING_TIMEOUT})`);
          assert.ok(took <= PING_INTERVAL + PING_TIMEOUT + SLACK, `bye after ${took} ms`);
        } finally {
          clearInterval(pinger);
        }
        // The seat is free: a newcomer takes it.
        const c = await seated(room);
        assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
        c.kill();
        b.kill();
      } finally {
        a.kill();
        await proxy.stop();
      }
    });
  }
});
