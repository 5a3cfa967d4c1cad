#!/usr/bin/env bash
# Install the Debian packages the camera simulator's RTSP stream (and its tests) need: apt-packages.txt.
# Idempotent and fast when everything is present (one dpkg-query, no apt-get update).
# Usage: install-rtsp-deps.sh [--check]   (--check: report what is missing, install nothing; exit 1 if any)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/apt-packages.txt" | grep -v '^$')

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "camera simulator RTSP dependencies: all ${#packages[@]} packages installed"
  exit 0
fi
if [ "${1:-}" = "--check" ]; then
  echo "camera simulator RTSP dependencies missing: ${missing[*]}" >&2
  exit 1
fi
command -v apt-get >/dev/null 2>&1 || { echo "ERROR: apt-get not found; install by hand: ${missing[*]}" >&2; exit 1; }
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "ERROR: run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "Installing ${missing[*]} ..."
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "camera simulator RTSP dependencies installed"
