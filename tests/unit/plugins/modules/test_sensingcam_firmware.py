"""sensingcam_firmware against the in-process fake camera (not a real SEC100, not the camera simulator).

The fake emulates the assumed update procedure: upload, camera away for a few polls, back on the new version.
Time does not pass for real: the module's clock and sleep are replaced.

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import hashlib

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_firmware


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(sensingcam_firmware.FirmwareUpdateModule, "clock", staticmethod(fake.clock))
    monkeypatch.setattr(sensingcam_firmware.FirmwareUpdateModule, "sleep", staticmethod(fake.sleep))
    return fake


@pytest.fixture
def camera(monkeypatch, clock):
    camera = install_network(monkeypatch).add("cam1")
    camera.variables["FirmwareVersion"] = "2.5.3"
    return camera


@pytest.fixture
def archive(tmp_path):
    entries = []
    for version in ("2.5.0", "2.6.1", "2.7.0"):
        content = f"SICK-SEC100-FW {version}\n".encode() + bytes(range(256))
        (tmp_path / f"sec100-{version}.bin").write_bytes(content)
        entries.append({"version": version, "file": f"sec100-{version}.bin", "device_family": "sensingCam SEC100",
                        "sha256": hashlib.sha256(content).hexdigest()})
    (tmp_path / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return tmp_path


def args(archive, **kwargs):
    values = module_args(archive=str(archive), version="2.6.1", poll_interval=5, reboot_timeout=60)
    values.update(kwargs)
    return values


def uploads(camera):
    return camera.calls("POST", "/file/upload/firmware")


def test_upgrade_uploads_once_waits_and_verifies(run_module, camera, archive, clock):
    failed, result = run_module(sensingcam_firmware.main, args(archive), diff=True)
    assert not failed, result
    assert result["changed"]
    assert result["previous_version"] == "2.5.3" and result["version"] == "2.6.1"
    assert result["msg"] == "Updated the camera from 2.5.3 to 2.6.1."
    assert len(uploads(camera)) == 1
    assert uploads(camera)[0][3]["file"][0] == "sec100-2.6.1.bin"
    assert result["diff"] == {"before": {"firmware_version": "2.5.3"}, "after": {"firmware_version": "2.6.1"}}
    assert clock.sleeps and all(s == 5 for s in clock.sleeps)


def test_already_on_target_is_unchanged(run_module, camera, archive):
    camera.variables["FirmwareVersion"] = "2.6.1"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert not failed and not result["changed"] and uploads(camera) == []


def test_check_mode_says_what_it_would_do(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive), check_mode=True)
    assert not failed and result["changed"]
    assert result["msg"] == "Would upgrade the camera from 2.5.3 to 2.6.1."
    assert uploads(camera) == [] and camera.writes() == []


def test_checksum_mismatch_sends_nothing(run_module, camera, archive):
    (archive / "sec100-2.6.1.bin").write_bytes(b"SICK-SEC100-FW 2.6.1\ntampered")
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "SHA-256" in result["msg"] and "stays on 2.5.3" in result["msg"]
    assert camera.writes() == [] and camera.calls("POST", "/api/getChallenge") == []


def test_checksum_is_verified_in_check_mode_too(run_module, camera, archive):
    (archive / "sec100-2.6.1.bin").write_bytes(b"broken")
    failed, result = run_module(sensingcam_firmware.main, args(archive), check_mode=True)
    assert failed and "SHA-256" in result["msg"]


def test_version_not_in_archive(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.8.0"))
    assert failed and "not in the archive" in result["msg"] and "2.7.0, 2.6.1, 2.5.0" in result["msg"]


def test_downgrade_needs_permission(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.5.0"))
    assert failed and "allow_downgrade" in result["msg"] and uploads(camera) == []
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.5.0", allow_downgrade=True),
                                check_mode=True)
    assert not failed and result["msg"].startswith("Would downgrade")


def test_device_reports_failure(run_module, camera, archive):
    camera.firmware_outcome = "fails"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "FirmwareUpdateState failed" in result["msg"] and "stays on 2.5.3" in result["msg"]
    assert len(uploads(camera)) == 1


def test_version_unchanged_after_reboot(run_module, camera, archive):
    camera.firmware_outcome = "unchanged"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "still runs 2.5.3" in result["msg"] and "stays on 2.5.3" in result["msg"]
    assert len(uploads(camera)) == 1


def test_upload_breaks_no_retry(run_module, camera, archive):
    camera.upload_breaks = True
    failed, result = run_module(sensingcam_firmware.main, args(archive, retries=5))
    assert failed and "upload failed" in result["msg"] and "stays on 2.5.3" in result["msg"]
    assert len(uploads(camera)) == 1
    assert PASSWORD not in str(result)


def test_camera_never_comes_back(run_module, camera, archive, clock):
    camera.reboot_polls = 10_000
    failed, result = run_module(sensingcam_firmware.main, args(archive, reboot_timeout=60))
    assert failed and "did not answer again within 60 s" in result["msg"]
    assert len(uploads(camera)) == 1
    assert 60 <= clock.now - 1000.0 <= 65


def test_update_already_in_progress_is_not_doubled(run_module, camera, archive):
    camera.variables["FirmwareUpdateState"] = "verifying"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "already in progress" in result["msg"] and uploads(camera) == []


def test_reboot_timeout_defaults_to_profile(run_module, camera, archive, clock):
    camera.reboot_polls = 10_000
    values = args(archive, poll_interval=30)
    del values["reboot_timeout"]
    failed, result = run_module(sensingcam_firmware.main, values)
    assert failed and "within 300 s" in result["msg"]


def archive_naming(tmp_path, name):
    """An archive directory whose manifest's 2.6.1 entry names ``name``; beside the archive (outside it) lies a
    valid 2.6.1 image with the manifest's checksum, so only the path check can stop the upload."""
    content = b"SICK-SEC100-FW 2.6.1\n" + bytes(range(256))
    (tmp_path / "outside.bin").write_bytes(content)
    directory = tmp_path / "archive"
    directory.mkdir()
    (directory / "link.bin").symlink_to(tmp_path / "outside.bin")
    entries = [{"version": "2.6.1", "file": name, "device_family": "sensingCam SEC100",
                "sha256": hashlib.sha256(content).hexdigest()}]
    (directory / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return directory


@pytest.mark.parametrize(("name", "reason"), [
    ("{outside}", "is an absolute path"),
    ("../outside.bin", 'contains ".."'),
    ("sub/../../outside.bin", 'contains ".."'),
    ("link.bin", "outside the archive directory"),
], ids=["absolute", "dot-dot", "nested-dot-dot", "symlink-out"])
def test_a_manifest_file_outside_the_archive_is_refused(run_module, camera, tmp_path, name, reason):
    """A manifest `file:` that is absolute, holds `..` or is a symlink leaving the archive is refused before the
    file is read or anything is sent; the message names the manifest and the entry.

    Mutations tried: archive_file_path bypassed (path = os.path.join only): the image outside the archive was
    uploaded, all four cases failed; each of its three checks disabled alone: the absolute, the two dot-dot and the
    symlink case failed respectively."""
    directory = archive_naming(tmp_path, name.format(outside=tmp_path / "outside.bin"))
    failed, result = run_module(sensingcam_firmware.main, args(directory))
    assert failed, result
    assert reason in result["msg"]
    assert f"Entry 0 (version 2.6.1) of the firmware manifest {directory / 'manifest.yml'}" in result["msg"]
    assert uploads(camera) == [] and camera.writes() == []


def test_a_manifest_file_in_a_subdirectory_of_the_archive_is_accepted(run_module, camera, tmp_path):
    directory = archive_naming(tmp_path, "line1/sec100-2.6.1.bin")
    (directory / "line1").mkdir()
    (directory / "line1" / "sec100-2.6.1.bin").write_bytes((tmp_path / "outside.bin").read_bytes())
    failed, result = run_module(sensingcam_firmware.main, args(directory), check_mode=True)
    assert not failed and result["msg"].startswith("Would upgrade"), result
