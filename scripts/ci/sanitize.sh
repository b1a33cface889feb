#!/usr/bin/env bash
# `make ci-sanitize`, CI's sanitizer part (docs/RELIABILITY.md): builds only
# what each run needs, never two sanitizer builds at once.
#   1. ASan+UBSan (preset asan, build/asan): every unit test (ctest -L unit).
#   2. TSan (preset tsan, build/tsan): the threaded tests: batcher, live
#      accuracy, model manager and its registry watcher, prediction cache,
#      HTTP server, PostgreSQL listener and concurrent writers.
#   3. libFuzzer (fuzz/, build/fuzz): replays, then FUZZ_SECONDS (20) a target.
# The full suites under the sanitizers stay `make asan` / `make tsan`.
# SANITIZE_PARTS="asan tsan fuzz" picks parts; SANITIZE_JOBS the parallelism.
set -euo pipefail
cd "$(dirname "$0")/../.."
jobs=${SANITIZE_JOBS:-$(nproc)}
parts=${SANITIZE_PARTS:-asan tsan fuzz}
started=$(date +%s)

took() {
  echo "ci-sanitize: $1 took $(($(date +%s) - $2)) s"
}

# Every unit test binary (spatial_test() under src/ and cli/: label "unit").
asan_targets=(
  base_test base_http_client_test base_subprocess_test vision_test
  inference_test onnx_info_test registry_test sqlite_registry_test backup_test
  security_test http_server_test serving_test prediction_cache_test
  model_manager_test oip_test pizza_api_test validation_test loadtest_test
  loadtest_http_test bench_cli_test envtest_unit_test checks_test
  pipeline_test cli_test
)
tsan_targets=(
  serving_test model_manager_test prediction_cache_test http_server_test
  postgres_threads_test
)

# A private temporary directory: tests name theirs after the test
# (::testing::TempDir()), so two runs on one machine would share them.
TEST_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/ci-sanitize.XXXXXX")
export TEST_TMPDIR
trap 'rm -rf "$TEST_TMPDIR"' EXIT

# Stop at the first report, with the stacks that tell what raced or leaked.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/scripts/ci/tsan.supp}

for part in $parts; do
  t=$(date +%s)
  case $part in
    asan)
      cmake --preset asan >/dev/null
      cmake --build build/asan -j"$jobs" --target "${asan_targets[@]}"
      took "ASan+UBSan build" "$t"
      # Unit tests only: gtest_discover_tests labels them; the integration
      # binaries are not built here (their NOT_BUILT placeholders carry no
      # label, so -L leaves them out).
      (cd build/asan && ctest -L unit -j"$jobs" --timeout 600 \
        --output-on-failure)
      took "ASan+UBSan unit tests (build and run)" "$t"
      ;;
    tsan)
      cmake --preset tsan -DSPATIAL_SANITIZE_SUBSET=ON >/dev/null
      cmake --build build/tsan -j"$jobs" --target "${tsan_targets[@]}"
      took "TSan build" "$t"
      (cd build/tsan && ctest -L 'unit|postgres' -j"$jobs" --timeout 600 \
        --output-on-failure)
      took "TSan threaded tests (build and run)" "$t"
      ;;
    fuzz)
      FUZZ_SECONDS=${FUZZ_SECONDS:-20} FUZZ_JOBS=$jobs bash fuzz/run.sh
      took "fuzz (build, replay, ${FUZZ_SECONDS:-20} s a target)" "$t"
      ;;
    *)
      echo "ci-sanitize: unknown part '$part' (asan, tsan or fuzz)" >&2
      exit 2
      ;;
  esac
done
took "ci-sanitize" "$started"
