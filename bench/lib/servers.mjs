// Starting and stopping the servers under test, each in its own process group.

import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");

export const WORKERD = path.join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd");
const WRANGLER = path.join(ROOT, "node_modules/.bin/wrangler");

/** wrangler.toml's `compatibility_date` (`date`) and its `[vars]` (`vars`), for the workerd configs. */
export function wranglerToml() {
  const text = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(text)?.[1];
  const vars = {};
  const block = text.split(/^\[vars\]\s*$/m)[1]?.split(/^\[/m)[0] ?? "";
  for (const m of block.matchAll(/^([A-Z_][A-Z0-9_]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/gm)) vars[m[1]] = m[2] ?? m[3];
  return { date, vars };
}

/** wrangler.toml's `compatibility_date`. */
export function compatibilityDate() {
  const { date } = wranglerToml();
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return date;
}

/**
 * The release build as `wrangler deploy --dry-run` uploads it, written to `outdir`; returns
 * `outdir` and wrangler's standard output when `stdio` pipes it (as for `execFileSync`; dropped
 * unless asked for).
 */
export function releaseBuild(outdir, { stdio = "ignore" } = {}) {
  const output = execFileSync(WRANGLER, ["deploy", "--dry-run", "--outdir", outdir], {
    cwd: ROOT,
    stdio,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
    timeout: 600_000,
  });
  return { outdir, output: output?.toString() ?? "" };
}

/**
 * CPU pinning (`taskset -c`): with `pin.server` set, every server process starts on those CPUs.
 * Set by bench/bench.mjs; off by default.
 */
export const pin = { server: "", driver: "" };

/** `cmd args` prefixed with `taskset -c cpus` when `cpus` is set. */
export function pinned(cpus, cmd, args) {
  return cpus ? ["taskset", ["-c", cpus, cmd, ...args]] : [cmd, args];
}

/** Every process group started here, so that anything still alive can be stopped on exit. */
const live = new Set();

// Shared with the tests (lib/net.mjs): a port the kernel says is free right now.
export { freePort } from "../../lib/net.mjs";
import { freePort } from "../../lib/net.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function httpStatus(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: urlPath, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("error", () => resolve(0));
    req.on("timeout", () => {
      req.destroy();
      resolve(0);
    });
  });
}

/**
 * Spawns `cmd args` in a new process group and waits until `port` answers `probe` with one of
 * `okStatus`. Returns `{ pid, port, stop(), output() }`.
 */
async function startProcess(name, cmd, args, { port, probe, okStatus, env = {}, cwd = ROOT, timeout = 60_000 }) {
  // taskset execs the command: the pid and process group stay the server's.
  [cmd, args] = pinned(pin.server, cmd, args);
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const keep = (d) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = null;
  const exitP = new Promise((r) => child.on("exit", (code, sig) => r((exited = { code, sig }))));
  const handle = {
    name,
    pid: child.pid,
    port,
    output: () => out,
    /** Clears the captured output (e.g. to count log lines from a point on). */
    mark: () => {
      out = "";
    },
    async stop() {
      if (exited === null) {
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {}
        await Promise.race([exitP, sleep(5000)]);
      }
      // The group may hold children that outlive the leader (wrangler's workerd).
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      live.delete(handle);
    },
  };
  live.add(handle);
  const deadline = Date.now() + timeout;
  for (;;) {
    if (exited !== null) {
      live.delete(handle);
      throw new Error(`${name} exited (${JSON.stringify(exited)}) before answering:\n${out.slice(-3000)}`);
    }
    const status = await httpStatus(port, probe);
    if (okStatus.includes(status)) break;
    if (Date.now() > deadline) {
      await handle.stop();
      throw new Error(`${name} did not answer on port ${port} within ${timeout} ms:\n${out.slice(-3000)}`);
    }
    await sleep(100);
  }
  return handle;
}

export function stopAll() {
  for (const h of live) {
    try {
      process.kill(-h.pid, "SIGKILL");
    } catch {}
  }
  live.clear();
}

// A request every server answers at once without opening a session (a transport no one has:
// 400 "Transport unknown"), so that waiting for a server to be up leaves nothing behind.
const PROBE = "/socket.io/?EIO=4&transport=probe&room=probe";

export async function startSocketIo(extra = []) {
  const port = await freePort();
  return startProcess("socket.io", process.execPath, [path.join(ROOT, "bench/servers/socketio.mjs"), "--port", String(port), ...extra], {
    port,
    probe: PROBE,
    okStatus: [400, 404, 200],
  });
}

export async function startFloor() {
  const port = await freePort();
  return startProcess("ws floor", process.execPath, [path.join(ROOT, "bench/servers/ws-floor.mjs"), "--port", String(port)], {
    port,
    probe: "/",
    okStatus: [404, 426, 200],
  });
}

/**
 * Copies the harness module bench/wake-wrap.mjs into `dir`, wrapping the module `inner`, and
 * returns its name.
 */
