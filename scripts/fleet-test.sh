#!/usr/bin/env bash
# fleet-test.sh: plays deploy/k8s with `podman kube play` as a fleet that
# follows one PostgreSQL registry, and drives it from the host (issue #19).
#
#   scripts/fleet-test.sh [--storage DIR] [--image IMAGE] [--remove-storage]
#                         [--spatial PATH] [--build-jobs N]
#
#   --storage DIR      podman storage holding the image (the one that
#                      `scripts/container-test.sh --storage DIR --keep-image
#                      IMAGE` kept); built there first when IMAGE is missing.
#                      Default: a temp dir, removed at the end.
#   --image IMAGE      the pizza-api-spatial image in it (default
#                      localhost/pizza-api-spatial:latest, the name the
#                      Deployment's `pizza-api-spatial:latest` resolves to)
#   --remove-storage   remove --storage DIR at the end too (CI: the storage
#                      container-test handed over)
#   --spatial PATH     the host's CLI (default build/release/cli/spatial)
#   --build-jobs N     compile jobs when the image has to be built (default 2)
#
# What it does: a PostgreSQL on the host (the team registry; the pods reach it
# at host.containers.internal), the Secret made from
# deploy/k8s/examples/credentials.yaml's keys, deploy/k8s/podman (deploy/k8s
# with the one podman 4.3 patch) played: two replicas sharing the artifact
# store volume. From the host with the CLI: register, sign, validate and
# promote a version; both replicas serve it within 2 s (NOTIFY); the probes
# with the manifest's timings; `promtool check metrics` on each /metrics;
# Prometheus with deploy/prometheus.yml's job pointed at the replicas, `up`;
# one replica stopped under load while the other answers; rollback. Then
# everything it made is removed (pods, volumes, secret, network, PostgreSQL,
# Prometheus, temp dirs). Exit: 0 passed, 1 a step failed, 2 usage.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

STORAGE=""
IMAGE=localhost/pizza-api-spatial:latest
REMOVE_STORAGE=0
SPATIAL=$ROOT/build/release/cli/spatial
BUILD_JOBS=2
while [ $# -gt 0 ]; do
  case "$1" in
    --storage) STORAGE=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --remove-storage) REMOVE_STORAGE=1; shift ;;
    --spatial) SPATIAL=$2; shift 2 ;;
    --build-jobs) BUILD_JOBS=$2; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "fleet-test: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$SPATIAL" ] || { echo "fleet-test: no CLI at $SPATIAL (make build, or --spatial PATH)" >&2; exit 2; }
SPATIAL=$(cd "$(dirname "$SPATIAL")" && pwd)/$(basename "$SPATIAL")
KUBE_NET=podman-default-kube-network
PODS=(pizza-api-spatial-pod-0 pizza-api-spatial-pod-1)
ENVIRONMENT=production

# ---- timing and cleanup -----------------------------------------------------
# shellcheck disable=SC2034  # read by scripts/lib/steps.sh
STEPS_PROGRAM=fleet-test STEPS_WIDTH=44
# shellcheck source-path=SCRIPTDIR source=lib/steps.sh disable=SC1091
source "$ROOT/scripts/lib/steps.sh"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

