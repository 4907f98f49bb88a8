#!/usr/bin/env bash
# Lock benchmark (not a test). The "traffic-manager set" (google-ads, cryptography, requests,
# pydantic, boto3 and their dependencies for cp312 manylinux x86_64; ~34 wheels, ~55 MB) is served
# from a static PEP 503 tree on loopback, and `uv pip compile --generate-hashes` writes the hashed
# requirements.txt for the Lambda python3.12 x86_64 target. Then, in one run, side by side, each
# from a cold cache:
#   lamina     `lamina build --lock requirements.txt --index-url LOOPBACK` (download + build)
#   baseline   `pip download --no-deps --only-binary=:all: -r requirements.txt` from the same index,
#              then today's `lamina build --wheels DIR`
# and reports the ratio (target lamina <= 0.5x the baseline), lamina's peak RSS (target < 100 MB),
# and whether both give the same image digest. Each timing is the median of RUNS (default 3).
# Usage: benches/locks.sh   (downloads the wheels from PyPI once into ~/.cache/lamina-bench;
#                            uses uv from $LAMINA_TEST_VENV, installing it if needed)
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
if [ ! -x "$VENV/bin/uv" ]; then
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q uv
fi
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/lamina
WORK=$(mktemp -d)
# The index: a static PEP 503 tree (as PyPI's CDN serves it) with sha256 fragments, served by
# busybox httpd. (pypiserver re-hashes every file on each page request and Python's http.server
# sends ~50 MB/s: either would make the server, not the clients, the thing measured.)
mkdir -p "$WORK/index/simple" "$WORK/index/packages"
for w in "$WHEELS"/*.whl; do ln -s "$w" "$WORK/index/packages/"; done
python3 - "$WORK/index" <<'PY'
import hashlib, html, os, re, sys
root = sys.argv[1]
projects = {}
for f in sorted(os.listdir(os.path.join(root, "packages"))):
    name = re.sub(r"[-_.]+", "-", f.split("-")[0]).lower()
    digest = hashlib.sha256(open(os.path.join(root, "packages", f), "rb").read()).hexdigest()
    projects.setdefault(name, []).append(f'<a href="../../packages/{html.escape(f)}#sha256={digest}">{html.escape(f)}</a><br>')
for name, links in projects.items():
    os.makedirs(os.path.join(root, "simple", name), exist_ok=True)
    with open(os.path.join(root, "simple", name, "index.html"), "w") as out:
        out.write("<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n")
PY
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
command -v busybox >/dev/null || { echo "needs busybox (apt-get install busybox-static)"; exit 1; }
busybox httpd -f -p "127.0.0.1:$PORT" -h "$WORK/index" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
INDEX="http://127.0.0.1:$PORT/simple/"
for _ in $(seq 200); do curl -sf "$INDEX" -o /dev/null && break; sleep 0.05; done

printf 'google-ads\ncryptography\nrequests\npydantic\nboto3\n' > "$WORK/requirements.in"
(cd "$WORK" && UV_PYTHON_DOWNLOADS=never UV_NO_CONFIG=1 UV_CACHE_DIR="$WORK/uv-cache" "$VENV/bin/uv" pip compile -q \
  requirements.in --generate-hashes --python-version 3.12 --python-platform x86_64-manylinux_2_28 \
  --index-url "$INDEX" -o requirements.txt)
echo "wheels on the index: $(ls "$WHEELS"/*.whl | wc -l), $(du -cb "$WHEELS"/*.whl | tail -1 | cut -f1) bytes; locked: $(grep -c '^[a-z0-9]' "$WORK/requirements.txt") packages"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mkdir -p "$WORK/p/src"; echo 'def handler(e, c): return 1' > "$WORK/p/src/app.py"
BUILD=("$BIN" build -C "$WORK/p" --base "oci:$PWD/base-images/standin:python3.12" --src src --handler src.app.handler)

: > "$WORK/lamina.t"; : > "$WORK/base.t"; : > "$WORK/build.t"; : > "$WORK/pip.t"; RSS=0; RSS2=0
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/cache" "$WORK/out"
  s=$(now)
  LAMINA_CACHE_DIR="$WORK/cache" /usr/bin/time -f %M -o "$WORK/rss" "${BUILD[@]}" --lock "$WORK/requirements.txt" \
    --index-url "$INDEX" -o "oci:$WORK/out:x" >"$WORK/lamina.digest" 2>"$WORK/lamina.log" || { cat "$WORK/lamina.log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/lamina.t"
  r=$(cat "$WORK/rss"); [ "$r" -gt "$RSS" ] && RSS=$r
  # The same build with the wheels (and index pages) already cached: what is not fetching.
  rm -rf "$WORK/cache/v1/layers" "$WORK/out"
  s=$(now)
  LAMINA_CACHE_DIR="$WORK/cache" "${BUILD[@]}" --lock "$WORK/requirements.txt" --offline -o "oci:$WORK/out:x" >/dev/null 2>&1
  e=$(now); echo "$e - $s" | bc >> "$WORK/build.t"

  rm -rf "$WORK/cache2" "$WORK/out2" "$WORK/dl"
  s=$(now)
  python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --python-version 3.12 --implementation cp \
    --index-url "$INDEX" -d "$WORK/dl" -r "$WORK/requirements.txt"
  m=$(now); echo "$m - $s" | bc >> "$WORK/pip.t"
  LAMINA_CACHE_DIR="$WORK/cache2" /usr/bin/time -f %M -o "$WORK/rss2" "${BUILD[@]}" --wheels "$WORK/dl" -o "oci:$WORK/out2:x" >"$WORK/base.digest" 2>"$WORK/base.log" \
    || { cat "$WORK/base.log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/base.t"
  r=$(cat "$WORK/rss2"); [ "$r" -gt "${RSS2:-0}" ] && RSS2=$r
done
L=$(median < "$WORK/lamina.t"); B=$(median < "$WORK/base.t"); W=$(median < "$WORK/build.t"); P=$(median < "$WORK/pip.t")
grep -E "downloaded|package index|dependency layer sha256" "$WORK/lamina.log" | sed 's/^lamina: //'
printf 'lamina build --lock (cold):                  %6.2f s   peak RSS %d MiB (target < 100)\n' "$L" $((RSS / 1024))
printf 'pip download --no-deps + lamina --wheels:    %6.2f s   lamina/baseline = %.2fx (target <= 0.5x); --wheels peak RSS %d MiB\n' "$B" "$(echo "$L / $B" | bc -l)" $((RSS2 / 1024))
printf 'fetching alone: lamina %.2f s (cold build minus the same build with the wheels cached, %.2f s), pip download %.2f s\n' \
  "$(echo "$L - $W" | bc -l)" "$W" "$P"
if cmp -s "$WORK/lamina.digest" "$WORK/base.digest"; then
  echo "same image digest: $(cat "$WORK/lamina.digest")"
else
  echo "DIFFERENT digests: $(cat "$WORK/lamina.digest") vs $(cat "$WORK/base.digest")"; exit 1
fi
