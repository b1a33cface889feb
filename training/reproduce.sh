#!/usr/bin/env bash
# Reproduces models/ from nothing (`make train`): render the training and
# validation sets (C++), write their tensors with the one C++ preprocessing,
# train and export both models (PyTorch), quantize SpatialPizzaNet to int8
# (training/quantize.py, calibrated on the training renders), then measure
# all three on the held-out evaluation render (C++) and write the metrics into
# their manifests.
set -euo pipefail
cd "$(dirname "$0")/.."
SPATIAL=${SPATIAL:-build/release/cli/spatial}
WORK=${WORK:-var/train}
OUT=${OUT:-models}
TRAIN_SEED=1 VAL_SEED=2 EVAL_SEED=1000  # the evaluation seed is never used for training
PER_CLASS=${PER_CLASS:-1500}

need=()
for p in python3-torch python3-numpy libopenblas0-pthread python3-onnx python3-opencv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "train: installing ${need[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

step() { echo; echo "== $*"; }
start=$(date +%s)
mkdir -p "$WORK"
step "render training set (seed $TRAIN_SEED) and validation set (seed $VAL_SEED)"
"$SPATIAL" data render --out "$WORK/train" --per-class "$PER_CLASS" --seed $TRAIN_SEED
"$SPATIAL" data render --out "$WORK/val" --per-class $((PER_CLASS / 10)) --seed $VAL_SEED
step "tensors (C++ preprocessing)"
for set in train val; do
  "$SPATIAL" data tensors --in "$WORK/$set" --out "$WORK/${set}64"
  "$SPATIAL" data tensors --in "$WORK/$set" --out "$WORK/${set}48" --visual-size 48 --no-spatial
done
step "train SpatialPizzaNet"
/usr/bin/python3 training/train.py --model spatial --train "$WORK/train64" --val "$WORK/val64" \
  --out "$OUT/spatial-pizza-v1" ${SPATIAL_EPOCHS:+--epochs $SPATIAL_EPOCHS}
step "train MicroPizzaNet"
/usr/bin/python3 training/train.py --model standard --train "$WORK/train48" --val "$WORK/val48" \
  --out "$OUT/standard-pizza-v1" ${STANDARD_EPOCHS:+--epochs $STANDARD_EPOCHS}
step "int8 variant of SpatialPizzaNet (calibrated on the training set)"
/usr/bin/python3 training/quantize.py --model "$OUT/spatial-pizza-v1" --calibration "$WORK/train64" \
  --out "$OUT/spatial-pizza-v1-int8"
step "evaluate on the held-out render (seed $EVAL_SEED)"
"$SPATIAL" data render --out "$WORK/eval" --per-class 100 --seed $EVAL_SEED
for m in spatial-pizza-v1 standard-pizza-v1 spatial-pizza-v1-int8; do
  "$SPATIAL" eval --model "$OUT/$m" --data "$WORK/eval" --update-manifest
done
echo
echo "train: done in $(( $(date +%s) - start )) s; models in $OUT/"
