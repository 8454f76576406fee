#!/usr/bin/env bash
# Starts the service locally: installs what is missing, then `wrangler dev` (http://localhost:8787).
# Extra arguments go to wrangler, e.g. `npm start -- --port 9000 --ip 0.0.0.0`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$ROOT/scripts/setup.sh"
cd "$ROOT"
exec wrangler dev "$@"
