#!/usr/bin/env bash
# Prints the figures of docs/MODELS.md, measured by `spatial eval`: both
# shipped models on the held-out render (seed 1000, never used in training)
# and on each distribution shift (seed 2000). Usage: training/figures.sh [PER_CLASS]
set -euo pipefail
cd "$(dirname "$0")/.."
SPATIAL=${SPATIAL:-build/release/cli/spatial}
PER_CLASS=${1:-100}
WORK=${WORK:-var/figures}
mkdir -p "$WORK"
render() {  # name seed shift
  [ -f "$WORK/$1/labels.csv" ] || "$SPATIAL" data render --out "$WORK/$1" --per-class "$PER_CLASS" \
    --seed "$2" --shift "$3" >/dev/null 2>&1
}
render heldout 1000 none
for s in lighting blur geometry all; do render "shift-$s" 2000 "$s"; done

echo "| data | spatial-pizza-v1 | standard-pizza-v1 |"
echo "|---|---|---|"
for d in heldout shift-lighting shift-blur shift-geometry shift-all; do
  row="| $d ($((PER_CLASS * 6)) images)"
  for m in spatial-pizza-v1 standard-pizza-v1; do
    acc=$("$SPATIAL" eval --model "models/$m" --data "$WORK/$d" --json |
      /usr/bin/python3 -c 'import json,sys; print("%.4f" % json.load(sys.stdin)["accuracy"])')
    row="$row | $acc"
  done
  echo "$row |"
done
for d in heldout shift-all; do
  for m in spatial-pizza-v1 standard-pizza-v1; do
    echo
    echo "### $m on $d"
    echo
    echo '```'
    "$SPATIAL" eval --model "models/$m" --data "$WORK/$d" 2>/dev/null
    echo '```'
  done
done
