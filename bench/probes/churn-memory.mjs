// Platform probe: does the server's memory grow under churn in the same rooms, for our build and
// for a plain-JS Durable Object alike? N rooms × 2 peers on bare workerd; then rounds in which
// every room's second peer leaves (close frame, or `kill`: TCP dropped) and a new one joins, ten
// times per room per round; the server's RSS after each round (and 3 s of calm).
//
//   node bench/probes/churn-memory.mjs [ours|jsdo] [N=100] [rounds=5] [close|kill] [DIST]
//
// DIST: a `wrangler deploy --dry-run --outdir` directory (ours only; made here when missing).
// Seen on workerd 2026-04-26 (2026-12-01, 100 rooms, 5 rounds of 1,000 re-joins, close):
// ours 108.5 → 149.3 MB, the plain-JS object 89.8 → 138.4 MB. Both grow by about the same,
// about 8–10 KB per re-join: the runtime's, not the object's (the churn soak, bench/soak.mjs,
// therefore reports memory beside this probe's figures rather than failing on it).

import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { sleep, WsPeer, seatPair } from "../lib/clients.mjs";
import { rssKb } from "../lib/proc.mjs";
import { compatibilityDate, releaseBuild, startWorkerd, stopAll, writeJsRelayConfig, writeWorkerdConfig } from "../lib/servers.mjs";

const [kind = "ours", n = "100", r = "5", how = "close", distArg = ""] = process.argv.slice(2);
const N = Number(n);
const rounds = Number(r);
const compat = compatibilityDate();
const tmp = mkdtempSync(path.join(os.tmpdir(), "churn-probe-"));
const vars = { PING_INTERVAL: "2000", PING_TIMEOUT: "1500" };
let dist = distArg;
if (kind === "ours" && !dist) {
  dist = releaseBuild(path.join(tmp, "dist")).outdir;
}
const config =
  kind === "ours"
    ? writeWorkerdConfig(path.join(tmp, "w"), dist, { vars, compatibilityDate: compat })
    : writeJsRelayConfig(mkdtempSync(path.join(tmp, "js-")), compat, { vars });
const server = await startWorkerd(config);
try {
  const as = [];
  const bs = [];
  for (let i = 0; i < N; i++) {
    const a = new WsPeer({ port: server.port, room: `churn-${i}` });
    const b = new WsPeer({ port: server.port, room: `churn-${i}` });
    await seatPair(a, b);
    as.push(a);
    bs.push(b);
  }
  await sleep(3000);
  const rss = [rssKb([server.pid])];
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < 10; k++) {
      await Promise.all(
        bs.map(async (b, i) => {
          if (how === "kill") b.kill();
          else b.close();
          await as[i].until(() => as[i].has("bye"), 10_000, "bye");
          as[i].events.length = 0;
          const next = new WsPeer({ port: server.port, room: `churn-${i}` });
          await next.connect();
          next.join();
          await next.until(() => next.has("joined"), 10_000, "joined");
          bs[i] = next;
        }),
      );
    }
    await sleep(3000);
    rss.push(rssKb([server.pid]));
  }
  console.log(`${kind} (${how}), ${N} rooms: RSS (MB) at the start and after each round of ${N * 10} re-joins: ${rss.map((x) => (x / 1024).toFixed(1)).join(" ")}`);
} finally {
  await server.stop();
  stopAll();
}
