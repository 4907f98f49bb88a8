#!/usr/bin/env bash
# Memory benchmark (not a test): builds a source layer from a ~1 GB tree and reports lamina's peak
# RSS next to the tree size. Target: peak RSS < 100 MB (the layer is streamed, never held in memory).
# Usage: benches/memory.sh [SIZE_MB]   (default 1024; needs ~2x that in free disk under $TMPDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/lamina
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/p/src"
# A mix: 1,000 small .py files and 64 large files of poorly compressible data (the worst case for
# gzip time, no different for memory).
for i in $(seq 1000); do
  d="$WORK/p/src/pkg$((i % 20))"; mkdir -p "$d"; printf 'def f%d():\n    return %d\n' "$i" "$i" > "$d/m$i.py"
done
per=$(( SIZE_MB / 64 ))
for i in $(seq 64); do head -c "${per}M" /dev/urandom > "$WORK/p/src/blob$i.bin"; done
cat > "$WORK/p/lamina.toml" <<TOML
base = "oci:$PWD/base-images/standin:python3.12"
src = ["src"]
handler = "src.pkg1.m1.f1"
output = "oci:$WORK/out:latest"
TOML
TREE=$(du -sb "$WORK/p/src" | cut -f1)
export LAMINA_CACHE_DIR="$WORK/cache"
/usr/bin/time -v "$BIN" build -C "$WORK/p" 2> "$WORK/time.txt" >/dev/null || { cat "$WORK/time.txt"; exit 1; }
RSS_KB=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time.txt")
WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$WORK/time.txt")
echo "tree: $((TREE / 1048576)) MiB; lamina build: wall $WALL, peak RSS $((RSS_KB / 1024)) MiB (target < 100 MiB)"
[ "$RSS_KB" -lt 102400 ] || { echo "FAIL: peak RSS over 100 MiB"; exit 1; }
