#!/usr/bin/env bash
# How long it takes to get a working lamina (docs/install.md): from an empty venv with the wheel
# (pip, then uvx), against building from source. Usage: benches/install.sh WHEEL_DIR
# (WHEEL_DIR from `maturin build --release --zig --compatibility manylinux2014 --out WHEEL_DIR`).
# Set FROM_SOURCE=1 to also time a clean release build (minutes, in a private target dir).
set -euo pipefail
cd "$(dirname "$0")/.."
wheels="${1:?usage: benches/install.sh WHEEL_DIR}"
venv_tools="${LAMINA_TEST_VENV:-$HOME/.cache/lamina-test/venv}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
now() { date +%s.%N; }
t0=$(now)
/usr/bin/python3 -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q --disable-pip-version-check --no-index --find-links "$wheels" lamina-lambda
"$tmp/venv/bin/lamina" --version >/dev/null
t1=$(now)
UV_CACHE_DIR="$tmp/uv-cache" UV_TOOL_DIR="$tmp/uv-tools" \
  "$venv_tools/bin/uvx" --no-index --find-links "$wheels" --from lamina-lambda lamina --version >/dev/null
t2=$(now)
printf 'pip into an empty venv: %.1f s\nuvx, empty uv cache:    %.1f s\n' \
  "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)"
if [ "${FROM_SOURCE:-0}" = 1 ]; then
  t3=$(now)
  CARGO_TARGET_DIR="$tmp/target" "$venv_tools/bin/maturin" build --release --locked --zig \
    --compatibility manylinux2014 --out "$tmp/dist" >/dev/null 2>&1
  t4=$(now)
  printf 'from source (clean release build): %.0f s\n' "$(echo "$t4 - $t3" | bc)"
fi
