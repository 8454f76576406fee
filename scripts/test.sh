#!/usr/bin/env bash
# Runs every test: installs what is missing (toolchain, npm packages, Chromium), builds the Worker,
# runs the Rust unit tests on the host, then the integration, HTTP, deploy and browser tests
# (each starts its own `wrangler dev` on a free port and stops it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/setup.sh" --browser
cd "$ROOT"

log "building the Worker"
bash scripts/build.sh

log "cargo test (pure core and Worker crate, on the host)"
cargo test --workspace
log "cargo test (the conformance profile's core)"
cargo test -p signal-core --features conformance

log "integration tests (node --test)"
# TAP as it happens, then (tests/failure-summary.mjs) each failure's error once more at the end.
node --test --test-concurrency=1 \
  --test-reporter=tap --test-reporter-destination=stdout \
  --test-reporter=./tests/failure-summary.mjs --test-reporter-destination=stdout \
  tests/*.test.mjs
