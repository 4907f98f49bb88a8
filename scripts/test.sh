#!/usr/bin/env bash
# The whole test suite, as CI runs it, on a fresh Debian machine: installs what the tests need
# (apt packages; later pip packages and servers), then cargo fmt --check, clippy -D warnings and
# every test of the workspace, the fuzz corpora included (crates/fuzz-targets/tests/replay.rs
# replays every seed and saved crasher on stable). Timed fuzzing is scripts/fuzz.sh, on demand.
# Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# python3-venv: tests/it/distribution.rs installs the wheel into a venv made by the system python3.
APT_PACKAGES=(skopeo umoci podman runc python3 python3-venv docker-registry apache2-utils openssl busybox-static libc-bin qemu-user dpkg)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    uidmap fuse-overlayfs slirp4netns >/dev/null
fi

# The wheel parity test compares against the real pip.
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "test.sh: installing python3-pip" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
fi

# moto's server (the ECR API) for the ECR tests, in a venv kept between runs.
export LAMINA_TEST_VENV="${LAMINA_TEST_VENV:-$HOME/.cache/lamina-test/venv}"
if [ ! -x "$LAMINA_TEST_VENV/bin/moto_server" ]; then
  echo "test.sh: installing moto[server] into $LAMINA_TEST_VENV" >&2
  mkdir -p "$(dirname "$LAMINA_TEST_VENV")"
  if ! python3 -m venv "$LAMINA_TEST_VENV" 2>/dev/null; then
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    python3 -m venv "$LAMINA_TEST_VENV"
  fi
  "$LAMINA_TEST_VENV/bin/pip" install -q --disable-pip-version-check 'moto[server,ecr]' boto3 jsonschema
fi
# jsonschema validates the --format json documents against schema/report.schema.json.
if ! "$LAMINA_TEST_VENV/bin/python" -c 'import jsonschema' 2>/dev/null; then
  "$LAMINA_TEST_VENV/bin/pip" install -q --disable-pip-version-check jsonschema
fi
# The lock tests: the real uv writes the locks, pypiserver (with passlib for htpasswd) serves them.
if [ ! -x "$LAMINA_TEST_VENV/bin/uv" ] || [ ! -x "$LAMINA_TEST_VENV/bin/pypi-server" ]; then
  echo "test.sh: installing uv and pypiserver into $LAMINA_TEST_VENV" >&2
  "$LAMINA_TEST_VENV/bin/pip" install -q --disable-pip-version-check uv 'pypiserver[passlib]'
fi

# The wheel (issue 25): maturin builds it, tests/it/distribution.rs installs it into a fresh venv;
# the SPDX and CycloneDX tools judge the SBOMs.
if [ ! -x "$LAMINA_TEST_VENV/bin/maturin" ] || [ ! -x "$LAMINA_TEST_VENV/bin/pyspdxtools" ] \
   || [ ! -x "$LAMINA_TEST_VENV/bin/cyclonedx-py" ]; then
  echo "test.sh: installing maturin, spdx-tools and cyclonedx-bom into $LAMINA_TEST_VENV" >&2
  "$LAMINA_TEST_VENV/bin/pip" install -q --disable-pip-version-check 'maturin>=1.9,<2' \
    spdx-tools cyclonedx-bom cyclonedx-python-lib
fi

