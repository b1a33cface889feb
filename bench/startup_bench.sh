#!/usr/bin/env bash
# startup_bench.sh [BUILD_DIR]: do the light commands start in milliseconds
# (issue 22)? Times, from this shell, `spatial --version` (goal <= 5 ms) and
# `spatial model list` over a 10,000-version SQLite registry (goal < 50 ms,
# end to end), against references taken in the same run: /bin/true (the
# floor of fork + exec from bash) and the same commands run by spatial-full,
# the binary that links the inference stack as the single `spatial` did.
# Rounds alternate between the commands, so that the machine's load falls on
# all of them alike; the median of each counts. Also prints what the dynamic
# loader does at start (LD_DEBUG=statistics) and how many libraries load.
#
#   BUILD_DIR    default build/release
#   BENCH_RUNS   rounds (default 21)
#   BENCH_VERSIONS  versions in the registry (default 10000)
# Timing: bash's $EPOCHREALTIME around each command (hyperfine, when
# installed, is not needed: the commands are timed one round at a time).
set -euo pipefail

build_dir=${1:-build/release}
spatial="$build_dir/cli/spatial"
full="$build_dir/cli/spatial-full"
maker="$build_dir/bench/registry_list_bench"
runs=${BENCH_RUNS:-21}
versions=${BENCH_VERSIONS:-10000}

for b in "$spatial" "$full" "$maker"; do
  if [[ ! -x $b ]]; then
    echo "startup_bench: $b not found; build first: cmake --build $build_dir -j2 --target spatial registry_list_bench" >&2
    exit 2
  fi
done
if ! [[ $runs =~ ^[1-9][0-9]*$ && $versions =~ ^[1-9][0-9]*$ ]]; then
  echo "startup_bench: BENCH_RUNS and BENCH_VERSIONS must be positive integers" >&2
  exit 2
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/startup_bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$maker" --versions "$versions" --individual 0 --registry-only "$tmp/r" >/dev/null
db="$tmp/r/reg.db"

names=(true full_version version full_list list list_json)
declare -A cmd=(
  [true]="/bin/true"
  [full_version]="$full --version"
  [version]="$spatial --version"
  [full_list]="$full model list --registry $db"
  [list]="$spatial model list --registry $db"
  [list_json]="$spatial model list --registry $db --json"
)
declare -A times=()
# One warm-up round (page cache, SQLite file), not counted.
for n in "${names[@]}"; do ${cmd[$n]} >/dev/null 2>&1; done
for ((i = 0; i < runs; i++)); do
  for n in "${names[@]}"; do
    start=$EPOCHREALTIME
    ${cmd[$n]} >/dev/null 2>&1
    end=$EPOCHREALTIME
    times[$n]+="$(( ${end/./} - ${start/./} )) "
  done
done

median_ms() {
  tr ' ' '\n' <<<"${times[$1]}" | grep . | sort -n |
    awk '{v[NR] = $1} END {m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m / 1000}'
}
verdict() {  # ms goal op
  awk -v ms="$1" -v goal="$2" -v op="$3" 'BEGIN {
    ok = op == "<=" ? ms <= goal : ms < goal; print ok ? "PASS" : "MISS" }'
}
row() {  # label name [goal op]
  local ms
  ms=$(median_ms "$2")
  if [[ $# -ge 4 ]]; then
    printf '  %-52s %8s ms  goal %s %s ms  %s\n' "$1" "$ms" "$4" "$3" "$(verdict "$ms" "$3" "$4")"
  else
    printf '  %-52s %8s ms  (reference)\n' "$1" "$ms"
  fi
}
loaded() {  # libraries the loader maps for argv
  LD_DEBUG=libs "$@" 2>&1 >/dev/null | grep -c 'calling init:' || true
}
startup_cycles() {
  LD_DEBUG=statistics "$@" 2>&1 >/dev/null |
    awk '/total startup time in dynamic loader/ {print $(NF-1); exit}'
}

echo "startup_bench: $versions versions, median of $runs alternating rounds from bash"
echo "load: $(uptime | sed 's/.*load average/load average/')"
row "/bin/true (fork + exec floor)" true
row "spatial-full --version (the inference stack linked)" full_version
row "spatial --version" version 5 "<="
row "spatial-full model list (as the single binary did)" full_list
row "spatial model list" list 50 "<"
row "spatial model list --json (information)" list_json
echo "dynamic loader at start (LD_DEBUG):"
printf '  %-52s %8s libraries initialised, %s cycles in ld.so\n' "spatial --version" \
  "$(loaded "$spatial" --version)" "$(startup_cycles "$spatial" --version)"
printf '  %-52s %8s libraries initialised, %s cycles in ld.so\n' "spatial-full --version" \
  "$(loaded "$full" --version)" "$(startup_cycles "$full" --version)"
