// Network helpers shared by the tests (tests/helpers.mjs re-exports them) and the benchmark
// (bench/): free ports, listening on one, whether a port listens, bounded condition waits, and a
// start tried twice.

import net from "node:net";

/** A port the kernel says is free right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts `server` (a `net` or `http` server) on a free port of 127.0.0.1; its port. */
export function listenOnLoopback(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve(server.address().port));
  });
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export function isListening(port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => (sock.destroy(), resolve(true)));
    sock.once("error", () => resolve(false));
  });
}

/**
 * `start()`'s result, or, should it reject, that of one more `start()`, saying why on stderr
 * (`what`: what did not start). For browsers, whose start can time out on a loaded machine.
 */
export async function startTwice(what, start) {
  try {
    return await start();
  } catch (err) {
    console.error(`[start] ${what} did not start (${err?.message ?? err}); starting it once more`);
    return start();
  }
}

const FATAL = Symbol("fatal");

/** An error that ends a `waitFor` at once instead of being retried. */
export function fatal(message) {
  return Object.assign(new Error(message), { [FATAL]: true });
}

/**
 * Polls `check` (sync or async) until it returns a truthy value; fails after `timeout` ms. An
 * error `check` throws is retried, unless made by `fatal()`: that one ends the wait at once (a
 * server process that exited will not start answering).
 */
export async function waitFor(check, { timeout = 10_000, interval = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let lastError;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      if (e?.[FATAL]) throw e;
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
