#!/usr/bin/env bash
# Edit-loop and remote-cache benchmark (not a test). The "traffic-manager set" (google-ads,
# cryptography, requests, pydantic, boto3 and their dependencies for cp312 manylinux x86_64; ~34
# wheels, ~55 MB) and a small project whose handler imports boto3, requests and pydantic, pushed to
# Debian's docker-registry on loopback. In one run, each timing the median of RUNS (default 3):
#   edit     after a one-line source edit, `lamina build --push` with a warm local cache, against
#            `skopeo copy` of the rebuilt layout (`lamina build -o oci:`, not timed) to the same
#            repository; both upload exactly one new source layer. Target: lamina <= 2x skopeo.
#   cold     a cold runner (empty local cache), unchanged inputs already pushed by another runner:
#            `lamina build --push` with the remote cache, against the same run with
#            --no-remote-cache. Target: <= 0.3x.
#   no-op    the same push again: blob uploads counted in the registry's access log (target 0).
# Usage: benches/remote.sh   (downloads the wheels from PyPI once into ~/.cache/lamina-bench;
#                             LAMINA_BIN=path skips building the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WHEELS=${LAMINA_BENCH_WHEELS:-$HOME/.cache/lamina-bench/traffic-manager-cp312}
if [ ! -f "$WHEELS/.complete" ]; then
  mkdir -p "$WHEELS"
  python3 -m pip download -q --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    -d "$WHEELS" google-ads cryptography requests pydantic boto3
  touch "$WHEELS/.complete"
fi
command -v skopeo >/dev/null || { echo "needs skopeo"; exit 1; }
REGISTRY_BIN=$(command -v docker-registry || echo /usr/bin/docker-registry)
if [ -z "${LAMINA_BIN:-}" ]; then cargo build --release --locked -q; fi
BIN=${LAMINA_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/lamina}
WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat > "$WORK/registry.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: false
storage:
  filesystem:
    rootdirectory: $WORK/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$PORT
  secret: lamina-bench-not-secret
EOF
"$REGISTRY_BIN" serve "$WORK/registry.yml" > "$WORK/access.log" 2>"$WORK/registry.err" &
REG=$!
trap 'kill $REG 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
REPO="127.0.0.1:$PORT/bench/app"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
uploads() { grep -c '"PUT /v2/bench/app/blobs/uploads/' "$WORK/access.log" || true; }

mkdir -p "$WORK/p/src"
cat > "$WORK/p/src/app.py" <<'PY'
import boto3
import pydantic
import requests


def handler(event, context):
    return {"ok": True, "boto3": boto3.__version__, "requests": requests.__version__}
PY
BASE="oci:$PWD/base-images/standin:python3.12"
COMMON=(build -C "$WORK/p" --base "$BASE" --src src --handler src.app.handler --wheels "$WHEELS"
        --python 3.12 --glibc 2.34)
export SOURCE_DATE_EPOCH=1700000000
lam() { LAMINA_CACHE_DIR="$1" "$BIN" "${COMMON[@]}" "${@:2}"; }

# --- edit loop -------------------------------------------------------------------------------
lam "$WORK/cache" --push "$REPO:warm" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
: > "$WORK/edit.t"; : > "$WORK/skopeo.t"
for i in $(seq "$RUNS"); do
  echo "EDIT_A_$i = $i" >> "$WORK/p/src/app.py"
  s=$(now); lam "$WORK/cache" --push "$REPO:edit$i" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/edit.t"
  grep -E "^lamina: (cache|pushed)" "$WORK/log" | sed 's/^/    /' | tail -2
  echo "EDIT_B_$i = $i" >> "$WORK/p/src/app.py"
  rm -rf "$WORK/layout"
  lam "$WORK/cache" -o "oci:$WORK/layout:e$i" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  s=$(now); skopeo copy -q --dest-tls-verify=false "oci:$WORK/layout:e$i" "docker://$REPO:skopeo$i"
  e=$(now); echo "$e - $s" | bc >> "$WORK/skopeo.t"
done
ED=$(median < "$WORK/edit.t"); SK=$(median < "$WORK/skopeo.t")
printf 'edit loop: lamina build --push (warm) %6.2f s, skopeo copy %6.2f s: %.2fx (target <= 2x)\n' \
  "$ED" "$SK" "$(echo "$ED / $SK" | bc -l)"

# --- cold runner, remote cache ----------------------------------------------------------------
if "$BIN" build --help | grep -q -- --no-remote-cache; then
  : > "$WORK/with.t"; : > "$WORK/without.t"
  for i in $(seq "$RUNS"); do
    rm -rf "$WORK/cold"
    s=$(now); lam "$WORK/cold" --push "$REPO:cold" --no-remote-cache >"$WORK/d1" 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
    e=$(now); echo "$e - $s" | bc >> "$WORK/without.t"
    rm -rf "$WORK/cold"
    s=$(now); lam "$WORK/cold" --push "$REPO:cold" >"$WORK/d2" 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
    e=$(now); echo "$e - $s" | bc >> "$WORK/with.t"
    cmp -s "$WORK/d1" "$WORK/d2" || { echo "different digests: $(cat "$WORK/d1") $(cat "$WORK/d2")"; exit 1; }
  done
  grep -E "^lamina: (cache|pushed)" "$WORK/log" | sed 's/^/    /'
  W=$(median < "$WORK/with.t"); WO=$(median < "$WORK/without.t")
  printf 'cold runner: with the remote cache %6.2f s, without %6.2f s: %.2fx (target <= 0.3x)\n' \
    "$W" "$WO" "$(echo "$W / $WO" | bc -l)"
fi

# --- no-op push -------------------------------------------------------------------------------
before=$(uploads)
lam "$WORK/cache" --push "$REPO:noop" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
after=$(uploads)
echo "no-op push: $((after - before)) blob uploads (target 0)"
