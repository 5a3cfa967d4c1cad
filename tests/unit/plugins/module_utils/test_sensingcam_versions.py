"""Unit tests of firmware versions (firmware_version.py), the profile's version rules, the firmware archive
(sensingcam_firmware_archive.py) and the fleet audit of sensingcam_firmware_info.

The audit tests run against the in-process fake camera of tests/unit/sensingcam_fake_camera.py (it stands in for
open_url), a test double, not a real SEC100 and not the camera simulator. They run real threads (ThreadPoolExecutor
is not replaced); the InFlightGate opener in front of the fake counts the requests in flight at once.
"""

import hashlib
import os
import threading
from types import SimpleNamespace

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, PROFILE_PATH, FakeCamera, FakeNetwork

from ansible_collections.sensingcam.ming.plugins.module_utils import (
    firmware_version,
    sensingcam_firmware_archive,
    sensingcam_profile,
)
from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_firmware_info

sc = SimpleNamespace(
    FirmwareVersion=firmware_version.FirmwareVersion, parse_version=firmware_version.parse_version,
    DeviceProfile=sensingcam_profile.DeviceProfile, ProfileError=sensingcam_profile.ProfileError,
    load_firmware_archive=sensingcam_firmware_archive.load_firmware_archive,
    firmware_verdict=sensingcam_firmware_info.firmware_verdict, audit_camera=sensingcam_firmware_info.audit_camera,
    audit_fleet=sensingcam_firmware_info.audit_fleet,
)
NON_ASCII_PASSWORD = "p\u00e4sswort-Secret1"


@pytest.fixture
def profile():
    return sc.DeviceProfile.load(PROFILE_PATH)


@pytest.fixture
def network():
    return FakeNetwork()


# -- versions -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("low,high", [
    ("2.5.9", "2.6.0"),
    ("2.9.1", "2.10.0"),
    ("2.6.0-rc1", "2.6.0"),
    ("2.6.0a1", "2.6.0b1"),
    ("2.6.0.dev1", "2.6.0a1"),
    ("2.6.0-beta.2", "2.6.0-rc.1"),
    ("2.6.0rc1", "2.6.0rc2"),
    ("2.6", "2.6.1"),
    ("1.99.99", "2"),
    ("v2.6.0", "2.6.0.1"),
])
def test_version_order(low, high):
    assert sc.FirmwareVersion(low) < sc.FirmwareVersion(high)
    assert sc.FirmwareVersion(high) > low
    assert not sc.FirmwareVersion(high) <= low


@pytest.mark.parametrize("a,b", [("2.6", "2.6.0"), ("v2.6.0", "2.6.0"), ("2.6.0+build7", "2.6.0"), ("2", "2.0.0")])
def test_version_equality(a, b):
    assert sc.FirmwareVersion(a) == sc.FirmwareVersion(b)
    assert hash(sc.FirmwareVersion(a)) == hash(sc.FirmwareVersion(b))


@pytest.mark.parametrize("text", ["", "abc", "2.x", "2..6", None, True, "2.6.0-foo"])
def test_not_versions(text):
    assert sc.parse_version(text) is None
    if text is not None:
        with pytest.raises(ValueError):
            sc.FirmwareVersion(text)


@pytest.mark.parametrize("newer, older", [("2.10.0", "2.9.0")])
def test_version_is_not_string_comparison(newer, older):
    assert newer < older  # the trap: as strings, 2.10 sorts before 2.9
    assert sc.FirmwareVersion(newer) > sc.FirmwareVersion(older)


