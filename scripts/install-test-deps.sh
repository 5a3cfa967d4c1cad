#!/usr/bin/env bash
# Debian packages the tests run for real. Fast when everything is installed already.
# Usage: install-test-deps.sh [group ...]   groups (default: all):
#   runtime  the Mosquitto broker and clients, InfluxDB 1.x (influxd, the 1.x module tests), cron, systemd-analyze, and the GStreamer RTSP server and ffmpeg behind the camera
#            simulator's video stream (integration tests, molecule)
#   sanity   shellcheck, so ansible-test's shellcheck sanity test runs instead of being skipped
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(runtime sanity)
packages=()
for group in "${groups[@]}"; do
  case "$group" in
    runtime)
      # cron: its crontab is needed by ansible.builtin.cron; systemd: systemd-analyze verifies the rendered
      # units (firmware_audit_schedule role tests; systemd is not started, this machine has none as PID 1).
      # iptables, iproute2 and openssl: the firewall tests (DOCKER-USER chains, network namespaces) and the TLS
      # suite tests (openssl s_client); Docker's package pulls iptables in too, but the tests call it themselves.
      packages+=(mosquitto mosquitto-clients cron systemd iptables iproute2 openssl influxdb)
      mapfile -t sim_packages < <(grep -vE '^\s*(#|$)' "$repo/tools/camera_simulator/apt-packages.txt")
      packages+=("${sim_packages[@]}")
      ;;
    sanity) packages+=(shellcheck) ;;
    *) echo "ERROR: install-test-deps.sh: unknown group '$group' (runtime, sanity)" >&2; exit 2 ;;
  esac
done
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
command -v apt-get >/dev/null 2>&1 || { echo "ERROR: install these Debian packages first: ${missing[*]}" >&2; exit 1; }
echo "Installing ${missing[*]} ..."
# The tests start every server they need themselves, on loopback and with their own settings. A package's init
# script would start its daemon with the package defaults (Debian's influxd: HTTP on every interface, no auth), so
# invoke-rc.d is told not to start anything during this install (policy-rc.d exit 101, Debian's mechanism for it).
policy=/usr/sbin/policy-rc.d
own_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\n# Written by sensingcam.ming scripts/install-test-deps.sh during an install; removed after it.\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  own_policy=true
  trap 'rm -f "$policy"' EXIT
fi
apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if [ "$own_policy" = true ]; then rm -f "$policy"; trap - EXIT; fi
