# shellcheck shell=bash
# Step timing for the long test scripts (container-test.sh, fleet-test.sh):
# `step NAME` ends the previous step's timer and starts NAME's, `fail MSG`
# names the step that failed and exits 1, `print_step_times` lists every
# finished step with its seconds. Source it after setting STEPS_PROGRAM (the
# name in messages) and, optionally, STEPS_WIDTH (the name column, default
# 40).
TIMES=()
STEP=""
STEP_T0=0
step() {  # step NAME: closes the previous step's timer, starts this one
  end_step
  STEP=$1
  STEP_T0=$(date +%s%N)
  echo "== $STEP"
}
end_step() {
  if [ -n "$STEP" ]; then
    local ds=$((($(date +%s%N) - STEP_T0) / 100000000))
    TIMES+=("$(printf "%-${STEPS_WIDTH:-40}s %5d.%d s" "$STEP" $((ds / 10)) $((ds % 10)))")
    STEP=""
  fi
}
fail() {
  echo "$STEPS_PROGRAM: FAILED at '$STEP': $*" >&2
  exit 1
}
print_step_times() {
  if [ ${#TIMES[@]} -gt 0 ]; then
    echo "---- $STEPS_PROGRAM step times"
    printf '%s\n' "${TIMES[@]}"
  fi
}
