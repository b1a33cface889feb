#!/usr/bin/env bash
# Runs the 8-stage deployment pipeline (`spatial pipeline run`) the way CI and
# `make run` do: a real server follows the registry for the deployment stage,
# the pipeline promotes the version and verifies it there (rolling back on a
# failed check), then the server is stopped. A failed phase does not stop the
# script; it exits non-zero at the end if any phase failed.
#
# Usage: scripts/ci/run_spatial_pipeline.sh [--spatial BIN] [--environment E]
#          [--skip-tests] [--no-server] [--rehearse-without-registry]
#          [--output DIR] [-- PIPELINE ARGS...]
#   --rehearse-without-registry  with $SPATIAL_REGISTRY empty, deploy into a
#       throwaway registry (a temp dir) and report a rehearsal, not a deployment
# Environment (a registry URL or key is never put on a command line or echoed):
#   SPATIAL_REGISTRY     the registry (default var/registry.db), e.g. the team's
#                        postgresql://USER@HOST/DB (password: PGPASSFILE)
#   SPATIAL_STORE        its artifact store (required with PostgreSQL)
#   SPATIAL_SIGNING_KEY  a private key file's contents (a CI secret): written
#                        to a 0600 file for SPATIAL_SIGNING_KEY_FILE, the key
#                        the pipeline signs the version with
#   SPATIAL_TRUSTED_KEY  a public key file's contents (signing.pub, a CI
#                        variable): the key the deployment server trusts,
#                        as $SPATIAL_TRUSTED_KEYS; staging and production need
#                        it (or $SPATIAL_TRUSTED_KEYS naming the files)
#   SPATIAL_SERVERS      servers of the fleet to verify (comma separated URLs)
#   GITHUB_STEP_SUMMARY  when set, the deployment's result is appended to it
set -uo pipefail

SPATIAL=build/release/cli/spatial
ENVIRONMENT=development
OUTPUT=output/spatial_pipeline_runs
REGISTRY=${SPATIAL_REGISTRY:-}
SKIP_TESTS=()
WITH_SERVER=1
REHEARSE=0
EXTRA=()

while [ $# -gt 0 ]; do
  case "$1" in
    --spatial) SPATIAL=$2; shift 2 ;;
    --environment) ENVIRONMENT=$2; shift 2 ;;
    --output) OUTPUT=$2; shift 2 ;;
    --skip-tests) SKIP_TESTS=(--skip-tests); shift ;;
    --no-server) WITH_SERVER=0; shift ;;
    --rehearse-without-registry) REHEARSE=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "run_spatial_pipeline: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

WORK=$(mktemp -d)
SERVER_PID=""
failures=0
failed_phases=()
REHEARSAL=()
if [ -z "$REGISTRY" ] && [ "$REHEARSE" -eq 1 ]; then
  REGISTRY=$WORK/rehearsal/registry.db
  export SPATIAL_STORE=$WORK/rehearsal/store
  REHEARSAL=(--rehearsal)
  echo "REHEARSAL: no SPATIAL_REGISTRY given; deploying into a throwaway registry"
  # Nothing is deployed, so nothing is signed: the key stays unused.
  unset SPATIAL_SIGNING_KEY SPATIAL_SIGNING_KEY_FILE
fi
REGISTRY=${REGISTRY:-var/registry.db}
# Children read the registry from the environment, so that a URL never shows
# in a command line, a log line or the pipeline's reports.
export SPATIAL_REGISTRY=$REGISTRY
if [ -n "${SPATIAL_SIGNING_KEY:-}" ]; then
  (umask 077 && printf '%s\n' "$SPATIAL_SIGNING_KEY" >"$WORK/signing.key")
  export SPATIAL_SIGNING_KEY_FILE=$WORK/signing.key
fi
unset SPATIAL_SIGNING_KEY
# The server following the registry is given the keys it trusts from outside
# the registry (docs/SECURITY.md, "Keys given to the server").
if [ -n "${SPATIAL_TRUSTED_KEY:-}" ]; then
  # Not writable by group or others, or the server refuses it.
  (umask 022 && printf '%s\n' "$SPATIAL_TRUSTED_KEY" >"$WORK/trusted.pub")
  export SPATIAL_TRUSTED_KEYS=$WORK/trusted.pub
