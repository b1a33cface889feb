#!/usr/bin/env bash
# registry_bench.sh [BUILD_DIR]: does `spatial model register` stream sha256 at
# >= 80% of `sha256sum` speed (SPEC.md)? Times both on the same file, already
# in the page cache, alternately, and prints MiB/s of each and their ratio.
#
#   BUILD_DIR            default build/release
#   BENCH_REGISTER_MB    file size in MiB (default 1024)
#   BENCH_RUNS           runs of each command, the median counts (default 3)
#   BENCH_TMPDIR         where the file and the registry go (default $TMPDIR or
#                        /tmp); register copies the file into a store beside the
#                        registry and fsyncs it, so this picks the disk measured
#   BENCH_BREAKDOWN      1: always run register_breakdown on the same file
#                        afterwards, 0: never; default: only on a MISS
#   BENCH_TIMER          hyperfine | date (default: hyperfine when installed)
# With hyperfine, one round is `hyperfine --runs 1` of both commands, so that
# they still alternate; with date, `date +%s%N` around each command.
set -euo pipefail

build_dir=${1:-build/release}
spatial="$build_dir/cli/spatial"
breakdown_bin="$build_dir/bench/register_breakdown"
size_mb=${BENCH_REGISTER_MB:-1024}
runs=${BENCH_RUNS:-3}
goal=0.80

if [[ ! -x $spatial ]]; then
  echo "registry_bench: $spatial not found; build first: cmake --build $build_dir -j2" >&2
  exit 2
fi
if ! [[ $size_mb =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "registry_bench: BENCH_REGISTER_MB and BENCH_RUNS must be positive integers" >&2
  exit 2
fi

tmp=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/registry_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
file="$tmp/model.bin"
registry="$tmp/reg.db"

head -c "$((size_mb * 1024 * 1024))" /dev/urandom >"$file"
cat "$file" >/dev/null  # warm the page cache: both commands read from memory

timer=${BENCH_TIMER:-}
if [[ -z $timer ]]; then
  timer="date"
  if command -v hyperfine >/dev/null 2>&1; then timer=hyperfine; fi
fi
if [[ $timer != hyperfine && $timer != date ]]; then
  echo "registry_bench: BENCH_TIMER must be hyperfine or date" >&2
  exit 2
fi

# time_pair SHA_CMD... -- REG_CMD...: prints "sha_seconds reg_seconds".
time_pair() {
  local -a sha_cmd=() reg_cmd=()
  while [[ $1 != -- ]]; do sha_cmd+=("$1"); shift; done
  shift
  reg_cmd=("$@")
  if [[ $timer == hyperfine ]]; then
    local json="$tmp/round.json"
    # -N: no intermediate shell; hyperfine splits each command line itself,
    # so every word is shell-quoted.
    hyperfine -N --runs 1 --style none --export-json "$json" \
      "$(printf '%q ' "${sha_cmd[@]}")" "$(printf '%q ' "${reg_cmd[@]}")" >/dev/null
    awk -F'[:,]' '/"median":/ { gsub(/ /, "", $2); printf "%s ", $2 } END { print "" }' "$json"
  else
    local t0 t1 t2
    t0=$(date +%s%N)
    "${sha_cmd[@]}" >/dev/null
    t1=$(date +%s%N)
    "${reg_cmd[@]}" >/dev/null
    t2=$(date +%s%N)
    awk -v a="$((t1 - t0))" -v b="$((t2 - t1))" 'BEGIN { printf "%.6f %.6f\n", a / 1e9, b / 1e9 }'
  fi
}

sha_times=()
reg_times=()
for ((i = 1; i <= runs; i++)); do
  # An assignment, not a process substitution, so that a failed command
  # stops the script (set -e).
  pair=$(time_pair sha256sum "$file" -- \
    "$spatial" model register "$file" --registry "$registry" --version-id "v$i" \
    --architecture dual-encoder)
  read -r s r <<<"$pair"
  sha_times+=("$s")
  reg_times+=("$r")
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
sha_med=$(median "${sha_times[@]}")
reg_med=$(median "${reg_times[@]}")

ratio=$(awk -v s="$sha_med" -v r="$reg_med" 'BEGIN { printf "%.2f", s / r }')
result=$(awk -v x="$ratio" -v g="$goal" 'BEGIN { print (x >= g) ? "PASS" : "MISS" }')
row() { awk -v t="$2" -v mb="$size_mb" -v what="$1" -v all="$3" \
  'BEGIN { printf "  %-28s %7.3f s  %7.1f MiB/s   (runs: %s)\n", what, t, mb / t, all }'; }

echo "registry_bench: register vs sha256sum on a $size_mb MiB file in the page cache, median of $runs"
row sha256sum "$sha_med" "${sha_times[*]}"
row "spatial model register" "$reg_med" "${reg_times[*]}"
printf '  %-28s %5s   goal >= %s   %s\n' "ratio register/sha256sum" "$ratio" "$goal" "$result"
echo "  timer: $timer; files on $(df -PT "$tmp" | awk 'NR == 2 { print $1 " (" $2 ")" }')"

want_breakdown=${BENCH_BREAKDOWN:-}
if [[ $want_breakdown == 1 || ($want_breakdown == "" && $result == MISS) ]]; then
  if [[ -x $breakdown_bin ]]; then
    echo
    "$breakdown_bin" "$file" --runs "$runs"
  else
    echo "  ($breakdown_bin not built: no breakdown)"
  fi
fi
