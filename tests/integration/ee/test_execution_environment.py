"""The execution environment (execution-environment.yml) as AWX would run it: the real ansible-builder
(scripts/build-ee.sh), a real image built here from the lab's local base ming/debian-base:bookworm (no registry, no
Galaxy), and inside that image `ansible-playbook sensingcam.ming.firmware_audit` against the camera simulator
(tools/camera_simulator, in-process on free loopback ports of this host, reached from the container with
--network host), not a real camera.

The image is built once for this module from a copy of the checkout in which the test plants a secret in
inventories/ and .secrets/ (the places a plant keeps its inventory and vault files), tagged
ming/ee:<version>-test-<random> and removed afterwards together with the build stages it left behind. The build is
the cost: cold, 2 to 5 minutes (apt, pip); after a `make ee` its layers are reused (the collection tarballs are
written reproducibly and the Python packages sit in the base stage), so a changed collection reruns only the galaxy
stage and the short final steps. `make ee` itself skips an unchanged image (content hash label); the test always
builds under its own tag and removes only what its build created.

Mutations tried:
- scripts/build-ee.sh without `--exclude=./inventories` and without its check of the built tarball: the planted secret
  is in the collection inside the image and in the staged build context -> test_no_inventory_or_secret_in_the_image
  fails.
- the check of the tarball alone kept, the exclude removed: scripts/build-ee.sh stops before any image is built with
  "the built collection contains inventories: ..." (so the fixture fails).
- execution-environment.yml without jmespath in the constraints list -> test_every_python_package_is_pinned fails.
- execution-environment.yml pins community.docker ==5.3.0 -> the build fails naming the pin and the venv's 5.4.0.
- scripts/build-ee.sh with a base image name that does not exist -> it fails naming scripts/build-lab-images.sh.
- `user: "0"` in execution-environment.yml -> test_runs_as_non_root fails.
- the audit's minimum version not passed -> both cameras are "unknown" and test_firmware_audit_inside_the_ee fails.
"""

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.testing import free_ports, running_simulator

pytestmark = [pytest.mark.docker, pytest.mark.simulator, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
VENV = Path(sys.executable).parent.parent
BASE_IMAGE = "ming/debian-base:bookworm"
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text(encoding="utf-8"))
DEFINITION = yaml.safe_load((REPO / "execution-environment.yml").read_text(encoding="utf-8"))
INSTALLED = Path("/usr/share/ansible/collections/ansible_collections")
# What never leaves the controller's checkout: paths of the copy the image is built from.
IGNORED = shutil.ignore_patterns(".git", ".venv", ".collections", ".secrets", ".cache", ".ansible", "build", "reports",
                                 "backups", "__pycache__", ".pytest_cache", ".ruff_cache", "*.tar.gz")


def docker(*args, check=True, timeout=120):
    """``docker <args>``, output captured as text; with ``check``, a non-zero exit fails naming the command."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=timeout)
    if check and done.returncode != 0:
        pytest.fail(f"docker {' '.join(args)} failed ({done.returncode}): {done.stdout}{done.stderr}")
    return done


def in_image(image, *command, user=None, network=None, volumes=(), check=True, timeout=180):
    """Run ``command`` in a throw-away container of ``image`` (uniquely named, removed afterwards)."""
    args = ["run", "--rm", "--name", f"ee-test-{secrets.token_hex(4)}"]
    if user is not None:
        args += ["--user", user]
    if network:
        args += ["--network", network]
    for volume in volumes:
        args += ["-v", volume]
    return docker(*args, image, *command, check=check, timeout=timeout)


def history_ids(image):
    return {line for line in docker("history", "-q", "--no-trunc", image).stdout.split() if line != "<missing>"}


def parents(image_id):
    """``image_id`` and the image IDs it was built on (legacy builder: .Parent links)."""
    chain = []
    while image_id:
        chain.append(image_id)
        image_id = docker("image", "inspect", "--format", "{{ .Parent }}", image_id, check=False).stdout.strip()
    return chain


def all_images():
    return set(docker("images", "-aq", "--no-trunc").stdout.split())


def remove_build(tag, before):
    """Remove the test tag and the untagged stage images (galaxy, builder) this build created: new since ``before``
    and built on a layer of this EE that the base image does not have. Layers an earlier `make ee` left (the
    build's cache) and other images stay; the image itself goes unless another tag (`make ee`'s) still holds it."""
    own = history_ids(tag) - history_ids(BASE_IMAGE)
    docker("rmi", tag, check=False)
    dangling = docker("images", "-q", "--no-trunc", "--filter", "dangling=true").stdout.split()
    for image_id in dangling:
        if image_id not in before and own & set(parents(image_id)):
            docker("rmi", image_id, check=False)


def plant_secrets(copy, secret):
    """A plant's inventory with a vault file and a controller secret, in the copy the image is built from."""
    vault = copy / "inventories" / "plant-ee-test" / "group_vars" / "all"
    vault.mkdir(parents=True)
    (vault / "vault.yml").write_text(f"vault_sensingcam_password: {secret}\n", encoding="utf-8")
    (copy / "inventories" / "plant-ee-test" / "hosts.yml").write_text(
        "all:\n  children:\n    sensingcams:\n      hosts:\n        cam-secret:\n", encoding="utf-8")
    (copy / ".secrets" / "plant-ee-test").mkdir(parents=True)
    (copy / ".secrets" / "plant-ee-test" / "camera-password").write_text(secret, encoding="utf-8")


