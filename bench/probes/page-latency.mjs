// How long a person on a slow link waits before the room page holds its seat: our page now
// against an earlier commit's page, side by side in one run, on a network with added latency.
//
//   bash bench/page-at.sh HEAD~1 /tmp/page-before
//   node bench/probes/page-latency.mjs --before-page /tmp/page-before [--latency 100] [--trials 8] [--dist DIR]
//
// Both pages are served with the same release build (`--dist`, or a fresh `wrangler deploy
// --dry-run`) by the whole site on bare workerd (bench/servers/workerd-site.js), ICE_SERVERS=[].
// Each trial opens a fresh room in a fresh Chromium context whose network Chromium slows down by
// `--latency` ms per request (DevTools `Network.emulateNetworkConditions`; loopback otherwise);
// the pages alternate. Measured in the page, from navigation start: the last of the page's
// scripts loaded (resource timings), and the page seated alone (`body[data-phase]` `waiting`).
// Prints the medians and ranges for each page and the ratio of the medians.

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS } from "../../lib/chromium.mjs";
import { compatibilityDate, releaseBuild, startWorkerd, stopAll, writeSiteConfig } from "../lib/servers.mjs";
import { median } from "../lib/stats.mjs";

const argv = process.argv.slice(2);
const val = (f, d) => (argv.includes(f) ? argv[argv.indexOf(f) + 1] : d);
const beforePage = val("--before-page", "");
const latency = Number(val("--latency", 100));
const trials = Number(val("--trials", 8));
if (!beforePage || !existsSync(beforePage)) {
  console.error("usage: node bench/probes/page-latency.mjs --before-page DIR (bash bench/page-at.sh REV DIR)");
  process.exit(2);
}
const tmp = mkdtempSync(path.join(os.tmpdir(), "page-latency-"));
process.on("exit", () => {
  stopAll();
  rmSync(tmp, { recursive: true, force: true });
});

const dist = val("--dist", "") || releaseBuild(path.join(tmp, "dist")).outdir;
const startSite = (publicDir) =>
  startWorkerd(writeSiteConfig(mkdtempSync(path.join(tmp, "site-")), dist, { vars: { ICE_SERVERS: "[]" }, compatibilityDate: compatibilityDate(), publicDir }));

const sites = [
  { label: "this checkout's page (public/)", server: await startSite(undefined), runs: [] },
  { label: `the page in ${beforePage}`, server: await startSite(path.resolve(beforePage)), runs: [] },
];
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });

/** One page load in a fresh context: { scripts, seated } in ms after navigation start. */
async function trial(site, n) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send("Network.enable");
    await cdp.send("Network.emulateNetworkConditions", { offline: false, latency, downloadThroughput: -1, uploadThroughput: -1 });
    await page.goto(`http://127.0.0.1:${site.server.port}/r/latency-${n}-${Date.now()}`, { waitUntil: "commit", timeout: 30_000 });
    await page.waitForFunction(() => document.body?.dataset.phase === "waiting", null, { timeout: 30_000, polling: 5 });
    return await page.evaluate(() => {
      const scripts = performance.getEntriesByType("resource").filter((e) => e.name.endsWith(".js"));
      return { scripts: Math.max(...scripts.map((e) => e.responseEnd)), seated: performance.now(), count: scripts.length };
    });
  } finally {
    await context.close();
  }
}

try {
  await trial(sites[0], -1); // warm-up: each server's isolate, the browser's
  await trial(sites[1], -2);
  for (let i = 0; i < trials; i++) {
    for (const site of i % 2 ? [...sites].reverse() : sites) site.runs.push(await trial(site, i));
  }
} finally {
  await browser.close();
}

const fmt = (xs) => `${median(xs).toFixed(0)} ms (${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)})`;
console.log(`# ${new Date().toISOString()}, ${os.cpus()[0].model}, ${os.cpus().length} cores; Chromium latency +${latency} ms per request, ${trials} trials each`);
for (const s of sites) {
  console.log(`${s.label}: ${s.runs[0].count} scripts, all loaded ${fmt(s.runs.map((r) => r.scripts))}; seated alone ${fmt(s.runs.map((r) => r.seated))}`);
}
const ratio = (k) => (median(sites[0].runs.map((r) => r[k])) / median(sites[1].runs.map((r) => r[k]))).toFixed(2);
console.log(`this page ÷ the other: scripts loaded ${ratio("scripts")}×, seated ${ratio("seated")}×`);
process.exit(0);
