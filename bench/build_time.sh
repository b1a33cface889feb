#!/usr/bin/env bash
# build_time.sh: issue #22 item 5's goals, measured from a fresh clone of this
# checkout with no compiler cache: `make build`'s configure + build <= 8 min
# and `make test`'s build + ctest <= 15 min on this machine's cores.
#   bench/build_time.sh [JOBS]     # default: nproc; ~10-20 min
# Prints each phase's wall time and PASS/MISS; the clone is removed at the
# end. The goals are absolute (the issue names minutes on 2 cores): the
# machine's load is printed with them, since another job's builds move them.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${1:-$(nproc)}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spatial-build-time.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
git clone -q "$PWD" "$TMP/src"
cd "$TMP/src"
echo "build_time: $(git log --oneline -1), nproc=$(nproc), jobs=$JOBS, load: $(cut -d' ' -f1-3 /proc/loadavg)"
export CCACHE_DISABLE=1  # a fresh machine has no cache
t0=$(date +%s)
cmake --preset release >/dev/null
cmake --build build/release -j"$JOBS" >"$TMP/build.log" 2>&1 || { tail -20 "$TMP/build.log"; exit 1; }
t1=$(date +%s)
(cd build/release && ctest -j"$JOBS" --timeout 600 >"$TMP/ctest.log" 2>&1) || { tail -20 "$TMP/ctest.log"; exit 1; }
t2=$(date +%s)
verdict() { [ "$1" -le "$2" ] && echo PASS || echo MISS; }
build=$((t1 - t0)); total=$((t2 - t0))
echo "  make build (configure + build, no cache): ${build} s  $(verdict $build 480) (goal <= 480 s)"
echo "  make test (build + ctest):                ${total} s  $(verdict $total 900) (goal <= 900 s)"
echo "  $(grep -E 'tests passed' "$TMP/ctest.log"); load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
