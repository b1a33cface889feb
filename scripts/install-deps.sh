#!/usr/bin/env bash
# Installs the Debian packages spatial-deploy needs to build and test.
# Idempotent: checks with dpkg first and touches apt only when something is missing.
set -euo pipefail

# What `cmake --preset release` + `cmake --build --target spatial` need (the
# container image's build stage installs only these: --build-only). GoogleTest
# is here because the top-level CMakeLists finds it at configure time.
BUILD_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libopencv-core-dev libopencv-imgproc-dev libopencv-dnn-dev
  libturbojpeg0-dev libpng-dev libwebp-dev libssl-dev
  libonnx-dev libprotobuf-dev
  libboost-dev
  libsqlite3-dev
  libpqxx-dev
  nlohmann-json3-dev libcli11-dev libabsl-dev libsodium-dev
  libgtest-dev libgmock-dev
)
# The tests, benchmarks and checks on top: PostgreSQL for the team-registry
# tests, python3-yaml + yamllint + promtool (prometheus) + docker-compose for
# the deploy/ file tests, chromium (headless) for the pipeline report's
# screenshot test and, with python3-websocket (the DevTools protocol), for the
# console's browser test; pre-commit, shellcheck and clang-format for the hooks of
# .pre-commit-config.yaml (tests/workflow/precommit_test.sh runs them); clang-14
# and its runtimes for the libFuzzer targets of fuzz/ (make fuzz, make ci-sanitize);
# podman-compose and catatonit (the pause image of `podman kube play`) for
# make fleet-test (podman itself comes with make container-test).
TEST_PACKAGES=(
  git sqlite3 postgresql libbenchmark-dev coreutils
  python3 python3-yaml yamllint prometheus docker-compose chromium
  python3-websocket
  pre-commit shellcheck clang-format
  clang-14 libclang-rt-14-dev
  podman-compose catatonit
)

PACKAGES=("${BUILD_PACKAGES[@]}")
if [ "${1:-}" != "--build-only" ]; then
  PACKAGES+=("${TEST_PACKAGES[@]}")
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "install-deps: not root and no sudo; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${#missing[@]} packages"
