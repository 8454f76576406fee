// `wrangler deploy --dry-run` packages the Worker offline; the upload size is printed.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { ROOT } from "./helpers.mjs";

test("wrangler deploy --dry-run succeeds, and the upload stays under 250 KiB gzip", async () => {
  const out = mkdtempSync(path.join(os.tmpdir(), "signal-dist-"));
  try {
    const { stdout, stderr } = await promisify(execFile)(
      path.join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", out],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false" }, timeout: 300_000, maxBuffer: 16 << 20 },
    );
    const text = stdout + stderr;
    const m = text.match(/Total Upload: ([\d.]+) KiB \/ gzip: ([\d.]+) KiB/);
    assert.ok(m, `no upload size in:\n${text}`);
    assert.match(text, /--dry-run: exiting now/);
    assert.match(text, /env\.ROOMS \(Room\)/);
    const files = readdirSync(out);
    const wasm = files.find((f) => f.endsWith(".wasm"));
    assert.ok(wasm, `no wasm in ${files}`);
    const wasmBytes = statSync(path.join(out, wasm)).size;
    const wasmGzip = gzipSync(readFileSync(path.join(out, wasm))).length;
    console.log(`upload: ${m[1]} KiB, gzip ${m[2]} KiB; wasm ${(wasmBytes / 1024).toFixed(1)} KiB, gzip ${(wasmGzip / 1024).toFixed(1)} KiB`);
    // The project's budget (issue 10): under 250 KiB gzip (the free plan allows 3 MiB).
    assert.ok(Number(m[2]) < 250, `gzip upload ${m[2]} KiB`);
    // What is uploaded has no wasm name section (scripts/build.sh strips it).
    assert.ok(!readFileSync(path.join(out, wasm)).includes(Buffer.from("\x04name")), "name section left in");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
