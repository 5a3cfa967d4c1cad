#!/usr/bin/env bash
# Build the execution environment (EE) image for AWX / Ansible Automation Platform from execution-environment.yml,
# offline: ansible-builder with the Docker runtime, FROM the lab's local base image ming/debian-base:bookworm.
#   1. the collection: `ansible-galaxy collection build` of a copy of this checkout WITHOUT inventories/ and
#      .secrets/ (plant inventories, vault files and lab secrets never go into an image), checked after the build;
#   2. its dependency collections as tarballs of the venv's pinned `ansible` package (requirements-dev.txt), each
#      at the version execution-environment.yml pins;
#   3. both staged with a copy of execution-environment.yml under build/ee/ (MING_EE_STAGE), then
#      `ansible-builder build` tagged ming/ee:<galaxy.yml version> (MING_EE_TAG).
# The image carries the label ming.content-hash (base image, execution-environment.yml, every staged collection's
# MANIFEST.json, which holds the checksum of each of its files), as scripts/build-lab-images.sh does: an image
# whose label matches is not rebuilt (MING_EE_REBUILD=1 rebuilds anyway).
# Usage: scripts/build-ee.sh        (or `make ee`); push it with docker tag/push to the plant registry (docs/awx.md)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
venv="${MING_VENV:-$repo/.venv}"
definition="$repo/execution-environment.yml"
stage="${MING_EE_STAGE:-$repo/build/ee}"
base_image="ming/debian-base:bookworm"
dependencies=(community.docker community.crypto community.general community.library_inventory_filtering_v1)

die() { echo "ERROR: $*" >&2; exit 1; }

for tool in python ansible-galaxy ansible-builder; do
  [ -x "$venv/bin/$tool" ] || die "$venv/bin/$tool is missing: install the dev requirements (scripts/bootstrap-venv.sh)."
done
command -v docker >/dev/null 2>&1 || die "the docker CLI is missing: install Docker (scripts/docker-engine.sh starts the engine)."
docker info >/dev/null 2>&1 || die "no Docker engine answers: run scripts/docker-engine.sh first."
docker image inspect "$base_image" >/dev/null 2>&1 \
  || die "the base image $base_image is missing: build it with scripts/build-lab-images.sh (no registry is used)."

version=$(sed -n 's/^version: *//p' "$repo/galaxy.yml")
[ -n "$version" ] || die "galaxy.yml has no version"
tag="${MING_EE_TAG:-ming/ee:$version}"

# Refuse to build into the repository itself or outside a directory of its own: the stage is wiped.
case "$stage" in
  "$repo" | "$repo/" | / | "") die "MING_EE_STAGE=$stage: give a directory of its own (default build/ee)" ;;
esac
rm -rf "$stage"
mkdir -p "$stage/collections"

# 1. The collection, from a copy of the checkout without what must never ship in an image.
source_copy=$(mktemp -d /var/tmp/ming-ee-source.XXXXXX)
trap 'rm -rf "$source_copy"' EXIT
tar -C "$repo" -c \
  --exclude=./.git --exclude=./.venv --exclude=./.collections --exclude=./.secrets --exclude=./.cache \
  --exclude=./.ansible --exclude=./build --exclude=./inventories --exclude=./reports --exclude=./backups \
  --exclude=./tests --exclude=./molecule --exclude=__pycache__ --exclude='*.tar.gz' . | tar -C "$source_copy" -x
"$venv/bin/ansible-galaxy" collection build "$source_copy" --output-path "$source_copy/dist" >/dev/null \
  || die "ansible-galaxy collection build failed (run it on $repo to see why)"

# 2. The collection tarball and its dependency collections' tarballs, written reproducibly (no time stamps, owner
# root): the same content gives the same bytes, so Docker's layer cache keeps every build stage that does not
# depend on a changed collection. The collection must hold no inventories/ or .secrets/.
# The dependency collections come at the versions execution-environment.yml pins. The venv's `ansible` package
# installs each collection without its tests and CI files, yet with the collection's FILES.json (which lists them):
# each tarball holds the installed files, every checksum checked against FILES.json, and a FILES.json (plus the
# MANIFEST.json checksum of it) listing exactly those files, so `ansible-galaxy collection install` accepts it.
site=$("$venv/bin/python" -c 'import ansible, pathlib; print(pathlib.Path(ansible.__file__).parent.parent / "ansible_collections")')
"$venv/bin/python" - "$definition" "$site" "$stage/collections" "$source_copy/dist/sensingcam-ming-$version.tar.gz" \
  "${dependencies[@]}" <<'PYTHON' || exit 1
import gzip
import hashlib
import io
import json
import sys
import tarfile
from pathlib import Path

import yaml

definition, site, out, built = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
entries = yaml.safe_load(Path(definition).read_text(encoding="utf-8"))["dependencies"]["galaxy"]["collections"]
pins = {entry["name"]: entry.get("version", "") for entry in entries}


