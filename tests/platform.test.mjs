// What the platform itself does, shown with a minimal plain-JS Durable Object on the same workerd
// (tests/fixtures/plain-js-room), where the contract asks for something the platform decides.

import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import WebSocket from "ws";
import { ROOT, startServer, waitFor } from "./helpers.mjs";

describe("the platform, seen from a plain-JS Durable Object", () => {
  let server;
  before(async () => {
    server = await startServer({ args: ["--config", path.join(ROOT, "tests/fixtures/plain-js-room/wrangler.toml")] });
  });
  after(async () => server?.stop());

  /** Sends text frames with these raw bytes; resolves what the object says it received, and how the socket ended. */
  async function received(...payloads) {
    const ws = new WebSocket(`${server.wsUrl}/`);
    const got = [];
    let closed = null;
    ws.on("message", (d) => got.push(JSON.parse(d.toString())));
    ws.on("close", (code) => (closed = code));
    await new Promise((resolve, reject) => (ws.once("open", resolve), ws.once("error", reject)));
    for (const p of payloads) ws.send(p, { binary: false });
    await waitFor(() => got.length === payloads.length, { what: "the object's answers" });
    const stillOpen = closed === null;
    ws.close();
    return { got, stillOpen };
  }

  test("a text frame that is not valid UTF-8 reaches webSocketMessage as a string with U+FFFD, indistinguishable from a real U+FFFD, and the platform does not close", async () => {
    const { got, stillOpen } = await received(
      Buffer.from([0x34, 0x32, 0xff, 0xfe]), // "42" + two invalid bytes
      Buffer.from([0x34, 0x32, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd]), // "42" + two real U+FFFD
    );
    assert.deepEqual(got[0], { type: "string", units: [0x34, 0x32, 0xfffd, 0xfffd] });
    assert.deepEqual(got[1], got[0], "the object cannot tell the two apart");
    assert.ok(stillOpen, "the platform sent no close (no 1007)");
  });
});
