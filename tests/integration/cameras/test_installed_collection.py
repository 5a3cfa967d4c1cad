"""The collection as a plant installs it: ``ansible-galaxy collection build`` of this checkout, installed into a
temporary collections path, then ``ansible-playbook sensingcam.ming.site`` and ``sensingcam.ming.firmware_audit``
by their collection names. Ansible sees only that installation and the collections bundled with the ``ansible``
package of the running venv (never this checkout: no ansible.cfg of it, no .collections).

The cameras are the camera simulator (tools/camera_simulator) on free loopback ports, not real cameras; the run is
limited to the sensingcams group, so no Docker engine is needed.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, recap

pytestmark = pytest.mark.simulator
VENV_BIN = Path(sys.executable).parent


def tool(name):
    path = VENV_BIN / name
    if not path.exists():
        pytest.fail(f"{name} not found next to {sys.executable}: install the dev requirements "
                    "(scripts/bootstrap-venv.sh)")
    return str(path)


def isolated_env(collections, workdir):
    """Only the temporary installation (plus the venv's bundled collections) is visible; no config of the checkout."""
    config = workdir / "ansible.cfg"
    config.write_text("[defaults]\nretry_files_enabled = false\n")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("ANSIBLE_") and key != "PYTHONPATH"}
    env.update(ANSIBLE_CONFIG=str(config), ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_LOCALHOST_WARNING="0", PWD=str(workdir))
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """The collection built from this checkout and installed into a temporary collections path."""
    root = tmp_path_factory.mktemp("installed-collection")
    collections = root / "collections"
    env = isolated_env(collections, root)
    build = subprocess.run([tool("ansible-galaxy"), "collection", "build", str(REPO), "--output-path",
                            str(root / "dist")], capture_output=True, text=True, timeout=300, cwd=root, env=env,
                           check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    tarballs = list((root / "dist").glob("sensingcam-ming-*.tar.gz"))
    assert len(tarballs) == 1, build.stdout
    install = subprocess.run([tool("ansible-galaxy"), "collection", "install", "--no-deps", "-p", str(collections),
                              str(tarballs[0])], capture_output=True, text=True, timeout=300, cwd=root, env=env,
                             check=False)
    assert install.returncode == 0, install.stdout + install.stderr
    location = collections / "ansible_collections" / "sensingcam" / "ming"
    for shipped in ("site.yml", "playbooks/site.yml", "roles/sensingcam/tasks/main.yml",
                    "profiles/sensingcam/sec100-fw2.yml", "plugins/filter/sensingcam_audit_report.py"):
        assert (location / shipped).is_file(), f"{shipped} is missing from the built collection"
    assert not location.is_symlink() and REPO not in location.resolve().parents
    return collections, location


def run_installed(installed, workdir, playbook, inventory, *extra, check=False):
    collections, _location = installed
    command = [tool("ansible-playbook"), playbook, "-i", str(inventory), "--limit", "sensingcams", *extra]
    if check:
        command.append("--check")
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=workdir,
                          env=isolated_env(collections, workdir), check=False)


def test_sensingcam_ming_is_found_only_in_the_installation(installed, tmp_path):
    collections, location = installed
    listed = subprocess.run([tool("ansible-galaxy"), "collection", "list", "sensingcam.ming", "--format", "json"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env=isolated_env(collections, tmp_path), check=False)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert list(json.loads(listed.stdout)) == [str(collections / "ansible_collections")]
    assert location.is_dir()


def test_site_from_the_installed_collection_check_apply_idempotent(installed, simulator, tmp_path):
    """`ansible-playbook sensingcam.ming.site` from the installed collection against the camera simulator:
    --check changes nothing, the run applies the inventory's camera settings, a re-run reports changed=0."""
    sim = simulator(2)
    inventory = sim.write_inventory(
        tmp_path / "hosts.yml", sensingcam_time_sync={"time_zone_index": 40},
        sensingcam_streams={"video1": {"fps": 12}}, sensingcam_event_recording={"post_trigger_seconds": 20})

    checked = run_installed(installed, tmp_path, "sensingcam.ming.site", inventory, check=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    checked_recap = recap(checked.stdout)
    assert sorted(checked_recap) == sim.names, checked.stdout
    assert all(host["changed"] > 0 and host["failed"] == 0 for host in checked_recap.values()), checked.stdout
    assert sim.get("cam001", "TSCTCtimezone") != 40 and sim.get("cam001", "EventTimeAfterTrigger") != 20

    applied = run_installed(installed, tmp_path, "sensingcam.ming.site", inventory)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "TASK [sensingcam.ming.sensingcam : Streams]" in applied.stdout
    for name in sim.names:
        assert sim.get(name, "TSCTCtimezone") == 40 and sim.get(name, "LocationName") == name
        assert sim.get(name, "Video1FrameRate") == 12
        assert sim.get(name, "EventTimeAfterTrigger") == 20

    again = run_installed(installed, tmp_path, "sensingcam.ming.site", inventory)
    assert again.returncode == 0, again.stdout + again.stderr
    again_recap = recap(again.stdout)
    assert sorted(again_recap) == sim.names, again.stdout
    assert all(host["changed"] == 0 and host["ok"] > 0 for host in again_recap.values()), again.stdout
    assert sim.password not in checked.stdout + applied.stdout + again.stdout + again.stderr


def test_audit_from_the_installed_collection_uses_its_shipped_profile(installed, simulator, tmp_path):
    """`ansible-playbook sensingcam.ming.firmware_audit` from the installed collection against the camera simulator:
    the reports name the device profile inside the installation (found from the role, not from a checkout)."""
    _collections, location = installed
    sim = simulator(2, firmware=["2.6.2", "2.5.1"])
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_minimum_firmware="2.6.0")
    run = run_installed(installed, tmp_path, "sensingcam.ming.firmware_audit", inventory,
                        "-e", "sensingcam_report_dir=reports")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "reports" / "firmware-audit-latest.json").read_text())
    assert report["profile"] == str((location / "profiles" / "sensingcam" / "sec100-fw2.yml").resolve())
    assert report["violations"] == ["cam002"]
    assert "ingest is rtsp but firmware 2.5.1" in report["cameras"][1]["notes"][0]
