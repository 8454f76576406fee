// Benchmark harness only (never deployed): the entry module of the idle-wake measurement. It
// re-exports the release Worker unchanged and wraps its `Room` Durable Object class so that every
// construction of the object (a wake from hibernation or eviction) and every handler call prints
// one line `bench-wrap <kind> [detail]` on workerd's stdout. The product's own wake lines, once
// it has them, are counted separately (see bench/lib/wake.mjs).
import { Room as Inner } from "./index.js";
export { default } from "./index.js";

export class Room {
  constructor(state, env) {
    console.log("bench-wrap new");
    this.inner = new Inner(state, env);
  }
  fetch(request) {
    console.log("bench-wrap fetch");
    return this.inner.fetch(request);
  }
  webSocketMessage(ws, message) {
    const what = typeof message === "string" ? JSON.stringify(message.slice(0, 2)) : "binary";
    console.log(`bench-wrap message ${what}`);
    return this.inner.webSocketMessage(ws, message);
  }
  webSocketClose(ws, code, reason, wasClean) {
    console.log("bench-wrap close");
    return this.inner.webSocketClose(ws, code, reason, wasClean);
  }
  webSocketError(ws, error) {
    console.log("bench-wrap error");
    return this.inner.webSocketError(ws, error);
  }
  alarm(info) {
    console.log("bench-wrap alarm");
    return this.inner.alarm(info);
  }
}
