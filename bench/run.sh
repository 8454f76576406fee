#!/usr/bin/env bash
# The benchmark: our release build (bare workerd, and wrangler dev for reference) against the
# Node + socket.io 4 baseline and a bare Node `ws` relay, same machine, same run.
#
#   bash bench/run.sh            # full run: R = 1, 50, 200, 500; 3 repetitions (~12 min)
#   bash bench/run.sh --quick    # R = 1, 50; 1 repetition (~2 min)
#
# Other options (passed to bench/bench.mjs): --reps N, --rooms 1,50, --servers ours,socketio,...,
# --rate N (round trips/s), --rate-secs S, --sat-secs S, --warm S, --wake-secs S, --no-long-wake,
# --before DIR (also run an earlier build: bench/dist-at.sh REV DIR), --no-pin,
# --no-write (do not touch bench/RESULTS.md). Not part of the test command.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
cd "$ROOT"
[ -d node_modules/socket.io ] || { echo "run scripts/setup.sh (npm ci) first" >&2; exit 1; }
# The orchestrator starts every server in its own process group and stops them all on exit,
# error or interrupt (Ctrl-C).
exec node bench/bench.mjs "$@"
