"""sensingcam_fleet_cameras: the camera list of a fleet task, built and checked from host variables in one pass.

Real code only: the filter function with plain dicts (and a counting mapping) standing in for ``hostvars``.

Mutations tried (each fails a test here): the port range check removed; the ASCII password check removed; the
type conversion of an ``int`` variable skipped; the ``ansible_host`` fallback removed; the shipped-profile default
replaced by None; the camera's own profile path left relative; the no_log test of a message's value removed.
"""

import os
from collections.abc import Mapping

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_fleet_cameras import sensingcam_fleet_cameras

META = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "playbooks", "firmware_audit.meta.yml")
with open(META) as handle:
    SPEC = yaml.safe_load(handle)["argument_specs"]["camera"]["options"]
DEFAULTS = {"sensingcam_port": None, "sensingcam_username": None, "sensingcam_password": "group-secret",
            "sensingcam_use_tls": False, "sensingcam_validate_certs": True, "sensingcam_ca_path": None,
            "sensingcam_timeout": 10, "sensingcam_retries": 2, "sensingcam_profile_path": ""}


class CountingHostvars(Mapping):
    """hostvars stand-in that counts how often each camera's variables are fetched."""

    def __init__(self, data):
        self.data, self.fetched = data, {}

    def __getitem__(self, name):
        self.fetched[name] = self.fetched.get(name, 0) + 1
        return self.data[name]

    def __iter__(self):
        return iter(self.data)

    def __len__(self):
        return len(self.data)


def run(hostvars, names=None):
    return sensingcam_fleet_cameras(hostvars, names or sorted(hostvars), SPEC, DEFAULTS, "/shipped/sec100-fw2.yml")


def test_each_camera_keeps_its_own_settings_and_takes_defaults_for_the_rest():
    hostvars = {"cam1": {"sensingcam_host": "10.0.0.1", "sensingcam_port": "8080", "sensingcam_use_tls": "yes",
                         "sensingcam_line": "line1"},
                "cam2": {"ansible_host": "10.0.0.2", "sensingcam_timeout": "2.5"},
                "cam3": {}}
    result = run(hostvars)
    cam1, cam2, cam3 = result["cameras"]
    assert cam1["host"] == "10.0.0.1" and cam1["port"] == 8080 and cam1["use_tls"] is True
    assert cam1["password"] == "group-secret" and cam1["retries"] == 2
    assert cam2["host"] == "10.0.0.2" and cam2["timeout"] == 2.5 and cam2["use_tls"] is False
    assert cam3["host"] == "cam3" and cam3["profile"] == "/shipped/sec100-fw2.yml"
    assert result["inventory"]["cam1"] == {"sensingcam_port": 8080, "sensingcam_line": "line1",
                                           "sensingcam_station": None, "sensingcam_ingest": None}


def test_own_profile_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run({"cam1": {"sensingcam_profile_path": "profiles/own.yml"}})
    assert result["cameras"][0]["profile"] == str(tmp_path / "profiles" / "own.yml")


def test_every_bad_camera_is_named_with_its_variable_and_never_a_secret():
    hostvars = {"cam1": {"sensingcam_port": "http"}, "cam2": {"sensingcam_port": 70000},
                "cam3": {"sensingcam_password": "p\u00e4sswort-geheim"}, "cam4": {"sensingcam_ingest": "mjpeg"},
                "cam5": {"sensingcam_use_tls": "maybe"}, "cam6": {"sensingcam_password": ["list-geheim"]}, "ok": {}}
    with pytest.raises(AnsibleFilterError) as error:
        run(hostvars)
    message = str(error.value)
    assert "cam1: sensingcam_port is not a TCP port (1-65535) (got http)" in message
    assert "cam2: sensingcam_port is not a TCP port (1-65535) (got 70000)" in message
    assert "cam3: sensingcam_password contains characters outside ASCII" in message
    assert "cam4: sensingcam_ingest must be one of rtsp, websocket (got mjpeg)" in message
    assert "cam5: sensingcam_use_tls must be of type bool (got maybe)" in message
    assert "cam6: sensingcam_password must be of type str." in message
    assert "ok:" not in message and "geheim" not in message
    assert "no camera was contacted" in message


def test_host_variables_are_fetched_once_per_camera():
    hostvars = CountingHostvars({f"cam{i}": {"sensingcam_port": 80 + i} for i in range(50)})
    run(hostvars)
    assert set(hostvars.fetched.values()) == {1} and len(hostvars.fetched) == 50


def test_only_the_named_cameras_are_read():
    hostvars = CountingHostvars({"cam1": {}, "cam2": {"sensingcam_port": "bad"}})
    result = run(hostvars, ["cam1"])
    assert [c["name"] for c in result["cameras"]] == ["cam1"] and "cam2" not in hostvars.fetched


def test_wrong_call_says_what_to_pass():
    with pytest.raises(AnsibleFilterError, match="camera argument spec"):
        sensingcam_fleet_cameras({}, ["cam1"], None)
    with pytest.raises(AnsibleFilterError, match="as a list"):
        sensingcam_fleet_cameras({}, "cam1", SPEC)
