#!/usr/bin/env bash
# Set this machine up from nothing and roll out the lab: venv, Docker engine + Compose, lab images, site.yml.
# Safe to run again: every step is idempotent and the roll-out then reports changed=0.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/bootstrap-venv.sh
bash scripts/docker-engine.sh
bash scripts/build-lab-images.sh
# The lab cameras (inventories/lab, group sensingcams) are the camera simulator on loopback.
bash scripts/camera-simulator-lab.sh start
.venv/bin/ansible-playbook site.yml "$@"
