// The churn soak (issue 11): many rooms at once, each running a loop of what real calls meet —
// relayed messages, leaves, reloads, resumes (a new connection with the resume token of a seat
// whose old connection is stranded), kills (TCP dropped without a close frame) and silent drops
// (a TCP proxy in front of the peer stops forwarding: no FIN, no RST) — bounded in count and
// time. Shared by the script (bench/soak.mjs: hundreds of rooms for minutes, on bare workerd) and
// the short test (tests/soak.test.mjs: a few rooms, well under a minute, on wrangler dev).
//
// Every peer connects through its own TCP proxy (lib/tcp-proxy.mjs), so any of them can be
// silenced. Checked, and counted:
// - every relayed message carries its room, its sender's id and a sequence number: a message in
//   the wrong room is "crossed"; one a live partner never gets is "lost"; one it gets twice is
//   "duplicated";
// - every departure gives the partner one `bye`; every join gives `joined` to the joiner and
//   `join` + `ready` to the partner; a `full` or a timeout is an error;
// - at the end every peer leaves, then every room must accept a fresh pair (`created`, then
//   `joined`): a room that answers otherwise has a stuck seat.

import { TcpProxy } from "../../lib/tcp-proxy.mjs";
import { WsPeer, sleep } from "./clients.mjs";

/** A small deterministic random generator (mulberry32), so that a run can be repeated. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const token = (r) => Array.from({ length: 24 }, () => "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[Math.floor(r() * 62)]).join("");

export const ACTIONS = ["exchange", "leave", "reload", "resume", "kill", "silent"];

/**
 * `opts`: { port, rooms, secs, maxOps, pingInterval, pingTimeout, eio (4|3|"mixed"), seed,
 * messages (per exchange and side), roomNames (optional: the rooms' names), log }. Returns the counts.
 */
