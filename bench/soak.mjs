// The churn soak (issue 11), as a script: not part of the test command (tests/soak.test.mjs runs
// a short version). Hundreds of rooms on bare workerd (the release build, as bench/run.sh runs
// it), each looping through relayed messages, leaves, reloads, resumes, kills and silent drops
// (bench/lib/soak.mjs) for a bounded time and number of operations; then every room must take a
// fresh pair, and the server's memory must come back to its idle level once the objects are gone.
//
//   node bench/soak.mjs [--rooms 200] [--secs 180] [--max-ops 50000] [--seed 1] [--eio 4|3|mixed]
//                       [--ping-interval 2000] [--ping-timeout 1500] [--dist DIR]
//
// Prints the counts (and exits 1 if any check failed). Only 127.0.0.1 is used.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep, WsPeer, seatPair } from "./lib/clients.mjs";
import { rssKb } from "./lib/proc.mjs";
import { ROOT, startWorkerd, stopAll, writeWorkerdConfig } from "./lib/servers.mjs";
import { soak } from "./lib/soak.mjs";

const argv = process.argv.slice(2);
const val = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const opts = {
  rooms: Number(val("--rooms", 200)),
  secs: Number(val("--secs", 180)),
  maxOps: Number(val("--max-ops", 50_000)),
  seed: Number(val("--seed", 1)),
  eio: val("--eio", "mixed") === "mixed" ? "mixed" : Number(val("--eio", 4)),
  pingInterval: Number(val("--ping-interval", 2000)),
  pingTimeout: Number(val("--ping-timeout", 1500)),
};
const tmp = mkdtempSync(path.join(os.tmpdir(), "signal-soak-"));
const log = (...a) => console.error("[soak]", ...a);
process.on("exit", () => {
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => process.exit(130));
// A hard bound on the whole script, whatever happens.
setTimeout(() => {
  log("time limit reached");
  process.exit(2);
}, (opts.secs + 300) * 1000).unref();

const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
const compatibilityDate = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)[1];
let dist = val("--dist", "");
if (!dist) {
  dist = path.join(tmp, "dist");
  log("wrangler deploy --dry-run ...");
  execFileSync(path.join(ROOT, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", dist], {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
}
const vars = { PING_INTERVAL: String(opts.pingInterval), PING_TIMEOUT: String(opts.pingTimeout) };
const server = await startWorkerd(writeWorkerdConfig(path.join(tmp, "w"), dist, { vars, compatibilityDate }));

// The idle level: after one throw-away call, once its object is gone.
{
  const a = new WsPeer({ port: server.port, room: "soak-warm" });
  const b = new WsPeer({ port: server.port, room: "soak-warm" });
  await seatPair(a, b);
  a.close();
  b.close();
  await sleep(15_000);
}
const memBefore = rssKb([server.pid]);
const t0 = Date.now();
const counts = await soak({ port: server.port, ...opts, log });
const took = (Date.now() - t0) / 1000;
const memPeakish = rssKb([server.pid]);
// workerd evicts an idle object after about 10 s; an empty room resets itself at once.
await sleep(20_000);
const memAfter = rssKb([server.pid]);
const out = { ...counts, secs: Number(took.toFixed(0)), memKb: { idleBefore: memBefore, atEnd: memPeakish, idleAfter: memAfter } };
const failed =
  counts.errors || counts.lost || counts.duplicated || counts.crossed || counts.stuckSeats || counts.freshPairs !== counts.rooms ||
  // Back to the idle level: within 10 % (and 16 MB) of it.
  memAfter > Math.max(memBefore * 1.1, memBefore + 16 * 1024);
console.log(JSON.stringify(out, null, 1));
console.log(failed ? "SOAK FAILED" : "soak passed: no stuck seats, no crossed, lost or duplicated messages, memory back to idle");
process.exit(failed ? 1 : 0);