fi
unset SPATIAL_TRUSTED_KEY
SERVERS=()
IFS=', ' read -r -a listed <<<"${SPATIAL_SERVERS:-}"
for url in "${listed[@]}"; do
  [ -n "$url" ] && SERVERS+=(--server "$url")
done

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

# Where the registry is, for messages: never a URL (it may hold a password).
registry_name() {
  case "$REGISTRY" in
    postgres://*|postgresql://*) echo "the PostgreSQL registry of \$SPATIAL_REGISTRY" ;;
    *) echo "$REGISTRY" ;;
  esac
}

start_server() {
  case "$REGISTRY" in
    postgres://*|postgresql://*) ;;
    *) mkdir -p "$(dirname "$REGISTRY")" ;;
  esac
  # The server follows an existing registry; `model init` creates an empty one.
  "$SPATIAL" model init >/dev/null || return 1
  env -u SPATIAL_SIGNING_KEY_FILE \
    "$SPATIAL" serve --address 127.0.0.1 --port 0 --port-file "$WORK/port" \
    --environment "$ENVIRONMENT" --poll-registry-s 1 \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    if [ -s "$WORK/port" ]; then
      echo "server pid $SERVER_PID on port $(cat "$WORK/port") following $(registry_name)"
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
  local server_args=("${SERVERS[@]}")
  if [ -s "$WORK/port" ]; then
    server_args+=(--server "http://127.0.0.1:$(cat "$WORK/port")")
  fi
  "$SPATIAL" pipeline run --environment "$ENVIRONMENT" \
    --output "$OUTPUT" "${SKIP_TESTS[@]}" "${REHEARSAL[@]}" \
    "${server_args[@]}" "${EXTRA[@]}" | tee "$WORK/pipeline.out"
}

# The deployment's outcome for the CI job's summary page (markdown).
write_summary() {
  [ -n "${GITHUB_STEP_SUMMARY:-}" ] || return 0
  local line title servers=$((${#SERVERS[@]} / 2))
  [ -s "$WORK/port" ] && servers=$((servers + 1))
  line=$(grep -E '^\[[0-9]+/[0-9]+\] deployment +(passed|failed|skipped|error)' \
    "$WORK/pipeline.out" 2>/dev/null | tail -n 1 | sed -E 's/^\[[0-9/]+\] deployment +//')
  if [ "${#REHEARSAL[@]}" -gt 0 ]; then
    title="Deployment REHEARSAL ($ENVIRONMENT): nothing a fleet follows was changed"
  else
    title="Deployment to $ENVIRONMENT in $(registry_name)"
  fi
  {
    echo "## $title"
    echo
    if [ "${#REHEARSAL[@]}" -gt 0 ]; then
      echo "No \`SPATIAL_REGISTRY\` secret: the version was promoted in a" \
        "throwaway registry inside this job. Configure the secrets" \
        "(docs/DEPLOYMENT_PIPELINE_DOCUMENTATION.md) to deploy."
      echo
    fi
    echo "- deployment stage: ${line:-did not run}"
    if [ -n "${SPATIAL_SIGNING_KEY_FILE:-}" ]; then
      echo "- signed with the key of \`SPATIAL_SIGNING_KEY\`"
    else
      echo "- not signed (no signing key)"
    fi
    echo "- servers verified after the promotion: $servers"
    echo "- report: $(run_dir)/reports/index.html"
  } >>"$GITHUB_STEP_SUMMARY"
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
write_summary

echo
if [ "$failures" -gt 0 ]; then
  echo "run_spatial_pipeline: $failures phase(s) failed: ${failed_phases[*]}"
else
  echo "run_spatial_pipeline: all phases passed"
fi
html=$(sed -n 's/^html: //p' "$WORK/pipeline.out" 2>/dev/null | tail -n 1)
echo "index.html: ${html:-(not written)}"
[ "$failures" -eq 0 ]
