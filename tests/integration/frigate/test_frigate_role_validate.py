"""The frigate role's validation before a new config replaces the live one, on a host that has "the image": a
stand-in Frigate image built here (Debian with Python and a fake ``frigate`` module), not the real Frigate, which
cannot run on this machine. The stand-in behaves as ``frigate/__main__.py`` does at 0.17.2/0.18.0 where it matters:
it reads /config/config.yml, refuses to go on if the file is writable (a real Frigate would migrate it), prints a
bare ``KeyError`` traceback for a ``{FRIGATE_*}`` without its file under /run/secrets, and for a config marked
invalid prints the validation errors, "Starting Frigate in safe mode." and "Your config file is valid." with exit
code 0. Runs use ``--tags frigate_configure`` (render mode, configuration and validation; nothing is started).

Mutations tried (each restored, each made the named test fail):
- the config template's ``validate:`` set to ``omit`` always -> test_an_invalid_config_does_not_replace_the_live_one
- the secrets mount left out of frigate_validate.py's command -> test_a_valid_config_is_checked_and_written (KeyError)
"""

import os
import subprocess
import uuid

import pytest
import yaml
from mosquitto_broker import remove_compose_project
from test_frigate_role import Rollout, inventory

PROJECT = f"frigate-v-{uuid.uuid4().hex[:6]}"
IMAGE = f"localhost/frigate-standin-{uuid.uuid4().hex[:6]}:0.18.0"
BASE_IMAGE = "ming/debian-base:bookworm"
STARS = "*" * 61
FAKE_MAIN = f'''
import os, re, sys
path = "/config/config.yml"
if os.access(path, os.W_OK):
    print("stand-in: the config is writable; a real Frigate would migrate it now")
    sys.exit(3)
print("Config file is read-only, unable to migrate config file.")
text = open(path).read()
have = set(os.listdir("/run/secrets")) if os.path.isdir("/run/secrets") else set()
missing = sorted(set(re.findall(r"[{{](FRIGATE_[A-Z0-9_]+)[}}]", text)) - have)
if missing:
    print("Traceback (most recent call last):")
    print("KeyError: '%s'" % missing[0])
    sys.exit(1)
if "stand-in-invalid" in text:
    print("{STARS}\\n***    Config Validation Errors                           ***\\n{STARS}")
    print("Key     : objects -> track\\nMessage : stand-in error")
    print("Starting Frigate in safe mode.")
print("{STARS}\\n*** Your config file is valid.                            ***\\n{STARS}")
'''


def docker(*argv, **kwargs):
    return subprocess.run(["docker", *argv], capture_output=True, text=True, check=False, **kwargs)


@pytest.fixture(scope="module")
def standin(tmp_path_factory):
    if docker("image", "inspect", BASE_IMAGE).returncode != 0:
        pytest.fail(f"{BASE_IMAGE} is missing: build the lab images first (scripts/build-lab-images.sh)")
    context = tmp_path_factory.mktemp("frigate-standin")
    (context / "frigate").mkdir()
    (context / "frigate" / "__init__.py").write_text("")
    (context / "frigate" / "__main__.py").write_text(FAKE_MAIN)
    (context / "Dockerfile").write_text(f"FROM {BASE_IMAGE}\nCOPY frigate /opt/frigate/frigate\nWORKDIR /opt/frigate\n")
    built = docker("build", "--quiet", "--network", "none", "-t", IMAGE, str(context))
    assert built.returncode == 0, built.stderr
    yield IMAGE
    docker("image", "rm", "--force", IMAGE)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory, standin):
    directory = tmp_path_factory.mktemp("frigate-validate")
    subject = Rollout(directory, inventory(directory, ming_compose_project=PROJECT, frigate_image=standin))
    yield subject
    remove_compose_project(PROJECT, services=("frigate",))


def config_path(rollout):
    return rollout.base / "frigate" / "config" / "config.yml"


def test_a_valid_config_is_checked_and_written(rollout):
    result = rollout.run(tags="frigate_configure")
    report = result.task_result("Report how the config was checked")["msg"]
    assert "checked with frigate --validate-config on a read-only mount" in report
    assert yaml.safe_load(config_path(rollout).read_text())["version"] == "0.18-0"
    assert (rollout.base / "frigate" / "frigate_validate.py").is_file()


def test_an_invalid_config_does_not_replace_the_live_one(rollout):
    before = config_path(rollout).read_text()
    hosts = rollout.hosts
    data = yaml.safe_load(hosts.read_text())
    nvr = data["all"]["children"]["ming_nvr"]["hosts"]["localhost"]
    nvr["frigate_extra_config"] = {"objects": {"track": ["person", "stand-in-invalid"]}}
    hosts.write_text(yaml.safe_dump(data))
    output = rollout.run(tags="frigate_configure", expect_failure=True)
    assert "safe mode" in output
    assert config_path(rollout).read_text() == before
    assert os.stat(config_path(rollout)).st_mode & 0o777 == 0o644
