// The churn soak, short (bench/soak.mjs is the long one, not in the test command): a few rooms
// for well under a minute, each going through relayed messages, leaves, reloads, resumes (a new
// connection with a stranded seat's resume token), kills and silent drops (a TCP proxy that stops
// forwarding), v3 and v4 clients mixed in rooms. Asserts counts only, never speeds: no stuck
// seats (every room takes a fresh pair at the end), no message in the wrong room, none lost or
// duplicated between live peers, every departure one `bye`, every operation exercised.

import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { soak, ACTIONS } from "../bench/lib/soak.mjs";
import { startServer } from "./helpers.mjs";

describe("churn soak (short)", () => {
  let server;
  before(async () => {
    server = await startServer({ vars: { PING_INTERVAL: "1500", PING_TIMEOUT: "1000" } });
  });
  after(async () => {
    await server?.stop();
  });

  test("rooms under churn keep no stuck seat and lose, duplicate or cross no message", { timeout: 120_000 }, async () => {
    const counts = await soak({ port: server.port, rooms: 4, secs: 20, maxOps: 400, seed: 7, eio: "mixed", pingInterval: 1500, pingTimeout: 1000 });
    const report = JSON.stringify(counts, null, 1);
    for (const a of ACTIONS) assert.ok(counts.ops[a] >= counts.rooms, `every room ran ${a} at least once: ${report}`);
    assert.equal(counts.errors, 0, `no errors: ${report}`);
    assert.equal(counts.crossed, 0, `no message crossed rooms: ${report}`);
    assert.equal(counts.lost, 0, `no message lost between live peers: ${report}`);
    assert.equal(counts.duplicated, 0, `no message duplicated: ${report}`);
    assert.equal(counts.received, counts.sent, `every message sent arrived: ${report}`);
    assert.equal(counts.byes, counts.departures, `every departure gave its partner a bye: ${report}`);
    assert.equal(counts.stuckSeats, 0, `no stuck seat: ${report}`);
    assert.equal(counts.freshPairs, counts.rooms, `every room took a fresh pair: ${report}`);
  });
});
