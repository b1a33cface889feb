#!/usr/bin/env bash
# peer_fastapi.sh [BUILD_DIR]: `spatial serve` against the original project's
# stack (FastAPI + uvicorn + PyTorch from Debian, bench/peer_fastapi/) serving
# the same model (models/spatial-pizza-v1: model.onnx for us,
# model.torchscript.pt for the peer) with the same preprocessing, the same
# image and the same load generator (`spatial bench`), in one run:
#   a) both answer the same (compare.py: class, probabilities, features);
#   b) closed-loop saturation, rounds alternating ours/peer: ratio ours/peer,
#      goal >= 25 (and per server CPU second, which other load moves less);
#   c) open loop (Poisson) at half the peer's saturation on both: p99 ratio
#      ours/peer, goal <= 0.05.
# Every request goes to the spatial model: our server loads only that bundle
# (--cache-mb 0: no cached answers), the peer has no other.
# Installs the peer's Debian packages when missing (as root; otherwise says
# what to run). Environment: PEER_WORKERS (uvicorn processes, default nproc),
# BENCH_CONCURRENCY (32), BENCH_DURATION (8s per closed-loop level),
# BENCH_ROUNDS (2), BENCH_OPEN_DURATION (20s), BENCH_IMAGE (a JPEG; default a
# rendered 128px pizza). A MISS is a result: the exit status says only
# whether the benchmark ran.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build_dir=${1:-build/release}
spatial=$build_dir/cli/spatial
[[ -x $spatial ]] || spatial=$build_dir/spatial
if [[ ! -x $spatial ]]; then
  echo "peer_fastapi: no spatial binary under $build_dir; build first: cmake --build $build_dir -j2 --target spatial" >&2
  exit 2
fi
export PYTHONDONTWRITEBYTECODE=1
py=/usr/bin/python3 # Debian's python, where the Debian packages are
workers=${PEER_WORKERS:-$(nproc)}
conc=${BENCH_CONCURRENCY:-32}
dur=${BENCH_DURATION:-8s}
rounds=${BENCH_ROUNDS:-2}
open_dur=${BENCH_OPEN_DURATION:-20s}
bundle=$root/models/spatial-pizza-v1

packages=(python3-fastapi python3-uvicorn python3-multipart python3-opencv
  python3-torch python3-numpy libopenblas0-pthread)
missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "peer_fastapi: missing ${missing[*]}; run: sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 2
  fi
  echo "peer_fastapi: installing ${missing[*]}"
  apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
    { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi

tmp=$(mktemp -d)
ours_pid=
peer_pid=
cleanup() {
  [[ -n $ours_pid ]] && kill "$ours_pid" 2>/dev/null
  [[ -n $peer_pid ]] && kill "$peer_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

"$spatial" data render --out "$tmp/imgs" --per-class 1 --seed 11 --size 128 >/dev/null 2>&1
image=${BENCH_IMAGE:-$tmp/imgs/burnt/burnt_0.jpg}

"$spatial" serve --model-dir "$bundle" --address 127.0.0.1 --port 0 \
  --port-file "$tmp/port" --cache-mb 0 >"$tmp/ours.log" 2>&1 &
ours_pid=$!
peer_port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PEER_MODEL_DIR=$bundle PEER_TORCH_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
  $py -m uvicorn server:app \
  --app-dir "$here/peer_fastapi" --host 127.0.0.1 --port "$peer_port" \
  --workers "$workers" --log-level warning >"$tmp/peer.log" 2>&1 &
peer_pid=$!

wait_for() { # URL LOG
  for _ in $(seq 240); do
    curl -sf -o /dev/null "$1" && return 0
    sleep 0.25
  done
  echo "peer_fastapi: $1 never answered; its log:" >&2
  cat "$2" >&2
  exit 1
}
for _ in $(seq 120); do [[ -s $tmp/port ]] && break; sleep 0.25; done
ours=http://127.0.0.1:$(cat "$tmp/port")
peer=http://127.0.0.1:$peer_port
wait_for "$ours/v2/health/ready" "$tmp/ours.log"
wait_for "$peer/health" "$tmp/peer.log"

# CPU seconds (user + system) of a process and its children.
cpu_of() {
  local total=0 p
  for p in "$1" $(ps -o pid= --ppid "$1"); do
    [[ -r /proc/$p/stat ]] || continue
    total=$((total + $(awk '{print $14 + $15}' "/proc/$p/stat")))
  done
  echo "$total"
}
hz=$(getconf CLK_TCK)

# run NAME URL PID ARGS...: one `spatial bench` level; prints "rps p50 p99
# failed cpu_s requests late_sends errors" and keeps the JSON report.
run() {
  local name=$1 url=$2 pid=$3
  shift 3
  local c0 c1
  c0=$(cpu_of "$pid")
  "$spatial" bench "$url/classify" --image "$image" --field use_spatial=true \
    --warmup 2s --quiet --json "$tmp/$name.json" "$@" >/dev/null 2>&1 || true
  c1=$(cpu_of "$pid")
  $py - "$tmp/$name.json" "$((c1 - c0))" "$hz" <<'EOF'
import json, sys
level = json.load(open(sys.argv[1]))["levels"][0]
lat = level["latency_ms"]
errs = ",".join(f"{k}:{v}" for k, v in level["errors"].items() if v) or "-"
print(level["throughput_rps"], lat["p50"], lat["p99"], level["failed"],
      int(sys.argv[2]) / int(sys.argv[3]), level["requests"], level["late_sends"], errs)
EOF
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "peer_fastapi: spatial serve vs FastAPI + uvicorn + PyTorch on $(basename "$bundle"), every request on the spatial model"
echo "  nproc=$(nproc), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  ours: $spatial serve --model-dir $bundle --cache-mb 0 (workers: one per core)"
echo "  peer: uvicorn server:app --workers $workers, torch $($py -c 'import torch; print(torch.__version__)') with 1 thread per worker, fastapi $($py -c 'import fastapi; print(fastapi.__version__)'), uvicorn $($py -c 'import uvicorn; print(uvicorn.__version__)'), opencv $($py -c 'import cv2; print(cv2.__version__)')"
echo "  image: $(basename "$image") ($(stat -c %s "$image") bytes), POST /classify use_spatial=true"
echo "a) the same answers"
$py "$here/peer_fastapi/compare.py" "$ours" "$peer" "$image" "$tmp"/imgs/*/*.jpg

echo "b) closed loop c=$conc, $dur per level after 2s warm-up, $rounds round(s) alternating"
ours_rps=() peer_rps=() ours_cpu=() peer_cpu=()
for r in $(seq "$rounds"); do
  for side in ours peer; do
    if [[ $side == ours ]]; then url=$ours pid=$ours_pid; else url=$peer pid=$peer_pid; fi
    read -r rps p50 p99 failed cpu n _ errs < <(run "closed_${side}_$r" "$url" "$pid" --concurrency "$conc" --duration "$dur")
    per_cpu=$(awk -v n="$n" -v c="$cpu" 'BEGIN {printf "%.1f", (c > 0) ? n / c : 0}')
    printf '  round %d %-5s %8.1f req/s  %8.1f req per server CPU-s  p50 %8.2f ms  p99 %8.2f ms  failed %d (%s)\n' \
      "$r" "$side" "$rps" "$per_cpu" "$p50" "$p99" "$failed" "$errs"
    if [[ $side == ours ]]; then ours_rps+=("$rps") ours_cpu+=("$per_cpu"); else peer_rps+=("$rps") peer_cpu+=("$per_cpu"); fi
  done
done
o=$(median "${ours_rps[@]}") p=$(median "${peer_rps[@]}")
oc=$(median "${ours_cpu[@]}") pc=$(median "${peer_cpu[@]}")
tput_ratio=$(awk -v o="$o" -v p="$p" 'BEGIN {printf "%.2f", o / p}')
cpu_ratio=$(awk -v o="$oc" -v p="$pc" 'BEGIN {printf "%.2f", o / p}')
verdict() { awk -v x="$1" -v g="$2" -v op="$3" 'BEGIN {ok = (op == ">=") ? x >= g : x <= g; print ok ? "PASS" : "MISS"}'; }
printf '  saturation ours %.1f req/s, peer %.1f req/s (medians)\n' "$o" "$p"
echo "  ratio ours/peer throughput        $tput_ratio   goal >= 25   $(verdict "$tput_ratio" 25 ">=")"
echo "  ratio per server CPU second       $cpu_ratio   (ours $oc, peer $pc req per CPU-s; moves less with other load)"

rate=$(awk -v p="$p" 'BEGIN {printf "%.1f", p / 2}')
echo "c) open loop (Poisson) at half the peer's saturation = $rate req/s, $open_dur after 2s warm-up"
declare -A p99s
for side in ours peer; do
  if [[ $side == ours ]]; then url=$ours pid=$ours_pid; else url=$peer pid=$peer_pid; fi
  read -r rps p50 p99 failed cpu n late errs < <(run "open_$side" "$url" "$pid" --rate "$rate" --distribution poisson --duration "$open_dur")
  printf '  %-5s got %8.1f req/s  p50 %8.2f ms  p99 %8.2f ms  failed %d (%s)  late sends %d\n' \
    "$side" "$rps" "$p50" "$p99" "$failed" "$errs" "$late"
  p99s[$side]=$p99
done
lat_ratio=$(awk -v o="${p99s[ours]}" -v p="${p99s[peer]}" 'BEGIN {printf "%.3f", o / p}')
echo "  ratio ours/peer p99               $lat_ratio   goal <= 0.05   $(verdict "$lat_ratio" 0.05 "<=")"
std=$(curl -s "$ours/metrics" | awk '/model="standard-cnn"/ && /_count/ {s += $2} END {print s + 0}')
echo "  our standard-cnn inferences: $std (every request on the spatial model)"
echo "  load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