function copyWrap(dir, inner) {
  const text = readFileSync(path.join(ROOT, "bench/wake-wrap.mjs"), "utf8").replace(
    'from "./index.js";',
    `from "./${inner}";`,
  );
  writeFileSync(path.join(dir, "wake-wrap.mjs"), text);
  return "wake-wrap.mjs";
}

function capnpConfig({ dir, modules, className, uniqueKey, compatibilityDate, bindings, comment }) {
  return `# Generated by bench/lib/servers.mjs: ${comment}
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    (name = "do-disk", disk = (path = ${JSON.stringify(path.join(dir, "do"))}, writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "main") ],
);

const worker :Workerd.Worker = (
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  modules = [
    ${modules.join(",\n    ")}
  ],
  durableObjectNamespaces = [ (className = "${className}", uniqueKey = "${uniqueKey}", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [
    ${bindings.join(",\n    ")}
  ],
);
`;
}

const textBindings = (vars) => Object.entries(vars).map(([k, v]) => `(name = ${JSON.stringify(k)}, text = ${JSON.stringify(v)})`);

/**
 * Writes a workerd config for the release build in `distDir` (the output of
 * `wrangler deploy --dry-run --outdir`) into `dir`, and returns its path.
 *
 * The config mirrors wrangler.toml: the Worker with its modules, the `ROOMS` Durable Object
 * namespace (class `Room`, SQLite-backed, on local disk under `dir/do`), and the vars. No
 * ASSETS binding: the benchmark uses only `/socket.io/`, which never touches it.
 * With `wrap`, a harness module (bench/wake-wrap.mjs) becomes the entry point: it re-exports the
 * Worker and wraps `Room` to print one line per object construction, handler call and storage
 * operation, and the Worker to print one per request.
 */
export function writeWorkerdConfig(dir, distDir, { vars, wrap = false, compatibilityDate }) {
  mkdirSync(path.join(dir, "do"), { recursive: true });
  const modules = [];
  // The build's one JS module: entry.js, or index.js for builds before src/entry.mjs.
  const main = readdirSync(distDir).find((f) => f.endsWith(".js"));
  if (wrap) modules.push(`(name = "wake-wrap.mjs", esModule = embed "${copyWrap(dir, main)}")`);
  for (const f of readdirSync(distDir)) {
    if (f.endsWith(".js")) {
      copyFileSync(path.join(distDir, f), path.join(dir, f));
      modules.splice(wrap ? 1 : 0, 0, `(name = "${f}", esModule = embed "${f}")`);
    } else if (f.endsWith(".wasm")) {
      copyFileSync(path.join(distDir, f), path.join(dir, f));
      modules.push(`(name = "${f}", wasm = embed "${f}")`);
    }
  }
  const file = path.join(dir, "config.capnp");
  writeFileSync(
    file,
    capnpConfig({
      dir,
      modules,
      className: "Room",
      uniqueKey: "webrtc-signal-bench-Room",
      compatibilityDate,
      bindings: [`(name = "ROOMS", durableObjectNamespace = "Room")`, ...textBindings(vars)],
      comment: "the release build on bare workerd (no wrangler proxy).",
    }),
  );
  return file;
}

/**
 * The Wasm floors (bench/servers/workerd-js-floor.js): the frame copied in; copied and read;
 * copied in with the object's own JSON check of a relayed message skipped. As servers of the
 * benchmark and the profiler, `jsdo-<floor>`.
 */
export const FLOORS = ["read", "copy", "swap"];

/**
 * A workerd config for one of the plain-JS Durable Objects in bench/servers/: `file`
 * `workerd-js-relay.js` (the platform floor: our design, hibernation and alarm heartbeats, in
 * plain JS) or `workerd-js-awake.js` (timer-driven pings, no hibernation). `vars` become text
 * bindings; `wrap` as in `writeWorkerdConfig`. `floor` (one of `FLOORS`): the relay object
 * under workerd-js-floor.js, which first hands each message to a minimal Wasm module
 * (wasm-floor.wat, assembled here).
 */
export function writeJsRelayConfig(dir, compatibilityDate, { file = "workerd-js-relay.js", vars = {}, wrap = false, floor = null } = {}) {
  mkdirSync(path.join(dir, "do"), { recursive: true });
  copyFileSync(path.join(ROOT, "bench/servers", file), path.join(dir, "relay.js"));
  const modules = [`(name = "relay.js", esModule = embed "relay.js")`];
  if (floor) {
    if (!FLOORS.includes(floor)) throw new Error(`writeJsRelayConfig: unknown floor ${floor}`);
    if (wrap) throw new Error("writeJsRelayConfig: floor and wrap together are not supported");
    copyFileSync(path.join(ROOT, "bench/servers/workerd-js-floor.js"), path.join(dir, "floor.js"));
    const wasmAs = path.join(ROOT, "node_modules/binaryen/bin/wasm-as");
    execFileSync(wasmAs, ["--enable-reference-types", "--enable-simd", path.join(ROOT, "bench/servers/wasm-floor.wat"), "-o", path.join(dir, "floor.wasm")]);
    // The first module is the entry point.
    modules.unshift(`(name = "floor.js", esModule = embed "floor.js")`);
    modules.push(`(name = "floor.wasm", wasm = embed "floor.wasm")`);
    vars = { ...vars, FLOOR: floor };
  }
  if (wrap) modules.unshift(`(name = "wake-wrap.mjs", esModule = embed "${copyWrap(dir, "relay.js")}")`);
  const config = path.join(dir, "config.capnp");
  writeFileSync(
    config,
    capnpConfig({
      dir,
      modules,
      className: "Room",
      uniqueKey: `webrtc-signal-bench-js-${file}`,
      compatibilityDate,
      bindings: [`(name = "ROOMS", durableObjectNamespace = "Room")`, ...textBindings(vars)],
      comment: `the plain-JS Durable Object bench/servers/${file} on bare workerd.`,
    }),
  );
  return config;
}

