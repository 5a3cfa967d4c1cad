#!/usr/bin/env bash
# Debian packages the test suite runs for real: the Mosquitto broker and clients, the GStreamer RTSP server
# and ffmpeg behind the camera simulator's video stream. Fast when everything is installed already.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
# cron: its crontab is needed by ansible.builtin.cron (firmware_audit_schedule role tests).
packages=(mosquitto mosquitto-clients cron)
if [ -f "$repo/tools/camera_simulator/apt-packages.txt" ]; then
  mapfile -t sim_packages < <(grep -vE '^\s*(#|$)' "$repo/tools/camera_simulator/apt-packages.txt")
  packages+=("${sim_packages[@]}")
fi
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "ERROR: install these Debian packages first: ${missing[*]}" >&2; exit 1; }
echo "Installing ${missing[*]} ..."
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