# SICK's firmware forms (../shared/reference/sec100.md section 7): a four-part release, a trailing letter, and
# semver-like pre-release/build parts with "_" in the build.
@pytest.mark.parametrize("text, release, suffix, prerelease, build", [
    ("2.4.2.0R", "2.4.2.0", "R", None, None),
    ("1.0.0.0A", "1.0.0.0", "A", None, None),
    ("0.1.0-beta+local_build", "0.1.0", None, "beta", "local_build"),
    ("2.6.0", "2.6.0", None, None, None),
    ("2.6.0rc1", "2.6.0", None, "rc1", None),
    ("2.6.0a1", "2.6.0", None, "a1", None),
], ids=["sick-R", "sick-A", "extended-beta-build", "plain", "rc", "alpha-1"])
def test_sick_firmware_forms_parse_and_keep_their_parts(text, release, suffix, prerelease, build):
    """Mutation: the suffix group removed from the parser -> 2.4.2.0R rejected, 1.0.0.0A read as alpha."""
    version = sc.parse_version(text)
    assert version is not None, text
    assert version.parts() == {"release": release, "suffix": suffix, "prerelease": prerelease, "build": build}


@pytest.mark.parametrize("a, b", [
    ("2.4.2.0R", "2.4.2"), ("2.4.2.0R", "2.4.2.0A"), ("1.0.0.0A", "1.0"), ("0.1.0+local_build", "0.1.0"),
])
def test_letter_suffixes_do_not_order_by_default(a, b):
    """Without the profile's firmware.suffix_order, equal numeric parts compare equal (the suffix is reported)."""
    assert sc.FirmwareVersion(a) == sc.FirmwareVersion(b)
    assert not sc.FirmwareVersion(a) < b and not sc.FirmwareVersion(a) > b


@pytest.mark.parametrize("low, high", [
    ("1.0.0.0A", "1.0.0.1A"), ("2.9.0.0R", "2.10.0.0R"), ("0.1.0-beta+local_build", "0.1.0"),
    ("0.1.0-beta+local_build", "0.2.0"), ("2.4.2.0R", "2.4.2.1"), ("1.0.0.0A", "1.0.0.0.1"),
])
def test_sick_forms_order_on_the_numeric_part(low, high):
    """1.0.0.0A is not an alpha pre-release of 1.0: it is 1.0 with the letter A (mutation: suffix read as a
    pre-release -> 1.0.0.0A < 1.0 and the first equality test fails)."""
    assert sc.FirmwareVersion(low) < sc.FirmwareVersion(high)
    assert sc.FirmwareVersion(high) > low


def test_suffix_order_from_the_profile_orders_suffixes():
    """firmware.suffix_order [A, R]: '' below A below R; a suffix the order does not list is not a version."""
    order = ["A", "R"]
    assert sc.FirmwareVersion("2.4.2.0A", order) < sc.FirmwareVersion("2.4.2.0R", order)
    assert sc.FirmwareVersion("2.4.2.0", order) < "2.4.2.0A"
    assert sc.FirmwareVersion("2.4.2.1A", order) > "2.4.2.0R", "the numeric part still comes first"
    assert sc.parse_version("2.4.2.0B", order) is None
    with pytest.raises(ValueError, match="suffix_order"):
        sc.FirmwareVersion("2.4.2.0B", order)
    assert sc.FirmwareVersion("2.4.2.0", ["", "R"]) < sc.FirmwareVersion("2.4.2.0R", ["", "R"])


def test_profile_suffix_order_entry(tmp_path):
    """The shipped profile has an empty order (suffixes do not order); a profile entry changes the verdicts."""
    shipped = sc.DeviceProfile.load(PROFILE_PATH)
    assert shipped.suffix_order is None
    assert shipped.version("2.6.0R") == shipped.version("2.6.0")
    with open(PROFILE_PATH) as handle:
        data = yaml.safe_load(handle)
    data["firmware"]["suffix_order"] = {"value": ["R", ""], "level": "assumed"}
    ordered = sc.DeviceProfile(data, "ordered")
    assert ordered.suffix_order == ("R", "")
    assert ordered.version("2.6.0R") < ordered.version("2.6.0")
    data["firmware"]["suffix_order"] = {"value": ["release"], "level": "assumed"}
    with pytest.raises(sc.ProfileError, match="firmware.suffix_order"):
        assert sc.DeviceProfile(data, "bad").suffix_order is None