WORK=""       # podman's private config and storage
TMP=""        # PostgreSQL, Prometheus, keys, rendered YAML
OWN_STORAGE=0 # 1: WORK is ours to remove
PG_STARTED=0
PROM_PID=""
PLAYED=0
cleanup() {
  local rc=$?
  end_step
  set +e
  [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
  if [ "$PLAYED" = 1 ]; then
    podman kube play --down "$TMP/fleet.yaml" >/dev/null 2>&1
    podman pod rm -f "${PODS[@]}" >/dev/null 2>&1
    podman volume rm -f spatial-artifact-store pizza-api-spatial-environments \
      pizza-api-spatial-config pizza-api-spatial-trusted-keys tmp >/dev/null 2>&1
    podman network rm -f "$KUBE_NET" >/dev/null 2>&1
  fi
  [ -n "$WORK" ] && podman secret rm pizza-api-spatial-secrets >/dev/null 2>&1
  if [ "$PG_STARTED" = 1 ]; then
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -m fast -w stop >/dev/null 2>&1
  fi
  [ -n "$TMP" ] && rm -rf "$TMP"
  if [ -n "$WORK" ] && { [ "$OWN_STORAGE" = 1 ] || [ "$REMOVE_STORAGE" = 1 ]; }; then
    podman rmi -a -f >/dev/null 2>&1
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | while read -r m; do umount -l "$m"; done
    rm -rf "$WORK"
  fi
  print_step_times
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- 1. tools and the image ---------------------------------------------------
step "tools (podman, catatonit, postgresql, prometheus)"
[ "$(id -u)" -eq 0 ] || fail "needs root: podman's pods and the host PostgreSQL (run with sudo)"
missing=()
for p in podman catatonit runc postgresql prometheus python3-yaml curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
PG_BIN=""
for d in /usr/lib/postgresql/*/bin; do PG_BIN=$d; done  # the newest major
[ -x "$PG_BIN/initdb" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/spatial-fleet-test.XXXXXX")
chmod 755 "$TMP"

step "image (container-test's, or built once)"
if [ -z "$STORAGE" ]; then
  STORAGE=$(mktemp -d "${TMPDIR:-/tmp}/spatial-fleet-storage.XXXXXX")
  OWN_STORAGE=1
fi
mkdir -p "$STORAGE"
WORK=$(cd "$STORAGE" && pwd)
# podman configured as container-test configures it (container-test removes
# its conf dir on exit: it is written again after a build).
write_conf() {
  mkdir -p "$WORK/conf" "$WORK/tmp"
  cat >"$WORK/conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
tmp_dir = "$WORK/tmp"
EOF
  cat >"$WORK/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
}
write_conf
export CONTAINERS_CONF=$WORK/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$WORK/conf/storage.conf
if ! podman image exists "$IMAGE"; then
  echo "no $IMAGE in $WORK: building it (scripts/container-test.sh --build-only)"
  bash scripts/container-test.sh --storage "$WORK" --build-jobs "$BUILD_JOBS" \
    --keep-image "$IMAGE" --build-only || fail "the image build failed"
  write_conf
fi
podman image exists "$IMAGE" || fail "no $IMAGE in $WORK after the build"
echo "image $IMAGE in $WORK"

# ---- 2. the team registry: PostgreSQL on the host -----------------------------
step "PostgreSQL (the team registry, on the host)"
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
PG_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
mkdir -p "$TMP/pg"
chown postgres "$TMP/pg"
printf '%s\n' "$PG_PASSWORD" >"$TMP/pg/pw"
chown postgres "$TMP/pg/pw"
runuser -u postgres -- "$PG_BIN/initdb" -D "$TMP/pg/data" -U postgres -A trust \
  --auth-host=scram-sha-256 >"$TMP/pg/initdb.log" 2>&1 || { cat "$TMP/pg/initdb.log" >&2; fail "initdb"; }
# The pods come from podman's bridge networks (10.88/16, 10.89/16), the CLI
# from 127.0.0.1; both with a password.
cat >>"$TMP/pg/data/pg_hba.conf" <<EOF
host all all 10.88.0.0/15 scram-sha-256
EOF
runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$TMP/pg/data" -l "$TMP/pg/log" -w \
  -o "-c listen_addresses='*' -p $PG_PORT -k $TMP/pg" start >/dev/null ||
  { cat "$TMP/pg/log" >&2; fail "pg_ctl start"; }
PG_STARTED=1
runuser -u postgres -- psql -h "$TMP/pg" -p "$PG_PORT" -U postgres -q -v ON_ERROR_STOP=1 \
  -c "CREATE ROLE spatial LOGIN PASSWORD '$PG_PASSWORD'" \
  -c "CREATE DATABASE spatial_registry OWNER spatial" >/dev/null || fail "could not create the registry database"
export PGPASSWORD=$PG_PASSWORD
REGISTRY=postgresql://spatial@127.0.0.1:$PG_PORT/spatial_registry
POD_REGISTRY=postgresql://spatial@host.containers.internal:$PG_PORT/spatial_registry
echo "registry: $REGISTRY (the pods: $POD_REGISTRY)"

# ---- 3. play the manifests (not started yet) ---------------------------------
step "kube play deploy/k8s/podman (2 replicas)"
# The Secret a user makes from deploy/k8s/examples/credentials.yaml. podman 4.3
# reads a secretKeyRef from a podman secret holding a JSON map of base64
# values (the Secret's `data`); it cannot read the YAML Secret that its own
# `kube play` stores (docs/CONTAINERS.md).
python3 - "$POD_REGISTRY" >"$TMP/secret.json" <<'EOF'
import base64, json, os, sys
data = {"registry-url": sys.argv[1], "pgpassword": os.environ["PGPASSWORD"]}
print(json.dumps({k: base64.b64encode(v.encode()).decode() for k, v in data.items()}))
EOF
podman secret create pizza-api-spatial-secrets "$TMP/secret.json" >/dev/null
rm -f "$TMP/secret.json"
python3 scripts/kustomize-build.py deploy/k8s/podman >"$TMP/fleet.yaml" || fail "kustomize-build"
# The ConfigMap a user makes from deploy/k8s/examples/trusted-keys.yaml: the
# replicas serve only versions signed by a key both it and the registry trust.
"$SPATIAL" keys generate --out "$TMP/keys" >/dev/null || fail "keys generate"
{
  echo "---"
  sed "s|ed25519:REPLACE-WITH-THE-BASE64-OF-YOUR-signing.pub|$(cat "$TMP/keys/signing.pub")|" \
    deploy/k8s/examples/trusted-keys.yaml
} >>"$TMP/fleet.yaml"
PLAYED=1
podman kube play --start=false "$TMP/fleet.yaml" >"$TMP/play.log" 2>&1 ||
  { cat "$TMP/play.log" >&2; fail "podman kube play"; }
for p in "${PODS[@]}"; do podman pod exists "$p" || fail "kube play made no pod $p (replicas: 2)"; done
STORE=$(podman volume inspect spatial-artifact-store --format '{{.Mountpoint}}')
# The store keeps blobs 0440 in dirs 0770 (owner and group): the share is
# group 10001 (the pods' runAsGroup), setgid, so what CI writes is theirs to
# read, as on an RWX share (docs/CONTAINERS.md).
chgrp 10001 "$STORE"
chmod 2770 "$STORE"
echo "pods: ${PODS[*]}; artifact store volume at $STORE (group 10001, setgid)"

# ---- 4. a version in the registry, from the host -----------------------------
cli() { "$SPATIAL" "$@" --registry "$REGISTRY" --store "$STORE" --actor fleet-test; }
release() {  # release VERSION [KEYDIR]: register, sign, validate, (no promote)
  cli model register models/spatial-pizza-v1 --version-id "$1" >/dev/null || fail "register $1"
  cli model sign "$1" --key "${2:-$TMP/keys}/signing.key" >/dev/null || fail "sign $1"
  cli model validate "$1" --environment "$ENVIRONMENT" \
    --allow-cpu-override "fleet-test: no GPU on this host" >"$TMP/validate-$1.json" ||
    { cat "$TMP/validate-$1.json" >&2; fail "validate $1"; }
}
step "register, sign, validate, promote fleet-v1"
cli keys trust "$TMP/keys/signing.pub" --environment "$ENVIRONMENT" >/dev/null || fail "keys trust"
release fleet-v1
cli model promote fleet-v1 --environment "$ENVIRONMENT" >/dev/null || fail "promote fleet-v1"

# ---- 5. start the replicas ----------------------------------------------------
step "start both replicas, ready"
declare -A IP
start_pod() {  # start_pod POD: starts it and reads its IP (a new one each start)
  podman pod start "$1" >/dev/null || fail "podman pod start $1"
  IP[$1]=$(podman inspect "$(podman pod inspect "$1" --format '{{.InfraContainerID}}')" \
    --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
  [ -n "${IP[$1]}" ] || fail "no IP for $1"
}
for p in "${PODS[@]}"; do
  start_pod "$p"
done
STARTED_MS=$(now_ms)
served() {  # served POD: the version /health reports in the spatial slot, if healthy
  local body
  body=$(curl -fsS -m 2 "http://${IP[$1]}:8001/health" 2>/dev/null) || return 0
  [[ $body == *'"status":"healthy"'* ]] || return 0
  [[ $body =~ \"spatial\":\"([^\"]*)\" ]] && echo "${BASH_REMATCH[1]}"
  return 0
}
for p in "${PODS[@]}"; do
  ok=0
  for _ in $(seq 1 240); do
    if curl -fsS -m 2 "http://${IP[$p]}:8001/v2/health/ready" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.5
  done
  [ "$ok" = 1 ] || { podman pod logs "$p" >&2; fail "$p was not ready within 120 s"; }
  v=$(served "$p")
  echo "$p at ${IP[$p]}:8001 serves '$v'"
  [ "$v" = fleet-v1 ] || fail "$p serves '$v', not fleet-v1"
  # conmon writes the log asynchronously: polled (<= 20 s), not read once.
  said=0
  for _ in $(seq 1 40); do
    if podman logs "$p-pizza-api-spatial" 2>&1 | grep -q "listening for promotions in"; then said=1; break; fi
    sleep 0.5
  done
  [ "$said" = 1 ] ||
    { podman logs "$p-pizza-api-spatial" >&2; fail "$p does not LISTEN for promotions"; }
done

step "probes with the manifest's timings"
# podman 4.3 ignores readinessProbe and turns livenessProbe into a `curl`
# healthcheck (no curl in the image, no systemd timer here): the probes are
# made here as the kubelet makes them, with the manifest's numbers.
python3 - "$TMP/fleet.yaml" >"$TMP/probes" <<'EOF'
import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "Deployment":
        c = d["spec"]["template"]["spec"]["containers"][0]
        for name in ("readinessProbe", "livenessProbe"):
            p = c[name]
            print(name, p["httpGet"]["path"], p["httpGet"]["port"], p.get("initialDelaySeconds", 0),
                  p.get("periodSeconds", 10), p.get("timeoutSeconds", 1), p.get("failureThreshold", 3))
EOF
while read -r name path port delay period timeout threshold; do
  # Ready or alive within initialDelay + failureThreshold periods of the start.
  budget_ms=$(((delay + period * threshold) * 1000))
  for p in "${PODS[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -m "$timeout" "http://${IP[$p]}:$port$path" || true)
    at=$(($(now_ms) - STARTED_MS))
    echo "$name $p GET $path (timeout ${timeout}s): $code, $at ms after start (budget $budget_ms ms)"
    [ "$code" = 200 ] || fail "$name of $p answered $code"
    [ "$at" -le "$budget_ms" ] || fail "$name of $p passed only after $at ms > $budget_ms ms"
  done
done <"$TMP/probes"

# ---- 6. a promotion reaches both replicas -------------------------------------
step "release fleet-v2 (register, sign, validate)"
release fleet-v2
step "promote fleet-v2: both replicas within 2 s"
wait_both() {  # wait_both VERSION SINCE_MS: prints each replica's ms, fails after 2 s
  local version=$1 since=$2 p
  declare -A at=()
  while :; do
    for p in "${PODS[@]}"; do
      [ -n "${at[$p]:-}" ] && continue
      [ "$(served "$p")" = "$version" ] && at[$p]=$(($(now_ms) - since))
    done
    [ ${#at[@]} = ${#PODS[@]} ] && break
    [ $(($(now_ms) - since)) -gt 2000 ] && fail "not every replica served $version within 2 s (${at[*]:-none})"
    sleep 0.01
  done
  for p in "${PODS[@]}"; do echo "$p serves $version ${at[$p]} ms after the command returned"; done
}
cli model promote fleet-v2 --environment "$ENVIRONMENT" >/dev/null || fail "promote fleet-v2"
wait_both fleet-v2 "$(now_ms)"

step "promtool check metrics (each replica)"
for p in "${PODS[@]}"; do
  curl -fsS -m 5 "http://${IP[$p]}:8001/metrics" >"$TMP/metrics-$p.txt" || fail "/metrics of $p"
  promtool check metrics <"$TMP/metrics-$p.txt" || fail "promtool check metrics: $p"
  echo "$p: $(grep -c '^[a-z]' "$TMP/metrics-$p.txt") samples, promtool: ok"
done

step "Prometheus (deploy/prometheus.yml) scrapes both"
# deploy/prometheus.yml with its pizza-api-spatial job's target pointed at the
# replicas (a Service would need kubernetes_sd; podman has no Service).
PROM_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "${IP[${PODS[0]}]}:8001" "${IP[${PODS[1]}]}:8001" >"$TMP/prometheus.yml" <<'EOF'
import sys, yaml
c = yaml.safe_load(open("deploy/prometheus.yml"))
for job in c["scrape_configs"]:
    if job["job_name"] == "pizza-api-spatial":
        job["static_configs"][0]["targets"] = sys.argv[1:]
print(yaml.safe_dump(c, sort_keys=False))
EOF
promtool check config "$TMP/prometheus.yml" >/dev/null || fail "promtool check config"
prometheus --config.file="$TMP/prometheus.yml" --storage.tsdb.path="$TMP/prom" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$TMP/prom.log" 2>&1 &
PROM_PID=$!
up=""
for _ in $(seq 1 60); do
  up=$(curl -fsS -m 2 "http://127.0.0.1:$PROM_PORT/api/v1/query" \
    --data-urlencode 'query=up{job="pizza-api-spatial"}' 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(" ".join(sorted(x["metric"]["instance"]+"="+x["value"][1] for x in r)))' 2>/dev/null || true)
  [ "$(echo "$up" | grep -o '=1' | wc -l)" = 2 ] && break
  sleep 0.5
done
echo "up{job=\"pizza-api-spatial\"}: $up"
[ "$(echo "$up" | grep -o '=1' | wc -l)" = 2 ] || { tail -5 "$TMP/prom.log" >&2; fail "up is not 1 for both replicas"; }
kill "$PROM_PID"; wait "$PROM_PID" 2>/dev/null || true; PROM_PID=""

# ---- 7. one replica stops under load ------------------------------------------
step "stop one replica under load"
"$SPATIAL" data render --out "$TMP/pizzas" --per-class 1 --seed 4242 >/dev/null
A=${PODS[0]}
B=${PODS[1]}
"$SPATIAL" bench "http://${IP[$B]}:8001/classify" --image-dir "$TMP/pizzas" --field cache=false --concurrency 4 \
  --duration 6s --threads 2 --quiet --threshold 'error_rate<0.0001' \
  >"$TMP/bench.log" 2>&1 &
BENCH=$!
sleep 2
podman pod stop -t 30 "$A" >/dev/null || fail "podman pod stop $A"
rc=$(podman inspect "$A-pizza-api-spatial" --format '{{.State.ExitCode}}')
echo "$A stopped (SIGTERM), exit $rc"
set +e
wait "$BENCH"
brc=$?
set -e
echo "$B under load while $A stopped:"
grep -E '^(c=4|  (PASS|FAIL))' "$TMP/bench.log"
[ "$brc" = 0 ] || { cat "$TMP/bench.log" >&2; fail "$B failed requests while $A stopped (bench exit $brc)"; }
[ "$rc" = 0 ] || fail "$A exited $rc on SIGTERM, not 0"
start_pod "$A"
for _ in $(seq 1 120); do [ "$(served "$A")" = fleet-v2 ] && break; sleep 0.5; done
[ "$(served "$A")" = fleet-v2 ] || { podman pod logs "$A" >&2; fail "$A did not come back serving fleet-v2"; }
echo "$A restarted at ${IP[$A]}: serves fleet-v2"

# ---- 8. rollback ----------------------------------------------------------------
step "rollback: both back on fleet-v1 within 2 s"
cli model rollback --environment "$ENVIRONMENT" --reason "fleet-test rollback" >/dev/null || fail "rollback"
wait_both fleet-v1 "$(now_ms)"

# ---- 9. a key only the registry trusts ----------------------------------------
# Whoever can write the registry can trust a key of their own there, with
# records the audit chain accepts. The replicas were given theirs in the
# ConfigMap: a version signed by another key is not loaded.
step "a key only the registry trusts: both keep fleet-v1"
"$SPATIAL" keys generate --out "$TMP/mallory" >/dev/null || fail "keys generate (mallory)"
cli keys trust "$TMP/mallory/signing.pub" --environment "$ENVIRONMENT" >/dev/null || fail "keys trust (mallory)"
release fleet-v3 "$TMP/mallory"
cli model promote fleet-v3 --environment "$ENVIRONMENT" >/dev/null || fail "promote fleet-v3"
for p in "${PODS[@]}"; do
  said=0
  for _ in $(seq 1 40); do
    if podman logs "$p-pizza-api-spatial" 2>&1 | grep -q "not loading fleet-v3"; then said=1; break; fi
    sleep 0.5
  done
  [ "$said" = 1 ] || { podman logs "$p-pizza-api-spatial" >&2; fail "$p did not refuse fleet-v3"; }
  v=$(served "$p")
  [ "$v" = fleet-v1 ] || fail "$p serves '$v' after fleet-v3 signed by an unknown key, not fleet-v1"
  echo "$p: $(podman logs "$p-pizza-api-spatial" 2>&1 | grep -m1 -o 'not loading fleet-v3.\{0,90\}')..."
done

end_step
echo "fleet-test: OK (2 replicas of $IMAGE followed $REGISTRY: promotion, metrics, Prometheus, a replica stopped under load, rollback, a key only the registry trusts refused)"
