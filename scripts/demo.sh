#!/usr/bin/env bash
# A short, real demo of the registry (until the pipeline replaces it as `make run`):
# register each model found under models/ (or a generated artifact when there
# is none), validate it for development, promote it, list and show history.
set -euo pipefail
SPATIAL=${1:-build/release/cli/spatial}
DEMO_DIR=var/demo
REG="$DEMO_DIR/registry.db"
rm -rf "$DEMO_DIR"
mkdir -p "$DEMO_DIR"
run() { echo "+ spatial $*"; "$SPATIAL" "$@"; echo; }

artifacts=()
for d in models/*/; do
  [ -f "$d/model.onnx" ] && artifacts+=("${d%/}")
done
if [ ${#artifacts[@]} -eq 0 ]; then
  echo "(no model under models/ yet: registering a generated 1 MB artifact instead)"
  head -c 1048576 /dev/urandom > "$DEMO_DIR/demo-model.bin"
  artifacts=("$DEMO_DIR/demo-model.bin")
fi

i=0
for a in "${artifacts[@]}"; do
  i=$((i + 1))
  id="demo-v$i"
  if [ -d "$a" ]; then  # a bundle: graph info and metrics come from the bundle itself
    run model register "$a" --registry "$REG" --version-id "$id" --tag demo
  else
    run model register "$a" --registry "$REG" --version-id "$id" \
      --architecture dual-encoder --metric accuracy=0.9 --metric inference_time_ms=5 --tag demo
  fi
  run model validate "$id" --registry "$REG" --environment development
  run model promote "$id" --registry "$REG" --environment development --reason "make run demo"
done
run model list --registry "$REG"
run model history --registry "$REG" --environment development
run model test --registry "$REG"
echo "registry: $REG (inspect with: $SPATIAL model list --registry $REG)"
