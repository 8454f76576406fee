#!/usr/bin/env bash
# Fuzz the protocol core (signal-core) with cargo fuzz / libFuzzer.
#
#   bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60. TARGET defaults to every target in fuzz/Cargo.toml:
# engineio_decode, socketio_decode, payload_decode, handshake_check, room_sequence, server_sequence.
# Targets run in parallel, as
# many at a time as the machine has cores (FUZZ_JOBS overrides), each a single libFuzzer process
# bounded by -max_total_time. Prints the executions each target ran and exits non-zero if any
# target found a crash or a failed invariant; the failing input is then in
# fuzz/artifacts/TARGET/ (replay it with `RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET FILE` in fuzz/).
#
# Toolchain: cargo fuzz needs nightly-only flags (-Zsanitizer=address and friends). No nightly
# toolchain is required: RUSTC_BOOTSTRAP=1 lets the installed stable rustc accept them.
# FUZZ_TOOLCHAIN=nightly (or any rustup toolchain name) picks another toolchain.
#
# Not part of the normal test command (`cargo test --workspace`): fuzz/ is its own workspace.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${1:-60}"
shift || true
case "$seconds" in
  ''|*[!0-9]*) echo "usage: bash scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]" >&2; exit 2 ;;
esac

export RUSTC_BOOTSTRAP=1
toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then
  toolchain=("+$FUZZ_TOOLCHAIN")
fi

if ! cargo "${toolchain[@]}" fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz from crates.io"
  cargo install cargo-fuzz --locked
fi

cd "$root/fuzz"
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "${toolchain[@]}" fuzz list)
fi
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
known=" $(cargo "${toolchain[@]}" fuzz list | tr '\n' ' ')"
for t in "${targets[@]}"; do
  [[ "$known " == *" $t "* ]] || { echo "unknown fuzz target: $t (have:$known)" >&2; exit 2; }
done

echo "== building fuzz targets for ${targets[*]} ($(cargo "${toolchain[@]}" fuzz --version), $(rustc "${toolchain[@]}" --version), RUSTC_BOOTSTRAP=1)"
cargo "${toolchain[@]}" fuzz build >/dev/null 2>build.log || {
  cat build.log >&2
  exit 1
}

mkdir -p logs
run_one() {
  local t="$1"
  local corpora=("corpus/$t")
  mkdir -p "corpus/$t"
  [ -d "seeds/$t" ] && corpora+=("seeds/$t")
  local extra=()
  # The text codecs share one dictionary of Engine.IO / Socket.IO / JSON tokens.
  case "$t" in
    engineio_decode|socketio_decode|payload_decode) extra+=("-dict=dicts/socketio.dict") ;;
  esac
  # -timeout flags a single input that runs for 10 s as a hang.
  cargo "${toolchain[@]}" fuzz run "$t" "${corpora[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${extra[@]}" \
    >"logs/$t.log" 2>&1
}

echo "== fuzzing ${#targets[@]} target(s) for ${seconds}s each, $jobs at a time (logs in fuzz/logs/)"
declare -A status
pids=()
names=()
for t in "${targets[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do
    wait -n || true
  done
  run_one "$t" &
  pids+=("$!")
  names+=("$t")
done
for k in "${!pids[@]}"; do
  if wait "${pids[$k]}"; then status[${names[$k]}]=clean; else status[${names[$k]}]=FAILED; fi
done

failed=0
printf '\n%-18s %8s %14s %10s %10s  %s\n' target seconds executions exec/s corpus result
for t in "${targets[@]}"; do
  log="logs/$t.log"
  runs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)"
  secs="$(sed -n 's/^Done \([0-9]*\) runs in \([0-9]*\) second.*/\2/p' "$log" | tail -1)"
  if [ -z "$runs" ]; then
    runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  fi
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  corpus="$(find "corpus/$t" -type f | wc -l)"
  result="${status[$t]}"
  if [ "$result" != clean ]; then
    failed=1
    art="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
    case "$art" in /*|'') ;; *) art="fuzz/$art" ;; esac
    result="FAILED${art:+ (input: $art)}; see fuzz/$log"
  fi
  printf '%-18s %8s %14s %10s %10s  %s\n' "$t" "${secs:--}" "${runs:-?}" "${rate:-?}" "$corpus" "$result"
done
exit "$failed"
