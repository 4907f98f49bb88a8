#!/usr/bin/env bash
# Bytecode benchmark (not a test), on the traffic-manager set (34 wheels, 8,136 modules) and a real
# CPython 3.12 base (the test suite's stand-in: the machine's CPython 3.12.1 at /var/lang, built by
# `cargo test --test it bytecode::` into target/tmp/python-base-v1/layout, or LAMINA_BENCH_BASE).
# In one run, each timing the median of RUNS (default 3):
#   compile  a cold `lamina build -o oci:` with bytecode on, minus the same with
#            --no-compile-bytecode: what compiling costs lamina (one fresh fork per module), against
#            `python3.12 -m compileall -j 2 --invalidation-mode unchecked-hash` of pip's --target
#            tree of the same wheels (two long-lived workers, the way lamina compiled before: fast,
#            but each .pyc then depends on what its worker compiled before).
#   cold     the base and both layers in the registry (pushed by another runner), a cold runner
#            (empty local cache) with bytecode on: `lamina build --push` with the remote cache
#            against --no-remote-cache (target <= 0.3x), and the GETs of base layers the first made
#            (target 0).
# Usage: benches/bytecode.sh   (LAMINA_BIN=path skips building the release binary)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WHEELS=${LAMINA_TEST_TRAFFIC_WHEELS:-$HOME/.cache/lamina-test/wheels-traffic}
LAYOUT=${LAMINA_BENCH_BASE:-${CARGO_TARGET_DIR:-$PWD/target}/tmp/python-base-v1/layout}
PY=${LAMINA_TEST_PY312:-/root/.pyenv/versions/3.12.1}/bin/python3.12
[ -f "$WHEELS/.complete" ] || { echo "no wheels in $WHEELS: run scripts/test.sh once (it downloads them)"; exit 1; }
[ -f "$LAYOUT/index.json" ] || { echo "no base at $LAYOUT: run cargo test --test it bytecode:: once"; exit 1; }
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
http:
  addr: 127.0.0.1:$PORT
  secret: lamina-bench-not-secret
EOF
docker-registry serve "$WORK/registry.yml" > "$WORK/access.log" 2>"$WORK/registry.err" &
REG=$!
trap 'kill $REG 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.05; done
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mkdir -p "$WORK/p/src"
printf 'import boto3, pydantic, requests\n\n\ndef handler(event, context):\n    return {"ok": True}\n' > "$WORK/p/src/app.py"
export SOURCE_DATE_EPOCH=1700000000
# --python/--glibc: as for a base in lamina's catalog (public.ecr.aws/lambda/python:3.12), which this
# loopback registry's base cannot be; without them lamina reads the base to learn them.
COMMON=(build -C "$WORK/p" --src src --handler src.app.handler --wheels "$WHEELS" --missing-deps warn
        --python 3.12 --glibc 2.34)

# --- compile cost ---------------------------------------------------------------------------
: > "$WORK/on.t"; : > "$WORK/off.t"; : > "$WORK/ca.t"
"$PY" -m pip install -q --no-deps --no-index --no-compile --target "$WORK/tree" "$WHEELS"/*.whl 2>/dev/null
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/c" "$WORK/o"
  s=$(now); LAMINA_CACHE_DIR="$WORK/c" "$BIN" "${COMMON[@]}" --base "oci:$LAYOUT:py312" -o "oci:$WORK/o:x" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/on.t"
  rm -rf "$WORK/c" "$WORK/o"
  s=$(now); LAMINA_CACHE_DIR="$WORK/c" "$BIN" "${COMMON[@]}" --base "oci:$LAYOUT:py312" --no-compile-bytecode -o "oci:$WORK/o:x" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/off.t"
  find "$WORK/tree" -name __pycache__ -prune -exec rm -rf {} +
  s=$(now); "$PY" -m compileall -q -j 2 --invalidation-mode unchecked-hash "$WORK/tree" >/dev/null 2>&1 || true
  e=$(now); echo "$e - $s" | bc >> "$WORK/ca.t"
done
ON=$(median < "$WORK/on.t"); OFF=$(median < "$WORK/off.t"); CA=$(median < "$WORK/ca.t")
printf 'cold build: bytecode on %6.2f s, off %6.2f s: compiling costs lamina %6.2f s\n' "$ON" "$OFF" "$(echo "$ON - $OFF" | bc -l)"
printf 'compileall -j 2 of the same modules: %6.2f s: lamina/compileall = %.2fx\n' "$CA" "$(echo "($ON - $OFF) / $CA" | bc -l)"

# --- cold runner, remote cache, bytecode on ----------------------------------------------------
REPO="127.0.0.1:$PORT/bench/app"
BASE="127.0.0.1:$PORT/bench/base:py312"
skopeo copy -q --preserve-digests --dest-tls-verify=false "oci:$LAYOUT:py312" "docker://$BASE"
LAMINA_CACHE_DIR="$WORK/a" "$BIN" "${COMMON[@]}" --base "$BASE" --push "$REPO:a" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
base_gets() { local n=0; for d in $(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(' '.join(l['digest'] for l in m['layers']))" "$(python3 -c "
import json,sys; i=json.load(open(sys.argv[1]+'/index.json')); m=[x for x in i['manifests'] if x['annotations']['org.opencontainers.image.ref.name']=='py312'][0]; print(sys.argv[1]+'/blobs/'+m['digest'].replace(':','/'))" "$LAYOUT")"); do
  n=$((n + $(grep -c "\"GET /v2/bench/base/blobs/$d" "$WORK/access.log" || true))); done; echo $n; }
: > "$WORK/with.t"; : > "$WORK/without.t"; GETS=0
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/cold"
  s=$(now); LAMINA_CACHE_DIR="$WORK/cold" "$BIN" "${COMMON[@]}" --base "$BASE" --push "$REPO:cold" --no-remote-cache >"$WORK/d1" 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/without.t"
  rm -rf "$WORK/cold"
  g=$(base_gets)
  s=$(now); LAMINA_CACHE_DIR="$WORK/cold" "$BIN" "${COMMON[@]}" --base "$BASE" --push "$REPO:cold" >"$WORK/d2" 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/with.t"
  GETS=$((GETS + $(base_gets) - g))
  cmp -s "$WORK/d1" "$WORK/d2" || { echo "different digests: $(cat "$WORK/d1") $(cat "$WORK/d2")"; exit 1; }
done
grep -E "^lamina: (bytecode|cache)" "$WORK/log" | sed 's/^/    /'
W=$(median < "$WORK/with.t"); WO=$(median < "$WORK/without.t")
printf 'cold runner, bytecode on: with the remote cache %6.2f s, without %6.2f s: %.2fx (target <= 0.3x); base layer GETs with the remote cache: %d (target 0)\n' \
  "$W" "$WO" "$(echo "$W / $WO" | bc -l)" "$GETS"
