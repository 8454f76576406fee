// Hostile input under `wrangler dev`: malformed Engine.IO and Socket.IO frames, bad JSON shapes and
// depths, oversize and burst traffic, connection floods, wrong rooms, namespace tricks and
// HTTP-level handshake errors. Every case asserts what happens to the attacker (exact close code,
// exact frames) AND that the victims, two peers seated in the same room, still exchange messages
// afterwards and received nothing they should not have (a final round trip is the barrier).
//
// (Over 1,000 lines: one suite of about 150 table-like cases over shared victims and helpers;
// split by file, each part would repeat the server and the helpers.)

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { AsyncLocalStorage } from "node:async_hooks";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { RawPolling, RawSocket, eventFrame, logFrame, startServer, waitFor } from "./helpers.mjs";
import { seatMixedPair, seatRaw } from "./sio-clients.mjs";

const PING_INTERVAL = 1500;
const PING_TIMEOUT = 1000;
const RATE_BURST = 20;
const RATE_PER_SEC = 2;
const RATE_KICK_AFTER = 50;
const MAX_PENDING = 4;
const MAX_PAYLOAD = 65536; // the default, announced in the open packet
const HEARTBEAT_CLOSE = PING_INTERVAL + PING_TIMEOUT + 5_000; // alarm slack on a loaded machine

// Cases that do not depend on timing run a few at a time (each has its own room).
const CONCURRENCY = 4;

const PROTOCOL_ERROR = 1002;
const POLICY_VIOLATION = 1008;
const TOO_BIG = 1009;

const newRoom = () => `hostile-${randomUUID().slice(0, 8)}`;
const PLACEHOLDER = '{"_placeholder":true,"num":0}';
const RATE_LOG = logFrame("Rate limit exceeded: events are being dropped");
const INVALID_NS = (ns, eio) => (eio === 3 ? `44${ns},"Invalid namespace"` : `44${ns},{"message":"Invalid namespace"}`);

let server;
// Each case's sockets, so that cases may run concurrently and each drops its own at the end.
const scope = new AsyncLocalStorage();
const track = (s) => (scope.getStore().push(s), s);
/** A test case: its sockets are killed when it ends, pass or fail. */
function tc(name, fn) {
  test(name, () =>
    scope.run([], async () => {
      try {
        await fn();
      } finally {
        for (const s of scope.getStore()) s.kill();
      }
    }),
  );
}

/** Connected to `/` (v4: after `40`; v3: the server's unprompted `40`), no seat. */
async function guest(room, eio = 4) {
  return track(await RawSocket.connect(server, { room, eio }));
}

