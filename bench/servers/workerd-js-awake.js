// The design that keeps the object awake, for the benchmark's cost comparison only: a plain-JS
// Durable Object that accepts its websockets with the standard API (`ws.accept()`, not the
// hibernation API) and sends Engine.IO v4 pings from a `setInterval` timer, checking each pong
// with a `setTimeout`, as a Node socket.io server does and as several public signalling servers
// on Durable Objects do. Either alone keeps the object in memory and billed for duration for the
// whole call ("Calling accept() on a WebSocket in an Object will incur duration charges for the
// entire time the WebSocket is connected"). Pongs reach the object as messages. Room events as
// bench/servers/workerd-js-relay.js, with less checking (it is measured for its bill, not its
// speed).

const LOG = '42["log",[">>> Message from server: ",';
const sid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 20);
const num = (env, name, d) => (Number(env[name]) > 0 ? Number(env[name]) : d);

export class Room {
  // A plain class (not `extends DurableObject`), so that the benchmark's harness can hand it a
  // wrapped `ctx` (bench/wake-wrap.mjs).
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.pingInterval = num(env, "PING_INTERVAL", 25000);
    this.pingTimeout = num(env, "PING_TIMEOUT", 20000);
    /** socket -> { room, sid, seated, connected, pongTimer } */
    this.sockets = new Map();
    this.timer = null;
    // Standard websockets have no handlers for the benchmark's harness to wrap: the object
    // prints the harness's line for each incoming message itself (bench/wake-wrap.mjs).
    this.log = env.LOG_WAKES === "1";
  }

  async fetch(request) {
    const room = new URL(request.url).searchParams.get("room");
    const pair = new WebSocketPair();
    const ws = pair[1];
    ws.accept();
    const me = { room, sid: sid(), seated: false, connected: false, pongTimer: null };
    this.sockets.set(ws, me);
    ws.addEventListener("message", (e) => this.onMessage(ws, me, e.data));
    ws.addEventListener("close", () => {
      if (this.log) console.log("bench-wrap close");
      this.gone(ws, me);
      ws.close(1000, "closed");
    });
    ws.addEventListener("error", () => this.gone(ws, me));
    ws.send(`0{"sid":"${sid()}","upgrades":[],"pingInterval":${this.pingInterval},"pingTimeout":${this.pingTimeout},"maxPayload":65536}`);
    this.timer ??= setInterval(() => this.pingAll(), this.pingInterval);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  pingAll() {
    for (const [ws, me] of this.sockets) {
      if (me.pongTimer) continue;
      ws.send("2");
      me.pongTimer = setTimeout(() => {
        this.gone(ws, me);
        ws.close(1000, "ping timeout");
      }, this.pingTimeout);
    }
  }

  onMessage(ws, me, msg) {
    if (this.log) console.log(`bench-wrap message ${typeof msg === "string" ? JSON.stringify(msg.slice(0, 2)) : "binary"}`);
    if (typeof msg !== "string") return;
    if (msg === "3") {
      clearTimeout(me.pongTimer);
      me.pongTimer = null;
      return;
    }
    if (msg === "40") {
      me.connected = true;
      return ws.send(`40{"sid":"${me.sid}"}`);
    }
    if (!msg.startsWith("42") || !me.connected) return ws.close(1002, "unsupported");
    let args;
    try {
      args = JSON.parse(msg.slice(2));
    } catch {
      return ws.close(1002, "bad JSON");
    }
    const [name, arg] = args;
    if (name === "message") {
      if (!me.seated) return;
      for (const [o, st] of this.sockets) if (o !== ws && st.seated) o.send(msg);
      ws.send(`${LOG}"Got message:",${msg.slice(13, -1)}]]`);
    } else if (name === "create or join" && arg === me.room && !me.seated) {
      const seated = [...this.sockets].filter(([o, st]) => o !== ws && st.seated).map(([o]) => o);
      const r = JSON.stringify(me.room);
      ws.send(`${LOG}"Room ${me.room} has ${seated.length} client(s)"]]`);
      ws.send(`${LOG}"Request to create or join room ${me.room}"]]`);
      if (seated.length >= 2) {
        ws.send(`42["full",${r}]`);
        return ws.close(1000, "full");
      }
      me.seated = true;
      if (seated.length === 0) return ws.send(`42["created",${r},"${me.sid}"]`);
      ws.send(`42["joined",${r},"${me.sid}"]`);
      ws.send(`42["ready",${r}]`);
      seated[0].send(`42["join",${r}]`);
      seated[0].send(`42["ready",${r}]`);
    } else if (name === "bye") {
      this.depart(ws, me);
    }
  }

  depart(ws, me) {
    if (!me.seated) return;
    me.seated = false;
    for (const [o, st] of this.sockets) if (o !== ws && st.seated) o.send(`42["bye",${JSON.stringify(me.room)}]`);
  }

  gone(ws, me) {
    if (!this.sockets.has(ws)) return;
    clearTimeout(me.pongTimer);
    this.depart(ws, me);
    this.sockets.delete(ws);
    if (this.sockets.size === 0) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }
}

export default {
  fetch(request, env) {
    const room = new URL(request.url).searchParams.get("room");
    if (!room || request.headers.get("Upgrade") !== "websocket") {
      return new Response('{"code":0,"message":"Transport unknown"}', { status: 400 });
    }
    return env.ROOMS.get(env.ROOMS.idFromName(room)).fetch(request);
  },
};