def fail(message):
    sys.exit(f"ERROR: {message}")


def write_tarball(path, members):
    """members: (TarInfo, bytes or None) in order; written without time stamps or owner names."""
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as zipped, \
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for info, data in members:
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 0
            if info.isdir():
                info.mode = 0o755
            elif info.isfile():
                info.mode = 0o755 if info.mode & 0o111 else 0o644
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if info.isfile() else None)


# This collection: the tarball ansible-galaxy built, rewritten reproducibly.
with tarfile.open(built) as tar:
    members = [(member, tar.extractfile(member).read() if member.isfile() else None) for member in tar.getmembers()]
leaked = [info.name for info, _data in members if info.name.split("/")[0] in ("inventories", ".secrets")]
if leaked:
    fail(f"the built collection contains {leaked[0]}: inventories and secrets must not go into an image")
write_tarball(out / "sensingcam-ming.tar.gz", members)

for collection in sys.argv[5:]:
    namespace, name = collection.split(".", 1)
    source, target = site / namespace / name, f"/build/collections/{namespace}-{name}.tar.gz"
    if not (source / "MANIFEST.json").is_file():
        fail(f"{collection} is not in {site}: install the dev requirements (scripts/bootstrap-venv.sh).")
    manifest = json.loads((source / "MANIFEST.json").read_text(encoding="utf-8"))
    have, pinned = manifest["collection_info"]["version"], pins.get(target, "").lstrip("=")
    if not pinned:
        fail(f"execution-environment.yml pins no version of {collection} (an entry {target} with version ==X)")
    if have != pinned:
        fail(f"execution-environment.yml pins {collection} =={pinned} but the venv's ansible package has {have}: "
             "change the pin there (or the ansible pin in requirements-dev.txt)")
    listed = json.loads((source / "FILES.json").read_text(encoding="utf-8"))
    kept = [item for item in listed["files"] if item["name"] == "." or (source / item["name"]).exists()]
    files_json = json.dumps({**listed, "files": kept}, indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    header = [(tarfile.TarInfo(name), data) for name, data in
              (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json))]
    body = []
    for item in (item for item in kept if item["name"] != "."):
        path, info = source / item["name"], tarfile.TarInfo(item["name"])
        data = path.read_bytes() if item["ftype"] == "file" else None
        if data is None:
            info.type = tarfile.DIRTYPE
        elif hashlib.sha256(data).hexdigest() != item["chksum_sha256"]:
            fail(f"{path} differs from its checksum in {source}/FILES.json: reinstall the ansible package")
        else:
            info.mode = path.stat().st_mode & 0o777
        body.append((info, data))
    write_tarball(out / f"{namespace}-{name}.tar.gz", header + body)
PYTHON
cp "$definition" "$stage/execution-environment.yml"

# 3. Build, unless an image with the same content hash is there already.
want=$( { docker image inspect --format '{{ .Id }}' "$base_image"; cat "$definition";
          for tarball in "$stage"/collections/*.tar.gz; do tar -xzOf "$tarball" MANIFEST.json; done; } \
        | sha256sum | cut -d' ' -f1)
have=$(docker image inspect --format '{{ index .Config.Labels "ming.content-hash" }}' "$tag" 2>/dev/null || true)
if [ "$have" = "$want" ] && [ -z "${MING_EE_REBUILD:-}" ]; then
  echo "$tag is up to date"; exit 0
fi
echo "Building $tag with ansible-builder (sensingcam.ming $version; log: $stage/build.log) ..."
images_before=$(docker images -aq --no-trunc | sort -u)
DOCKER_BUILDKIT=0 "$venv/bin/ansible-builder" build --container-runtime docker \
  -f "$stage/execution-environment.yml" -c "$stage/context" -t "$tag" -v 3 \
  --extra-build-cli-args "--force-rm --label ming.content-hash=$want" >"$stage/build.log" 2>&1 \
  || { tail -n 40 "$stage/build.log" >&2; die "ansible-builder build of $tag failed (last lines above; $stage/build.log)"; }

# The build leaves its galaxy and builder stages as untagged images: remove those this build created (new, and built
# on a layer of this image that the base image does not have); other images and their caches stay.
own=$(comm -23 <(docker history -q --no-trunc "$tag" | grep -v missing | sort -u) \
               <(docker history -q --no-trunc "$base_image" | grep -v missing | sort -u))
for image in $(docker images -q --no-trunc --filter dangling=true); do
  grep -qxF "$image" <<<"$images_before" && continue
  parent=$image
  while [ -n "$parent" ]; do
    if grep -qxF "$parent" <<<"$own"; then docker rmi "$image" >/dev/null 2>&1 || true; break; fi
    parent=$(docker image inspect --format '{{ .Parent }}' "$parent" 2>/dev/null || true)
  done
done
echo "$tag built"
