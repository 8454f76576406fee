#!/usr/bin/env bash
# The page (public/) of an earlier commit, for a before/after of the page in one benchmark run:
#
#   bash bench/page-at.sh REV OUTDIR               # e.g. bash bench/page-at.sh HEAD~1 /tmp/page-before
#   bash bench/run.sh --only call --before-page OUTDIR
#
# The socket.io client bundle (public/socket.io/, made by the build, not committed) is copied
# from this checkout.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 REV OUTDIR" >&2; exit 2; }
[ -d "$ROOT/public/socket.io" ] || { echo "build first (bash scripts/build.sh): public/socket.io is missing" >&2; exit 1; }
rm -rf "$2" && mkdir -p "$2"
git -C "$ROOT" archive "$1" public | tar -x -C "$2" --strip-components=1
cp -r "$ROOT/public/socket.io" "$2/socket.io"
echo "$2: public/ of $(git -C "$ROOT" rev-parse --short "$1")"