@pytest.fixture(scope="module")
def ee(tmp_path_factory):
    """The EE built by scripts/build-ee.sh from a copy of this checkout with planted secrets; removed afterwards."""
    if shutil.which("docker") is None or docker("info", check=False).returncode != 0:
        pytest.fail("no Docker engine answers: run scripts/docker-engine.sh (install Docker first)")
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: build it with scripts/build-lab-images.sh")
    if not (VENV / "bin" / "ansible-builder").exists():
        pytest.fail(f"ansible-builder is not in {VENV}: install the dev requirements (scripts/bootstrap-venv.sh)")
    root = tmp_path_factory.mktemp("ee")
    copy, stage = root / "checkout", root / "stage"
    shutil.copytree(REPO, copy, ignore=IGNORED, symlinks=True)
    secret = f"ee-planted-{secrets.token_hex(16)}"
    plant_secrets(copy, secret)
    tag = f"ming/ee:{GALAXY['version']}-test-{secrets.token_hex(4)}"
    env = dict(os.environ, MING_VENV=str(VENV), MING_EE_TAG=tag, MING_EE_STAGE=str(stage))
    before = all_images()
    build = subprocess.run(["bash", str(copy / "scripts" / "build-ee.sh")], capture_output=True, text=True,
                           timeout=900, env=env, check=False)
    try:
        log = (stage / "build.log").read_text(encoding="utf-8") if (stage / "build.log").exists() else ""
        assert build.returncode == 0, f"{build.stdout}{build.stderr}\n{log[-4000:]}"
        yield {"tag": tag, "stage": stage, "secret": secret, "output": build.stdout + build.stderr + log}
    finally:
        if docker("image", "inspect", tag, check=False).returncode == 0:
            remove_build(tag, before)


def test_collections_in_the_image(ee):
    """`ansible-galaxy collection list` inside the image: sensingcam.ming at galaxy.yml's version, each dependency at
    the version the EE pins (= the venv's ansible package), ansible-core 2.19 (Python 3.11 of the base)."""
    listed = in_image(ee["tag"], "ansible-galaxy", "collection", "list", "--format", "json").stdout
    collections = json.loads(listed)[str(INSTALLED)]
    versions = {name: info["version"] for name, info in collections.items()}
    site = VENV / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    expected = {"sensingcam.ming": GALAXY["version"]}
    for entry in DEFINITION["dependencies"]["galaxy"]["collections"][1:]:
        name = Path(entry["name"]).name.removesuffix(".tar.gz").replace("-", ".", 1)
        manifest = json.loads((site / "ansible_collections" / name.replace(".", "/") / "MANIFEST.json").read_text())
        assert entry["version"] == f"=={manifest['collection_info']['version']}", name
        expected[name] = manifest["collection_info"]["version"]
    assert versions == expected
    assert set(GALAXY["dependencies"]) <= set(versions)
    core = in_image(ee["tag"], "ansible", "--version").stdout
    assert re.search(r"^ansible \[core 2\.19\.\d+\]", core, re.M), core
    assert "python version = 3.11" in core, core


def test_runs_as_non_root(ee):
    """The image's user is 1000, and a container of it runs as that uid (also under AWX's arbitrary uid)."""
    assert docker("image", "inspect", "--format", "{{ .Config.User }}", ee["tag"]).stdout.strip() == "1000"
    assert in_image(ee["tag"], "id", "-u").stdout.strip() == "1000"
    assert in_image(ee["tag"], "id", "-u", user="4711").stdout.strip() == "4711"


def test_every_python_package_is_pinned(ee):
    """Every Python package in the image is in execution-environment.yml's constraints at that version, except pip and
    setuptools of the venv itself (Debian's python3-venv wheels)."""
    frozen = in_image(ee["tag"], "pip", "freeze", "--all").stdout.split()
    constraints = in_image(ee["tag"], "cat", "/opt/ee/constraints.txt").stdout.split()
    pins = {line.split("==")[0].lower(): line.split("==")[1] for line in constraints}
    installed = {line.split("==")[0].lower(): line.split("==")[1] for line in frozen}
    assert {"ansible-core", "ansible-runner", "bcrypt", "jmespath", "paho-mqtt", "cryptography"} <= set(installed)
    # What the collection runs on the controller imports (filters, verify.yml's self-test client, community.crypto).
    in_image(ee["tag"], "python3", "-c", "import bcrypt, jmespath, paho.mqtt.client, cryptography, yaml")
    unpinned = {name: version for name, version in installed.items()
                if name not in {"pip", "setuptools"} and pins.get(name) != version}
    assert not unpinned, f"installed but not pinned in execution-environment.yml: {unpinned}"


