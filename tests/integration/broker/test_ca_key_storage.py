"""The managed CA's default home, ``<inventory dir>/pki/mosquitto-ca``, stays out of git and out of the collection.

Real tools, no broker: ``git check-ignore`` on this checkout (the path need not exist), and a real
``ansible-galaxy collection build`` of a small copy of the collection (this repository's galaxy.yml, README and
licence, an inventory holding a CA key where the role would write it) whose artifact is then listed. The role's own
``.gitignore`` inside the CA directory is checked by the roll-out test (test_broker_rollout.py, first run), and an
empty passphrase is refused by preflight (test_preflight.py).
"""

import shutil
import subprocess
import tarfile

import pytest
from broker_rollout import REPO, venv_tool

DEFAULT_CA_KEYS = [
    "inventories/example-plant/pki/mosquitto-ca/ca.key",
    "inventories/lab/pki/mosquitto-ca/ca.key",
    "inventories/my-plant/pki/mosquitto-ca/ca.key",  # a plant's own inventory beside the examples
]


@pytest.mark.parametrize("path", DEFAULT_CA_KEYS)
def test_git_ignores_the_default_ca_directory(path):
    if shutil.which("git") is None:
        pytest.fail("git is missing (Debian package git)")
    done = subprocess.run(["git", "check-ignore", "--no-index", "--verbose", path], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, f"git would track {path}: {done.stdout}{done.stderr}"
    assert done.stdout.startswith(".gitignore:"), done.stdout


def test_git_still_tracks_the_inventories_themselves():
    """The control case: the rule is narrow, the inventory files next to pki/ are not ignored."""
    inventory_file = "inventories/example-plant/group_vars/ming_brokers.yml"
    done = subprocess.run(["git", "check-ignore", "--no-index", inventory_file], cwd=REPO, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 1, done.stdout


def test_the_collection_build_leaves_the_ca_out(tmp_path):
    source = tmp_path / "collection"
    for name in ("galaxy.yml", "README.md", "COPYING"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, source / name)
    inventory = source / "inventories" / "example-plant"
    (inventory / "pki" / "mosquitto-ca").mkdir(parents=True)
    (inventory / "pki" / "mosquitto-ca" / "ca.key").write_text("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    (inventory / "pki" / "mosquitto-ca" / "ca.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    (inventory / "hosts.yml").write_text("all: {}\n")
    (source / "meta").mkdir()
    shutil.copy(REPO / "meta" / "runtime.yml", source / "meta" / "runtime.yml")
    output = tmp_path / "out"
    output.mkdir()
    done = subprocess.run([str(venv_tool("ansible-galaxy")), "collection", "build", "--output-path", str(output),
                           str(source)], capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    (artifact,) = output.glob("*.tar.gz")
    with tarfile.open(artifact) as archive:
        names = archive.getnames()
    assert "inventories/example-plant/hosts.yml" in names, names
    assert not [name for name in names if "/pki" in name], names