/** Opened only: the Engine.IO open packet read, no `40` sent. */
async function opened(room, eio = 4) {
  const s = track(await RawSocket.open(server, { room, eio }));
  assert.match(await s.next(), /^0\{"sid":/);
  return s;
}

/** A socket seated in `room`; the first gets `created`, the second `joined` + `ready`. */
const seated = async (room, eio = 4) => track(await seatRaw(server, room, { eio }));

/** A fresh room with two seated victims: `a` (v4) created it, `b` (`eio`) joined. */
async function pair(eio = 4, room = newRoom()) {
  const a = await seated(room, 4);
  const b = await seated(room, eio);
  assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
  return { room, a, b };
}

/** A newcomer takes the free seat next to `a`: it gets joined + ready, `a` join + ready. */
async function newcomer(room, a) {
  const c = await seated(room, 4);
  assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
  return c;
}

let seq = 0;
/**
 * A message each way between two seated sockets, with exact frames: the peer gets the message
 * byte for byte, the sender its "Got message:" log line. Afterwards neither has anything else
 * waiting: whatever a hostile step might have sent them would have arrived before this.
 */
async function roundTrip(x, y) {
  for (const [from, to] of [[x, y], [y, x]]) {
    const p = JSON.stringify({ n: ++seq, text: "still here" });
    from.send(`42["message",${p}]`);
    assert.equal(await to.next(), `42["message",${p}]`);
    assert.equal(await from.next(), `42["log",[">>> Message from server: ","Got message:",${p}]]`);
  }
  assert.deepEqual(x.pending(), [], "nothing unexpected reached the first victim");
  assert.deepEqual(y.pending(), [], "nothing unexpected reached the second victim");
}

/** One message from `from` to `to`, exact frames, and nothing else waiting on either side. */
async function oneWay(from, to) {
  const p = JSON.stringify({ n: ++seq, text: "one way" });
  from.send(`42["message",${p}]`);
  assert.equal(await to.next(), `42["message",${p}]`);
  assert.equal(await from.next(), `42["log",[">>> Message from server: ","Got message:",${p}]]`);
  assert.deepEqual(from.pending(), []);
  assert.deepEqual(to.pending(), []);
}

/** A guest's own barrier: a connect to an unknown namespace is answered and changes nothing. */
async function guestBarrier(g, eio = 4) {
  g.send("40/barrier,");
  assert.equal(await g.next(), INVALID_NS("/barrier", eio));
  assert.equal(g.closeInfo, null);
}

/** Asserts the socket was closed by the server with `code`, after receiving exactly `frames`. */
async function assertClosed(s, code, frames = [], timeout = 10_000) {
  const info = await s.closed(timeout);
  assert.equal(info.code, code, `close code (reason: ${JSON.stringify(info.reason)})`);
  assert.deepEqual(s.pending(), frames, "frames the attacker got before its close");
  return info;
}

/**
 * The common shape of a malformed-input case. First a guest (a third socket with no seat) sends
 * the bad input: it is closed with `code`, and the victims notice nothing (no bye). Then the
 * seated `b` sends the same: it is closed, `a` gets exactly `bye`, and a newcomer takes the seat
 * and talks with `a`.
 */
async function malformed({ eio = 4, attack, code = PROTOCOL_ERROR, frames = [], connect = true, seatedToo = true, timeout }) {
  const { room, a, b } = await pair(eio);
  const g = connect ? await guest(room, eio) : await opened(room, eio);
  await attack(g);
  await assertClosed(g, code, frames, timeout);
  await roundTrip(a, b);
  if (!seatedToo) return;
  await attack(b);
  await assertClosed(b, code, frames, timeout);
  assert.equal(await a.next(), eventFrame("bye", room));
  const c = await newcomer(room, a);
  await roundTrip(a, c);
}

/**
 * The shape of an input that must be tolerated: the guest and then the seated `b` send it, each
 * gets exactly `frames` back (a function of the room), stays open, and `b` keeps its seat.
 */
async function harmless({ eio = 4, attack, frames = () => [], seatedToo = true }) {
  const { room, a, b } = await pair(eio);
  const g = await guest(room, eio);
  await attack(g, room);
  for (const f of frames(room)) assert.equal(await g.next(), f);
  await guestBarrier(g, eio);
  await roundTrip(a, b);
  if (!seatedToo) return;
  await attack(b, room);
  for (const f of frames(room)) assert.equal(await b.next(), f);
  await roundTrip(a, b);
  assert.equal(b.closeInfo, null);
  assert.equal(g.closeInfo, null);
}

/** An HTTP GET (fetch refuses Upgrade headers); resolves { status, body }. */
function httpGet(path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get(server.url + path, { headers, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
  });
}

/** An HTTP request with any method; resolves { status, body }. */
function httpRequest(method, path, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(server.url + path, { method, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode, body: text }));
    });
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** A websocket upgrade to `/socket.io/?<query>`; resolves { status, body } (101 if it opened). */
function upgrade(query) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.wsUrl}/socket.io/?${query}`);
    const timer = setTimeout(() => (ws.terminate(), reject(new Error("upgrade timed out"))), 10_000);
    ws.once("open", () => {
      clearTimeout(timer);
      ws.terminate();
      resolve({ status: 101, body: "" });
    });
    ws.once("unexpected-response", (_req, res) => {
      clearTimeout(timer);
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    ws.once("error", (e) => (clearTimeout(timer), reject(e)));
  });
}

const BODY = {
  transport: '{"code":0,"message":"Transport unknown"}',
  sid: '{"code":1,"message":"Session ID unknown"}',
  version: '{"code":5,"message":"Unsupported protocol version"}',
  bad: '{"code":3,"message":"Bad request"}',
  method: '{"code":2,"message":"Bad handshake method"}',
  tooMany: '{"code":3,"message":"Too many connections"}',
};

describe("hostile input", () => {
  before(async () => {
    server = await startServer({
      vars: { PING_INTERVAL, PING_TIMEOUT, RATE_BURST, RATE_PER_SEC, RATE_KICK_AFTER, MAX_PENDING },
    });
  });
  after(async () => server?.stop());

  describe("malformed Engine.IO frames close only the sender (1002)", { concurrency: CONCURRENCY }, () => {
    const cases = [
      ["an empty text frame", ""],
      ["unknown Engine.IO type 7", '7["message",1]'],
      ["unknown Engine.IO type x", "x"],
      ["a non-ASCII first character", 'é2["message",1]'],
      ["a leading space before a valid packet", ' 42["message",1]'],
      ["an Engine.IO open packet (0) from a client", '0{"sid":"spoofed"}'],
      ["an Engine.IO upgrade packet (5) from a client", "5"],
      ["an Engine.IO message with no Socket.IO packet (4)", "4"],
    ];
    for (const [name, frame] of cases) {
      tc(name, () => malformed({ attack: (s) => s.send(frame) }));
    }

    // In a room of v4 clients the platform answers pongs, so a client ping reaches the room.
    tc("a v4 client pinging (2) is closed at once", () => malformed({ attack: (s) => s.send("2") }));

    tc("a v4 client pinging with data (2probe) is closed at once", () =>
      malformed({ attack: (s) => s.send("2probe") }));

    tc("a v3 client sending a pong (3)", () => malformed({ eio: 3, attack: (s) => s.send("3") }));

    tc("a text frame that is not valid UTF-8: the room sees U+FFFD (the platform's doing, tests/platform.test.mjs), so an invalid packet closes with 1002", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      g.ws.send(Buffer.from([0x34, 0x32, 0xff, 0xfe, 0x5b]), { binary: false });
      const info = await g.closed();
      assert.deepEqual([info.code, info.reason], [PROTOCOL_ERROR, "invalid Socket.IO packet"]);
      assert.deepEqual(g.pending(), []);
      await roundTrip(a, b);
      b.ws.send(Buffer.from([0x34, 0x32, 0xc3, 0x28]), { binary: false });
      assert.equal((await b.closed()).code, PROTOCOL_ERROR);
      assert.deepEqual(b.pending(), []);
      assert.equal(await a.next(), eventFrame("bye", room));
      const c = await newcomer(room, a);
      await roundTrip(a, c);
      // Invalid bytes inside a message's JSON string arrive as U+FFFD, as a real U+FFFD would:
      // relayed as text, which is what the other side's JSON parser would make of them anyway.
      c.ws.send(Buffer.concat([Buffer.from('42["message","x'), Buffer.from([0xff]), Buffer.from('"]')]), { binary: false });
      assert.equal(await a.next(), '42["message","x\ufffd"]');
      assert.equal(await c.next(), logFrame("Got message:", "x\ufffd"));
    });
  });

  describe("malformed Socket.IO packets close only the sender (1002)", { concurrency: CONCURRENCY }, () => {
    const deep = (n) => "[".repeat(n) + "]".repeat(n);
    const cases = [
      ["unknown Socket.IO type 7 (47)", '47["message",1]'],
      ["unknown Socket.IO type a (4a)", '4a["message",1]'],
      ["an event with an object payload (42{})", '42{"0":"message"}'],
      ["an event with an empty array (42[])", "42[]"],
      ["an event with a string payload (42\"x\")", '42"message"'],
      ["an event with no payload (42)", "42"],
      ["an event named null (42[null])", "42[null]"],
      ["an event named by an object (42[{}])", "42[{}]"],
      ["an event named by an array", '42[["message"],1]'],
      ["truncated JSON", '42["message",{"type":"offer","sdp":"v=0'],
      ["trailing garbage after the array", '42["message",1]garbage'],
      ["two JSON values", '42["message",1]["message",2]'],
      ["a trailing comma in the array", '42["message",1,]'],
      ["an ack id above 2^53-1", '429007199254740992["message",1]'],
      ["an ack id that overflows 64 bits", '42999999999999999999999999["message",1]'],
      ["a negative ack id", '42-1["message",1]'],
      ["an ack id with garbage before the payload", '4212abc["message",1]'],
      ["JSON nested 129 levels deep (arrays)", `42["message",${deep(128)}]`],
      ["JSON nested 129 levels deep (objects)", `42["message",${'{"a":'.repeat(128)}1${"}".repeat(128)}]`],
      ["10 000 nested arrays (a stack-exhaustion attempt)", `42["message",${deep(10_000)}]`],
      ["unbalanced deep nesting", `42["message",${"[".repeat(200)}]`],
      ["a disconnect (41) with a payload", '41{"reason":"x"}'],
      ["a connect (40) with an array payload", "40[]"],
      ["a binary ack (46)", `461-[${PLACEHOLDER}]`],
      ["a binary event without an attachment count (45-)", `45-["message",${PLACEHOLDER}]`],
      ["a binary event with zero attachments (450-)", `450-["message",${PLACEHOLDER}]`],
      ["a binary event with 999 attachments (45999-)", `45999-["message",${PLACEHOLDER}]`],
      ["a binary event with 17 attachments (4517-)", `4517-["message",${PLACEHOLDER}]`],
      ["a binary event with no dash (451[...])", `451["message",${PLACEHOLDER}]`],
    ];
    for (const [name, frame] of cases) {
      tc(name, () => malformed({ attack: (s) => s.send(frame) }));
    }

    for (const name of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
      tc(`the reserved event name "${name}"`, () => malformed({ attack: (s) => s.send(eventFrame(name, 1)) }));
    }

    tc("an event before connecting to / (v4, no 40)", () =>
      malformed({ connect: false, seatedToo: false, attack: (s) => s.send(eventFrame("create or join", "x")) }));

    tc("a message before connecting to / (v4, no 40): nothing relayed", () =>
      malformed({ connect: false, seatedToo: false, attack: (s) => s.send('42["message","sneak"]') }));

    tc("a second 40 (v4)", () => malformed({ attack: (s) => s.send("40") }));

    tc("a second 40 with an auth payload (v4)", () => malformed({ attack: (s) => s.send('40{"token":"x"}') }));

    tc("any 40 on v3 (EIO=3 is connected unprompted)", () => malformed({ eio: 3, attack: (s) => s.send("40") }));

    tc("a v3 event with a reserved name", () => malformed({ eio: 3, attack: (s) => s.send(eventFrame("disconnect")) }));

    tc("a v3 event with a bad payload", () => malformed({ eio: 3, attack: (s) => s.send("42{}") }));

    tc("41 then an event (v4): not connected after 41, so the event closes it", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      g.send("41");
      g.send('42["message","after 41"]');
      await assertClosed(g, PROTOCOL_ERROR);
      await roundTrip(a, b);
      // Seated: 41 is a departure (a gets its bye), the event after it closes the socket.
      b.send("41");
      b.send('42["message","after 41"]');
      await assertClosed(b, PROTOCOL_ERROR);
      assert.equal(await a.next(), eventFrame("bye", room));
      await roundTrip(a, await newcomer(room, a));
    });

    // The string scan reads a frame 16 bytes at a time in the Worker (wasm SIMD), its last
    // bytes 8 at a time and then one by one: a raw control character (below U+0020) is refused
    // at every offset of each, both near the frame's end (q = 0) and well before it (q = 21).
    tc("a raw control character inside a string, at every offset of the string scan", async () => {
      const { room, a, b } = await pair();
      const controls = ["\u0000", "\u0001", "\n", "\u001f"];
      for (const q of [0, 21]) {
        for (let p = 0; p < 18; p++) {
          const g = await guest(room);
          g.send(`42["message","${"a".repeat(p)}${controls[p % controls.length]}${"b".repeat(q)}"]`);
          await assertClosed(g, PROTOCOL_ERROR);
        }
      }
      await roundTrip(a, b);
    });
  });

  describe("namespace tricks", { concurrency: CONCURRENCY }, () => {
    tc("an event for another namespace (42/admin,) closes the sender", () =>
      malformed({ attack: (s) => s.send('42/admin,["message",1]') }));

    tc("an event for another namespace with a query (42/admin?x=1,) closes the sender", () =>
      malformed({ attack: (s) => s.send('42/admin?x=1,["message",1]') }));

    tc("an event for another namespace with an ack id (42/admin,7) closes the sender", () =>
      malformed({ attack: (s) => s.send('42/admin,7["message",1]') }));

    tc("a disconnect from another namespace (41/admin,) closes the sender", () =>
      malformed({ attack: (s) => s.send("41/admin,") }));

    tc("a v3 event for another namespace closes the sender", () =>
      malformed({ eio: 3, attack: (s) => s.send('42/admin,["message",1]') }));

    tc("40/x, is refused with 44 and the socket stays (v4)", () =>
      harmless({ attack: (s) => s.send("40/x,"), frames: () => [INVALID_NS("/x", 4)] }));

    tc("40/x, is refused with 44 and the socket stays (v3)", () =>
      harmless({ eio: 3, attack: (s) => s.send("40/x,"), frames: () => [INVALID_NS("/x", 3)] }));

    tc("40/admin?token=1, is refused for /admin, query dropped", () =>
      harmless({ attack: (s) => s.send("40/admin?token=1,"), frames: () => [INVALID_NS("/admin", 4)] }));

    tc("a namespace connect before 40 is refused and the socket can still connect to /", async () => {
      const { room, a, b } = await pair();
      const g = await opened(room);
      g.send("40/admin,");
      assert.equal(await g.next(), INVALID_NS("/admin", 4));
      g.send("40");
      assert.match(await g.next(), /^40\{"sid":"[A-Za-z0-9_-]+"\}$/);
      await guestBarrier(g);
      await roundTrip(a, b);
    });
  });

  describe("tolerated input changes nothing", { concurrency: CONCURRENCY }, () => {
    // Escapes, DEL, spaces and non-ASCII text are not the end of a string wherever they fall in
    // the scan's 16- and 8-byte blocks (a signed compare would take UTF-8's high bytes for
    // control characters): the frame is relayed exactly, its log line echoed exactly.
    tc("escapes and non-ASCII text at every offset of the string scan are relayed exactly", async () => {
      const { a, b } = await pair();
      const pieces = ['\\"', "\\\\", "\\n", "\\u0041", "\\/", " ", "\u007f", "é", "€", "😀"];
      const strings = pieces.flatMap((x) => Array.from({ length: 34 }, (_, p) => `"${"a".repeat(p)}${x}${"b".repeat(p % 3)}"`));
      const payload = `[${strings.join(",")}]`;
      a.send(`42["message",${payload}]`);
      assert.equal(await b.next(), `42["message",${payload}]`);
      assert.equal(await a.next(), `42["log",[">>> Message from server: ","Got message:",${payload}]]`);
      await roundTrip(a, b);
    });

    tc("unknown event names are ignored", () =>
      harmless({ attack: (s) => s.send(eventFrame("hack the planet", { x: 1 })) }));

    tc("server-only event names from a client are ignored (created, joined, ready, full, log, join)", () =>
      harmless({
        attack: (s, room) => {
          for (const name of ["created", "joined", "ready", "full", "log", "join"]) s.send(eventFrame(name, room, "spoof"));
        },
      }));

    tc("numeric event names (42[1]) are ignored", () =>
      harmless({ attack: (s) => (s.send("42[1]"), s.send('42[-2.5e3,"x"]')) }));

    tc("ack packets (43…) are ignored", () =>
      harmless({ attack: (s) => (s.send('431["x"]'), s.send("43[]"), s.send("43999[{}]")) }));

    tc("Engine.IO noops (6) are ignored", () => harmless({ attack: (s) => (s.send("6"), s.send("6junk")) }));

    tc("unsolicited pongs (3) on v4 are ignored", () =>
      harmless({ attack: (s) => (s.send("3"), s.send("3probe")) }));

    tc("brackets inside strings do not count as nesting", () =>
      harmless({ attack: (s) => s.send(`42["unknown","${"[".repeat(500)}\\"${"{".repeat(500)}"]`) }));

    tc("create or join for another room: one log line and nothing changes", () =>
      harmless({
        attack: (s) => s.send(eventFrame("create or join", "some-other-room")),
        frames: (room) => [logFrame(`Ignored create or join: this connection belongs to room ${room}`)],
      }));

    tc("create or join with no room, a number or an object: one log line each", () =>
      harmless({
        attack: (s, room) => {
          s.send(eventFrame("create or join"));
          s.send(eventFrame("create or join", 7));
          s.send(eventFrame("create or join", { room }));
          s.send(eventFrame("create or join", [room]));
        },
        frames: (room) => Array(4).fill(logFrame(`Ignored create or join: this connection belongs to room ${room}`)),
      }));

    tc("create or join twice: the usual log lines plus 'You already have a seat'", async () => {
      const { room, a, b } = await pair();
      b.send(eventFrame("create or join", room));
      assert.deepEqual(await b.take(3), [
        logFrame(`Room ${room} has 2 client(s)`),
        logFrame(`Request to create or join room ${room}`),
        logFrame(`You already have a seat in room ${room}`),
      ]);
      await roundTrip(a, b);
      // The room is still full: a guest asking gets full, then 41 and a close.
      const g = await guest(room);
      g.send(eventFrame("create or join", room));
      assert.deepEqual(await g.take(4), [
        logFrame(`Room ${room} has 2 client(s)`),
        logFrame(`Request to create or join room ${room}`),
        eventFrame("full", room),
        "41",
      ]);
      assert.equal((await g.closed()).code, 1000);
      await roundTrip(a, b);
    });

    tc("message from an unseated socket reaches nobody (and gets no log line)", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      for (let i = 0; i < 5; i++) g.send(`42["message",{"type":"offer","sdp":"spoofed ${i}"}]`);
      await guestBarrier(g);
      await roundTrip(a, b);
    });

    tc("bye from an unseated socket makes nobody leave", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      g.send(eventFrame("bye", room));
      await guestBarrier(g);
      await roundTrip(a, b);
    });

    tc("an ack id on a message is accepted and not relayed (2^53-1 is the largest)", async () => {
      const { a, b } = await pair();
      b.send('429007199254740991["message","with ack"]');
      assert.equal(await a.next(), '42["message","with ack"]');
      assert.equal(await b.next(), logFrame("Got message:", "with ack"));
      await roundTrip(a, b);
    });

    tc("JSON nested exactly 128 levels deep is relayed", async () => {
      const { a, b } = await pair();
      const frame = `42["message",${"[".repeat(127)}${"]".repeat(127)}]`;
      b.send(frame);
      assert.equal(await a.next(), frame);
      assert.equal(await b.next(), `42["log",[">>> Message from server: ","Got message:",${"[".repeat(127)}${"]".repeat(127)}]]`);
      await roundTrip(a, b);
    });

    tc("a message split into websocket continuation fragments is one packet", async () => {
      const { a, b } = await pair();
      b.ws.send('42["message",', { fin: false });
      b.ws.send('"frag', { fin: false });
      b.ws.send('mented"]', { fin: true });
      assert.equal(await a.next(), '42["message","fragmented"]');
      assert.equal(await b.next(), logFrame("Got message:", "fragmented"));
      await roundTrip(a, b);
    });
  });

  describe("binary frames", { concurrency: CONCURRENCY }, () => {
    tc("a binary message from a seat is relayed: header, then the attachment", async () => {
      const { a, b } = await pair();
      const header = `451-["message",${PLACEHOLDER}]`;
      const data = Buffer.from([0, 1, 2, 0xfe, 0xff]);
      b.send(header);
      b.send(data);
      assert.equal(await a.next(), header);
      assert.deepEqual(await a.next(), data);
      assert.equal(await b.next(), `42["log",[">>> Message from server: ","Got message:",${PLACEHOLDER}]]`);
      await roundTrip(a, b);
    });

    tc("a binary event with another name is swallowed: attachments consumed, nothing relayed, no close", () =>
      harmless({
        attack: (s) => {
          s.send(`452-["blob",${PLACEHOLDER},{"_placeholder":true,"num":1}]`);
          s.send(Buffer.from("first"));
          s.send(Buffer.from("second"));
        },
      }));

    tc("a binary message from an unseated socket is swallowed", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      g.send(`451-["message",${PLACEHOLDER}]`);
      g.send(Buffer.from("sneak"));
      await guestBarrier(g);
      await roundTrip(a, b);
    });

    tc("a binary frame with no binary packet waiting", () =>
      malformed({ attack: (s) => s.send(Buffer.from("unasked")) }));

    tc("a v3 binary frame with no binary packet waiting", () =>
      malformed({ eio: 3, attack: (s) => s.send(Buffer.from([4, 1, 2, 3])) }));

    tc("a v3 attachment without its 0x04 type byte", () =>
      malformed({ eio: 3, attack: (s) => (s.send(`451-["blob",${PLACEHOLDER}]`), s.send(Buffer.from([1, 2, 3]))) }));

    tc("a text frame while binary attachments are owed", () =>
      malformed({ attack: (s) => (s.send(`451-["blob",${PLACEHOLDER}]`), s.send('42["message",1]')) }));

    tc("one attachment of two, then a text frame", () =>
      malformed({
        attack: (s) => {
          s.send(`452-["blob",${PLACEHOLDER},{"_placeholder":true,"num":1}]`);
          s.send(Buffer.from("one"));
          s.send("6");
        },
      }));

    tc("a text frame instead of a relayed message's attachment: the peer gets only bye", async () => {
      const { room, a, b } = await pair();
      const header = `451-["message",${PLACEHOLDER}]`;
      b.send(header);
      b.send('42["message","not binary"]');
      await assertClosed(b, PROTOCOL_ERROR, [logFrame("Got message:", JSON.parse(PLACEHOLDER))]);
      // A binary packet is held until its attachments are in: the header never left.
      assert.equal(await a.next(), eventFrame("bye", room));
      await roundTrip(a, await newcomer(room, a));
    });
  });

  describe("oversize frames", { concurrency: CONCURRENCY }, () => {
    const text = (size) => `42["message","${"x".repeat(size - 16)}"]`;

    tc("a text frame of exactly maxPayload bytes is relayed", async () => {
      const { a, b } = await pair();
      const frame = text(MAX_PAYLOAD);
      assert.equal(frame.length, MAX_PAYLOAD);
      b.send(frame);
      assert.equal(await a.next(), frame);
      assert.equal(await b.next(), logFrame("Got message:", "x".repeat(MAX_PAYLOAD - 16)));
      await roundTrip(a, b);
    });

    tc("a text frame of maxPayload + 1 bytes closes with 1009", () =>
      malformed({ code: TOO_BIG, attack: (s) => s.send(text(MAX_PAYLOAD + 1)) }));

    tc("a text frame over maxPayload made of multibyte characters closes with 1009", () =>
      malformed({ code: TOO_BIG, attack: (s) => s.send(`42["message","${"é".repeat(MAX_PAYLOAD / 2)}"]`) }));

    tc("a binary attachment of exactly maxPayload bytes is relayed", async () => {
      const { a, b } = await pair();
      const data = Buffer.alloc(MAX_PAYLOAD, 7);
      b.send(`451-["message",${PLACEHOLDER}]`);
      b.send(data);
      assert.equal(await a.next(), `451-["message",${PLACEHOLDER}]`);
      assert.deepEqual(await a.next(), data);
      assert.equal(await b.next(), logFrame("Got message:", JSON.parse(PLACEHOLDER)));
      await roundTrip(a, b);
    });

    tc("a binary attachment of maxPayload + 1 bytes closes with 1009", () =>
      malformed({
        code: TOO_BIG,
        attack: (s) => (s.send(`451-["blob",${PLACEHOLDER}]`), s.send(Buffer.alloc(MAX_PAYLOAD + 1, 7))),
      }));

    tc("an unasked binary frame over maxPayload closes with 1009", () =>
      malformed({ code: TOO_BIG, attack: (s) => s.send(Buffer.alloc(MAX_PAYLOAD + 1)) }));

    tc("a ~1 MB text frame: the sender is closed (by the room or the platform), the peers are fine", async () => {
      const { room, a, b } = await pair();
      const huge = text(1 << 20);
      const g = await guest(room);
      g.send(huge);
      const info = await g.closed(20_000);
      assert.ok([TOO_BIG, 1006, PROTOCOL_ERROR, 1011].includes(info.code), `closed with ${info.code}`);
      assert.deepEqual(g.pending(), []);
      await roundTrip(a, b);
      b.send(huge);
      assert.ok([TOO_BIG, 1006, PROTOCOL_ERROR, 1011].includes((await b.closed(20_000)).code));
      assert.deepEqual(b.pending(), []);
      assert.equal(await a.next(), eventFrame("bye", room));
      await roundTrip(a, await newcomer(room, a));
    });
  });

  describe("rate limit", () => {
    /** Tokens a socket opened at `t0` may have had by now: the burst plus the refill. */
    const allowance = (t0, spent) => RATE_BURST - spent + Math.floor(((Date.now() - t0) * RATE_PER_SEC) / 1000);

    /** Waits until `s` has received `n` more heartbeat pings (a clock that is not a sleep). */
    async function pings(s, n) {
      const count = () => s.frames.filter((f) => f === "2").length;
      const target = count() + n;
      await waitFor(() => count() >= target, { timeout: n * PING_INTERVAL + HEARTBEAT_CLOSE, what: `${n} pings` });
    }

    tc("a burst from a seat: the peer gets exactly what fits in the bucket, the sender one log line", async () => {
      const room = newRoom();
      const a = await seated(room);
      const t0 = Date.now();
      const b = await seated(room);
      await a.take(2);
      const N = 40;
      for (let i = 0; i < N; i++) b.send(`42["message","m${i}"]`);
      // b: a log line per accepted message, then one rate-limit line for the run.
      let k = 0;
      for (;;) {
        const f = await b.next();
        if (f === RATE_LOG) break;
        assert.equal(f, logFrame("Got message:", `m${k}`));
        k++;
      }
      // The bucket starts full; 40 and create or join cost a token each.
      const max = allowance(t0, 2);
      assert.ok(k >= RATE_BURST - 2 && k <= max, `accepted ${k}, expected ${RATE_BURST - 2}..${max}`);
      assert.deepEqual(await a.take(k), Array.from({ length: k }, (_, i) => `42["message","m${i}"]`));
      // After a refill the seat talks again. Its message is the barrier: anything of the run
      // that got through after the announcement (the bucket refills meanwhile) came before it,
      // on both sides alike; nothing else of the dropped rest ever arrives.
      await pings(b, 2);
      b.send('42["message","after"]');
      const lateOnB = [];
      for (let f = await b.next(); f !== logFrame("Got message:", "after"); f = await b.next()) lateOnB.push(f);
      const lateOnA = [];
      for (let f = await a.next(); f !== '42["message","after"]'; f = await a.next()) lateOnA.push(f);
      // (A late acceptance ends the run, so a later drop may announce a new one.)
      const late = lateOnB.filter((f) => f !== RATE_LOG).map((f) => JSON.parse(f.slice(2))[1][2]);
      assert.ok(k + late.length <= max, `accepted ${k} + ${late.length} late, at most ${max}`);
      assert.deepEqual(lateOnA, late.map((m) => `42["message","${m}"]`));
      assert.equal(b.closeInfo, null);
      await roundTrip(a, b);
      // A new run of drops is announced again. The bucket keeps refilling while the run is
      // handled, so on a slow machine a late message of it may still get through: what counts
      // is that exactly the messages b was told it sent reach a, in order. b's own message
      // after a refill is the barrier that everything the burst caused has arrived.
      const M = RATE_BURST + 5;
      for (let i = 0; i < M; i++) b.send(`42["message","again${i}"]`);
      await pings(b, 2);
      b.send('42["message","end"]');
      const onB = [];
      for (let f = await b.next(); f !== logFrame("Got message:", "end"); f = await b.next()) onB.push(f);
      const onA = [];
      for (let f = await a.next(); f !== '42["message","end"]'; f = await a.next()) onA.push(f);
      assert.ok(onB.includes(RATE_LOG), "the new run of drops is announced");
      const told = onB.filter((f) => f !== RATE_LOG);
      const accepted = told.map((f) => JSON.parse(f.slice(2))[1][2]);
      assert.deepEqual(told, accepted.map((m) => logFrame("Got message:", m)));
      const order = accepted.map((m) => Number(m.replace("again", "")));
      assert.deepEqual(order, [...order].sort((x, y) => x - y), "in order, no repeats");
      assert.ok(accepted.length < M, `accepted ${accepted.length} of the second burst of ${M}`);
      assert.deepEqual(onA, accepted.map((m) => `42["message","${m}"]`));
      // b's bucket is empty now; the victim still reaches it, and nothing else arrived.
      await oneWay(a, b);
      assert.equal(b.closeInfo, null);
    });

    tc("an unseated flood is closed with 1008 after RATE_KICK_AFTER drops; the seats never notice", async () => {
      const { room, a, b } = await pair();
      const g = await guest(room);
      for (let i = 0; i < 150; i++) g.send(`42["message","flood ${i}"]`);
      const info = await assertClosed(g, POLICY_VIOLATION, [RATE_LOG]);
      assert.equal(info.reason, "rate limit exceeded");
      await roundTrip(a, b);
    });

    tc("a seated flood is closed with 1008; the peer got exactly the fitting messages, then bye", async () => {
      const room = newRoom();
      const a = await seated(room);
      const t0 = Date.now();
      const b = await seated(room);
      await a.take(2);
      for (let i = 0; i < 150; i++) b.send(`42["message","f${i}"]`);
      const info = await b.closed();
      assert.equal(info.code, POLICY_VIOLATION);
      assert.equal(info.reason, "rate limit exceeded");
      const got = b.pending();
      const k = got.length - 1;
      assert.equal(got.at(-1), RATE_LOG);
      assert.deepEqual(got.slice(0, k), Array.from({ length: k }, (_, i) => logFrame("Got message:", `f${i}`)));
      const max = allowance(t0, 2);
      assert.ok(k >= RATE_BURST - 2 && k <= max, `accepted ${k}, expected ${RATE_BURST - 2}..${max}`);
      assert.deepEqual(await a.take(k + 1), [
        ...Array.from({ length: k }, (_, i) => `42["message","f${i}"]`),
        eventFrame("bye", room),
      ]);
      await roundTrip(a, await newcomer(room, a));
    });

    tc("heartbeats and noops are free: 200 of them, then the rest of the bucket, all relayed", async () => {
      const { a, b } = await pair();
      for (let i = 0; i < 100; i++) b.send("3"), b.send("6");
      // b spent 2 tokens on 40 and create or join; 17 messages and the round trip use up the rest.
      const n = RATE_BURST - 3;
      for (let i = 0; i < n; i++) b.send(`42["message","h${i}"]`);
      assert.deepEqual(await a.take(n), Array.from({ length: n }, (_, i) => `42["message","h${i}"]`));
      assert.deepEqual(await b.take(n), Array.from({ length: n }, (_, i) => logFrame("Got message:", `h${i}`)));
      await roundTrip(a, b);
      assert.equal(b.closeInfo, null);
    });

    tc("v3 client pings are free: 100 pings answered, then the rest of the bucket relayed", async () => {
      const { a, b } = await pair(3);
      for (let i = 0; i < 100; i++) b.send("2");
      // v3 spent 1 token (create or join; its 40 was the server's); the round trip takes the last.
      const n = RATE_BURST - 2;
      for (let i = 0; i < n; i++) b.send(`42["message","v3-${i}"]`);
      assert.deepEqual(await a.take(n), Array.from({ length: n }, (_, i) => `42["message","v3-${i}"]`));
      const got = await b.take(100 + n);
      assert.equal(got.filter((f) => f === "3").length, 100);
      assert.deepEqual(got.filter((f) => f !== "3"), Array.from({ length: n }, (_, i) => logFrame("Got message:", `v3-${i}`)));
      await roundTrip(a, b);
    });

    tc("a binary packet dropped by the rate limit takes its attachment with it (no close)", async () => {
      const { a, b } = await pair();
      for (let i = 0; i < RATE_BURST + 5; i++) b.send('42["unknown event"]');
      b.send(`451-["message",${PLACEHOLDER}]`);
      b.send(Buffer.from("dropped with its header"));
      assert.equal(await b.next(), RATE_LOG);
      await pings(b, 2);
      b.send('42["message","after"]');
      assert.equal(await a.next(), '42["message","after"]');
      assert.equal(await b.next(), logFrame("Got message:", "after"));
      assert.equal(b.closeInfo, null);
      await roundTrip(a, b);
    });
  });

  describe("connection flood", () => {
    async function refused(room) {
      await assert.rejects(RawSocket.open(server, { room }), (e) => {
        assert.equal(e.status, 429, `status (body ${e.body})`);
        assert.equal(e.body, BODY.tooMany);
        return true;
      });
    }

    /** Opens a socket once the room admits one again (refusals are expected meanwhile). */
    const admitted = (room) =>
      waitFor(() => RawSocket.open(server, { room }).then(track, () => null), { what: "a pending slot to free up" });

    tc("a room keeps at most MAX_PENDING unseated sockets; the seats keep relaying", async () => {
      const { room, a, b } = await pair();
      const guests = [];
      for (let i = 0; i < MAX_PENDING; i++) {
        guests.push(i % 2 ? await guest(room, 3) : await guest(room));
        await roundTrip(a, b);
      }
      for (let i = 0; i < 3; i++) await refused(room);
      await roundTrip(a, b);
      // A guest leaving frees its slot.
      guests[0].close();
      const g = await admitted(room);
      assert.match(await g.next(), /^0\{"sid":/);
      await refused(room);
      await roundTrip(a, b);
    });

    tc("an unseated socket the server closes frees its slot", async () => {
      const { room, a, b } = await pair();
      const guests = [];
      for (let i = 0; i < MAX_PENDING; i++) guests.push(await guest(room));
      await refused(room);
      guests[1].send("42[]");
      await assertClosed(guests[1], PROTOCOL_ERROR);
      const g = await admitted(room);
      assert.match(await g.next(), /^0\{"sid":/);
      await roundTrip(a, b);
    });

    tc("a waiting socket that takes a seat no longer counts as pending", async () => {
      const room = newRoom();
      const a = await seated(room);
      const guests = [];
      for (let i = 0; i < MAX_PENDING; i++) guests.push(await guest(room));
      await refused(room);
      guests[0].send(eventFrame("create or join", room));
      assert.deepEqual(await guests[0].take(4), [
        logFrame(`Room ${room} has 1 client(s)`),
        logFrame(`Request to create or join room ${room}`),
        eventFrame("joined", room, guests[0].socketId),
        eventFrame("ready", room),
      ]);
      assert.deepEqual(await a.take(2), [eventFrame("join", room), eventFrame("ready", room)]);
      const g = track(await RawSocket.open(server, { room }));
      assert.match(await g.next(), /^0\{"sid":/);
      await refused(room);
      await roundTrip(a, guests[0]);
    });

    tc("a flood on one room does not limit another room", async () => {
      const flooded = newRoom();
      for (let i = 0; i < MAX_PENDING; i++) await guest(flooded);
      await refused(flooded);
      const { a, b } = await pair();
      await roundTrip(a, b);
    });
  });

  describe("wrong rooms", { concurrency: CONCURRENCY }, () => {
    tc("nothing sent in one room reaches another", async () => {
      const victims = await pair();
      const other = await pair();
      // Hostile and normal traffic in the other room, including a create or join naming ours.
      other.a.send(eventFrame("create or join", victims.room));
      assert.equal(await other.a.next(), logFrame(`Ignored create or join: this connection belongs to room ${other.room}`));
      other.a.send(`42["message","cross?"]`);
      assert.equal(await other.b.next(), `42["message","cross?"]`);
      assert.equal(await other.a.next(), logFrame("Got message:", "cross?"));
      other.b.send("42{}");
      await assertClosed(other.b, PROTOCOL_ERROR);
      assert.equal(await other.a.next(), eventFrame("bye", other.room));
      await roundTrip(victims.a, victims.b);
    });

    tc("a guest naming the victims' room in create or join from its own room is refused", async () => {
      const { room, a, b } = await pair();
      const mine = newRoom();
      const g = await guest(mine);
      g.send(eventFrame("create or join", room));
      assert.equal(await g.next(), logFrame(`Ignored create or join: this connection belongs to room ${mine}`));
      g.send('42["message","hello victims"]');
      await guestBarrier(g);
      await roundTrip(a, b);
    });

    tc("room names are case-sensitive: the upper-cased name is another room", async () => {
      const { room, a, b } = await pair();
      const upper = room.toUpperCase();
      const x = await seated(upper);
      x.send('42["message","wrong case"]');
      assert.equal(await x.next(), logFrame("Got message:", "wrong case"));
      const y = await newcomer(upper, x);
      await roundTrip(x, y);
      await roundTrip(a, b);
    });
  });

  describe("long-polling sessions: only the attacker's session ends", { concurrency: CONCURRENCY }, () => {
    const pq = (room, sid, eio = 4) => `/socket.io/?EIO=${eio}&transport=polling&room=${room}${sid ? `&sid=${sid}` : ""}`;

    /** Victims: `a` seated on a websocket, `b` seated over long-polling. */
    async function pollingVictims() {
      const room = newRoom();
      const { a, b } = await seatMixedPair(server, room);
      track(a);
      track(b);
      return { room, a, b };
    }

    /** An attacker's own polling session in `room` (connected, no seat), not polled. */
    async function attacker(room, eio = 4) {
      const s = await RawPolling.open(server, { room, eio });
      const open = s.frames[0];
      const sid = JSON.parse(open.slice(1)).sid;
      return { sid, url: pq(room, sid, eio) };
    }

    tc("unknown sids and another room's sid (session hijack): 400 Session ID unknown", async () => {
      const { room, a, b } = await pollingVictims();
      const other = newRoom();
      for (const sid of ["AAAAAAAAAAAAAAAAAAAA", "short", b.sid + "x"]) {
        assert.deepEqual(await httpRequest("GET", pq(room, sid)), { status: 400, body: BODY.sid }, sid);
        assert.deepEqual(await httpRequest("POST", pq(room, sid), "40"), { status: 400, body: BODY.sid }, sid);
      }
      // The victim's sid presented to another room reaches another object, which never heard of it.
      assert.deepEqual(await httpRequest("GET", pq(other, b.sid)), { status: 400, body: BODY.sid });
      assert.deepEqual(await httpRequest("POST", pq(other, b.sid), '42["message","hijack"]'), { status: 400, body: BODY.sid });
      assert.deepEqual(await upgrade(`EIO=4&transport=websocket&room=${other}&sid=${b.sid}`), { status: 400, body: BODY.sid });
      await roundTrip(a, b);
    });

    tc("two GETs at once: 400, and the session is closed", async () => {
      const { room, a, b } = await pollingVictims();
      const x = await attacker(room);
      // Whichever reaches the room second is refused, and the one held there gets the close.
      const answers = await Promise.all([httpRequest("GET", x.url), httpRequest("GET", x.url)]);
      answers.sort((p, q) => p.status - q.status);
      assert.deepEqual(answers, [{ status: 200, body: "1" }, { status: 400, body: BODY.bad }]);
      assert.deepEqual(await httpRequest("GET", x.url), { status: 400, body: BODY.sid });
      await roundTrip(a, b);
    });

    tc("a POST body over maxPayload: 413, and the session is closed", async () => {
      const { room, a, b } = await pollingVictims();
      const x = await attacker(room);
      const res = await httpRequest("POST", x.url, `42["message","${"x".repeat(MAX_PAYLOAD)}"]`);
      assert.equal(res.status, 413);
      assert.deepEqual(await httpRequest("GET", x.url), { status: 400, body: BODY.sid });
      await roundTrip(a, b);
    });

    for (const [name, eio, body] of [
      ["v4 empty record", 4, "40\x1e"],
      ["v4 bad base64", 4, "b!!!"],
      ["v4 unknown packet type", 4, "9"],
      ["v3 length longer than the payload", 3, "9:42"],
      ["v3 length not a number", 3, "x:42"],
      ["v3 no length", 3, "42[\"x\"]"],
    ]) {
      tc(`a malformed payload (${name}) closes only that session`, async () => {
        const { room, a, b } = await pollingVictims();
        const x = await attacker(room, eio);
        const res = await httpRequest("POST", x.url, body);
        assert.equal(res.status, 200, "answered ok, as the reference server");
        assert.deepEqual(await httpRequest("GET", x.url), { status: 400, body: BODY.sid });
        await roundTrip(a, b);
      });
    }

    tc("a seated polling peer sending garbage: its partner gets only bye, and the seat is free", async () => {
      const { room, a, b } = await pollingVictims();
      b.stop();
      assert.equal((await httpRequest("POST", b.url.slice(server.url.length), '42{"not":"an array"}')).status, 200);
      assert.equal(await a.next(), eventFrame("bye", room));
      assert.deepEqual(await httpRequest("GET", b.url.slice(server.url.length)), { status: 400, body: BODY.sid });
      const c = await newcomer(room, a);
      await roundTrip(a, c);
    });

    tc("methods other than GET and POST, and a POST handshake: 400 Bad handshake method", async () => {
      const { room, a, b } = await pollingVictims();
      for (const method of ["PUT", "DELETE", "PATCH"]) {
        assert.deepEqual(await httpRequest(method, pq(room, b.sid)), { status: 400, body: BODY.method }, method);
        assert.deepEqual(await httpRequest(method, pq(room)), { status: 400, body: BODY.method }, method);
      }
      assert.deepEqual(await httpRequest("POST", pq(room), "40"), { status: 400, body: BODY.method });
      await roundTrip(a, b);
    });

    tc("an upgrade probe that breaks the exchange is closed; the session goes on polling", async () => {
      const { room, a, b } = await pollingVictims();
      const probe = track(await RawSocket.open(server, { room, extra: `&sid=${b.sid}` }));
      probe.send('42["message","not a probe"]');
      assert.equal((await probe.closed()).code, PROTOCOL_ERROR);
      await roundTrip(a, b);
      // A second probe while one is open is closed at once.
      const p1 = track(await RawSocket.open(server, { room, extra: `&sid=${b.sid}` }));
      const p2 = track(await RawSocket.open(server, { room, extra: `&sid=${b.sid}` }));
      assert.equal((await p2.closed()).code, PROTOCOL_ERROR);
      p1.kill();
      await roundTrip(a, b);
    });
  });

  describe("HTTP-level handshake errors", { concurrency: CONCURRENCY }, () => {
    const q = (room, extra = "") => `EIO=4&transport=websocket&room=${room}${extra}`;

    /** Runs `attempt(room)` against a room with two seated victims, then checks them. */
    async function againstVictims(attempt) {
      const { room, a, b } = await pair();
      await attempt(room, a);
      await roundTrip(a, b);
    }

    tc("no Upgrade header: 400 Transport unknown", () =>
      againstVictims(async (room) => {
        const res = await httpGet(`/socket.io/?${q(room)}`);
        assert.deepEqual(res, { status: 400, body: BODY.transport });
      }));

    tc("an unknown transport: 400 Transport unknown", () =>
      againstVictims(async (room) => {
        assert.deepEqual(await upgrade(`EIO=4&transport=flash&room=${room}`), { status: 400, body: BODY.transport });
        assert.deepEqual(await httpGet(`/socket.io/?EIO=4&transport=xhr-polling&room=${room}`), { status: 400, body: BODY.transport });
      }));

    tc("a victim's own websocket sid on an upgrade (session hijack): 400, the victim keeps its seat", () =>
      againstVictims(async (room, a) => {
        // The session exists but is no polling session to upgrade: the websocket is accepted
        // and closed at once (as the reference server), and polling it is the wrong transport.
        const hijack = await RawSocket.open(server, { room, extra: `&sid=${a.sid}` });
        assert.deepEqual(await hijack.closed(), { code: PROTOCOL_ERROR, reason: "no polling session to upgrade" });
        assert.deepEqual(hijack.frames, []);
        assert.deepEqual(await httpGet(`/socket.io/?EIO=4&transport=polling&room=${room}&sid=${a.sid}`), { status: 400, body: BODY.bad });
        assert.deepEqual(await upgrade(q(room, "&sid=")), { status: 400, body: BODY.sid });
      }));

    for (const eio of ["5", "2", "", "4.0", "04", "3%00"]) {
      tc(`EIO=${JSON.stringify(eio)}: 400 Unsupported protocol version`, () =>
        againstVictims(async (room) => {
          assert.deepEqual(await upgrade(`EIO=${eio}&transport=websocket&room=${room}`), { status: 400, body: BODY.version });
        }));
    }

    tc("defects are judged in order: transport, EIO, room, method, sid", () =>
      againstVictims(async (room) => {
        assert.deepEqual(await upgrade("EIO=9&transport=flash&sid=x&room=a%20b"), { status: 400, body: BODY.transport });
        assert.deepEqual(await upgrade("EIO=9&transport=websocket&sid=x&room=a%20b"), { status: 400, body: BODY.version });
        assert.deepEqual(await upgrade("EIO=4&transport=websocket&sid=x&room=a%20b"), { status: 400, body: BODY.bad });
        assert.deepEqual(await httpRequest("PUT", `/socket.io/?EIO=4&transport=polling&room=${room}&sid=x`), { status: 400, body: BODY.method });
        assert.deepEqual(await upgrade(`EIO=3&transport=websocket&room=${room}&sid=${room}`), { status: 400, body: BODY.sid });
      }));

    const badRooms = [
      ["missing", () => ""],
      ["empty", () => "&room="],
      ["with a space (a b)", () => "&room=a%20b"],
      ["65 characters", () => `&room=${"a".repeat(65)}`],
      ["a path (../x)", () => "&room=..%2Fx"],
      ["a NUL (%00)", () => "&room=%00"],
      ["the victims' room plus a NUL", (room) => `&room=${room}%00`],
      ["the victims' room plus a slash", (room) => `&room=${room}%2F`],
      ["the victims' room plus a space", (room) => `&room=${room}%20`],
      ["unicode (é)", () => `&room=${encodeURIComponent("é")}`],
      ["unicode lookalike of the victims' room", (room) => `&room=${encodeURIComponent(room.replace("h", "һ"))}`],
    ];
    for (const [name, extra] of badRooms) {
      tc(`room ${name}: 400 Bad request`, () =>
        againstVictims(async (room) => {
          assert.deepEqual(await upgrade(`EIO=4&transport=websocket${extra(room)}`), { status: 400, body: BODY.bad });
          assert.deepEqual(await upgrade(`EIO=3&transport=websocket${extra(room)}`), { status: 400, body: BODY.bad });
        }));
    }

    for (const [name, make] of [
      ["a", () => "a"],
      ["64 characters", () => randomUUID().replaceAll("-", "").repeat(2)],
      ["x.y-z_1", () => "x.y-z_1"],
    ]) {
      tc(`the valid room name ${name} works end to end`, async () => {
        const room = make();
        const { a, b } = await pair(4, room);
        assert.ok(room.length >= 1 && room.length <= 64);
        await roundTrip(a, b);
      });
    }
  });
});
