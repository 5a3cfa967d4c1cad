#!/usr/bin/env bash
# Build the lab's container images offline, from Debian packages only (no container registry is reachable):
#   1. ming/debian-base:bookworm  - a debootstrap'd Debian rootfs, imported with `docker import`
#   2. ming/<service>:lab          - one image per images/<service>/Dockerfile, FROM the base image
# Each image carries the label ming.content-hash: the hash of everything it is built from. An image whose
# label matches is not rebuilt, so a run with no change takes seconds.
# Usage: build-lab-images.sh [service ...]   (default: every images/*/Dockerfile)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
suite="${MING_DEBIAN_SUITE:-bookworm}"
mirror="${MING_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
base_image="ming/debian-base:$suite"
base_packages="python3,ca-certificates"
# Bump when build_base changes what ends up in the base image; the rest of this script does not rebuild it.
base_recipe=1
extra_ca_dir=/usr/local/share/ca-certificates

die() { echo "ERROR: $*" >&2; exit 1; }
docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/docker-engine.sh first."

image_hash() { docker image inspect --format '{{ index .Config.Labels "ming.content-hash" }}' "$1" 2>/dev/null || true; }

# The host's extra CA certificates (e.g. a TLS-inspecting egress proxy) go into the base image so that
# pip/npm inside image builds trust what the host trusts.
ca_bundle_hash() { cat "$extra_ca_dir"/*.crt 2>/dev/null | sha256sum | cut -d' ' -f1; }

build_base() {
  local want rootfs
  want=$( { echo "$base_recipe $suite $mirror $base_packages"; ca_bundle_hash; } | sha256sum | cut -d' ' -f1)
  if [ "$(image_hash "$base_image")" = "$want" ]; then
    echo "$base_image is up to date"; return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || {
    command -v apt-get >/dev/null 2>&1 || die "debootstrap is missing and apt-get is not available: install debootstrap."
    apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
  }
  rootfs=$(mktemp -d /var/tmp/ming-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' RETURN
  echo "Building $base_image with debootstrap ($suite from $mirror) ..."
  debootstrap --variant=minbase --include="$base_packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { tail -n 20 "$rootfs.log" >&2; die "debootstrap failed (log above); check MING_DEBIAN_MIRROR=$mirror"; }
  rm -f "$rootfs.log"
  if compgen -G "$extra_ca_dir/*.crt" >/dev/null; then
    cp "$extra_ca_dir"/*.crt "$rootfs/usr/local/share/ca-certificates/"
    chroot "$rootfs" update-ca-certificates >/dev/null 2>&1
  fi
  # Keep images small and reproducible: no package cache, no logs of the build.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
  tar -C "$rootfs" -c . | docker import \
    --change "LABEL ming.content-hash=$want" \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV LANG=C.UTF-8' - "$base_image" >/dev/null
  echo "$base_image built"
}

build_service() {
  local service=$1 source="$repo/images/$1" tag="ming/$1:lab" want base_id context path
  [ -f "$source/Dockerfile" ] || die "no images/$service/Dockerfile"
  # The context holds the Dockerfile plus, when images/<service>/context-paths lists them, repository paths
  # (e.g. the simulator's source); the content hash covers exactly what the build can see.
  context=$(mktemp -d /var/tmp/ming-context.XXXXXX)
  trap 'rm -rf "$context"' RETURN
  cp -a "$source"/. "$context"/
  rm -f "$context/context-paths"
  if [ -f "$source/context-paths" ]; then
    while read -r path; do
      [[ -z "$path" || "$path" == \#* ]] && continue
      (cd "$repo" && cp -a --parents "$path" "$context"/) || die "images/$service/context-paths: $path does not exist"
    done < "$source/context-paths"
    find "$context" -name __pycache__ -prune -exec rm -rf {} +
  fi
  base_id=$(docker image inspect --format '{{ .Id }}' "$base_image")
  want=$( { echo "$base_id"; (cd "$context" && find . -type f -print0 | sort -z | xargs -0 sha256sum); } | sha256sum | cut -d' ' -f1)
  if [ "$(image_hash "$tag")" = "$want" ]; then
    echo "$tag is up to date"; return 0
  fi
  echo "Building $tag ..."
  DOCKER_BUILDKIT=0 docker build --quiet --label "ming.content-hash=$want" \
    --build-arg "BASE_IMAGE=$base_image" -t "$tag" "$context" >"$context.log" 2>&1 \
    || { cat "$context.log" >&2; rm -f "$context.log"; die "building $tag failed (output above)"; }
  rm -f "$context.log"
  echo "$tag built"
}

build_base
if [ $# -eq 0 ]; then
  set --
  for dockerfile in "$repo"/images/*/Dockerfile; do
    service=$(basename "$(dirname "$dockerfile")")
    [ "$service" = debian-base ] || set -- "$@" "$service"
  done
fi
for service in "$@"; do build_service "$service"; done
