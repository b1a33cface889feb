#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of fuzz/ (clang-14, ASan+UBSan) in
# build/fuzz, replays the seed corpora and every kept crash input
# (fuzz/regressions/TARGET), then fuzzes each target for FUZZ_SECONDS.
# A crash, leak, UB, timeout or out-of-memory stops it with the input saved in
# build/fuzz/artifacts/TARGET/: fix the code, then move that input to
# fuzz/regressions/TARGET/ so that every later run replays it.
#   FUZZ_SECONDS=60   time per target     FUZZ_TARGETS="multipart dsse"
#   FUZZ_JOBS=2       build parallelism
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-2}
build=build/fuzz
started=$(date +%s)

cxx=${FUZZ_CXX:-clang++-14}
cc=${FUZZ_CC:-clang-14}
if ! command -v "$cxx" >/dev/null; then
  echo "fuzz: $cxx not found (apt-get install clang-14)" >&2
  exit 2
fi
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S fuzz -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_C_COMPILER="$cc" "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs"
built=$(date +%s)
echo "fuzz: built in $((built - started)) s"

# Replays: the seed corpora and the regressions, each input once.
(cd "$build" && ctest --output-on-failure -j"$jobs")

targets=${FUZZ_TARGETS:-$(cd fuzz && ls corpus)}
summary=$build/summary.tsv
printf 'target\tseconds\texecutions\tcorpus\tresult\n' >"$summary"
failed=0
for t in $targets; do
  work=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$work" "$artifacts"
  log=$build/$t.log
  # New inputs go to build/ (first directory); the checked-in seeds stay.
  # -timeout: an input taking 10 s is a hang; -rss_limit_mb: a bomb.
  set +e
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$work" "fuzz/corpus/$t" \
    "fuzz/regressions/$t" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  corpus=$(find "$work" -type f | wc -l)
  if [ $rc -eq 0 ]; then
    result=clean
  else
    result="FAILED (exit $rc; input in $artifacts/)"
    failed=1
    grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -8 >&2
  fi
  printf '%s\t%s\t%s\t%s\t%s\n' "$t" "$seconds" "${execs:-?}" "$corpus" \
    "$result" >>"$summary"
  echo "fuzz: $t: ${execs:-?} executions in $seconds s: $result"
done
column -t -s $'\t' "$summary"
echo "fuzz: done in $(($(date +%s) - started)) s"
exit $failed
