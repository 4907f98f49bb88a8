#!/usr/bin/env bash
# Lock benchmark (not a test). The "traffic-manager set" (google-ads, cryptography, requests,
# pydantic, boto3 and their dependencies for cp312 manylinux x86_64; ~34 wheels, ~55 MB) is served
# by pypiserver on loopback, and `uv pip compile --generate-hashes` writes the hashed
# requirements.txt for the Lambda python3.12 x86_64 target. Then, in one run, side by side, each
# from a cold cache:
#   lamina     `lamina build --lock requirements.txt --index-url LOOPBACK` (download + build)
#   baseline   `pip download --no-deps --only-binary=:all: -r requirements.txt` from the same index,
#              then today's `lamina build --wheels DIR`
# and reports the ratio (target lamina <= 0.5x the baseline), lamina's peak RSS (target < 100 MB),
# and whether both give the same image digest. Each timing is the median of RUNS (default 3).
# Usage: benches/locks.sh   (downloads the wheels from PyPI once into ~/.cache/lamina-bench;
#                            uses uv and pypiserver from $LAMINA_TEST_VENV, installing them if needed)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WHEELS=${LAMINA_BENCH_WHEELS:-$HOME/.cache/lamina-bench/traffic-manager-cp312}
VENV=${LAMINA_TEST_VENV:-$HOME/.cache/lamina-test/venv}
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
if [ ! -f "$WHEELS/.complete" ]; then
  mkdir -p "$WHEELS"
  python3 -m pip download -q --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    -d "$WHEELS" google-ads cryptography requests pydantic boto3
  touch "$WHEELS/.complete"
fi
if [ ! -x "$VENV/bin/uv" ] || [ ! -x "$VENV/bin/pypi-server" ]; then
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q uv 'pypiserver[passlib]'
fi
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/lamina
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$VENV/bin/pypi-server" run -p "$PORT" -i 127.0.0.1 --disable-fallback --hash-algo sha256 \
  --backend simple-dir -P . -a . "$WHEELS" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
INDEX="http://127.0.0.1:$PORT/simple/"
for _ in $(seq 200); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.05; done

printf 'google-ads\ncryptography\nrequests\npydantic\nboto3\n' > "$WORK/requirements.in"
(cd "$WORK" && UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1 UV_CACHE_DIR="$WORK/uv-cache" "$VENV/bin/uv" pip compile -q \
  requirements.in --generate-hashes --python-version 3.12 --python-platform x86_64-manylinux_2_28 \
  --index-url "$INDEX" -o requirements.txt)
echo "wheels on the index: $(ls "$WHEELS"/*.whl | wc -l), $(du -cb "$WHEELS"/*.whl | tail -1 | cut -f1) bytes; locked: $(grep -c '^[a-z0-9]' "$WORK/requirements.txt") packages"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mkdir -p "$WORK/p/src"; echo 'def handler(e, c): return 1' > "$WORK/p/src/app.py"
BUILD=("$BIN" build -C "$WORK/p" --base "oci:$PWD/base-images/standin:python3.12" --src src --handler src.app.handler)

: > "$WORK/lamina.t"; : > "$WORK/base.t"; RSS=0
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/cache" "$WORK/out"
  s=$(now)
  LAMINA_CACHE_DIR="$WORK/cache" /usr/bin/time -f %M -o "$WORK/rss" "${BUILD[@]}" --lock "$WORK/requirements.txt" \
    --index-url "$INDEX" -o "oci:$WORK/out:x" >"$WORK/lamina.digest" 2>"$WORK/lamina.log" || { cat "$WORK/lamina.log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/lamina.t"
  r=$(cat "$WORK/rss"); [ "$r" -gt "$RSS" ] && RSS=$r

  rm -rf "$WORK/cache2" "$WORK/out2" "$WORK/dl"
  s=$(now)
  python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --python-version 3.12 --implementation cp \
    --index-url "$INDEX" -d "$WORK/dl" -r "$WORK/requirements.txt"
  LAMINA_CACHE_DIR="$WORK/cache2" "${BUILD[@]}" --wheels "$WORK/dl" -o "oci:$WORK/out2:x" >"$WORK/base.digest" 2>"$WORK/base.log" \
    || { cat "$WORK/base.log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/base.t"
done
L=$(median < "$WORK/lamina.t"); B=$(median < "$WORK/base.t")
grep -E "downloaded|package index|dependency layer sha256" "$WORK/lamina.log" | sed 's/^lamina: //'
printf 'lamina build --lock (cold):                  %6.2f s   peak RSS %d MiB (target < 100)\n' "$L" $((RSS / 1024))
printf 'pip download --no-deps + lamina --wheels:    %6.2f s   lamina/baseline = %.2fx (target <= 0.5x)\n' "$B" "$(echo "$L / $B" | bc -l)"
if cmp -s "$WORK/lamina.digest" "$WORK/base.digest"; then
  echo "same image digest: $(cat "$WORK/lamina.digest")"
else
  echo "DIFFERENT digests: $(cat "$WORK/lamina.digest") vs $(cat "$WORK/base.digest")"; exit 1
fi
