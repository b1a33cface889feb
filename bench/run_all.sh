#!/usr/bin/env bash
# run_all.sh [BUILD_DIR]: runs every benchmark under bench/ against the
# binaries of BUILD_DIR (default build/release), one after another, and says
# which ones failed to run. PASS/MISS are in each benchmark's own output;
# a MISS is a result, not a failure. Benchmarks are never part of ctest.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build_dir=${1:-build/release}
if [[ ! -d $build_dir/bench ]]; then
  echo "run_all: $build_dir/bench not found; build first: cmake --build $build_dir -j2" >&2
  exit 2
fi

echo "== bench/run_all.sh $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) build=$build_dir" \
  "commit=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)"
failed=()
run() {
  echo
  echo "== $*"
  if ! "$@"; then failed+=("$1"); fi
}
run "$here/registry_bench.sh" "$build_dir"
run "$build_dir/bench/registry_list_bench"
run "$here/startup_bench.sh" "$build_dir"
run "$here/loadgen_vs_wrk.sh" "$build_dir"
run "$build_dir/bench/serve_vs_engine"
run "$build_dir/bench/latency_alone"
run "$build_dir/bench/swap_under_load"
run "$build_dir/bench/cache_on_vs_off"
run "$build_dir/bench/preprocess_levers"
run "$here/peer_fastapi.sh" "$build_dir"
run "$build_dir/bench/quantized"

echo
if ((${#failed[@]} > 0)); then
  echo "run_all: failed to run: ${failed[*]}" >&2
  exit 1
fi
echo "run_all: all benchmarks ran"
