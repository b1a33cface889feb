#!/usr/bin/env bash
# container-test.sh: builds Dockerfile.spatial with podman, runs the image and
# probes it for real (issue #8). No Docker engine and no registry needed: the
# base images are made locally with debootstrap from the host's apt mirror.
#
#   scripts/container-test.sh [--dockerfile FILE] [--storage DIR] [--build-jobs N]
#                             [--image IMAGE] [--keep-image NAME] [--build-only]
#
#   --dockerfile FILE  build this file instead of Dockerfile.spatial
#   --storage DIR      keep podman's storage in DIR between runs (layer cache,
#                      for iterating on the Dockerfile); default: a temp dir
#                      that is removed at the end
#   --build-jobs N     compile jobs inside the build (default 2)
#   --image IMAGE      skip the build and test IMAGE from --storage DIR (kept)
#   --keep-image NAME  build the image as NAME and keep it in --storage DIR
#                      (`make fleet-test` plays it there without a second build)
#   --build-only       stop after the build (with --keep-image)
# Environment: SPATIAL_CONTAINER_CACHE (base image cache, default
# ~/.cache/spatial-container), IMAGE_BUDGET_MB (default 250).
# Exit: 0 all checks passed, 1 a step failed (its own error is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

DOCKERFILE=Dockerfile.spatial
KEEP_STORAGE=""
BUILD_JOBS=2
GIVEN_IMAGE=""
KEEP_IMAGE=""
BUILD_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
    --dockerfile) DOCKERFILE=$2; shift 2 ;;
    --storage) KEEP_STORAGE=$2; shift 2 ;;
    --build-jobs) BUILD_JOBS=$2; shift 2 ;;
    --image) GIVEN_IMAGE=$2; shift 2 ;;
    --keep-image) KEEP_IMAGE=$2; shift 2 ;;
    --build-only) BUILD_ONLY=1; shift ;;
    -h | --help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "container-test: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ -n "$GIVEN_IMAGE" ] && [ -z "$KEEP_STORAGE" ]; then
  echo "container-test: --image needs --storage DIR (the storage that holds it)" >&2
  exit 2
fi
if [ -n "$KEEP_IMAGE" ] && { [ -z "$KEEP_STORAGE" ] || [ -n "$GIVEN_IMAGE" ]; }; then
  echo "container-test: --keep-image needs --storage DIR and no --image" >&2
  exit 2
fi
if [ "$BUILD_ONLY" = 1 ] && [ -z "$KEEP_IMAGE" ]; then
  echo "container-test: --build-only needs --keep-image NAME (else the image is lost)" >&2
  exit 2
fi
CACHE_DIR=${SPATIAL_CONTAINER_CACHE:-$HOME/.cache/spatial-container}
BUDGET_MB=${IMAGE_BUDGET_MB:-250}
IMAGE=${GIVEN_IMAGE:-${KEEP_IMAGE:-localhost/pizza-api-spatial:container-test-$$}}
CONTAINER=spatial-container-test-$$

# ---- timing and cleanup -----------------------------------------------------
# shellcheck disable=SC2034  # read by scripts/lib/steps.sh
STEPS_PROGRAM=container-test STEPS_WIDTH=36
# shellcheck source-path=SCRIPTDIR source=lib/steps.sh disable=SC1091
source "$ROOT/scripts/lib/steps.sh"

WORK=""
CREATED_CONTAINER=0
CREATED_IMAGE=0
cleanup() {
  local rc=$?
  end_step
  set +e
  if [ "$CREATED_CONTAINER" = 1 ]; then
    podman rm -f -t 5 "$CONTAINER" >/dev/null 2>&1
  fi
  if [ -n "$WORK" ] && [ -z "$KEEP_STORAGE" ]; then
    # Our storage holds only what this run made: drop every image in it, then
    # release its mounts and remove the directory.
    if [ "$CREATED_IMAGE" = 1 ] || podman images -q 2>/dev/null | grep -q .; then
      podman rmi -a -f >/dev/null 2>&1
    fi
    findmnt -rn -o TARGET | grep -F "$WORK/" | sort -r | while read -r m; do
      umount -l "$m"
    done
    rm -rf "$WORK"
  elif [ -n "$WORK" ]; then
    [ "$CREATED_IMAGE" = 1 ] && [ -z "$KEEP_IMAGE" ] && podman rmi "$IMAGE" >/dev/null 2>&1
    rm -rf "$WORK/conf"
  fi
  print_step_times
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    fail "needs root (or sudo) for: $*"
  fi
}

