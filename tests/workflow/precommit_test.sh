#!/usr/bin/env bash
# .pre-commit-config.yaml works: (1) every hook but the unit tests passes on
# the whole repository as committed (the unit-tests hook would run ctest inside
# ctest); (2) in a scratch repository with the same config, a badly formatted
# C++ file, a shell script with a bug and a broken YAML file each make their
# hook fail, and the fixed files pass.
# Usage: precommit_test.sh SOURCE_DIR
set -euo pipefail
src=${1:?usage: precommit_test.sh SOURCE_DIR}
command -v pre-commit >/dev/null || { echo "pre-commit missing: run scripts/install-deps.sh" >&2; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export PRE_COMMIT_HOME=$scratch/cache SKIP=unit-tests

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== the repository's own files"
if [ -d "$src/.git" ] || [ -f "$src/.git" ]; then
  # A copy of the tracked files as they are in the working tree, in a
  # repository of its own: other tests running beside this one (ctest -j)
  # neither hold the source tree's git index nor change a file under a hook.
  whole=$scratch/whole
  mkdir -p "$whole"
  (cd "$src" && git ls-files -z | tar --null --ignore-failed-read -T - -cf -) |
    tar -xf - -C "$whole"
  (cd "$whole" && git init -q . && git add -A &&
    pre-commit run --all-files --config .pre-commit-config.yaml) ||
    fail "a hook fails on the repository's files (output above)"
else
  echo "not a git checkout: skipped the whole-repository run"
fi

echo "== each hook catches its own kind of mistake"
repo=$scratch/repo
mkdir -p "$repo"
cp "$src/.pre-commit-config.yaml" "$src/.clang-format" "$src/.yamllint.yaml" "$repo/"
cd "$repo"
git init -q .
git config user.email t@example.invalid
git config user.name precommit-test
printf 'int  main( ){return 0 ;}\n' > bad.cc
# shellcheck disable=SC2016  # the script's text, not expanded here
printf '#!/usr/bin/env bash\nrm -rf $1/*\n' > bad.sh
printf 'a: [1, 2\nb: 3\n' > bad.yaml
git add -A
expect_fail() {
  local hook=$1 want=$2 out
  if out=$(pre-commit run "$hook" --all-files 2>&1); then
    echo "$out"; fail "hook $hook passed a broken file"
  fi
  grep -q "$want" <<<"$out" || { echo "$out"; fail "hook $hook failed without naming $want"; }
  echo "ok: $hook refused $want"
}
expect_fail clang-format bad.cc
expect_fail shellcheck bad.sh
expect_fail yamllint bad.yaml

printf 'int main() { return 0; }\n' > bad.cc
# shellcheck disable=SC2016
printf '#!/usr/bin/env bash\nrm -rf "${1:?}"/*\n' > bad.sh
printf 'a: [1, 2]\nb: 3\n' > bad.yaml
git add -A
pre-commit run --all-files || fail "the fixed files did not pass"
echo "ok: the fixed files pass"
