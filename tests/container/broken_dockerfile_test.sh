#!/usr/bin/env bash
# broken_dockerfile_test.sh: container-test.sh must fail on a broken
# Dockerfile with the build's own error, quickly (not by a timeout), and
# leave nothing behind. Run by `make container-test` after the real test.
#
# The copy breaks the build stage's first RUN (a misspelt script name), so the
# build fails after the base image and one COPY, before any compiling.
set -euo pipefail
cd "$(dirname "$0")/../.."
LIMIT_S=${BROKEN_DOCKERFILE_LIMIT_S:-180}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/spatial-broken-dockerfile.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
BROKEN=$WORK/Dockerfile.broken
sed 's#RUN bash scripts/install-deps.sh --build-only#RUN bash scripts/install-dep.sh --build-only#' \
  Dockerfile.spatial >"$BROKEN"
if cmp -s Dockerfile.spatial "$BROKEN"; then
  echo "broken_dockerfile_test: FAIL: the line to break is not in Dockerfile.spatial" >&2
  exit 1
fi

t0=$(date +%s)
set +e
bash scripts/container-test.sh --dockerfile "$BROKEN" >"$WORK/out.log" 2>&1
rc=$?
set -e
elapsed=$(($(date +%s) - t0))

failed=0
check() {  # check DESCRIPTION COMMAND...: records a failed expectation
  if ! "${@:2}"; then
    echo "broken_dockerfile_test: FAIL: $1" >&2
    failed=1
  fi
}
check "exit code 1 (got $rc)" test "$rc" -eq 1
check "the build's own error is shown" \
  grep -q 'scripts/install-dep.sh: No such file or directory' "$WORK/out.log"
check "the script names the failed step" \
  grep -q "FAILED at 'build " "$WORK/out.log"
check "no image was run" bash -c "! grep -q '== run and wait' '$WORK/out.log'"
check "failed within ${LIMIT_S} s (took ${elapsed} s)" test "$elapsed" -lt "$LIMIT_S"
used=$(sed -n 's/^work dir: //p' "$WORK/out.log")
check "it reported its work dir" test -n "$used"
check "its work dir ($used) was removed" test ! -e "${used:-/nonexistent}"
if [ "$failed" = 1 ]; then
  echo "---- container-test.sh output" >&2
  tail -40 "$WORK/out.log" >&2
  exit 1
fi
echo "broken_dockerfile_test: OK (failed in ${elapsed} s with the build's error:"
grep -m1 'No such file or directory' "$WORK/out.log"
echo ")"
