#!/usr/bin/env bash
# The release build of an earlier commit, for before/after figures in one benchmark run:
#
#   bash bench/dist-at.sh REV OUTDIR        # e.g. bash bench/dist-at.sh HEAD~3 /tmp/before
#   bash bench/run.sh --before OUTDIR ...   # adds the column "ours before (workerd)"
#
# Checks REV out in a temporary git worktree (sharing this checkout's node_modules) and writes
# its `wrangler deploy --dry-run` output to OUTDIR. Needs what scripts/setup.sh installs.
# Its own cargo target directory (target/rev/): cargo names a workspace's artifacts by their
# path inside the workspace, so a second checkout building into the same target directory
# leaves fingerprints newer than this checkout's sources, and this checkout's next build would
# quietly reuse the other commit's wasm.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
source "$ROOT/scripts/lib.sh"
[ $# -eq 2 ] || { echo "usage: $0 REV OUTDIR" >&2; exit 2; }
rev=$1
out=$(mkdir -p "$2" && cd "$2" && pwd)
tree=$(mktemp -d "${TMPDIR:-/tmp}/signal-rev-XXXXXX")
cleanup() { git -C "$ROOT" worktree remove --force "$tree" >/dev/null 2>&1 || rm -rf "$tree"; }
trap cleanup EXIT
git -C "$ROOT" worktree add --detach "$tree" "$rev" >/dev/null
ln -s "$ROOT/node_modules" "$tree/node_modules"
cd "$tree"
CARGO_TARGET_DIR="$ROOT/target/rev" WRANGLER_SEND_METRICS=false CI=1 \
  "$ROOT/node_modules/.bin/wrangler" deploy --dry-run --outdir "$out" | grep -E "Total Upload" || true
echo "release build of $(git rev-parse --short HEAD) in $out"