export async function startWorkerd(configFile) {
  const port = await freePort();
  return startProcess("workerd", WORKERD, ["serve", configFile, "--experimental", `--socket-addr=http=127.0.0.1:${port}`], {
    port,
    probe: PROBE,
    okStatus: [400],
    cwd: path.dirname(configFile),
  });
}

export async function startWranglerDev(persistDir, vars = {}) {
  const port = await freePort();
  const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
  return startProcess(
    "wrangler dev",
    WRANGLER,
    [
      "dev",
      "--ip", "127.0.0.1",
      "--port", String(port),
      "--inspector-port", "0",
      "--persist-to", persistDir,
      "--show-interactive-dev-session=false",
      ...varArgs,
    ],
    {
      port,
      probe: PROBE,
      okStatus: [400],
      env: { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "1" },
      timeout: 120_000,
    },
  );
}

/** Every file under `dir`, as paths relative to it. */
function listFiles(dir, rel = "") {
  const out = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...listFiles(dir, r));
    else out.push(r);
  }
  return out;
}

/**
 * A workerd config for the whole site — the page from `public/` and our release build in
 * `distDir` — on bare workerd, for the time-to-call benchmark: bench/servers/workerd-site.js
 * plays the platform's assets router in front of the Worker and its `ASSETS` binding.
 */
export function writeSiteConfig(dir, distDir, { vars, compatibilityDate, publicDir = path.join(ROOT, "public") }) {
  mkdirSync(path.join(dir, "do"), { recursive: true });
  copyFileSync(path.join(ROOT, "bench/servers/workerd-site.js"), path.join(dir, "site.js"));
  const modules = [];
  for (const f of readdirSync(distDir)) {
    if (f.endsWith(".js")) {
      copyFileSync(path.join(distDir, f), path.join(dir, f));
      modules.unshift(`(name = "${f}", esModule = embed "${f}")`);
    } else if (f.endsWith(".wasm")) {
      copyFileSync(path.join(distDir, f), path.join(dir, f));
      modules.push(`(name = "${f}", wasm = embed "${f}")`);
    }
  }
  const files = JSON.stringify(JSON.stringify(listFiles(publicDir)));
  const site = (role) => `(
    compatibilityDate = ${JSON.stringify(compatibilityDate)},
    modules = [ (name = "site.js", esModule = embed "site.js") ],
    bindings = [
      (name = "ROLE", text = "${role}"),
      (name = "FILES", text = ${files}),
      (name = "DISK", service = "public"),${role === "router" ? '\n      (name = "APP", service = "app"),' : ""}
    ],
  )`;
  const capnp = `# Generated by bench/lib/servers.mjs: the site (page + Worker) on bare workerd.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "site", worker = ${site("router")}),
    (name = "assets", worker = ${site("assets")}),
    (name = "app", worker = .app),
    (name = "public", disk = (path = ${JSON.stringify(publicDir)})),
    (name = "do-disk", disk = (path = ${JSON.stringify(path.join(dir, "do"))}, writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:0", http = (), service = "site") ],
);

const app :Workerd.Worker = (
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  modules = [
    ${modules.join(",\n    ")}
  ],
  durableObjectNamespaces = [ (className = "Room", uniqueKey = "webrtc-signal-bench-site-Room", enableSql = true) ],
  durableObjectStorage = (localDisk = "do-disk"),
  bindings = [
    (name = "ROOMS", durableObjectNamespace = "Room"),
    (name = "ASSETS", service = "assets"),
    ${textBindings(vars).join(",\n    ")}
  ],
);
`;
  const file = path.join(dir, "config.capnp");
  writeFileSync(file, capnp);
  return file;
}

/** The codelab step-05 equivalent (bench/codelab/server.mjs): node + socket.io with defaults. */
export async function startCodelab() {
  const port = await freePort();
  return startProcess("codelab", process.execPath, [path.join(ROOT, "bench/codelab/server.mjs"), "--port", String(port)], {
    port,
    probe: "/",
    okStatus: [200],
  });
}