@pytest.mark.parametrize("version, minimum, suffix_order, verdict", [
    ("2.4.2.0R", "2.4.2", None, "approved"),
    ("2.4.2.0R", "2.6.0", None, "below_minimum"),
    ("1.0.0.0A", "1.0", None, "approved"),
    ("0.1.0-beta+local_build", "0.2.0", None, "below_minimum"),
    ("0.1.0-beta+local_build", "0.1.0-alpha", None, "approved"),
    ("2.6.0R", "2.6.0A", ["A", "R"], "approved"),
    ("2.6.0A", "2.6.0R", ["A", "R"], "below_minimum"),
    ("2.6.0B", "2.6.0", ["A", "R"], "unknown"),
])
def test_verdicts_for_sick_forms(version, minimum, suffix_order, verdict):
    assert sc.firmware_verdict(version, minimum, suffix_order) == verdict


def test_audit_of_a_fleet_on_sick_forms_has_no_unknown(profile, network):
    """The fake network answers SICK's strings; every camera gets a real verdict and its parts (mutation: the
    old parser back -> 2.4.2.0R and 0.1.0-beta+local_build become 'unknown')."""
    versions = {"cam-r": "2.4.2.0R", "cam-a": "1.0.0.0A", "cam-x": "0.1.0-beta+local_build", "cam-new": "2.10.0.0R"}
    for host, text in versions.items():
        network.add(host).variables["FirmwareVersion"] = text
    cameras = [{"host": host, "retries": 0} for host in versions]
    results = sc.audit_fleet(cameras, profile, "2.6.0", parallel=2, opener=network)
    assert {r["host"]: r["verdict"] for r in results} == {
        "cam-r": "below_minimum", "cam-a": "below_minimum", "cam-x": "below_minimum", "cam-new": "approved"}
    assert {r["host"]: (r["version_parts"] or {}).get("suffix") for r in results} == {
        "cam-r": "R", "cam-a": "A", "cam-x": None, "cam-new": "R"}
    assert results[2]["version_parts"]["build"] == "local_build"
    assert results[0]["known_issues"] == profile.known_issues("2.4.2"), "known issues read the suffixed form too"


def test_profile_known_issues_and_coverage(profile):
    issues = profile.known_issues("2.5.9")
    assert [i["below"] for i in issues] == ["2.6.0"] and issues[0]["level"] == "assumed"
    assert profile.known_issues("2.6.0") == []
    assert profile.known_issues("not a version") == []
    assert profile.covers("2.7.1") is True
    assert profile.covers("3.0.0") is False
    assert profile.covers("1.9") is False
    assert profile.covers(None) is None


# -- firmware archive and audit -----------------------------------------------------------------------------------

