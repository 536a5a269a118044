#!/usr/bin/env bash
# `make fuzz-smoke`: build the cargo-fuzz targets in fuzz/ and run each for FUZZ_SECONDS
# (default 15) on its committed seed corpus; any crash, panic, leak or timeout fails.
#
# cargo-fuzz passes nightly-only flags (-Zsanitizer=address, sancov); only the stable
# toolchain is pinned here, so RUSTC_BOOTSTRAP=1 lets it accept them.
# New inputs go to a scratch corpus, so fuzz/corpus/ stays the small committed seed set.
# A longer run: FUZZ_SECONDS=600 nice -n 19 make fuzz-smoke; FUZZ_FLAGS passes more libFuzzer
# flags (e.g. FUZZ_FLAGS=-rss_limit_mb=4096).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
SECS=${FUZZ_SECONDS:-15}
export RUSTC_BOOTSTRAP=1
t_start=$(date +%s)

install_s=0
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: installing cargo-fuzz (cargo install --locked cargo-fuzz)"
  t=$(date +%s)
  cargo install --locked --quiet cargo-fuzz
  install_s=$(($(date +%s) - t))
fi

t=$(date +%s)
cargo fuzz build
build_s=$(($(date +%s) - t))

SCRATCH=$(mktemp -d "${TMPDIR:-/tmp}/harbor-ha-fuzz.XXXXXX")
trap 'rm -rf "$SCRATCH"' EXIT
summary=()
failed=0
for target in $(cargo fuzz list); do
  mkdir -p "$SCRATCH/$target"
  log=$SCRATCH/$target.log
  echo "fuzz-smoke: $target for ${SECS}s"
  # shellcheck disable=SC2086 # FUZZ_FLAGS is a list of libFuzzer flags
  if cargo fuzz run "$target" "$SCRATCH/$target" "corpus/$target" -- \
    -max_total_time="$SECS" -timeout=20 -print_final_stats=1 ${FUZZ_FLAGS:-} >"$log" 2>&1; then
    execs=$(awk '/stat::number_of_executed_units/ { n = $NF } END { print n + 0 }' "$log")
    summary+=("$target: $execs execs, ok")
  else
    failed=1
    summary+=("$target: FAILED")
    echo "---- $target: last lines of the libFuzzer log" >&2
    grep -av 'Uses: ' "$log" | tail -n 40 >&2
    echo "---- crashing inputs (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run $target fuzz/artifacts/$target/<file>):" >&2
    ls -l "artifacts/$target" >&2 || true
  fi
done

total_s=$(($(date +%s) - t_start))
joined=$(printf '%s; ' "${summary[@]}")
echo "fuzz-smoke: ${joined%; } (cargo-fuzz install ${install_s}s, build ${build_s}s, total ${total_s}s)"
exit "$failed"
