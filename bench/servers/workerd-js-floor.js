// The floor under any Durable Object room written for Wasm, for the benchmark only: the
// plain-JS object (workerd-js-relay.js, as `relay.js`) with one call into a minimal Wasm module
// (wasm-floor.wat) before it handles each websocket message. With FLOOR = "copy" the call copies
// the frame into the module's memory (`TextEncoder.encodeInto`, as our room does); with "read"
// the module also looks at every byte once (sixteen at a time). The module decides nothing, so
// what this object costs above the plain one is what a room in Wasm pays before any work of its
// own: the crossing into Wasm, the frame's copy, and one pass over it (bench/bench.mjs, "floor").
// With "swap" the call copies the frame, and the object then skips its own JSON validation of a
// relayed message (`JSON.parse` and the depth check): a room whose validation in Wasm cost
// nothing, and whose other work cost what it costs in JS. Below the plain object only by what
// `JSON.parse` costs more than the crossing and the copy.

import worker, { Room as PlainRoom } from "./relay.js";
import floorModule from "./floor.wasm";

export default worker;

const encoder = new TextEncoder();
let view = null;
const floor = new WebAssembly.Instance(floorModule, {
  floor: {
    copyIn(message, at, room) {
      if (typeof message !== "string") return 0;
      if (view === null) view = new Uint8Array(floor.exports.memory.buffer, at, room);
      return encoder.encodeInto(message, view).written;
    },
  },
});
let seen = 0;

/** What a relayed message's arguments are taken to be in the "swap" floor. */
const MESSAGE = Object.freeze(["message"]);

export class Room extends PlainRoom {
  constructor(ctx, env) {
    super(ctx, env);
    this.read = env.FLOOR === "read" ? 1 : 0;
    this.swap = env.FLOOR === "swap";
  }

  event(json) {
    // Every other event (joins, once per room) validated as the plain object does.
    return this.swap && json.startsWith('["message",') ? MESSAGE : super.event(json);
  }

  webSocketMessage(ws, message) {
    // Kept, so that the call is not optimized away.
    seen ^= floor.exports.frame(ws, message, this.read);
    return super.webSocketMessage(ws, message);
  }
}
