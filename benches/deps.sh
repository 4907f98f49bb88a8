#!/usr/bin/env bash
# Dependency-layer benchmark (not a test). On the "traffic-manager set" (google-ads, cryptography,
# requests, pydantic, boto3 and their dependencies for cp312 manylinux x86_64; ~34 wheels, ~55 MB),
# times side by side, in one run:
#   lamina   `lamina build --wheels` (cold cache; the dependency layer dominates)
#   (a)      tar of pip's --target tree | pigz -p 2 -5   (the floor for gzip -5, lamina's level, on two cores)
#   (b)      pip install --no-deps --no-compile --target + tar | gzip -5
# and reports the ratios and lamina's peak RSS. Targets: lamina <= 1.1x (a), >= 3x faster than (b),
# RSS < 100 MB. Each timing is the median of RUNS (default 3).
# Usage: benches/deps.sh        (downloads the wheels once into ~/.cache/lamina-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
WHEELS=${LAMINA_BENCH_WHEELS:-$HOME/.cache/lamina-bench/traffic-manager-cp312}
command -v pigz >/dev/null || { echo "needs pigz (apt-get install pigz)"; exit 1; }
if [ ! -f "$WHEELS/.complete" ]; then
  mkdir -p "$WHEELS"
  python3 -m pip download -q --only-binary=:all: --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux_2_28_x86_64 --python-version 3.12 --implementation cp \
    -d "$WHEELS" google-ads cryptography requests pydantic boto3
  touch "$WHEELS/.complete"
fi
cargo build --release --locked -q
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/lamina
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PIP=(python3 -m pip install -q --no-deps --no-index --no-compile --only-binary=:all: --python-version 3.12
     --implementation cp --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64
     --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64)
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1
"${PIP[@]}" --target "$WORK/floor-tree" "$WHEELS"/*.whl
echo "wheels: $(ls "$WHEELS"/*.whl | wc -l), $(du -cb "$WHEELS"/*.whl | tail -1 | cut -f1) bytes; installed: $(du -sb "$WORK/floor-tree" | cut -f1) bytes"

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mkdir -p "$WORK/p/src"; echo 'def handler(e, c): return 1' > "$WORK/p/src/app.py"
BASE="oci:$PWD/base-images/standin:python3.12"

: > "$WORK/lamina.t"; : > "$WORK/a.t"; : > "$WORK/b.t"; RSS=0
for i in $(seq "$RUNS"); do
  rm -rf "$WORK/cache" "$WORK/out"
  s=$(now)
  LAMINA_CACHE_DIR="$WORK/cache" /usr/bin/time -f %M -o "$WORK/rss" "$BIN" build -C "$WORK/p" --base "$BASE" \
    --src src --handler src.app.handler --wheels "$WHEELS" -o "oci:$WORK/out:x" >/dev/null 2>"$WORK/log" || { cat "$WORK/log"; exit 1; }
  e=$(now); echo "$e - $s" | bc >> "$WORK/lamina.t"
  r=$(cat "$WORK/rss"); [ "$r" -gt "$RSS" ] && RSS=$r

  s=$(now); tar -cf - -C "$WORK/floor-tree" . | pigz -p 2 -5 > /dev/null; e=$(now); echo "$e - $s" | bc >> "$WORK/a.t"

  rm -rf "$WORK/pip-tree"
  s=$(now); "${PIP[@]}" --target "$WORK/pip-tree" "$WHEELS"/*.whl && tar -cf - -C "$WORK/pip-tree" . | gzip -5 > /dev/null
  e=$(now); echo "$e - $s" | bc >> "$WORK/b.t"
done
L=$(median < "$WORK/lamina.t"); A=$(median < "$WORK/a.t"); B=$(median < "$WORK/b.t")
grep "dependency layer sha256" "$WORK/log" | sed 's/^lamina: //'
printf 'lamina build:             %6.2f s   peak RSS %d MiB\n' "$L" $((RSS / 1024))
printf '(a) tar | pigz -p2 -5:    %6.2f s   lamina/(a) = %.2fx   (target <= 1.1x)\n' "$A" "$(echo "$L / $A" | bc -l)"
printf '(b) pip --target + gzip:  %6.2f s   (b)/lamina = %.2fx   (target >= 3x)\n' "$B" "$(echo "$B / $L" | bc -l)"
