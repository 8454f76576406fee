#!/usr/bin/env bash
# Installs everything the project needs, idempotently: the wasm target, the pinned cargo tools,
# the pinned npm packages, and (with --browser) Debian's Chromium and Firefox ESR for the browser tests
# and Debian's coturn for the relayed-call tests.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
# Debian packages are installed as root, through sudo when not root already.
if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(worker-build --version 2>/dev/null | awk '{print $NF}')" != "$WORKER_BUILD_VERSION" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION (about 3 minutes)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 2 minutes)"
  # No --locked: its lockfile names a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# By content, not by date: a fresh checkout (or a git worktree sharing node_modules) has a newer
# lock file that says the same.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.signal-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_hash" > node_modules/.signal-lock-hash
fi

if [ "${1:-}" = "--browser" ] && { ! command -v chromium >/dev/null || ! command -v firefox-esr >/dev/null; }; then
  log "installing Debian's chromium and firefox-esr for the browser tests"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium firefox-esr >/dev/null
fi

# coturn's `turnserver`, which the relayed-call tests start themselves on loopback. The package
# would enable and start a system TURN server; it must not: a policy-rc.d that refuses every
# start is in place while it installs (unless one already is), and the unit is left disabled.
if [ "${1:-}" = "--browser" ] && ! command -v turnserver >/dev/null; then
  log "installing Debian's coturn (turnserver) for the relayed-call tests, without starting its service"
  policy=/usr/sbin/policy-rc.d
  made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# Left by scripts/setup.sh while coturn installs: start no service.\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod 755 "$policy"
    made_policy=1
  fi
  $SUDO apt-get update -qq
  status=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq coturn >/dev/null || status=$?
  if [ -n "$made_policy" ]; then $SUDO rm -f "$policy"; fi
  [ "$status" = 0 ] || exit "$status"
  if [ -d /run/systemd/system ]; then $SUDO systemctl disable --quiet coturn.service || true; fi
fi

# The other ecosystems' clients for tests/other-clients.test.mjs: python-socketio from PyPI, in the
# project's own venv, and Rust's rust_socketio.
if [ "${1:-}" = "--browser" ]; then
  req=tests/clients/requirements.txt
  req_hash=$(sha256sum "$req" | cut -d' ' -f1)
  if [ "$(cat .venv/.signal-req-hash 2>/dev/null)" != "$req_hash" ]; then
    log "installing the python-socketio test client into .venv"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r "$req"
    echo "$req_hash" > .venv/.signal-req-hash
  fi

  # The rust_socketio client, from crates.io (its own lock file; about a minute the first time).
  # It links OpenSSL (native-tls), so Debian's libssl-dev and pkg-config come first when missing.
  if ! pkg-config --exists openssl 2>/dev/null; then
    log "installing Debian's libssl-dev and pkg-config for the rust_socketio test client"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libssl-dev pkg-config >/dev/null
  fi
  log "building the rust_socketio test client (tests/clients/rust_peer)"
  cargo build -q --locked --manifest-path tests/clients/rust_peer/Cargo.toml
fi
