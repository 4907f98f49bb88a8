#!/usr/bin/env bash
# Builds the fuzz targets (fuzz/, cargo-fuzz, nightly) and runs each one briefly on its committed
# corpus (fuzz/corpus/<target>/, which keeps every crasher found so far), so a regression on a
# saved crasher fails. Usage:
#   scripts/fuzz.sh                 # every target, FUZZ_SECONDS (20) each
#   scripts/fuzz.sh elf metadata    # only these
#   FUZZ_SECONDS=600 FUZZ_WORK=/tmp/fuzz-runs scripts/fuzz.sh wheel_zip   # a long run
#   FUZZ_TARGET_DIR=DIR: where the instrumented build goes (else CARGO_TARGET_DIR, else fuzz/target)
# New inputs libFuzzer finds go to FUZZ_WORK/<target>/ (a scratch directory removed at the end
# when FUZZ_WORK is unset), never into the committed corpus; each run's log is
# FUZZ_WORK/<target>.log. A crash leaves its input in fuzz/artifacts/<target>/: fix the bug, then
# add the input to fuzz/corpus/<target>/ as crash-<what> with a unit test that reads it.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${FUZZ_SECONDS:-20}"
# The instrumented build is a different build from the tests': FUZZ_TARGET_DIR keeps it apart.
if [ -n "${FUZZ_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$FUZZ_TARGET_DIR"
fi
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"

if ! cargo "+$TOOLCHAIN" --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing the $TOOLCHAIN toolchain" >&2
  rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install cargo-fuzz --locked
fi

cargo fmt --manifest-path fuzz/Cargo.toml -- --check

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo "+$TOOLCHAIN" fuzz list)
fi

echo "fuzz.sh: building the fuzz targets" >&2
cargo "+$TOOLCHAIN" fuzz build

if [ -n "${FUZZ_WORK:-}" ]; then
  scratch="$FUZZ_WORK"
  mkdir -p "$scratch"
else
  scratch="$(mktemp -d)"
  trap 'rm -rf "$scratch"' EXIT
fi
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  echo "fuzz.sh: $t for ${SECONDS_EACH}s" >&2
  # The scratch directory first: new inputs are written there; the committed corpus is read.
  if ! cargo "+$TOOLCHAIN" fuzz run "$t" "$scratch/$t" "fuzz/corpus/$t" -- \
      -max_total_time="$SECONDS_EACH" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
      >"$scratch/$t.log" 2>&1; then
    failed+=("$t")
    tail -n 40 "$scratch/$t.log" >&2
  else
    grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$scratch/$t.log" | tail -n 1 >&2 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: FAILED: ${failed[*]} (the crashing input is in fuzz/artifacts/<target>/)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${SECONDS_EACH}s each without a crash" >&2
