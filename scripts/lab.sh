#!/usr/bin/env bash
# Set this machine up from nothing and roll out the lab: venv, Docker engine + Compose, lab images, site.yml.
# Safe to run again: every step is idempotent and the roll-out then reports changed=0.
#   scripts/lab.sh [ansible-playbook options]   set up and roll out (make lab)
#   scripts/lab.sh stop                          stop this checkout's lab: simulator and Compose project (make clean-lab)
#   scripts/lab.sh check                         only check that this checkout may run the lab here
# One lab per machine: a second checkout is refused while another checkout's lab runs (scripts/lab-owner.sh).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
state_dir=${MING_DEV_DIR:-/var/lib/ming-dev}
# shellcheck source=scripts/lab-owner.sh
. "$repo/scripts/lab-owner.sh"

case "${1:-}" in
  check)
    lab_claim
    echo "this checkout ($repo) may run the lab"
    exit 0
    ;;
  stop)
    lab_claim
    bash scripts/frigate-double-lab.sh stop
    bash scripts/camera-simulator-lab.sh stop
    if docker info >/dev/null 2>&1; then
      docker compose --project-name "$lab_project" down --remove-orphans
    fi
    lab_release
    exit 0
    ;;
esac

lab_claim
bash scripts/bootstrap-venv.sh
bash scripts/docker-engine.sh
# The lab runs the broker, InfluxDB and Node-RED images; the lab cameras are the simulator as a process
# (scripts/camera-simulator-lab.sh), Frigate is the Frigate API double (scripts/frigate-double-lab.sh).
bash scripts/build-lab-images.sh mosquitto influxdb nodered stream-proxy
# The lab cameras (inventories/lab, group sensingcams) are the camera simulator on loopback.
bash scripts/camera-simulator-lab.sh start
.venv/bin/ansible-playbook site.yml "$@"
# Frigate cannot run here: the Frigate API double stands in for it (HTTPS from the lab CA that site.yml made).
bash scripts/frigate-double-lab.sh start
# Last: the self-test (one synthetic anomaly on the reserved self-test station, followed to its record).
.venv/bin/ansible-playbook playbooks/verify.yml "$@"