export async function soak(opts) {
  const { port, rooms: nRooms, secs, maxOps = 1e6, pingInterval, pingTimeout, seed = 1, messages = 5, log = () => {} } = opts;
  const random = rng(seed);
  const deadline = Date.now() + secs * 1000;
  const counts = {
    rooms: nRooms,
    ops: Object.fromEntries(ACTIONS.map((a) => [a, 0])),
    sent: 0,
    received: 0,
    lost: 0,
    duplicated: 0,
    crossed: 0,
    departures: 0,
    byes: 0,
    joins: 0,
    takeovers: 0,
    errors: 0,
    errorSamples: [],
    stuckSeats: 0,
    freshPairs: 0,
  };
  let opsLeft = maxOps;
  let nextPeer = 1;
  const error = (what) => {
    counts.errors++;
    if (counts.errorSamples.length < 12) counts.errorSamples.push(what);
  };
  // Silent peers are noticed within pingInterval + pingTimeout of their last sign of life.
  const byeWait = pingInterval + pingTimeout + 10_000;
  const allProxies = new Set();

  /** A new peer in `room`, through a proxy of its own. */
  async function newPeer(room, resume) {
    const proxy = await TcpProxy.start(port);
    allProxies.add(proxy);
    const eio = opts.eio === "mixed" ? (random() < 0.5 ? 3 : 4) : opts.eio ?? 4;
    const id = nextPeer++;
    const peer = new WsPeer({ port: proxy.port, room: room.name, eio, name: `${room.name}/p${id}`, query: `&resume=${resume}` });
    peer.id = id;
    peer.proxy = proxy;
    peer.resume = resume;
    peer.seq = 0;
    // What this peer got from each sender: sender id -> Set of sequence numbers.
    peer.got = new Map();
    peer.onEvent = (ev) => {
      if (ev.name !== "message") return;
      const m = ev.args[0];
      if (!m || m.r !== room.name) {
        counts.crossed++;
        error(`${peer.name}: message from another room ${JSON.stringify(m).slice(0, 80)}`);
        return;
      }
      counts.received++;
      const seen = peer.got.get(m.f) ?? new Set();
      if (seen.has(m.s)) counts.duplicated++;
      seen.add(m.s);
      peer.got.set(m.f, seen);
    };
    return peer;
  }

  async function dispose(peer) {
    if (!peer) return;
    peer.kill();
    allProxies.delete(peer.proxy);
    await peer.proxy.stop().catch(() => {});
  }

  /** Seats `peer` in `room` at `slot`: the other slot's peer (if any) must see join + ready. */
  async function seat(room, slot, peer) {
    const other = room.peers[1 - slot];
    const mark = other ? other.events.length : 0;
    await peer.connect(10_000);
    peer.join();
    const first = await peer.until(() => peer.events.find((e) => ["created", "joined", "full"].includes(e.name)), 10_000, "seat answer");
    if (first.name === "full") throw new Error(`${peer.name}: full`);
    if (other) {
      if (first.name !== "joined") throw new Error(`${peer.name}: ${first.name} while ${other.name} is seated`);
      await peer.waitEvent("ready", 10_000);
      await other.until(() => other.events.slice(mark).some((e) => e.name === "join") && other.events.slice(mark).some((e) => e.name === "ready"), 10_000, "join+ready");
    }
    room.peers[slot] = peer;
    counts.joins++;
  }

  /** Both sides send `messages` messages; each must arrive once at the other. */
  async function exchange(room) {
    const [a, b] = room.peers;
    const expect = [];
    for (const [from, to] of [
      [a, b],
      [b, a],
    ]) {
      const seqs = [];
      for (let i = 0; i < messages; i++) {
        const s = from.seq++;
        from.message({ r: room.name, f: from.id, s, type: "candidate", candidate: `candidate:${s} 1 udp 2122260223 10.0.0.${from.id % 250} ${40000 + s} typ host` });
        seqs.push(s);
        counts.sent++;
      }
      expect.push([from, to, seqs]);
    }
    const complete = () => expect.every(([from, to, seqs]) => seqs.every((s) => to.got.get(from.id)?.has(s)));
    await Promise.race([
      (async () => {
        while (!complete() && !a.closed && !b.closed) await sleep(20);
      })(),
      sleep(10_000),
    ]);
    for (const [from, to, seqs] of expect) {
      const missing = seqs.filter((s) => !to.got.get(from.id)?.has(s)).length;
      if (missing) {
        counts.lost += missing;
        error(`${to.name}: ${missing} of ${seqs.length} messages from ${from.name} never came`);
      }
    }
  }

  /** `slot`'s peer goes away by `how`; the partner must get one `bye`; a fresh peer takes the seat. */
  async function depart(room, slot, how) {
    const gone = room.peers[slot];
    const other = room.peers[1 - slot];
    const mark = other.events.length;
    const byesBefore = other.events.filter((e) => e.name === "bye").length;
    let leaveSeq = null;
    if (how === "leave") {
      // As the page does: a `leave` notice, then `bye`. The notice must arrive before the bye.
      leaveSeq = gone.seq++;
      gone.message({ r: room.name, f: gone.id, s: leaveSeq, type: "leave" });
      counts.sent++;
      gone.send(`42${JSON.stringify(["bye", room.name])}`);
    } else if (how === "reload") {
      // A page unload: the socket closes (close frame), no bye.
      gone.close();
    } else if (how === "kill") {
      gone.kill();
    } else if (how === "silent") {
      gone.silence();
      gone.proxy.blackhole();
    }
    counts.departures++;
    // The partner is told once.
    const t = Date.now();
    await other.until(() => other.events.slice(mark).some((e) => e.name === "bye"), how === "silent" ? byeWait : 10_000, `bye after ${how} of v${gone.eio} ${gone.name} (partner v${other.eio})`).catch((e) => {
      throw new Error(`${e.message}; partner's events since: ${JSON.stringify(other.events.slice(mark).map((x) => x.name))}, its pings ${other.pings}, closed ${other.closed}, ${Date.now() - t} ms`);
    });
    counts.byes++;
    if (leaveSeq !== null && !other.got.get(gone.id)?.has(leaveSeq)) {
      counts.lost++;
      error(`${other.name}: the leave notice of ${gone.name} did not come before its bye`);
    }
    await sleep(50);
    const byes = other.events.filter((e) => e.name === "bye").length - byesBefore;
    if (byes !== 1) error(`${other.name}: ${byes} byes after one ${how}`);
    if (how !== "silent") gone.close();
    await dispose(gone);
    room.peers[slot] = null;
    await seat(room, slot, await newPeer(room, token(random)));
  }

  /** `slot`'s connection is stranded (a network change); the page comes back with its token. */
  async function resume(room, slot) {
    const old = room.peers[slot];
    const other = room.peers[1 - slot];
    const mark = other.events.length;
    old.silence();
    old.proxy.strand();
    const fresh = await newPeer(room, old.resume);
    // The new connection asks with the old seat's token: it takes the seat over.
    await fresh.connect(10_000);
    fresh.join();
    const first = await fresh.until(() => fresh.events.find((e) => ["created", "joined", "full"].includes(e.name)), 10_000, "take-over answer");
    if (first.name !== "joined") throw new Error(`${fresh.name}: ${first.name} on a take-over`);
    await other.until(() => ["bye", "join", "ready"].every((n) => other.events.slice(mark).some((e) => e.name === n)), 10_000, "bye+join+ready after a take-over");
    // The messages a stranded peer never got are not lost between live peers: it is gone.
    fresh.got = old.got;
    fresh.seq = old.seq;
    fresh.id = old.id;
    room.peers[slot] = fresh;
    counts.takeovers++;
    counts.joins++;
    await dispose(old);
  }

  async function roomLoop(room) {
    try {
      room.peers = [null, null];
      await seat(room, 0, await newPeer(room, token(random)));
      await seat(room, 1, await newPeer(room, token(random)));
      // Every room starts with one of each operation (so that a short run covers them all), then
      // picks at random: half exchanges, the rest spread over the faults.
      const first = [...ACTIONS];
      while (Date.now() < deadline && opsLeft > 0) {
        opsLeft--;
        const x = random();
        const action = first.shift() ?? (x < 0.5 ? "exchange" : ACTIONS[1 + Math.floor(((x - 0.5) / 0.5) * (ACTIONS.length - 1))]);
        counts.ops[action]++;
        const slot = random() < 0.5 ? 0 : 1;
        room.history.push(`${action}@${slot}[v${room.peers[0]?.eio}/v${room.peers[1]?.eio}]`);
        opts.trace?.(`${room.name}: ${room.history.at(-1)} (${room.peers[slot]?.name})`);
        if (room.history.length > 8) room.history.shift();
        if (action === "exchange") await exchange(room);
        else if (action === "resume") await resume(room, slot);
        else await depart(room, slot, action);
      }
    } catch (e) {
      error(`${room.name}: ${e.message}; last operations: ${room.history.join(" ")}`);
    }
  }

  const stamp = Date.now().toString(36);
  const rooms = Array.from({ length: nRooms }, (_, i) => ({ name: opts.roomNames?.[i] ?? `soak-${seed}-${i}-${stamp}`, peers: [null, null], history: [] }));
  log(`soak: ${nRooms} rooms for ${secs} s (at most ${maxOps} operations) ...`);
  const ticker = setInterval(() => log(`soak: ${JSON.stringify({ ops: counts.ops, sent: counts.sent, received: counts.received, errors: counts.errors })}`), 15_000);
  try {
    // Rooms start a little apart, so that the joins do not all come at once.
    await Promise.all(rooms.map((r, i) => sleep((i * 2000) / nRooms).then(() => roomLoop(r))));
  } finally {
    clearInterval(ticker);
  }

  // Everybody leaves; then every room must take a fresh pair.
  for (const r of rooms) for (const p of r.peers) if (p) p.close();
  await sleep(1000);
  for (const r of rooms) for (const p of r.peers) await dispose(p);
  for (const p of allProxies) await p.stop().catch(() => {});
  await Promise.all(
    rooms.map(async (r) => {
      const a = new WsPeer({ port, room: r.name, name: `${r.name}/fresh-a` });
      const b = new WsPeer({ port, room: r.name, name: `${r.name}/fresh-b` });
      try {
        await a.connect(10_000);
        a.join();
        const fa = await a.until(() => a.events.find((e) => ["created", "joined", "full"].includes(e.name)), 10_000, "fresh answer");
        await b.connect(10_000);
        b.join();
        const fb = await b.until(() => b.events.find((e) => ["created", "joined", "full"].includes(e.name)), 10_000, "fresh answer");
        if (fa.name === "created" && fb.name === "joined") counts.freshPairs++;
        else {
          counts.stuckSeats++;
          error(`${r.name}: a fresh pair got ${fa.name}, ${fb.name}`);
        }
      } catch (e) {
        counts.stuckSeats++;
        error(`${r.name}: fresh pair: ${e.message}`);
      } finally {
        a.close();
        b.close();
      }
    }),
  );
  await sleep(500);
  return counts;
}
