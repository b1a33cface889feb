#!/usr/bin/env bash
# Runs the 8-stage deployment pipeline (`spatial pipeline run`) the way CI and
# `make run` do: a real server follows the registry for the deployment stage,
# the pipeline promotes the version and verifies it there (rolling back on a
# failed check), then the server is stopped. A failed phase does not stop the
# script; it exits non-zero at the end if any phase failed.
#
# Usage: scripts/ci/run_spatial_pipeline.sh [--spatial BIN] [--environment E]
#          [--skip-tests] [--no-server] [--output DIR] [-- PIPELINE ARGS...]
# Environment: SPATIAL_REGISTRY (default var/registry.db).
set -uo pipefail

SPATIAL=build/release/cli/spatial
ENVIRONMENT=development
OUTPUT=output/spatial_pipeline_runs
REGISTRY=${SPATIAL_REGISTRY:-var/registry.db}
SKIP_TESTS=()
WITH_SERVER=1
EXTRA=()

while [ $# -gt 0 ]; do
  case "$1" in
    --spatial) SPATIAL=$2; shift 2 ;;
    --environment) ENVIRONMENT=$2; shift 2 ;;
    --output) OUTPUT=$2; shift 2 ;;
    --skip-tests) SKIP_TESTS=(--skip-tests); shift ;;
    --no-server) WITH_SERVER=0; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "run_spatial_pipeline: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d)
SERVER_PID=""
failures=0
failed_phases=()

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# phase NAME COMMAND...: runs it, records a failure, never stops the script.
phase() {
  local name=$1
  shift
  echo "== phase: $name"
  if "$@"; then
    echo "== phase $name: passed"
  else
    local rc=$?
    echo "== phase $name: FAILED (exit $rc)"
    failures=$((failures + 1))
    failed_phases+=("$name")
  fi
}

check_binary() {
  if [ ! -x "$SPATIAL" ]; then
    echo "no spatial binary at $SPATIAL (build first: make build)" >&2
    return 1
  fi
  "$SPATIAL" --version
}

start_server() {
  mkdir -p "$(dirname "$REGISTRY")"
  # The server follows an existing registry; `model list` creates an empty one.
  "$SPATIAL" model --registry "$REGISTRY" list >/dev/null || return 1
  "$SPATIAL" serve --address 127.0.0.1 --port 0 --port-file "$WORK/port" \
    --environment "$ENVIRONMENT" --registry "$REGISTRY" --poll-registry-s 1 \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if [ -s "$WORK/port" ]; then
      echo "server pid $SERVER_PID on port $(cat "$WORK/port") following $REGISTRY"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the server did not start:" >&2
  cat "$WORK/server.log" >&2
  SERVER_PID=""
  return 1
}

run_pipeline() {
  local server_args=()
  if [ -s "$WORK/port" ]; then
    server_args=(--server "http://127.0.0.1:$(cat "$WORK/port")")
  fi
  "$SPATIAL" pipeline run --environment "$ENVIRONMENT" --registry "$REGISTRY" \
    --output "$OUTPUT" "${SKIP_TESTS[@]}" "${server_args[@]}" "${EXTRA[@]}" \
    | tee "$WORK/pipeline.out"
}

stop_server() {
  [ -n "$SERVER_PID" ] || return 0
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID"
  local rc=$?
  SERVER_PID=""
  cp "$WORK/server.log" "$(run_dir)/logs/deployment-server.log" 2>/dev/null
  return "$rc"
}

run_dir() {
  sed -n 's/^run directory: //p' "$WORK/pipeline.out" 2>/dev/null | tail -n 1
}

phase "build check" check_binary
if [ "$WITH_SERVER" -eq 1 ]; then
  phase "deployment server" start_server
fi
phase "pipeline" run_pipeline
phase "stop server" stop_server

echo
if [ "$failures" -gt 0 ]; then
  echo "run_spatial_pipeline: $failures phase(s) failed: ${failed_phases[*]}"
else
  echo "run_spatial_pipeline: all phases passed"
fi
html=$(sed -n 's/^html: //p' "$WORK/pipeline.out" 2>/dev/null | tail -n 1)
echo "index.html: ${html:-(not written)}"
[ "$failures" -eq 0 ]
