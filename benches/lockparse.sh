#!/usr/bin/env bash
# Lock reading benchmark (not a test): how `lamina build --lock` grows with the lock's size. A
# hashed requirements.txt of N and 10N requirements (3 lines each), read and checked with
# --offline (which stops at the first index page, after the whole lock was read). Linear reading
# gives a ratio near 10 (target <= 15); the quadratic duplicate check it replaced gave ~100.
# Usage: benches/lockparse.sh   (N=10000 by default; LAMINA_BIN=path skips the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-10000}
if [ -z "${LAMINA_BIN:-}" ]; then cargo build --release --locked -q; fi
BIN=${LAMINA_BIN:-${CARGO_TARGET_DIR:-$PWD/target}/release/lamina}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/p/src"; echo 'def handler(e, c): return 1' > "$WORK/p/src/app.py"
hash=$(printf 'ab%.0s' $(seq 32))
lock() { python3 -c "
import sys
n, h = int(sys.argv[1]), sys.argv[2]
sys.stdout.write(''.join(f'pkg{i}==1.0 \\\\\n    --hash=sha256:{h} \\\\\n    --hash=sha256:{h}\n' for i in range(n)))" "$1" "$hash" > "$2"; }
lock "$N" "$WORK/small.txt"; lock $((10 * N)) "$WORK/big.txt"
t() { local s e; s=$(date +%s.%N)
  LAMINA_CACHE_DIR="$WORK/c" "$BIN" build -C "$WORK/p" --base "oci:$PWD/base-images/standin:python3.12" --src src \
    --handler src.app.handler --lock "$1" --offline -o "oci:$WORK/o:x" >/dev/null 2>&1 || true
  e=$(date +%s.%N); echo "$e - $s" | bc; }
S=$(t "$WORK/small.txt"); B=$(t "$WORK/big.txt")
printf 'lock of %d lines: %6.2f s; of %d lines: %6.2f s: %.1fx for 10x the lines (target <= 15)\n' \
  $((3 * N)) "$S" $((30 * N)) "$B" "$(echo "$B / $S" | bc -l)"
