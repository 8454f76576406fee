// The module wrangler uploads (wrangler.toml `main`; scripts/build.sh copies it beside the build
// as entry.mjs): the Worker as worker-build made it, and the `Room` Durable Object class, a plain
// class around the room's Wasm half (`WasmRoom`, src/room_object/mod.rs).
//
// Why not worker-build's own export of the class: for panic recovery it wraps each exported
// class in a Proxy whose `get` makes a new Proxy of the method on every call. A room handles
// each websocket message through one such call, and the benchmark measured that wrapper at about
// 1.5 % of the relay's CPU (README, "Relay CPU against the platform floor"). This class keeps the
// same recovery with plain methods:
//
// - A Rust panic (or any trap) leaves the Wasm module crashed: workers-rs's panic hook sets
//   `criticalError` (as this class does for what escapes a room, see `crashed`), and the
//   generated glue resets the module at the start of the next call into it.
// - Before a room touches the module again, `recover` makes that next call one that carries no
//   pointer into the old memory (`WasmRoom.recover`, which does nothing); the reset counts up
//   `instanceId`.
// - A room made before the reset is made again (`WasmRoom.open`), and rebuilds itself from its
//   sockets' attachments and its storage, as after hibernation: no websocket session is lost (a
//   long-polling GET held at the time is: its client reconnects after its heartbeat timeout).
//
// The Worker's own entry point keeps worker-build's wrapper (one call per HTTP request, and it
// resets the module too if a crash happened there first).

import worker, { WasmRoom } from "./index.js";

export default worker;

/** Shared with the Wasm module (workers-rs's `init.rs`): `criticalError`, `instanceId`. */
const init = globalThis.__worker_init_state;
if (init === undefined) throw new Error("workers-rs init state missing: recovery would not work");

function recover() {
  if (init.criticalError) {
    init.criticalError = false;
    WasmRoom.recover();
  }
}

/**
 * `e` escaped a call into the module: a trap (a panic ends in one) crashed it. So did anything
 * at all from a handler that returns nothing (`always`): only `fetch` returns errors, after the
 * call; any other exception there came through the module from a JS call and left it crashed too.
 */
function crashed(e, always = true) {
  if (always || e instanceof WebAssembly.RuntimeError) init.criticalError = true;
  return e;
}

export class Room {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.open();
  }

  open() {
    recover();
    this.instance = init.instanceId;
    try {
      this.wasm = WasmRoom.open(this.ctx, this.env);
    } catch (e) {
      throw crashed(e);
    }
  }

  /** The Wasm room, made again if the module was reset since. */
  live() {
    if (init.criticalError || this.instance !== init.instanceId) this.open();
    return this.wasm;
  }

  fetch(request) {
    const room = this.live();
    try {
      const answer = room.fetch(request);
      return answer instanceof Promise ? answer.catch((e) => Promise.reject(crashed(e, false))) : answer;
    } catch (e) {
      throw crashed(e, false);
    }
  }

  // The hot path (every websocket message): spelled out, no dispatch by name; the clock read
  // here, where it costs no call out of the module.
  webSocketMessage(ws, message) {
    const room = this.live();
    try {
      room.webSocketMessage(ws, message, Date.now());
    } catch (e) {
      throw crashed(e);
    }
  }

  webSocketClose(ws, code, reason, wasClean) {
    callVoid(this.live(), "webSocketClose", ws, code, reason, wasClean);
  }

  webSocketError(ws, error) {
    callVoid(this.live(), "webSocketError", ws, error);
  }

  alarm() {
    callVoid(this.live(), "alarm");
  }
}

/** Handler `name` of Wasm room `room`, one that returns nothing. */
function callVoid(room, name, ...args) {
  try {
    room[name](...args);
  } catch (e) {
    throw crashed(e);
  }
}