# Debian's CPython 3.11 for amd64 and arm64 (.deb files, unpacked by the bytecode tests into
# two-platform base images). Private apt lists: the machine's own apt configuration is untouched.
export LAMINA_TEST_DEBS="${LAMINA_TEST_DEBS:-$HOME/.cache/lamina-test/debs}"
DEB_PACKAGES=(python3.11-minimal libpython3.11-minimal libpython3.11-stdlib libc6 zlib1g libexpat1)
if [ "$(ls "$LAMINA_TEST_DEBS"/*.deb 2>/dev/null | wc -l)" -lt $((2 * ${#DEB_PACKAGES[@]})) ]; then
  echo "test.sh: downloading ${DEB_PACKAGES[*]} (amd64, arm64) into $LAMINA_TEST_DEBS" >&2
  lists="$(mktemp -d)"
  mkdir -p "$lists/partial" "$LAMINA_TEST_DEBS"
  apt_opts=(-q -o "Dir::State::Lists=$lists" -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 -o Debug::NoLocking=1)
  apt-get "${apt_opts[@]}" update >/dev/null
  (cd "$LAMINA_TEST_DEBS" && for arch in amd64 arm64; do
     apt-get "${apt_opts[@]}" download "${DEB_PACKAGES[@]/%/:$arch}" >/dev/null 2>&1
   done)
  rm -rf "$lists"
fi

# Real wheels that import heavily (boto3, pydantic, requests and their dependencies) for the
# end-to-end bytecode test and benches/coldstart.sh, downloaded once from PyPI.
export LAMINA_TEST_WHEELS="${LAMINA_TEST_WHEELS:-$HOME/.cache/lamina-test/wheels-heavy}"
if [ ! -f "$LAMINA_TEST_WHEELS/.complete" ]; then
  echo "test.sh: downloading boto3, pydantic, requests wheels into $LAMINA_TEST_WHEELS" >&2
  mkdir -p "$LAMINA_TEST_WHEELS"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    -d "$LAMINA_TEST_WHEELS" boto3==1.35.99 botocore==1.35.99 pydantic==2.10.6 requests==2.32.3
  touch "$LAMINA_TEST_WHEELS/.complete"
fi

# The traffic-manager wheel set (google-ads, botocore, pydantic, cryptography, pycparser, …: 34
# wheels, every version pinned) for the reproducibility oracle and matrix (tests/it/repro.rs).
export LAMINA_TEST_TRAFFIC_WHEELS="${LAMINA_TEST_TRAFFIC_WHEELS:-$HOME/.cache/lamina-test/wheels-traffic}"
if [ ! -f "$LAMINA_TEST_TRAFFIC_WHEELS/.complete" ]; then
  echo "test.sh: downloading the traffic-manager wheel set into $LAMINA_TEST_TRAFFIC_WHEELS" >&2
  mkdir -p "$LAMINA_TEST_TRAFFIC_WHEELS"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --no-deps \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    -d "$LAMINA_TEST_TRAFFIC_WHEELS" \
    annotated_types==0.8.0 boto3==1.44.8 botocore==1.44.8 certifi==2026.10.19.post1 cffi==2.1.1 \
    charset_normalizer==3.5.3 cryptography==50.0.2 google_ads==34.0.0 google_api_core==2.44.0 \
    google_auth==2.63.0 google_auth_oauthlib==1.5.0 googleapis_common_protos==1.76.0 grpcio==1.85.3 \
    grpcio_status==1.85.3 idna==3.20 jmespath==1.1.0 oauthlib==4.0.1 opentelemetry_api==1.45.2 \
    proto_plus==1.29.0 protobuf==7.36.2 pyasn1==0.6.5 pyasn1_modules==0.4.2 pycparser==3.12 \
    pydantic==2.14.4 pydantic_core==2.50.5 python_dateutil==2.9.0.post0 pyyaml==6.0.4 \
    requests==2.34.2 requests_oauthlib==2.0.0 s3transfer==0.19.3 six==1.17.0 \
    typing_extensions==4.16.0 typing_inspection==0.4.5 urllib3==2.8.0
  touch "$LAMINA_TEST_TRAFFIC_WHEELS/.complete"
fi

# The real-package corpus (tests/it/corpus.rs): 58 wheels Lambda functions commonly ship (pydantic,
# numpy, pandas, Pillow, lxml, opencv-python and -headless, grpcio, google-ads, …), pinned by hash.
export LAMINA_TEST_CORPUS_WHEELS="${LAMINA_TEST_CORPUS_WHEELS:-$HOME/.cache/lamina-test/wheels-corpus}"
if [ ! -f "$LAMINA_TEST_CORPUS_WHEELS/.complete" ]; then
  echo "test.sh: downloading the real-package corpus into $LAMINA_TEST_CORPUS_WHEELS" >&2
  mkdir -p "$LAMINA_TEST_CORPUS_WHEELS"
  python3 -m pip download -q --disable-pip-version-check --only-binary=:all: --no-deps --require-hashes \
    --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 \
    --python-version 3.12 --implementation cp --abi cp312 --abi abi3 --abi none \
    -d "$LAMINA_TEST_CORPUS_WHEELS" -r tests/corpus/requirements.txt
  touch "$LAMINA_TEST_CORPUS_WHEELS/.complete"
fi

# Everything the tests need is installed above: a test that finds a tool missing fails rather
# than skipping (tests/it/support/tools.rs).
export LAMINA_REQUIRE_TOOLS="${LAMINA_REQUIRE_TOOLS:-1}"

echo "test.sh: cargo fmt --check" >&2
cargo fmt --all -- --check
echo "test.sh: cargo clippy" >&2
cargo clippy --locked --workspace --all-targets -- -D warnings
# lamina-core without its `aws` feature (what the fuzz targets build): the workspace build above
# turns it on, so this is the only place the SDK-less code is compiled.
cargo clippy --locked -p lamina-fuzz-targets --all-targets -- -D warnings
# The wheel as users get it (pyproject.toml; the dev profile here, so the test build below reuses
# its compiled dependencies; releases build --release --zig, .github/workflows/release.yml).
echo "test.sh: maturin build (the wheel)" >&2
export LAMINA_TEST_WHEEL_DIR="$PWD/target/test-wheel"
rm -rf "$LAMINA_TEST_WHEEL_DIR"
"$LAMINA_TEST_VENV/bin/maturin" build --locked --profile dev --strip --quiet --out "$LAMINA_TEST_WHEEL_DIR" >&2
echo "test.sh: cargo test" >&2
# Snapshot tests (tests/it/snapshots/): a new or changed snapshot fails, it is never written here.
# To accept one on purpose: INSTA_UPDATE=always cargo test --test it snapshots::, then review.
INSTA_UPDATE=no INSTA_FORCE_PASS=0 cargo test --locked --workspace --all-targets
# `cargo install lamina-lambda` needs every crate publishable: package them all and build the packaged
# sources (crates.io would hold nothing else). The packaged crates build outside this workspace,
# without its [profile.dev] settings: the same settings given as --config let that build reuse
# the dependencies compiled above (2.7 minutes instead of 5).
echo "test.sh: cargo package" >&2
cargo package --locked --allow-dirty --workspace --exclude lamina-fuzz-targets \
  --config 'profile.dev.debug="line-tables-only"' --config 'profile.dev.package."*".opt-level=2' \
  --config 'profile.dev.package.aws-sdk-ecr.opt-level=0' \
  --config 'profile.dev.package.aws-sdk-codeartifact.opt-level=0' \
  --config 'profile.dev.package.aws-config.opt-level=0'
# With the same profile, the packaged `lamina` shares its build-script unit with the checkout's, and
# its `--version` stamp (from .cargo_vcs_info.json) would outlive this run: drop that unit.
cargo clean --quiet -p lamina-lambda
