#!/usr/bin/env bash
# Every test of the collection, from a fresh clone on a fresh machine: `make test` (and .ci/run) call this.
# Usage: run-tests.sh [stage ...]   stages: lint sanity build molecule bench pytest (default: all, in that order;
# pytest last so its summary closes the run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint sanity build molecule bench pytest)

bash scripts/bootstrap-venv.sh
bash scripts/docker-engine.sh
bash scripts/build-lab-images.sh
bash scripts/install-test-deps.sh
export PATH="$repo/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collections"
# Ansible and the tests must never leak a secret into CI logs; nothing here needs interactive input.
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

stage_lint() {
  yamllint --strict .
  ruff check .
  ansible-lint --profile production --offline
}
stage_sanity() { bash scripts/sanity.sh; }
stage_build() {
  mkdir -p build
  ansible-galaxy collection build --force --output-path build/ .
}
stage_molecule() { molecule test --scenario-name default; }
stage_bench() {
  local bench found=0
  for bench in tests/bench/bench_*.py; do
    [ -e "$bench" ] || continue
    found=1
    python "$bench"
  done
  [ "$found" -eq 1 ] || echo "no benchmarks yet"
}
stage_pytest() { pytest; }

for stage in "${stages[@]}"; do
  declare -F "stage_$stage" >/dev/null || { echo "ERROR: unknown stage '$stage' (lint sanity build molecule bench pytest)" >&2; exit 2; }
  echo "=== $stage"
  started=$SECONDS
  "stage_$stage"
  echo "=== $stage passed in $((SECONDS - started)) s"
done
