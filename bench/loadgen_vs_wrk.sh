#!/usr/bin/env bash
# loadgen_vs_wrk.sh [BUILD_DIR]: does `spatial bench` drive >= 90% of wrk's
# request rate against /health (SPEC.md)? Starts bench/health_server (a
# minimal Beast server, 2 threads) on a free loopback port, then runs
# `wrk -t2 -c64 -d5s` and `spatial bench --concurrency 64 --duration 5s
# --threads 2` alternately against it, and prints the req/s of each (median
# over the rounds) and their ratio. Both clients share the machine with the
# server, as they would in CI; the load average is printed with the result.
#
#   BUILD_DIR           default build/release
#   BENCH_ROUNDS        rounds of (wrk, spatial bench) (default 3)
#   BENCH_DURATION      length of each run in seconds (default 5)
#   BENCH_CONNECTIONS   connections of both clients (default 64)
# wrk is installed with apt-get when missing (as root; otherwise it says how).
set -euo pipefail

build_dir=${1:-build/release}
spatial="$build_dir/cli/spatial"
server_bin="$build_dir/bench/health_server"
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_DURATION:-5}
conns=${BENCH_CONNECTIONS:-64}
goal=0.90

for bin in "$spatial" "$server_bin"; do
  if [[ ! -x $bin ]]; then
    echo "loadgen_vs_wrk: $bin not found; build first:" \
      "cmake --build $build_dir -j2 --target spatial health_server" >&2
    exit 2
  fi
done
if ! [[ $rounds =~ ^[1-9][0-9]*$ && $seconds =~ ^[1-9][0-9]*$ && $conns =~ ^[1-9][0-9]*$ ]]; then
  echo "loadgen_vs_wrk: BENCH_ROUNDS, BENCH_DURATION and BENCH_CONNECTIONS must be" \
    "positive integers" >&2
  exit 2
fi

if ! command -v wrk >/dev/null 2>&1; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "loadgen_vs_wrk: wrk is not installed; run: sudo apt-get install -y wrk" >&2
    exit 2
  fi
  echo "loadgen_vs_wrk: installing wrk (apt-get)" >&2
  if ! apt-get install -y --no-install-recommends wrk >/dev/null 2>&1; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends wrk >/dev/null
  fi
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/loadgen_vs_wrk.XXXXXX")
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

"$server_bin" --port 0 --threads 2 >"$tmp/server.out" 2>&1 &
server_pid=$!
port=""
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/server.out")
  [[ -n $port ]] && break
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.05
done
if [[ -z $port ]]; then
  echo "loadgen_vs_wrk: health_server did not start:" >&2
  cat "$tmp/server.out" >&2
  exit 1
fi
url="http://127.0.0.1:$port/health"

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
wrk_rates=()
bench_rates=()
for ((round = 1; round <= rounds; round++)); do
  wrk -t2 -c"$conns" -d"${seconds}s" "$url" >"$tmp/wrk.out"
  rate=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.out")
  errors=$(grep -E 'Non-2xx|Socket errors' "$tmp/wrk.out" || true)
  wrk_rates+=("$rate")
  echo "  round $round  wrk            $rate req/s ${errors:+ ($errors)}"

  "$spatial" bench "$url" --concurrency "$conns" --duration "${seconds}s" --threads 2 \
    --quiet --json "$tmp/bench.json" >"$tmp/bench.out"
  read -r rate failed < <(python3 -c '
import json, sys
level = json.load(open(sys.argv[1]))["levels"][0]
print("%.2f %d" % (level["throughput_rps"], level["failed"]))' "$tmp/bench.json")
  bench_rates+=("$rate")
  echo "  round $round  spatial bench  $rate req/s  (failed: $failed)"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

wrk_median=$(printf '%s\n' "${wrk_rates[@]}" | median)
bench_median=$(printf '%s\n' "${bench_rates[@]}" | median)
awk -v w="$wrk_median" -v b="$bench_median" -v goal="$goal" -v n="$rounds" \
  -v c="$conns" -v s="$seconds" 'BEGIN {
  ratio = b / w
  printf "loadgen_vs_wrk: GET /health, %d connections, 2 client threads, %ds runs, median of %d\n", c, s, n
  printf "  wrk             %10.0f req/s\n", w
  printf "  spatial bench   %10.0f req/s\n", b
  printf "  ratio bench/wrk %10.2f   goal >= %.2f   %s\n", ratio, goal, (ratio >= goal ? "PASS" : "MISS")
}'
echo "  nproc=$(nproc), load average before: $load_before, after: $load_after"
echo "  server: health_server --threads 2 (bench/health_server.cc); wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2)"