# ---- 1. tools ----------------------------------------------------------------
step "tools (podman, buildah, runc, ...)"
TOOLS=(podman buildah runc debootstrap curl iptables)
missing=()
for p in "${TOOLS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" containernetworking-plugins
fi
[ -f "$DOCKERFILE" ] || fail "no such Dockerfile: $DOCKERFILE"

# ---- 2. podman configured in a private dir ----------------------------------
step "podman config"
if [ -n "$KEEP_STORAGE" ]; then
  mkdir -p "$KEEP_STORAGE"
  WORK=$(cd "$KEEP_STORAGE" && pwd)
else
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/spatial-container-test.XXXXXX")
fi
mkdir -p "$WORK/conf" "$WORK/storage" "$WORK/run" "$WORK/tmp"
echo "work dir: $WORK"
# Measured on these hosts: crun fails on the hybrid cgroup setup and both
# runtimes fail to set RLIMIT_NOFILE without explicit ulimits.
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
export CONTAINERS_CONF=$WORK/conf/containers.conf
export CONTAINERS_STORAGE_CONF=$WORK/conf/storage.conf
podman info --format '{{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}} {{.Store.GraphRoot}}'

# ---- 3. base images from debootstrap ----------------------------------------
step "base image (debootstrap, cached)"
ARCH=$(dpkg --print-architecture)
BASE_TAR=$CACHE_DIR/bookworm-minbase-$ARCH.tar
if [ ! -s "$BASE_TAR" ]; then
  # The mirror apt already uses for bookworm (deb822 or one-line sources).
  MIRROR=$(
    {
      awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ {print u}' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null || true
      awk '$1=="deb" && $3=="bookworm" {print $2}' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true
    } | head -n1
  )
  [ -n "$MIRROR" ] || fail "no bookworm mirror in /etc/apt/sources.list{,.d}"
  echo "debootstrap from $MIRROR"
  mkdir -p "$CACHE_DIR"
  ROOTFS=$WORK/rootfs
  as_root debootstrap --variant=minbase bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
    { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
  as_root rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/*
  as_root tar -C "$ROOTFS" -cf "$BASE_TAR.tmp" .
  as_root rm -rf "$ROOTFS"
  mv "$BASE_TAR.tmp" "$BASE_TAR"
fi
for name in debian:bookworm debian:bookworm-slim; do
  podman image exists "docker.io/library/$name" ||
    podman import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["bash"]' "$BASE_TAR" "docker.io/library/$name" >/dev/null
done

# ---- 4. build -------------------------------------------------------------
if [ -z "$GIVEN_IMAGE" ]; then
  step "build $DOCKERFILE"
  CREATED_IMAGE=1
  # --format docker keeps HEALTHCHECK (OCI images drop it); --pull=never uses
  # the local base images; nice: the build compiles the project.
  nice -n 10 podman build --format docker --isolation chroot --pull=never \
    --build-arg BUILD_JOBS="$BUILD_JOBS" -f "$DOCKERFILE" -t "$IMAGE" "$ROOT" ||
    fail "podman build failed (its error is above)"
  if [ "$BUILD_ONLY" = 1 ]; then
    end_step
    echo "container-test: built $IMAGE in $WORK (kept)"
    exit 0
  fi
fi

# ---- 5. image checks ------------------------------------------------------
step "image size and contents"
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
SIZE_MB=$((SIZE / 1000000))
echo "image size: $SIZE_MB MB (budget $BUDGET_MB MB)"
[ "$SIZE_MB" -lt "$BUDGET_MB" ] || fail "image is $SIZE_MB MB, over the $BUDGET_MB MB budget"
TOOLCHAIN=$(podman run --rm --no-healthcheck --entrypoint sh "$IMAGE" -c \
  'command -v c++ cc gcc g++ cmake make; ls /usr/include 2>/dev/null | head -3' || true)
[ -z "$TOOLCHAIN" ] || fail "runtime image carries build tools or headers: $TOOLCHAIN"
DEV=$(podman run --rm --no-healthcheck --entrypoint sh "$IMAGE" -c "dpkg-query -W -f='\${Package}\n' | grep -- '-dev\$' || true")
[ -z "$DEV" ] || fail "runtime image carries -dev packages: $DEV"
HC=$(podman image inspect --format '{{.Config.Healthcheck}}' "$IMAGE")
case "$HC" in *http*) ;; *) fail "image has no HTTP HEALTHCHECK: $HC" ;; esac

# ---- 6. run ---------------------------------------------------------------
step "run and wait for /health"
CREATED_CONTAINER=1
# Read-only root as in docker-compose.yml and deploy/k8s (podman mounts tmpfs
# on /tmp and /run). No healthcheck timer (it needs systemd): the check runs
# once, below, with `podman healthcheck run` (podman 4.3 still logs that it
# cannot reach systemd for the timer: harmless).
podman run -d --name "$CONTAINER" --read-only --health-interval disable \
  -p 127.0.0.1::8001 "$IMAGE" >/dev/null
PORT=$(podman port "$CONTAINER" 8001/tcp | sed 's/.*://')
BASE_URL=http://127.0.0.1:$PORT
echo "published at $BASE_URL"
ok=0
for _ in $(seq 1 120); do
  if curl -fsS -m 2 "$BASE_URL/health" >"$WORK/health.json" 2>/dev/null; then
    ok=1
    break
  fi
  if [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" != true ]; then
    podman logs "$CONTAINER" >&2 || true
    fail "the container exited before answering /health"
  fi
  sleep 0.5
done
[ "$ok" = 1 ] || { podman logs "$CONTAINER" >&2; fail "/health did not answer within 60 s"; }
cat "$WORK/health.json"; echo
for _ in $(seq 1 120); do
  curl -fsS -m 2 "$BASE_URL/v2/health/ready" >/dev/null 2>&1 && break
  sleep 0.5
done
curl -fsS -m 2 "$BASE_URL/v2/health/ready" || fail "/v2/health/ready is not 200"
echo

step "classify rendered pizzas"
# Rendered inside the container by the image's own binary, posted from here.
podman exec "$CONTAINER" spatial data render --out /tmp/probe --per-class 1 --seed 4242 >/dev/null
rm -rf "$WORK/probe"  # a rerun in the same --storage DIR starts afresh
podman cp "$CONTAINER:/tmp/probe" "$WORK/probe"
total=0
right=0
while IFS=, read -r path _ class; do
  [ "$path" = path ] && continue  # header
  total=$((total + 1))
  out=$(curl -fsS -m 10 -F "file=@$WORK/probe/$path" "$BASE_URL/classify") ||
    fail "/classify failed for $path"
  predicted=$(printf '%s' "$out" | grep -o '"predicted_class":"[^"]*"' | head -n1 | cut -d'"' -f4)
  printf '%s' "$out" | grep -q '"confidence":' || fail "no confidence in: $out"
  [ -n "$predicted" ] || fail "no predicted_class in: $out"
  echo "$path: rendered $class, predicted $predicted"
  [ "$predicted" = "$class" ] && right=$((right + 1))
done <"$WORK/probe/labels.csv"
[ "$total" -ge 6 ] || fail "expected 6 rendered pizzas, got $total"
# A model that answers a constant class scores 1 of 6.
[ "$right" -ge 4 ] || fail "only $right of $total rendered pizzas classified right"

step "metrics, user, healthcheck"
curl -fsS -m 5 "$BASE_URL/metrics" >"$WORK/metrics.txt" || fail "/metrics failed"
for m in pizza_api_requests_total pizza_api_predictions_total pizza_api_model_info; do
  grep -q "^$m" "$WORK/metrics.txt" || fail "/metrics has no $m"
done
UID_IN=$(podman exec "$CONTAINER" id -u)
USER_TOP=$(podman top "$CONTAINER" user,args | awk 'NR>1 && /serve/ {print $1}')
echo "server runs as uid $UID_IN ($USER_TOP)"
if [ "$UID_IN" = 0 ] || [ -z "$USER_TOP" ] || [ "$USER_TOP" = root ]; then
  fail "the server runs as root (or was not found by podman top)"
fi
podman healthcheck run "$CONTAINER" || fail "podman healthcheck run: not healthy"
echo "healthcheck: healthy"
# The default configuration is development: the unsigned bundles of the image
# are served with exactly one warning line.
WARNINGS=$(podman logs "$CONTAINER" 2>&1 | grep -c '^warning: serving unsigned bundles' || true)
[ "$WARNINGS" = 1 ] || fail "expected one 'serving unsigned bundles' warning, got $WARNINGS"
podman rm -f -t 5 "$CONTAINER" >/dev/null

# ---- 7. production: signed bundles, a mounted trusted key -------------------
step "production: signed bundle and mounted key"
# A key and signed copies of the image's bundles, made now by the image's own
# binary (as root in a throw-away container, to write the host directory).
PROD=$WORK/prod
rm -rf "$PROD"  # a rerun in the same --storage DIR makes a new key
mkdir -p "$PROD"
podman run --rm --no-healthcheck --user 0 --entrypoint sh -v "$PROD:/out" "$IMAGE" -c '
  set -e
  spatial keys generate --out /out/keys >/dev/null
  cp -r /app/models /out/models
  for b in /out/models/*/; do spatial model sign "$b" --key /out/keys/signing.key; done
  cp -r /out/models /out/tampered
  printf " " >>/out/tampered/spatial-pizza-v1/manifest.json
  chmod -R a+rX /out/models /out/tampered /out/keys/signing.pub' ||
  fail "could not sign the image's bundles"
KEY_ARGS=(-e ENVIRONMENT=production -e SPATIAL_TRUSTED_KEYS=/etc/spatial-keys/signing.pub
  -v "$PROD/keys/signing.pub:/etc/spatial-keys/signing.pub:ro")
podman run -d --name "$CONTAINER" --read-only --health-interval disable \
  "${KEY_ARGS[@]}" -v "$PROD/models:/app/models:ro" -p 127.0.0.1::8001 "$IMAGE" >/dev/null
PORT=$(podman port "$CONTAINER" 8001/tcp | sed 's/.*://')
BASE_URL=http://127.0.0.1:$PORT
ok=0
for _ in $(seq 1 120); do
  if curl -fsS -m 2 "$BASE_URL/v2/health/ready" >/dev/null 2>&1; then
    ok=1
    break
  fi
  if [ "$(podman inspect --format '{{.State.Running}}' "$CONTAINER")" != true ]; then
    podman logs "$CONTAINER" >&2 || true
    fail "production with signed bundles and the trusted key exited"
  fi
  sleep 0.5
done
[ "$ok" = 1 ] || { podman logs "$CONTAINER" >&2; fail "production was not ready within 60 s"; }
# conmon writes the container's log asynchronously: on a loaded machine the
# line can reach `podman logs` after /ready answers, so it is polled (<= 20 s).
said=0
for _ in $(seq 1 40); do
  if podman logs "$CONTAINER" 2>&1 | grep -q '^verified models/spatial-pizza-v1: signed by key'; then
    said=1
    break
  fi
  sleep 0.5
done
[ "$said" = 1 ] || { podman logs "$CONTAINER" >&2; fail "production did not say it verified the bundle"; }
first=$(awk -F, 'NR==2 {print $1}' "$WORK/probe/labels.csv")
curl -fsS -m 10 -F "file=@$WORK/probe/$first" "$BASE_URL/classify" | grep -q '"predicted_class"' ||
  fail "production /classify failed"
echo "production: ready with signed bundles, /classify answers"
podman rm -f -t 5 "$CONTAINER" >/dev/null

step "production refuses unsigned and tampered bundles"
# The image's own bundles are unsigned; the tampered copy changed after signing.
for case in unsigned tampered; do
  mounts=()
  [ "$case" = tampered ] && mounts=(-v "$PROD/tampered:/app/models:ro")
  set +e
  out=$(timeout 120 podman run --rm --no-healthcheck --read-only "${KEY_ARGS[@]}" \
    "${mounts[@]}" "$IMAGE" 2>&1)
  rc=$?
  set -e
  echo "$case: exit $rc: $(printf '%s\n' "$out" | grep '^error:' | head -n1)"
  [ "$rc" = 1 ] || fail "production with a $case bundle exited $rc, expected 1: $out"
  case $case in
    unsigned) want="it is unsigned (no models/spatial-pizza-v1/model.sig)" ;;
    tampered) want="file 'manifest.json' was changed after signing" ;;
  esac
  printf '%s' "$out" | grep -qF "$want" || fail "production with a $case bundle: no '$want' in: $out"
done
end_step
echo "container-test: OK ($IMAGE, $SIZE_MB MB, classified $right/$total right; production served signed bundles and refused unsigned and tampered ones)"
