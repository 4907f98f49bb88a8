#!/usr/bin/env bash
# Static import check benchmark (not a test). On the "traffic-manager set" (google-ads,
# cryptography, requests, pydantic, boto3 and their dependencies for cp312; see benches/deps.sh),
# with a handler that imports boto3, requests, yaml, pydantic, cryptography and google-ads'
# client and GoogleAdsService (~1,400 modules), times side by side, in one run, warm caches:
#   check    `lamina check` with that handler          (layers cached; the gate reads every module)
#   floor    `lamina check` with a handler importing nothing (the same image, no import graph)
#   cpython  python3.12 -I -S importing the same modules from pip's --target tree (what Lambda's
#            init does; no .pyc, like a fresh image)
# and reports (check - floor) / cpython: the static check's cost relative to really importing.
# Target: the import graph costs less than CPython importing it (ratio < 1).
# Usage: benches/imports.sh     (needs python3.12: pyenv's or $PYTHON312)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
WHEELS=${LAMINA_BENCH_WHEELS:-$HOME/.cache/lamina-bench/traffic-manager-cp312}
PY=${PYTHON312:-$(ls -d "$HOME"/.pyenv/versions/3.12.*/bin/python3.12 2>/dev/null | tail -1)}
[ -x "$PY" ] || { echo "needs python3.12 (set PYTHON312)"; exit 1; }
if [ ! -f "$WHEELS/.complete" ]; then
  mkdir -p "$WHEELS"
  python3 -m pip download -q --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    -d "$WHEELS" google-ads cryptography requests pydantic boto3
  touch "$WHEELS/.complete"
fi
cargo build --release --locked -q
BIN=$PWD/target/release/lamina
[ -n "${CARGO_TARGET_DIR:-}" ] && BIN=$CARGO_TARGET_DIR/release/lamina
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
"$PY" -m pip install -q --no-deps --no-index --no-compile --target "$WORK/tree" "$WHEELS"/*.whl
IMPORTS="import boto3, requests, yaml, pydantic
from cryptography.hazmat.primitives.asymmetric import ed25519
from google.ads.googleads.client import GoogleAdsClient
from google.ads.googleads.v23.services.services.google_ads_service import GoogleAdsServiceClient"
mkdir -p "$WORK/p/src"
printf '%s\n\ndef handler(event, context):\n    return 1\n' "$IMPORTS" > "$WORK/p/src/app.py"
printf 'def handler(event, context):\n    return 1\n' > "$WORK/p/src/bare.py"
BASE="oci:$PWD/base-images/standin:python3.12"
check() {
  LAMINA_CACHE_DIR="$WORK/cache" "$BIN" check -C "$WORK/p" --base "$BASE" --src src --handler "$1" \
    --wheels "$WHEELS" --format json 2>"$WORK/log" >"$WORK/out.json" || { cat "$WORK/log"; exit 1; }
}
check src.app.handler   # warm the layer cache
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
: > "$WORK/check.t"; : > "$WORK/floor.t"; : > "$WORK/py.t"
for i in $(seq "$RUNS"); do
  s=$(now); check src.app.handler; e=$(now); echo "$e - $s" | bc >> "$WORK/check.t"
  s=$(now); check src.bare.handler; e=$(now); echo "$e - $s" | bc >> "$WORK/floor.t"
  s=$(now); (cd "$WORK/tree" && "$PY" -I -S -B -c "import sys; sys.path.insert(0, '.'); $IMPORTS" ); e=$(now)
  echo "$e - $s" | bc >> "$WORK/py.t"
done
MODULES=$(check src.app.handler; python3 -c "import json; print(json.load(open('$WORK/out.json'))['python']['modules_checked'])")
C=$(median < "$WORK/check.t"); F=$(median < "$WORK/floor.t"); P=$(median < "$WORK/py.t")
echo "modules checked: $MODULES"
printf 'lamina check (imports)   %6.2f s\n' "$C"
printf 'lamina check (no import) %6.2f s\n' "$F"
printf 'cpython import           %6.2f s\n' "$P"
printf 'static check / cpython:  %6.2f\n' "$(echo "($C - $F) / $P" | bc -l)"
