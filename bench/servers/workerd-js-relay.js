// Platform floor on workerd: the room events of CONTRACT.md as a plain-JavaScript Durable Object
// with hibernatable websockets (the same platform machinery as our Rust build: Worker → Durable
// Object per room, acceptWebSocket, webSocketMessage, attachments), minus everything else: no
// heartbeats or alarms, no limits, no checks beyond JSON.parse of each event (which socket.io
// does too). Benchmark use only: it shows how much of our cost per message is the platform's.
import { DurableObject } from "cloudflare:workers";

const LOG = '42["log",[">>> Message from server: ",';
const sid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 20);

export class Room extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    // Per-socket state in memory, rebuilt from the attachments after a wake (as ours does).
    this.state = new Map();
    for (const ws of ctx.getWebSockets()) this.state.set(ws, ws.deserializeAttachment());
  }

  async fetch(request) {
    const room = new URL(request.url).searchParams.get("room");
    const pair = new WebSocketPair();
    const ws = pair[1];
    this.ctx.acceptWebSocket(ws);
    const me = { room, sid: sid(), seated: false };
    ws.serializeAttachment(me);
    this.state.set(ws, me);
    ws.send(`0{"sid":"${sid()}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":65536}`);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }

  webSocketMessage(ws, msg) {
    if (typeof msg !== "string" || msg === "3") return;
    const me = this.state.get(ws);
    if (!me) return ws.close(1002, "unknown session");
    if (msg === "40") return ws.send(`40{"sid":"${me.sid}"}`);
    if (!msg.startsWith("42")) return ws.close(1002, "unsupported");
    const [name, arg] = JSON.parse(msg.slice(2));
    if (name === "message") {
      if (!me.seated) return;
      for (const [o, st] of this.state) if (o !== ws && st.seated) o.send(msg);
      ws.send(`${LOG}"Got message:",${msg.slice(13, -1)}]]`);
    } else if (name === "create or join" && arg === me.room && !me.seated) {
      const seated = [...this.state].filter(([o, st]) => o !== ws && st.seated).map(([o]) => o);
      const r = JSON.stringify(me.room);
      ws.send(`${LOG}"Room ${me.room} has ${seated.length} client(s)"]]`);
      ws.send(`${LOG}"Request to create or join room ${me.room}"]]`);
      if (seated.length >= 2) return ws.send(`42["full",${r}]`);
      me.seated = true;
      ws.serializeAttachment(me);
      if (seated.length === 0) return ws.send(`42["created",${r},"${me.sid}"]`);
      ws.send(`42["joined",${r},"${me.sid}"]`);
      ws.send(`42["ready",${r}]`);
      seated[0].send(`42["join",${r}]`);
      seated[0].send(`42["ready",${r}]`);
    }
  }

  webSocketClose(ws) {
    this.state.delete(ws);
    ws.close(1000, "closed");
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
