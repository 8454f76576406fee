// Debian's Chromium driven by playwright-core, as the browser tests (tests/browser-helpers.mjs
// re-exports this) and the benchmark's time-to-call measurement (bench/call-time.mjs) launch it.

import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { startTwice } from "./net.mjs";

export const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing() {
  return existsSync(CHROMIUM)
    ? null
    : `Chromium not found at ${CHROMIUM}: install Debian's chromium package (apt-get install -y chromium), ` +
        "or set CHROMIUM_PATH, to run the browser tests";
}

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--use-fake-ui-for-media-stream",
  "--use-fake-device-for-media-stream",
  // With no network but loopback (CI sandboxes, `unshare -n`), Chromium gathers no host ICE
  // candidates at all unless loopback is allowed; the call then never connects.
  "--allow-loopback-in-peer-connection",
];

/**
 * One Chromium process (one "person's" browser). Never downloads a browser. A Chromium that does
 * not start is started once more, saying why on stderr (a clean-clone CI run's relay suite failed
 * 9.9 s into its start, beside three `wrangler dev`s starting; of what it started, only a failed
 * launch ends that soon).
 */
export function launchChromium() {
  const options = { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 };
  return startTwice("Chromium", () => chromium.launch(options));
}
