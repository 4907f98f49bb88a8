#!/usr/bin/env bash
# Cold-start benchmark (not a test). Builds the example with wheels that import heavily (boto3,
# pydantic, requests) on the CPython 3.12 stand-in runtime base, with and without bytecode, and
# runs each image RUNS times (default 7, alternating) with podman --read-only under awslambdaric
# against a Runtime API emulator. Init time = container start (podman's State.StartedAt) → the
# runtime's first GET /runtime/invocation/next. Target: median with bytecode <= 0.5x without.
# Then the compile cost, on the "traffic-manager set" (google-ads, cryptography, requests,
# pydantic, boto3 and dependencies; downloaded once into ~/.cache/lamina-bench): a cold build's
# extra time for bytecode (interpreter already unpacked) against `python3.12 -m compileall -j 2`
# on pip's --target tree of the same wheels (target <= 1.5x), and a warm rebuild (target: no
# extra time). Prints medians and ratios. Needs what scripts/test.sh installs.
# Usage: benches/coldstart.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export LAMINA_BENCH_RUNS=${RUNS:-7}
export LAMINA_TEST_WHEELS=${LAMINA_TEST_WHEELS:-$HOME/.cache/lamina-test/wheels-heavy}
export LAMINA_BENCH_WHEELS=${LAMINA_BENCH_WHEELS:-$HOME/.cache/lamina-bench/traffic-manager-cp312}
if [ ! -f "$LAMINA_TEST_WHEELS/.complete" ]; then
  echo "run scripts/test.sh first (it downloads the boto3/pydantic/requests wheels)" >&2
  exit 1
fi
if [ ! -f "$LAMINA_BENCH_WHEELS/.complete" ]; then
  mkdir -p "$LAMINA_BENCH_WHEELS"
  python3 -m pip download -q --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    -d "$LAMINA_BENCH_WHEELS" google-ads cryptography requests pydantic boto3
  touch "$LAMINA_BENCH_WHEELS/.complete"
fi
cargo test --release --locked -q --test it -- --ignored --exact coldstart::coldstart_benchmark --nocapture 2>&1 \
  | grep -E '^(init_|build_|warm_|compileall_|compile_)'
