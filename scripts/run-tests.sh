#!/usr/bin/env bash
# Every test of the collection, from a fresh clone on a fresh machine: `make test` (and .ci/run) call this.
# Usage: run-tests.sh [stage ...]   stages: lint sanity build bench molecule pytest (default: all, in that order;
# the benchmarks before the Docker stages, so nothing else runs while they measure).
# Each stage prepares only what it needs: lint, sanity, build and bench need the venv (and sanity shellcheck),
# molecule and pytest also a Docker engine, the lab broker image and the Debian test packages.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

all_stages=(lint sanity build bench molecule pytest)
stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=("${all_stages[@]}")

bash scripts/bootstrap-venv.sh
venv_bin="${MING_VENV:-$repo/.venv}/bin"
export PATH="$venv_bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$repo/.collections"
# Ansible and the tests must never leak a secret into CI logs; nothing here needs interactive input.
export ANSIBLE_NOCOLOR=1 PY_COLORS=0

# What the stages need beyond the venv, prepared once however many stages ask for it.
prepared=" "
need() {
  local what
  for what in "$@"; do
    case "$prepared" in *" $what "*) continue ;; esac
    case "$what" in
      docker) bash scripts/docker-engine.sh ;;
      # Only the images a test runs: the broker and InfluxDB 1.6.7. (images/camera-simulator is for plants' dry runs.)
      images) need docker; bash scripts/build-lab-images.sh mosquitto influxdb nodered stream-proxy keepalived ;;
      test-packages) bash scripts/install-test-deps.sh runtime ;;
      shellcheck) bash scripts/install-test-deps.sh sanity ;;
      *) echo "ERROR: run-tests.sh: nothing known as '$what' to prepare" >&2; exit 2 ;;
    esac
    prepared+="$what "
  done
}

stage_lint() {
  yamllint --strict .
  ruff check .
  # ansible-test sanity's pep8 test with its settings (ruff has no stable E3 rules): caught here in seconds.
  pycodestyle --max-line-length 160 --ignore E402,W503,W504,E741 \
    --exclude .venv,.collections,build,tests/output plugins tests tools
  ansible-lint --profile production --offline
}
stage_sanity() { need shellcheck; bash scripts/sanity.sh; }
stage_build() {
  mkdir -p build
  ansible-galaxy collection build --force --output-path build/ .
}
# Molecule runs every playbook at -vvv with --diff for its secret scan: the whole output goes to build/molecule.log,
# the console gets molecule's step lines, the recaps and the verifier's summary (the last 300 lines on a failure).
stage_molecule() {
  need docker images test-packages
  mkdir -p build
  local log=build/molecule.log status=0
  molecule test --scenario-name default >"$log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    grep -E '^(INFO|WARNING|ERROR) |PLAY RECAP|^localhost |^cam-|passed|failed' "$log" || true
  else
    tail -n 300 "$log"
    echo "molecule failed (exit $status); its whole output: $log" >&2
  fi
  return "$status"
}
# The pipeline benchmark runs the real broker, InfluxDB 1.x and Node-RED (lab image).
stage_bench() {
  need docker images test-packages
  local bench found=0
  for bench in tests/bench/bench_*.py; do
    [ -e "$bench" ] || continue
    found=1
    python "$bench"
  done
  [ "$found" -eq 1 ] || { echo "ERROR: no benchmark found in tests/bench/ (bench_*.py)" >&2; return 1; }
}
# Whole files per worker (--dist loadfile): a file's module fixtures (a broker, a simulator) stay in one process, and
# every file uses Compose projects, directories and ports of its own. The longest files start first
# (tests/file_durations.py; --no-loadscope-reorder keeps that order). MING_PYTEST_WORKERS=0 runs in one process.
stage_pytest() {
  need docker images test-packages
  local workers=${MING_PYTEST_WORKERS:-2}
  if [ "$workers" -gt 0 ]; then
    pytest -n "$workers" --dist loadfile --no-loadscope-reorder
  else
    pytest
  fi
}

for stage in "${stages[@]}"; do
  declare -F "stage_$stage" >/dev/null || { echo "ERROR: unknown stage '$stage' (${all_stages[*]})" >&2; exit 2; }
done
# Molecule and pytest together: both mostly wait on ansible-playbook, Docker and the services, and each keeps to its
# own Compose projects, directories and ports (molecule: ming-molecule, fixed ports below 20000; pytest: free ports),
# so molecule runs in the background while pytest runs (about 7 minutes less on two cores). MING_TEST_SERIAL=1 runs
# them one after the other.
run_together=false
if [ "${MING_TEST_SERIAL:-0}" != 1 ] && [[ " ${stages[*]} " == *" molecule "* ]] && [[ " ${stages[*]} " == *" pytest "* ]]; then
  run_together=true
fi
molecule_pid=""
for stage in "${stages[@]}"; do
  if [ "$run_together" = true ] && [ "$stage" = molecule ]; then
    # Prepared here, once, so the two stages never build an image or install a package at the same time.
    need docker images test-packages
    mkdir -p build
    echo "=== molecule (in the background, alongside pytest; its report follows pytest's)"
    molecule_started=$SECONDS
    (stage_molecule) >build/molecule-stage.out 2>&1 &
    molecule_pid=$!
    continue
  fi
  echo "=== $stage"
  started=$SECONDS
  if [ -n "$molecule_pid" ] && [ "$stage" = pytest ]; then
    # pytest's failure must not leave molecule running unreported: wait for it either way.
    pytest_status=0
    "stage_$stage" || pytest_status=$?
    echo "=== pytest ended (exit $pytest_status) in $((SECONDS - started)) s; waiting for molecule"
    molecule_status=0
    wait "$molecule_pid" || molecule_status=$?
    echo "=== molecule (ran alongside pytest)"
    cat build/molecule-stage.out
    if [ "$molecule_status" -ne 0 ]; then
      echo "=== molecule FAILED (exit $molecule_status) after $((SECONDS - molecule_started)) s" >&2
    else
      echo "=== molecule passed in $((SECONDS - molecule_started)) s"
    fi
    [ "$pytest_status" -eq 0 ] || { echo "=== pytest FAILED (exit $pytest_status)" >&2; exit "$pytest_status"; }
    [ "$molecule_status" -eq 0 ] || exit "$molecule_status"
    echo "=== pytest passed in $((SECONDS - started)) s"
    continue
  fi
  "stage_$stage"
  echo "=== $stage passed in $((SECONDS - started)) s"
done
