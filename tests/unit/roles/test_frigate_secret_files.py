"""Which {FRIGATE_*} secret files the frigate role rewrites (roles/frigate/tasks/configure.yml, "Write the
{FRIGATE_*} secret files (0400)"): its loop, evaluated by Ansible's own templating engine in-process with the result
of the directory read before it (``find`` with checksums). Only a missing file, a file with another value, or one
that is not root:root 0400 is written; a converged host writes none. The roll-out itself is in
tests/integration/frigate/test_frigate_role.py (its second run writes no secret file).

Mutations tried (each restored, each made the named test fail):
- the checksum comparison removed from __frigate_secret_current -> test_a_file_with_another_value_is_rewritten
- the mode comparison removed -> test_a_file_that_is_not_root_0400_is_rewritten[mode]
- the uid comparison removed -> test_a_file_that_is_not_root_0400_is_rewritten[uid]
"""

import hashlib

import pytest
import yaml
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
TASKS = REPO / "roles" / "frigate" / "tasks" / "configure.yml"
DIRECTORY = "/srv/ming/frigate/config/secrets"
VALUES = {"FRIGATE_MQTT_USER": "frigate", "FRIGATE_MQTT_PASSWORD": "p@ss:word/1234", "FRIGATE_RTSP_RESTREAM_USER": "rs"}


def task():
    tasks = yaml.safe_load(TASKS.read_text())
    return next(item for item in tasks if item.get("name") == "Write the {FRIGATE_*} secret files (0400)")


def on_disk(name, value=None, mode="0400", uid=0, gid=0):
    content = (VALUES[name] if value is None else value) + "\n"
    return {"path": f"{DIRECTORY}/{name}", "mode": mode, "uid": uid, "gid": gid,
            "checksum": hashlib.sha1(content.encode()).hexdigest()}


def written(files):
    """The names the task's loop writes, given the files the directory read found."""
    definition = task()
    variables = {"__frigate_secret_values": VALUES, "__frigate_secrets_dir": DIRECTORY,
                 "__frigate_secret_found": {"files": files} if files is not None else {"skipped": True},
                 "__frigate_secret_current": trust_as_template(definition["vars"]["__frigate_secret_current"])}
    templar = Templar(loader=DataLoader(), variables=variables)
    return templar.template(trust_as_template(definition["loop"]))


def test_the_write_keeps_no_log_and_no_diff():
    definition = task()
    assert definition["no_log"] is True and definition["diff"] is False
    assert definition["ansible.builtin.copy"]["mode"] == "0400"


def test_a_converged_directory_writes_nothing():
    assert written([on_disk(name) for name in VALUES]) == []


def test_a_fresh_directory_writes_every_file():
    assert written([]) == sorted(VALUES)
    assert written(None) == sorted(VALUES), "check mode on a fresh host: the read was skipped"


def test_a_file_with_another_value_is_rewritten():
    files = [on_disk(name) for name in VALUES if name != "FRIGATE_MQTT_PASSWORD"]
    files.append(on_disk("FRIGATE_MQTT_PASSWORD", value="an old password"))
    assert written(files) == ["FRIGATE_MQTT_PASSWORD"]
    assert written([on_disk(name, value=VALUES[name] + " ") for name in VALUES]) == sorted(VALUES)


@pytest.mark.parametrize("field", ["mode", "uid", "gid"])
def test_a_file_that_is_not_root_0400_is_rewritten(field):
    loose = {"mode": "0644", "uid": 1000, "gid": 1000}
    files = [on_disk(name, **({field: loose[field]} if name == "FRIGATE_MQTT_USER" else {})) for name in VALUES]
    assert written(files) == ["FRIGATE_MQTT_USER"]


def test_a_missing_file_is_written_and_stale_files_do_not_count():
    files = [on_disk("FRIGATE_MQTT_USER"), {"path": f"{DIRECTORY}/FRIGATE_OLD", "mode": "0400", "uid": 0, "gid": 0,
                                            "checksum": "0" * 40}]
    assert written(files) == ["FRIGATE_MQTT_PASSWORD", "FRIGATE_RTSP_RESTREAM_USER"]
