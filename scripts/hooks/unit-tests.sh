#!/usr/bin/env bash
# The pre-commit hook's fast subset of the tests: an incremental build of the
# release preset, then the unit tests (ctest label "unit": the gtest suites
# under src/; seconds, no server processes). `make test` runs everything.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
build=build/${PRESET:-release}
if [ ! -f "$build/build.ninja" ]; then
  cmake --preset "${PRESET:-release}" >/dev/null
fi
cmake --build "$build" -j"$(nproc)" | tail -n 1
cd "$build"
ctest -L unit -j"$(nproc)" --output-on-failure --timeout 120 | tail -n 3
