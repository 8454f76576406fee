// Platform probe: what workerd does with an alarm that the alarm handler sets for a time earlier
// than the one the running alarm was scheduled for. A plain-JS Durable Object per mode arms an
// alarm 200 ms ahead; its handler re-arms it (up to 9 times) at scheduled + d for d = -50, -1, 0, +1 ms
// and counts the runs (10 at most). Seen on workerd 2026-04-26 (three runs, 2026-12-01): -50 and
// -1 ran 1–2 times of 10 (the re-armed alarm is usually lost), 0 ran 3–6 times, +1 ran 10 of 10.
// This is why src/room_object/alarm.rs never sets the alarm earlier than a millisecond from now.
//
//   node bench/probes/alarm-earlier.mjs

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "../../lib/net.mjs";
import { WORKERD } from "../lib/servers.mjs";

const dir = mkdtempSync(path.join(os.tmpdir(), "alarm-probe-"));
mkdirSync(path.join(dir, "do"));
writeFileSync(
  path.join(dir, "probe.js"),
  `export class Probe {
  constructor(ctx) { this.ctx = ctx; this.runs = 0; }
  async fetch(req) {
    this.d = Number(new URL(req.url).searchParams.get("d"));
    this.at = Date.now() + 200;
    this.ctx.storage.setAlarm(this.at);
    return new Response("armed");
  }
  alarm() {
    this.runs++;
    console.log("probe d=" + this.d + " run " + this.runs);
    if (this.runs >= 10) return;
    this.at += this.d;
    this.ctx.storage.setAlarm(this.at);
  }
}
export default { fetch(req, env) { return env.P.get(env.P.idFromName(new URL(req.url).search)).fetch(req); } };
`,
);
const port = await freePort();
writeFileSync(
  path.join(dir, "config.capnp"),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w), (name = "d", disk = (path = ${JSON.stringify(path.join(dir, "do"))}, writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  compatibilityDate = "2026-04-20",
  modules = [ (name = "probe.js", esModule = embed "probe.js") ],
  durableObjectNamespaces = [ (className = "Probe", uniqueKey = "probe", enableSql = true) ],
  durableObjectStorage = (localDisk = "d"),
  bindings = [ (name = "P", durableObjectNamespace = "Probe") ],
);
`,
);
const child = spawn(WORKERD, ["serve", path.join(dir, "config.capnp"), "--experimental"], { stdio: ["ignore", "pipe", "pipe"] });
let out = "";
child.stdout.on("data", (d) => (out += d));
child.stderr.on("data", (d) => (out += d));
try {
  for (let i = 0; i < 50; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/?d=0`).then(() => true, () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const d of [-50, -1, 1]) await fetch(`http://127.0.0.1:${port}/?d=${d}`);
  await new Promise((r) => setTimeout(r, 4000));
  for (const d of [-50, -1, 0, 1]) {
    const runs = (out.match(new RegExp(`probe d=${d} run`, "g")) ?? []).length;
    console.log(`re-armed at scheduled ${d >= 0 ? "+" : ""}${d} ms inside the handler: the alarm ran ${runs} of 10 times`);
  }
} finally {
  child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
