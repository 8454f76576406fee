#!/usr/bin/env bash
# The conformance profile on port 3000 (what the official Socket.IO protocol test suite
# expects): installs what is missing, builds with the `conformance` feature, runs wrangler dev.
#
#   bash scripts/conformance.sh                 # serve it (Ctrl-C stops)
#   bash scripts/conformance.sh --suite DIR     # serve it, run the official suite, stop
#
# DIR is `docs/socket.io-protocol/v5-test-suite` of a checkout of github.com/socketio/socket.io
# (not part of this repository, and not reachable from CI: see README "Conformance").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
if [ "${1:-}" != "--suite" ]; then
  exec wrangler dev --env conformance --ip 127.0.0.1 --port 3000 "$@"
fi
suite=$(cd "${2:?usage: conformance.sh --suite DIR}" && pwd)
[ -f "$suite/test-suite.js" ] || { echo "no test-suite.js in $suite" >&2; exit 2; }
[ -d "$suite/node_modules" ] || (cd "$suite" && npm ci --no-audit --no-fund)
setsid wrangler dev --env conformance --ip 127.0.0.1 --port 3000 --inspector-port 0 \
  --show-interactive-dev-session=false >"$ROOT/test-results-conformance.log" 2>&1 &
server=$!
trap 'kill -TERM -- -"$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:3000/ 2>/dev/null | grep -q 200 && break
  sleep 1
done
cd "$suite"
npx mocha test-suite.js
