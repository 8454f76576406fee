// Platform floor on workerd: our room's design as a plain-JavaScript Durable Object, for the
// benchmark only. The contract's room events (Engine.IO v4 websockets) with the same platform
// machinery as our Rust build — Worker → one Durable Object per room, hibernatable websockets,
// state in attachments, one alarm per room for heartbeats, pongs answered by the platform
// (`setWebSocketAutoResponse`) — and the same work per relayed message as ours:
//
// - the Engine.IO and Socket.IO headers read (packet type, namespace, ack id), unknown packets
//   and a second connect refused;
// - the per-socket token bucket consulted (RATE_BURST / RATE_PER_SEC);
// - the payload validated as JSON (`JSON.parse`) no deeper than 128 levels, the event name a
//   string and not reserved, the frame no longer than MAX_PAYLOAD;
// - the frame forwarded as it arrived to the other seat, the sender's `Got message:` echo cut
//   from it.
//
// Not here: Engine.IO v3, long-polling, binary events, resume tokens, the seat grace and the
// pending cap. What it costs per message against ours is the cost of the wasm boundary and our
// glue (README "Performance"); what it costs per call is the platform's (bench/lib/cost.mjs).

const LOG = '42["log",[">>> Message from server: ",';
const RESERVED = new Set(["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]);
const sid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 20);
const num = (env, name, d) => (Number(env[name]) > 0 ? Number(env[name]) : d);

/** Whether `v` nests no deeper than `left` more levels. */
function shallow(v, left) {
  if (v === null || typeof v !== "object") return true;
  if (left === 0) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (!shallow(x, left - 1)) return false;
  } else {
    for (const k in v) if (!shallow(v[k], left - 1)) return false;
  }
  return true;
}

