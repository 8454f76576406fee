#!/usr/bin/env bash
# The wrangler [build] command: compiles the Worker to build/ and copies the socket.io-client
# browser bundle into public/. Skips when the outputs are newer than every input, because
# wrangler runs this twice at start-up.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

bundle_src=node_modules/socket.io-client/dist/socket.io.min.js
bundle_dst=public/socket.io/socket.io.js
if [ ! -f "$bundle_dst" ] || [ "$bundle_src" -nt "$bundle_dst" ]; then
  mkdir -p "$(dirname "$bundle_dst")"
  cp "$bundle_src" "$bundle_dst"
fi

# Several wrangler instances (tests run in parallel) may start at once: build one at a time.
mkdir -p build
exec 9>build/.lock
flock 9

# BUILD_PROFILE=conformance builds the conformance profile into its own directory.
out=build
args=(--release)
if [ "${BUILD_PROFILE:-}" = conformance ]; then
  out=build-conformance
  args+=(--out-dir "$out" --features conformance)
fi
stamp=$out/.stamp
if [ -f "$stamp" ] && [ -z "$(find Cargo.toml Cargo.lock src core/src core/Cargo.toml -newer "$stamp" -print -quit)" ]; then
  exit 0
fi
worker-build "${args[@]}"
# The entry module wrangler uploads: the Worker, and the Room class around the Wasm room.
cp src/entry.mjs "$out/entry.mjs"
# worker-build keeps the wasm name section (about 100 KB, 29 KB of gzip): left out of what is
# uploaded, it keeps the Worker under its size budget. KEEP_WASM_NAMES=1 keeps it (profiles).
if [ "${KEEP_WASM_NAMES:-}" != 1 ]; then
  features=(mutable-globals sign-ext nontrapping-float-to-int bulk-memory multivalue reference-types exception-handling simd)
  "$WASM_OPT_BIN" "${features[@]/#/--enable-}" --strip-debug --strip-producers \
    "$out/index_bg.wasm" -o "$out/index_bg.wasm.stripped"
  mv "$out/index_bg.wasm.stripped" "$out/index_bg.wasm"
fi
touch "$stamp"
