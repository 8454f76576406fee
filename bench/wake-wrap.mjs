// Benchmark harness only (never deployed): the entry module of the wake and call-cost
// measurements (bench/lib/wake.mjs, bench/lib/cost.mjs). It re-exports a Worker unchanged — our
// release build, or one of the plain-JS objects in bench/servers/ — and wraps its `Room`
// Durable Object class and its Worker so that everything the platform bills prints one line
// `bench-wrap <kind> [detail…]` on workerd's stdout:
//
// - `worker <method> <transport>`: a request to the Worker (billed as a Workers request);
// - `new`: the object was constructed (a wake from hibernation or eviction, or its creation);
// - `fetch <ws|probe|poll-open|poll-get|poll-post>`, `message "<first 2 chars>"`, `close`,
//   `error`, `alarm`: a handler call (a request to the object; incoming websocket messages are
//   billed 20:1);
// - `span <kind> <start> <end>`: a handler that returned a promise, with `Date.now()` when it
//   was called and when the promise settled (a held long-polling GET keeps the object awake for
//   that whole time). workerd's clock does not advance during synchronous code, so synchronous
//   handlers get no span: their cost is measured as the server's CPU time;
// - `storage setAlarm|deleteAlarm`, `storage sql <rowsWritten> <rowsRead>`: storage operations
//   (billed as rows written/read; "each setAlarm() is billed as a single row written"), seen by
//   wrapping the `state.storage` the object is given.
//
// The module the wrap imports is named in the line below; bench/lib/servers.mjs rewrites it to
// the module it wraps (the build's `./entry.js`, or `./relay.js` for the plain-JS object).
import Worker, { Room as Inner } from "./index.js";

const say = (line) => console.log(`bench-wrap ${line}`);

/** With the var WRAP_IDS=1, each object's lines end with `@<its id, 8 hex digits>`. */
let ids = false;

/** What a `/socket.io/` request is, from its method, query and headers. */
function kindOf(request) {
  const url = new URL(request.url);
  const q = url.searchParams;
  if (request.headers.get("Upgrade")?.toLowerCase() === "websocket") return q.get("sid") ? "probe" : "ws";
  if (!q.get("sid")) return "poll-open";
  return request.method === "POST" ? "poll-post" : "poll-get";
}

/** Binds the functions of a platform object to it, so that they work through a Proxy. */
function bound(target, prop) {
  const v = Reflect.get(target, prop, target);
  return typeof v === "function" ? v.bind(target) : v;
}

/** `state`, with `storage` (alarms, SQL) counted. */
function countedState(state, say) {
  const storage = state.storage;
  let sql = null;
  const countedSql = () =>
    (sql ??= new Proxy(storage.sql, {
      get(target, prop) {
        if (prop !== "exec") return bound(target, prop);
        return (...args) => {
          const cursor = target.exec(...args);
          // A statement that is not a query has run to completion by now.
          say(`storage sql ${cursor.rowsWritten ?? "?"} ${cursor.rowsRead ?? "?"}`);
          return cursor;
        };
      },
    }));
  const countedStorage = new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") return countedSql();
      if (prop === "setAlarm" || prop === "deleteAlarm") {
        return (...args) => {
          // setAlarm's time, as milliseconds from now (workerd's clock), for diagnosis.
          const at = prop === "setAlarm" ? ` ${Number(args[0] instanceof Date ? args[0].getTime() : args[0]) - Date.now()}` : "";
          say(`storage ${prop}${at}`);
          return target[prop](...args);
        };
      }
      return bound(target, prop);
    },
  });
  return new Proxy(state, {
    get(target, prop) {
      return prop === "storage" ? countedStorage : bound(target, prop);
    },
  });
}

/** Calls `f`; a promise it returns gets a `span` line when it settles. */
function traced(say, kind, f) {
  const start = Date.now();
  const out = f();
  if (out && typeof out.then === "function") {
    const end = () => say(`span ${kind} ${start} ${Date.now()}`);
    out.then(end, end);
  }
  return out;
}

export class Room {
  constructor(state, env) {
    ids = env.WRAP_IDS === "1";
    const tag = ids ? ` @${state.id.toString().slice(0, 8)}` : "";
    this.say = (line) => say(line + tag);
    this.say("new");
    this.inner = new Inner(countedState(state, this.say), env);
  }
  fetch(request) {
    const kind = kindOf(request);
    this.say(`fetch ${kind}${ids ? ` room=${new URL(request.url).searchParams.get("room")}` : ""}`);
    return traced(this.say, kind, () => this.inner.fetch(request));
  }
  webSocketMessage(ws, message) {
    const what = typeof message === "string" ? JSON.stringify(message.slice(0, 2)) : "binary";
    this.say(`message ${what}`);
    return traced(this.say, "message", () => this.inner.webSocketMessage(ws, message));
  }
  webSocketClose(ws, code, reason, wasClean) {
    this.say("close");
    return traced(this.say, "close", () => this.inner.webSocketClose(ws, code, reason, wasClean));
  }
  webSocketError(ws, error) {
    this.say("error");
    return traced(this.say, "error", () => this.inner.webSocketError?.(ws, error));
  }
  alarm(info) {
    this.say("alarm");
    return traced(this.say, "alarm", () => this.inner.alarm(info));
  }
}

/** The Worker, with each request counted. */
export default {
  fetch(request, env, ctx) {
    const url = new URL(request.url);
    const upgrade = request.headers.get("Upgrade")?.toLowerCase() === "websocket";
    say(`worker ${request.method} ${url.searchParams.get("transport") ?? url.pathname}${upgrade ? " upgrade" : ""}`);
    // Our build's default export is a WorkerEntrypoint class, the plain-JS ones an object.
    if (typeof Worker === "function") return new Worker(ctx, env).fetch(request);
    return Worker.fetch(request, env, ctx);
  },
};
