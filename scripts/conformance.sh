#!/usr/bin/env bash
# Serves the conformance profile on port 3000 (what the official Socket.IO protocol test suite
# expects): installs what is missing, builds with the `conformance` feature, runs wrangler dev.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec wrangler dev --env conformance --ip 127.0.0.1 --port 3000 "$@"
