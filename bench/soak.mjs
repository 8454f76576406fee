// The churn soak (issue 11), as a script: not part of the test command (tests/soak.test.mjs runs
// a short version). Hundreds of rooms on bare workerd (the release build, as bench/run.sh runs
// it), each looping through relayed messages, leaves, reloads, resumes, kills and silent drops
// (bench/lib/soak.mjs) for a bounded time and number of operations; then every room must take a
// fresh pair. The server's memory is reported against its idle level (see below).
//
//   node bench/soak.mjs [--rooms 200] [--secs 180] [--max-ops 50000] [--seed 1] [--eio 4|3|mixed]
//                       [--ping-interval 2000] [--ping-timeout 1500] [--dist DIR]
//
// Prints the counts (and exits 1 if any check failed). Only 127.0.0.1 is used.

import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep, WsPeer, seatPair } from "./lib/clients.mjs";
import { fdCount, rssKb } from "./lib/proc.mjs";
import { compatibilityDate, releaseBuild, startWorkerd, stopAll, writeWorkerdConfig } from "./lib/servers.mjs";
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

let dist = val("--dist", "");
if (!dist) {
  log("wrangler deploy --dry-run ...");
  dist = releaseBuild(path.join(tmp, "dist"), { stdio: ["ignore", "ignore", "inherit"] }).outdir;
}
const vars = { PING_INTERVAL: String(opts.pingInterval), PING_TIMEOUT: String(opts.pingTimeout) };
const server = await startWorkerd(writeWorkerdConfig(path.join(tmp, "w"), dist, { vars, compatibilityDate: compatibilityDate() }));

// The idle level: once every room of the soak has had one call and is empty again. workerd keeps
// memory for each object that ever ran and for each connection it ever took, after they are gone,
// for our object and a plain-JS one alike (bench/probes/churn-memory.mjs: 1,000 re-joins in 100
// rooms add about the same to both, 8–10 KB each). So the soak reports the memory beside the
// plain-JS object's rate and does not fail on it; every other count must be exact.
const roomNames = Array.from({ length: opts.rooms }, (_, i) => `soak-${opts.seed}-${i}-${Date.now().toString(36)}`);
const memFresh = rssKb([server.pid]);
for (let i = 0; i < roomNames.length; i += 10) {
  await Promise.all(
    roomNames.slice(i, i + 10).map(async (room) => {
      const a = new WsPeer({ port: server.port, room });
      const b = new WsPeer({ port: server.port, room });
      await seatPair(a, b);
      a.close();
      b.close();
    }),
  );
}
await sleep(20_000);
const memBefore = rssKb([server.pid]);
const fdsBefore = fdCount([server.pid]);
const t0 = Date.now();
const counts = await soak({ port: server.port, ...opts, roomNames, log });
const took = (Date.now() - t0) / 1000;
const memPeakish = rssKb([server.pid]);
// workerd evicts an idle object after about 10 s; an empty room resets itself at once.
await sleep(20_000);
const memAfter = rssKb([server.pid]);
const out = {
  ...counts,
  secs: Number(took.toFixed(0)),
  memKb: { fresh: memFresh, idleBefore: memBefore, atEnd: memPeakish, idleAfter: memAfter },
  // The server's open files at the end (sockets, and each object's SQLite files while open).
  fds: { idleBefore: fdsBefore, idleAfter: fdCount([server.pid]) },
};
out.memKb.perJoin = Number(((memAfter - memBefore) / Math.max(1, counts.joins)).toFixed(1));
const failed = counts.errors || counts.lost || counts.duplicated || counts.crossed || counts.stuckSeats || counts.freshPairs !== counts.rooms;
console.log(JSON.stringify(out, null, 1));
console.log(
  `memory: ${((memAfter - memBefore) / 1024).toFixed(1)} MB above the idle level after ${counts.joins} joins, ` +
    `${out.memKb.perJoin} KB per join, every socket and object gone (${out.fds.idleAfter} open files, ${out.fds.idleBefore} before); ` +
    "the platform keeps 8–10 KB per re-join for a plain-JS object too (bench/probes/churn-memory.mjs)",
);
console.log(failed ? "SOAK FAILED" : "soak passed: no stuck seats, no crossed, lost or duplicated messages, no error");
process.exit(failed ? 1 : 0);
