"""The frigate role's validation before a new config replaces the live one, on a host that has "the image": a
stand-in Frigate image built here (Debian with Python and a fake ``frigate`` module), not the real Frigate, which
cannot run on this machine. The stand-in behaves as ``frigate/__main__.py`` does at 0.17.2/0.18.0 where it matters:
it reads /config/config.yml, refuses to go on if the file is writable (a real Frigate would migrate it), prints a
bare ``KeyError`` traceback for a ``{FRIGATE_*}`` without its file under /run/secrets, and for a config marked
invalid prints the validation errors, "Starting Frigate in safe mode." and "Your config file is valid." with exit
code 0. One run with ``--tags frigate_configure`` (render mode, configuration and validation; nothing is started)
and two NVRs on this host: ``localhost`` with a valid config, ``nvr-invalid`` with a config the stand-in refuses and
a live config.yml already in place (as a previous roll-out leaves it), which must survive.

Mutations tried (each restored, each made the named test fail):
- the config template's ``validate:`` set to ``omit`` always -> test_an_invalid_config_does_not_replace_the_live_one
  (re-tried after the two runs were merged into one: nvr-invalid then has no failure and its live config is replaced)
- the secrets mount left out of frigate_validate.py's command -> test_a_valid_config_is_checked_and_written (KeyError)
"""

import json
import os
import subprocess
import uuid

import pytest
import yaml
from mosquitto_broker import remove_compose_project
from playbook_report import PlaybookResult
from test_frigate_role import Rollout, inventory

PROJECT = f"frigate-v-{uuid.uuid4().hex[:6]}"
INVALID = "nvr-invalid"
LIVE_CONFIG = "# the live config of an earlier roll-out\nversion: 0.18-0\n"
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


class HostResult(PlaybookResult):
    """The run's report seen from one of its hosts."""

    def __init__(self, report, host):
        self.host = host
        super().__init__(report)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory, standin):
    directory = tmp_path_factory.mktemp("frigate-validate")
    invalid = {"frigate_extra_config": {"objects": {"track": ["person", "stand-in-invalid"]}}}
    subject = Rollout(directory, inventory(directory, ming_compose_project=PROJECT, frigate_image=standin,
                                           other_nvrs={INVALID: invalid}))
    live = directory / INVALID / "frigate" / "config" / "config.yml"
    live.parent.mkdir(parents=True)
    live.write_text(LIVE_CONFIG)
    os.chmod(live, 0o644)
    try:
        subject.returncode, report = subject.run(tags="frigate_configure", expect_failure=None)
        subject.valid, subject.invalid = HostResult(report, "localhost"), HostResult(report, INVALID)
        subject.live = live
        yield subject
    finally:
        remove_compose_project(PROJECT, services=("frigate",))
        remove_compose_project(f"{PROJECT}-{INVALID}", services=("frigate",))


def config_path(rollout):
    return rollout.base / "frigate" / "config" / "config.yml"


def test_a_valid_config_is_checked_and_written(rollout):
    assert rollout.valid.failures() == [] and rollout.valid.stats["failures"] == 0
    report = rollout.valid.task_result("Report how the config was checked")["msg"]
    assert "checked with frigate --validate-config on a read-only mount" in report
    assert yaml.safe_load(config_path(rollout).read_text())["version"] == "0.18-0"
    assert (rollout.base / "frigate" / "frigate_validate.py").is_file()


def test_an_invalid_config_does_not_replace_the_live_one(rollout):
    assert rollout.returncode != 0
    failures = rollout.invalid.failures()
    assert [name for name, _message in failures] == [
        "Write config.yml (validated by the Frigate image where it is on the host)"], failures
    failed = rollout.invalid.task_result("Write config.yml (validated by the Frigate image where it is on the host)")
    assert "safe mode" in json.dumps(failed), "the failure is the stand-in's safe-mode output, read by the check"
    assert "safe mode" not in json.dumps(rollout.valid.task_result(
        "Write config.yml (validated by the Frigate image where it is on the host)"))
    assert rollout.live.read_text() == LIVE_CONFIG
    assert os.stat(rollout.live).st_mode & 0o777 == 0o644