def test_no_inventory_or_secret_in_the_image(ee):
    """A secret planted in the checkout's inventories/ and .secrets/ is nowhere in the staged build context (files
    and tarball members), the image's history and metadata, or the image's file system; the collection in the image
    has no inventories/."""
    secret, stage = ee["secret"], ee["stage"]
    found = []
    for path in stage.rglob("*"):
        if path.is_file() and path.name.endswith(".tar.gz"):
            with tarfile.open(path) as tar:
                for member in tar.getmembers():
                    handle = tar.extractfile(member) if member.isfile() else None
                    if member.name.startswith(("inventories", ".secrets")) or (
                            handle and secret.encode() in handle.read()):
                        found.append(f"{path.relative_to(stage)}:{member.name}")
        elif path.is_file() and secret.encode() in path.read_bytes():
            found.append(str(path.relative_to(stage)))
    assert not found, f"the build context holds a planted inventory or secret: {found}"
    assert "plant-ee-test" not in ee["output"]
    history = docker("history", "--no-trunc", ee["tag"]).stdout
    inspected = docker("image", "inspect", ee["tag"]).stdout
    assert secret not in history and secret not in inspected
    assert "PIP_CONSTRAINT=/opt/ee/constraints.txt" in history
    grep = in_image(ee["tag"], "grep", "-rlF", "--exclude-dir=proc", "--exclude-dir=sys", "--exclude-dir=dev", secret,
                    "/", user="0", check=False, timeout=300)
    assert grep.returncode == 1, f"grep rc {grep.returncode}: the secret is in {grep.stdout} {grep.stderr}"
    listing = in_image(ee["tag"], "ls", "-A", str(INSTALLED / "sensingcam" / "ming")).stdout.split()
    assert "playbooks" in listing and "inventories" not in listing and ".secrets" not in listing, listing


def test_firmware_audit_inside_the_ee(ee, tmp_path):
    """`ansible-playbook sensingcam.ming.firmware_audit` inside the image, against two simulated cameras: firmware
    2.5.1 (known outdated: below the minimum 2.6.0, with its known RTSP issue) is flagged, 2.6.2 is approved; the
    report names the device profile of the collection installed in the image; the camera password is not in the
    output."""
    password = secrets.token_urlsafe(12)
    cameras = {"cam-old": "2.5.1", "cam-new": "2.6.2"}
    configs = [CameraConfig(name=name, port=port, user="Service", password=password, firmware_version=firmware,
                            serial=f"SIM-EE-{port}")
               for (name, firmware), port in zip(cameras.items(), free_ports(len(cameras)), strict=True)]
    inventory, output_dir = tmp_path / "inventory", tmp_path / "output"
    inventory.mkdir()
    output_dir.mkdir()
    # The container runs as uid 1000: it reads the inventory and creates the report directory (the playbook sets its
    # mode, which only its owner may) in this test's own directories.
    inventory.chmod(0o755)
    output_dir.chmod(0o777)
    hosts = {config.name: {"sensingcam_host": "127.0.0.1", "sensingcam_port": config.port,
                           "sensingcam_ingest": "rtsp"} for config in configs}
    group_vars = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                  "sensingcam_password": password, "sensingcam_timeout": 5, "sensingcam_retries": 1,
                  "sensingcam_minimum_firmware": "2.6.0"}
    (inventory / "hosts.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"sensingcams": {"hosts": hosts, "vars": group_vars}}}}), encoding="utf-8")
    (inventory / "hosts.yml").chmod(0o644)
    with running_simulator(configs, time_scale=0.02):
        run = in_image(ee["tag"], "ansible-playbook", "sensingcam.ming.firmware_audit",
                       "-i", "/runner/inventory/hosts.yml", "-e", "sensingcam_report_dir=/runner/output/reports",
                       network="host", volumes=[f"{inventory}:/runner/inventory:ro", f"{output_dir}:/runner/output"],
                       check=False, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    report = json.loads((output_dir / "reports" / "firmware-audit-latest.json").read_text(encoding="utf-8"))
    verdicts = {camera["name"]: (camera["verdict"], camera["version"]) for camera in report["cameras"]}
    assert verdicts == {"cam-old": ("below_minimum", "2.5.1"), "cam-new": ("approved", "2.6.2")}
    assert report["violations"] == ["cam-old"]
    old = next(camera for camera in report["cameras"] if camera["name"] == "cam-old")
    assert old["known_issues"] and "ingest is rtsp but firmware 2.5.1" in old["notes"][0]
    assert report["summary"]["approved"] == 1 and report["summary"]["below_minimum"] == 1
    assert report["profile"] == str(INSTALLED / "sensingcam" / "ming" / "profiles" / "sensingcam" / "sec100-fw2.yml")
    assert password not in output