export class Room {
  // A plain class (not `extends DurableObject`), so that the benchmark's harness can hand it a
  // wrapped `ctx` (bench/wake-wrap.mjs).
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
    this.cfg = {
      pingInterval: num(env, "PING_INTERVAL", 25000),
      pingTimeout: num(env, "PING_TIMEOUT", 20000),
      maxPayload: num(env, "MAX_PAYLOAD", 65536),
      burst: num(env, "RATE_BURST", 200),
      perSec: num(env, "RATE_PER_SEC", 50),
    };
    // Pongs are the platform's to answer, so that they never wake the room (noop `6` back).
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("3", "6"));
    // Per-socket state in memory, rebuilt from the attachments after a wake (as ours does).
    this.state = new Map();
    for (const ws of ctx.getWebSockets()) this.state.set(ws, ws.deserializeAttachment());
    // The alarm as last written; unknown after a wake (the first change writes it again).
    this.alarmAt = undefined;
  }

  /** Rounds of pings (pingInterval + pingTimeout) / 2 apart, as ours while pongs are the platform's. */
  get round() {
    return (this.cfg.pingInterval + this.cfg.pingTimeout) / 2;
  }

  async fetch(request) {
    const room = new URL(request.url).searchParams.get("room");
    const pair = new WebSocketPair();
    const ws = pair[1];
    this.ctx.acceptWebSocket(ws);
    const now = Date.now();
    const me = { room, sid: sid(), seated: false, connected: false, lastPing: now, awaiting: false, tokens: this.cfg.burst, at: now };
    ws.serializeAttachment(me);
    this.state.set(ws, me);
    const { pingInterval, pingTimeout, maxPayload } = this.cfg;
    ws.send(`0{"sid":"${sid()}","upgrades":[],"pingInterval":${pingInterval},"pingTimeout":${pingTimeout},"maxPayload":${maxPayload}}`);
    this.syncAlarm(now);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(ws, msg) {
    const me = this.state.get(ws);
    if (!me) return ws.close(1002, "unknown session");
    if (typeof msg !== "string") return this.kick(ws, me, 1003, "binary not supported");
    if (msg.length > this.cfg.maxPayload) return this.kick(ws, me, 1009, "too big");
    const c0 = msg.charCodeAt(0);
    if (c0 === 51 /* 3 */ && msg.length === 1) {
      // A pong the platform did not take (never, while the auto-response is set).
      me.awaiting = false;
      return ws.serializeAttachment(me);
    }
    if (c0 !== 52 /* 4: Engine.IO message */) return this.kick(ws, me, 1002, "unexpected Engine.IO packet");
    const type = msg.charCodeAt(1);
    if (type === 48 /* 0: connect */) {
      if (me.connected || (msg.length > 2 && msg[2] !== "{")) return this.kick(ws, me, 1002, "bad connect");
      me.connected = true;
      ws.serializeAttachment(me);
      return ws.send(`40{"sid":"${me.sid}"}`);
    }
    if (type === 49 /* 1: disconnect */ && msg.length === 2 && me.connected) {
      // Leaving the namespace (a page's socket.io disconnect) is a departure; the socket stays.
      this.depart(ws, me);
      me.connected = false;
      return ws.serializeAttachment(me);
    }
    if (type !== 50 /* 2: event */ || !me.connected) return this.kick(ws, me, 1002, "unsupported packet");
    // Namespace (only `/`), then an optional ack id, then the JSON array.
    let i = 2;
    if (msg.charCodeAt(i) === 47 /* / */) return this.kick(ws, me, 1002, "namespace");
    while (i < msg.length && msg.charCodeAt(i) >= 48 && msg.charCodeAt(i) <= 57) i++;
    if (i - 2 > 15) return this.kick(ws, me, 1002, "bad ack id");
    // The token bucket (refilled for the time since the last packet).
    const now = Date.now();
    me.tokens = Math.min(this.cfg.burst, me.tokens + ((now - me.at) * this.cfg.perSec) / 1000);
    me.at = now;
    if (me.tokens < 1) return;
    me.tokens -= 1;
    const args = this.event(i === 2 ? msg.slice(2) : msg.slice(i));
    if (typeof args === "string") return this.kick(ws, me, 1002, args);
    const [name, arg] = args;
    if (name === "message") {
      if (!me.seated) return;
      for (const [o, st] of this.state) if (o !== ws && st.seated) o.send(msg);
      // The echo repeats the arguments as they stand in the frame.
      ws.send(`${LOG}"Got message:",${msg.slice(i + 11, -1)}]]`);
    } else if (name === "create or join") {
      this.createOrJoin(ws, me, arg);
    } else if (name === "bye") {
      this.depart(ws, me);
    }
  }

  /** An event's arguments (its JSON array) validated, or why they are refused. */
  event(json) {
    let args;
    try {
      args = JSON.parse(json);
    } catch {
      return "bad JSON";
    }
    if (!Array.isArray(args) || args.length === 0 || typeof args[0] !== "string" || RESERVED.has(args[0]) || !shallow(args, 128)) {
      return "bad event";
    }
    return args;
  }

  createOrJoin(ws, me, arg) {
    if (arg !== me.room || me.seated) return;
    const seated = [...this.state].filter(([o, st]) => o !== ws && st.seated).map(([o]) => o);
    const r = JSON.stringify(me.room);
    ws.send(`${LOG}"Room ${me.room} has ${seated.length} client(s)"]]`);
    ws.send(`${LOG}"Request to create or join room ${me.room}"]]`);
    if (seated.length >= 2) {
      ws.send(`42["full",${r}]`);
      ws.send("41");
      return ws.close(1000, "full");
    }
    me.seated = true;
    ws.serializeAttachment(me);
    if (seated.length === 0) return ws.send(`42["created",${r},"${me.sid}"]`);
    ws.send(`42["joined",${r},"${me.sid}"]`);
    ws.send(`42["ready",${r}]`);
    seated[0].send(`42["join",${r}]`);
    seated[0].send(`42["ready",${r}]`);
  }

  /** Frees a seat: the other seat gets `bye`. */
  depart(ws, me) {
    if (!me.seated) return;
    me.seated = false;
    ws.serializeAttachment(me);
    for (const [o, st] of this.state) if (o !== ws && st.seated) o.send(`42["bye",${JSON.stringify(me.room)}]`);
  }

  kick(ws, me, code, reason) {
    this.gone(ws, me);
    ws.close(code, reason);
  }

  gone(ws, me) {
    this.depart(ws, me);
    this.state.delete(ws);
    this.syncAlarm(Date.now());
  }

  webSocketClose(ws, code) {
    const me = this.state.get(ws);
    if (me) this.gone(ws, me);
    ws.close(code >= 1000 && code < 5000 && code !== 1005 && code !== 1006 ? code : 1000, "closed");
  }

  webSocketError(ws) {
    const me = this.state.get(ws);
    if (me) this.gone(ws, me);
  }

  /** Heartbeats: the previous round's pongs (platform timestamps), then a new round of pings. */
  alarm() {
    this.alarmAt = null;
    const now = Date.now();
    const { pingTimeout } = this.cfg;
    for (const [ws, me] of [...this.state]) {
      if (me.awaiting) {
        const pong = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0;
        if (pong >= me.lastPing && pong <= me.lastPing + pingTimeout) me.awaiting = false;
        else if (now >= me.lastPing + pingTimeout) {
          this.kick(ws, me, 1000, "ping timeout");
          continue;
        }
      }
      if (!me.awaiting && now >= me.lastPing + this.round / 2) {
        me.awaiting = true;
        me.lastPing = now;
        ws.serializeAttachment(me);
        ws.send("2");
      }
    }
    this.syncAlarm(now);
  }

  /** The alarm at the next round while sockets are open, none otherwise; written only on change. */
  syncAlarm(now) {
    const want = this.state.size ? Math.min(...[...this.state.values()].map((m) => m.lastPing + this.round)) : null;
    if (this.alarmAt !== undefined && (want === null ? this.alarmAt === null : this.alarmAt !== null && this.alarmAt <= want)) return;
    this.alarmAt = want;
    if (want === null) this.ctx.storage.deleteAlarm();
    else this.ctx.storage.setAlarm(Math.max(want, now));
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