def write_archive(directory, versions, family="sensingCam SEC100"):
    entries = []
    for version in versions:
        name = f"sec100-{version}.bin"
        content = f"SICK-SEC100-FW {version}\npayload".encode()
        (directory / name).write_bytes(content)
        entries.append({"version": version, "file": name, "sha256": hashlib.sha256(content).hexdigest(),
                        "device_family": family})
    entries.append({"version": "9.9.9", "file": "other.bin", "sha256": "00", "device_family": "picoCam2"})
    (directory / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return directory


def test_archive_is_filtered_and_sorted(tmp_path):
    write_archive(tmp_path, ["2.6.0", "2.10.0", "2.9.1"])
    entries = sc.load_firmware_archive(str(tmp_path), "sensingCam SEC100")
    assert [e["version"] for e in entries] == ["2.10.0", "2.9.1", "2.6.0"]
    assert entries[0]["path"] == os.path.join(str(tmp_path), "sec100-2.10.0.bin")


def test_archive_errors(tmp_path):
    with pytest.raises(sc.ProfileError, match="Cannot read the firmware manifest"):
        sc.load_firmware_archive(str(tmp_path))
    (tmp_path / "manifest.yml").write_text("firmware: [{version: 2.6.0}]\n")
    with pytest.raises(sc.ProfileError, match="needs version, file and sha256"):
        sc.load_firmware_archive(str(tmp_path))


@pytest.mark.parametrize("version,minimum,verdict", [
    ("2.6.1", "2.6.0", "approved"), ("2.6.0", "2.6.0", "approved"), ("2.5.3", "2.6.0", "below_minimum"),
    ("2.6.1", None, "unknown"), ("garbage", "2.6.0", "unknown"),
])
def test_verdicts(version, minimum, verdict):
    assert sc.firmware_verdict(version, minimum) == verdict


def test_audit_camera_reachable_and_not(profile, network):
    network.add("cam1").variables["FirmwareVersion"] = "2.5.3"
    good = sc.audit_camera({"host": "cam1", "name": "line1", "retries": 0}, profile, "2.6.0", "2.7.0",
                           opener=network)
    want = {"name": "line1", "host": "cam1", "reachable": True, "version": "2.5.3",
            "version_parts": {"release": "2.5.3", "suffix": None, "prerelease": None, "build": None},
            "verdict": "below_minimum", "known_issues": profile.known_issues("2.5.3"),
            "update_available": True, "error": None}
    assert {key: good.get(key) for key in want} == want
    bad = sc.audit_camera({"host": "gone", "retries": 0}, profile, "2.6.0", opener=network)
    assert bad["reachable"] is False and bad["verdict"] == "unreachable" and bad["name"] == "gone"
    assert "Cannot reach" in bad["error"]


def test_audit_camera_login_refused_is_reachable_but_unknown(profile, network):
    network.add("cam1", FakeCamera(reads_require_login=True))
    profile.data["auth"]["reads_require_login"] = {"value": True}
    result = sc.audit_camera({"host": "cam1", "password": "nope", "retries": 0}, profile, "2.6.0", opener=network)
    assert result["reachable"] is True and result["verdict"] == "unknown" and "status 4" in result["error"]


def test_audit_fleet_parallel_equals_serial_and_keeps_order(profile, network, monkeypatch):
    cameras = []
    for index in range(40):
        host = f"cam{index}"
        if index % 7:
            network.add(host).variables["FirmwareVersion"] = "2.5.0" if index % 2 else "2.6.2"
        cameras.append({"host": host, "retries": 0})
    serial = sc.audit_fleet(cameras, profile, "2.6.0", parallel=1, opener=network)
    parallel = sc.audit_fleet(cameras, profile, "2.6.0", parallel=8, opener=network)
    assert serial == parallel
    assert [r["host"] for r in parallel] == [c["host"] for c in cameras]
    verdicts = {r["verdict"] for r in parallel}
    assert verdicts == {"approved", "below_minimum", "unreachable"}
    assert sum(r["verdict"] == "unreachable" for r in parallel) == 6


class InFlightGate:
    """An opener in front of a FakeNetwork that holds every request until ``wanted`` requests are in flight at once
    (then lets all through), and records the most requests it ever saw in flight.

    Real threads, no mocked pool: a fleet audit that runs fewer than ``wanted`` cameras at a time never opens the
    gate, and each held request gives up after a bounded wait (a guard against a hung test, not a timing assertion),
    so ``max_in_flight`` stays below ``wanted`` and the test fails on state, not on time.
    """

    def __init__(self, network, wanted, give_up_after=10.0):
        self.network = network
        self.wanted = wanted
        self.give_up_after = give_up_after
        self.condition = threading.Condition()
        self.in_flight = 0
        self.max_in_flight = 0
        self.open = False
        self.gave_up = 0

    def __call__(self, url, **kwargs):
        with self.condition:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight >= self.wanted:
                self.open = True
                self.condition.notify_all()
            if not self.condition.wait_for(lambda: self.open, timeout=self.give_up_after):
                self.gave_up += 1
        try:
            return self.network(url, **kwargs)
        finally:
            with self.condition:
                self.in_flight -= 1


@pytest.mark.parametrize("cameras, parallel, expected", [(12, 4, 4), (3, 16, 3), (5, 1, 1)],
                         ids=["12-cameras-parallel-4", "3-cameras-parallel-16", "parallel-1-is-serial"])
def test_audit_fleet_runs_parallel_cameras_at_once(profile, network, cameras, parallel, expected):
    """Real threads against the in-process fake camera: the most requests in flight at once is exactly
    min(parallel, cameras), never more. Mutation tried: audit_fleet with one worker (workers = 1): the gate never
    opens, each request gives up after the bounded wait (3 s), max_in_flight is 1 and the 4- and 3-camera cases
    fail."""
    hosts = [f"cam{index}" for index in range(cameras)]
    for host in hosts:
        network.add(host)
    gate = InFlightGate(network, expected, give_up_after=3.0)
    results = sc.audit_fleet([{"host": h, "retries": 0} for h in hosts], profile, "2.6.0", parallel=parallel,
                             opener=gate)
    assert gate.max_in_flight == expected and gate.gave_up == 0
    assert [r["host"] for r in results] == hosts and {r["verdict"] for r in results} == {"approved"}
    assert sum(len(network.cameras[f"{h}:80"].requests) for h in hosts) == cameras


def test_fleet_audit_of_a_camera_with_a_non_ascii_password(profile, network):
    """One camera's non-ASCII password: that camera is 'unknown' with the reason, not reached; the others audited."""
    bad, good = network.add("bad"), network.add("good")
    results = sc.audit_fleet([{"host": "bad", "password": NON_ASCII_PASSWORD, "retries": 0},
                              {"host": "good", "password": PASSWORD, "retries": 0}], profile, "2.6.0",
                             parallel=1, opener=network)
    assert results[0]["verdict"] == "unknown" and results[0]["reachable"] is False
    assert "password option" in results[0]["error"] and NON_ASCII_PASSWORD not in str(results)
    assert bad.requests == [] and results[1]["verdict"] == "approved" and good.requests


# -- DeviceProfile.firmware_version: the one fallback order every camera module uses ------------------------------
# Mutations tried: only FirmwareVersion accepted as the source (the DeviceIdent case fails); the last string read
# kept instead of the first when none parses (the none-parses case fails).

def _reader(values):
    asked = []

    def read(field):
        asked.append(field.name)
        return values.get(field.name)
    return read, asked


def test_firmware_version_reads_only_what_it_needs():
    profile = sc.DeviceProfile.load(PROFILE_PATH)
    read, asked = _reader({"FirmwareVersion": "2.6.2", "ExtendedFirmwareVersion": "9.9.9"})
    text, source, parsed, strings = profile.firmware_version(read)
    assert (text, source, strings, asked) == ("2.6.2", "FirmwareVersion", {"FirmwareVersion": "2.6.2"},
                                              ["FirmwareVersion"])
    assert parsed == profile.version("2.6.2")


def test_firmware_version_falls_back_to_device_ident():
    profile = sc.DeviceProfile.load(PROFILE_PATH)
    read, asked = _reader({"FirmwareVersion": "V2 build", "DeviceIdent": {"Name": "SEC100", "Version": "2.4.2.0R"}})
    text, source, parsed, strings = profile.firmware_version(read)
    assert (text, source) == ("2.4.2.0R", "DeviceIdent.Version") and parsed is not None
    assert strings == {"FirmwareVersion": "V2 build", "DeviceIdent.Version": "2.4.2.0R"}
    assert asked == ["FirmwareVersion", "ExtendedFirmwareVersion", "DeviceIdent"]


def test_firmware_version_when_none_parses_keeps_the_first_string():
    profile = sc.DeviceProfile.load(PROFILE_PATH)
    read, _asked = _reader({"FirmwareVersion": "V2 build", "ExtendedFirmwareVersion": "nightly"})
    assert profile.firmware_version(read) == ("V2 build", None, None,
                                              {"FirmwareVersion": "V2 build", "ExtendedFirmwareVersion": "nightly"})
