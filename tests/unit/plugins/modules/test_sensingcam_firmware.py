"""sensingcam_firmware against the in-process fake camera (a test double: not a real SEC100, not the camera simulator).

The fake follows the profile's family firmware flow: chunked upload of firmware.spk, RunFirmwareUpdate, UpdateState
1 (started) while the camera is away for a few polls, then 2 (finished) on the new version, or 3 (error).
Time does not pass for real: the module's clock and sleep are replaced.

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import hashlib

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, install_clock, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_firmware

CHUNK = 65536  # transport.upload_chunk_bytes of the shipped profile
IMAGE_SIZE = 2 * CHUNK + 1000  # three chunks


@pytest.fixture
def clock(monkeypatch):
    return install_clock(monkeypatch, sensingcam_firmware.FirmwareUpdateModule)


@pytest.fixture
def camera(monkeypatch, clock):
    return install_network(monkeypatch).add("cam1")  # FirmwareVersion 2.6.2


def image_of(version):
    header = f"SICK-SEC100-FW {version}\n".encode()
    return header + bytes(i % 251 for i in range(IMAGE_SIZE - len(header)))


@pytest.fixture
def archive(tmp_path):
    entries = []
    for version in ("2.5.0", "2.7.0", "2.8.0"):
        content = image_of(version)
        (tmp_path / f"sec100-{version}.spk").write_bytes(content)
        entries.append({"version": version, "file": f"sec100-{version}.spk", "device_family": "sensingCam SEC100",
                        "sha256": hashlib.sha256(content).hexdigest()})
    (tmp_path / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return tmp_path


def args(archive, **kwargs):
    values = module_args(archive=str(archive), version="2.7.0", poll_interval=5, reboot_timeout=60)
    values.update(kwargs)
    return values


def upload_requests(camera):
    return camera.calls("POST", "/file/upload/firmware.spk")


def started(camera):
    return [name for name, _data in camera.method_calls if name == "RunFirmwareUpdate"]


def test_upgrade_uploads_in_chunks_with_a_fresh_login_each_then_starts_and_waits(run_module, camera, archive, clock):
    """Three chunks: append=false then true, finish only on the last, each with its own challenge (nonce); then
    RunFirmwareUpdate once; the module waits through the reboot and verifies the version.

    Mutations tried: RunFirmwareUpdate call removed: the camera never updates and the test fails (timeout)."""
    failed, result = run_module(sensingcam_firmware.main, args(archive), diff=True)
    assert not failed, result
    assert result["changed"] and result["changed_settings"] == []
    assert result["previous_version"] == "2.6.2" and result["version"] == "2.7.0"
    assert result["msg"] == "Updated the camera from 2.6.2 to 2.7.0."
    assert result["update_state"] == "finished" and result["chunks"] == 3
    chunks = camera.uploads
    assert [(c["append"], c["finish"]) for c in chunks] == [(False, False), (True, False), (True, True)]
    assert [c["size"] for c in chunks] == [CHUNK, CHUNK, 1000]
    assert len({c["nonce"] for c in chunks}) == 3, "a fresh login per chunk"
    assert started(camera) == ["RunFirmwareUpdate"]
    assert camera.value("FirmwareVersion") == "2.7.0"
    assert result["diff"] == {"before": {"firmware_version": "2.6.2"}, "after": {"firmware_version": "2.7.0"}}
    assert clock.sleeps and all(s == 5 for s in clock.sleeps)
    assert camera.writes() == []


def test_the_uploaded_bytes_are_the_verified_image(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert not failed, result
    assert camera.files["firmware.spk"] == image_of("2.7.0")


def test_already_on_target_is_unchanged_and_sends_nothing(run_module, camera, archive):
    camera.variables["FirmwareVersion"] = "2.7.0"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert not failed and not result["changed"], result
    assert result["msg"] == "The camera already runs firmware 2.7.0."
    assert upload_requests(camera) == [] and camera.method_calls == [] and camera.challenge_calls() == 0


def test_a_sick_version_form_compares_as_the_same_release(run_module, camera, archive):
    """The camera reports 2.7.0.0R (SICK's four-part form with a letter): with the profile's empty suffix_order it
    is release 2.7.0, so nothing is uploaded.

    Mutation tried: comparing the text instead of the parsed version: an upload started, this test failed."""
    camera.variables["FirmwareVersion"] = "2.7.0.0R"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert not failed and not result["changed"], result
    assert upload_requests(camera) == []


def test_extended_firmware_version_is_the_fallback(run_module, camera, archive):
    """FirmwareVersion that does not read as a version: ExtendedFirmwareVersion (2.6.2+build.17) is used."""
    camera.variables["FirmwareVersion"] = "unknown"
    failed, result = run_module(sensingcam_firmware.main, args(archive), check_mode=True)
    assert not failed, result
    assert result["previous_version"] == "2.6.2+build.17"
    assert result["msg"] == "Would upgrade the camera from 2.6.2+build.17 to 2.7.0."


def test_check_mode_says_what_it_would_do_and_sends_nothing(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive), check_mode=True)
    assert not failed and result["changed"]
    assert result["msg"] == "Would upgrade the camera from 2.6.2 to 2.7.0."
    assert upload_requests(camera) == [] and camera.writes() == [] and camera.method_calls == []
    assert camera.challenge_calls() == 0


def test_checksum_mismatch_sends_nothing(run_module, camera, archive):
    (archive / "sec100-2.7.0.spk").write_bytes(b"SICK-SEC100-FW 2.7.0\ntampered")
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "SHA-256" in result["msg"] and "stays on 2.6.2" in result["msg"]
    assert camera.challenge_calls() == 0 and upload_requests(camera) == []


def test_checksum_is_verified_in_check_mode_too(run_module, camera, archive):
    (archive / "sec100-2.7.0.spk").write_bytes(b"broken")
    failed, result = run_module(sensingcam_firmware.main, args(archive), check_mode=True)
    assert failed and "SHA-256" in result["msg"]


def test_version_not_in_archive(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.9.0"))
    assert failed and "not in the archive" in result["msg"] and "2.8.0, 2.7.0, 2.5.0" in result["msg"]


def test_a_version_that_is_no_version_is_refused(run_module, camera, archive):
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="latest"))
    assert failed and "'latest' is not a firmware version" in result["msg"]
    assert camera.requests == []


def test_downgrade_is_refused_without_allow_downgrade(run_module, camera, archive):
    """Mutation tried: the allow_downgrade check removed: the module turned on EnableSoftwareDowngrade and
    uploaded 2.5.0; this test failed."""
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.5.0"))
    assert failed and "allow_downgrade: true" in result["msg"] and "older than the 2.6.2" in result["msg"]
    assert upload_requests(camera) == [] and camera.writes() == [] and camera.method_calls == []


def test_downgrade_turns_on_enable_software_downgrade_before_the_upload(run_module, camera, archive):
    """With allow_downgrade the module sets EnableSoftwareDowngrade (system.software_downgrade) to 1 before the
    first chunk, reports it in changed_settings and the diff; check mode predicts it without writing.

    Mutations tried: the write removed: changed_settings still said so but the camera's value stayed 0, this test
    failed; the write moved after the upload: the request order assertion failed."""
    values = args(archive, version="2.5.0", allow_downgrade=True)
    failed, checked = run_module(sensingcam_firmware.main, values, check_mode=True, diff=True)
    assert not failed and checked["changed"], checked
    assert checked["msg"] == ("Would downgrade the camera from 2.6.2 to 2.5.0 "
                              "(turning on EnableSoftwareDowngrade first).")
    assert checked["changed_settings"] == ["software_downgrade"]
    assert checked["diff"]["after"] == {"firmware_version": "2.5.0", "software_downgrade": True}
    assert camera.writes() == [] and upload_requests(camera) == []

    failed, result = run_module(sensingcam_firmware.main, values)
    assert not failed, result
    assert result["changed_settings"] == ["software_downgrade"] and result["version"] == "2.5.0"
    assert camera.writes() == [("EnableSoftwareDowngrade", 1)]
    paths = [r[1] for r in camera.requests if r[0] == "POST" and r[1] != "/api/getChallenge"]
    assert paths.index("/api/EnableSoftwareDowngrade") < paths.index("/file/upload/firmware.spk")


def test_downgrade_with_the_switch_already_on_writes_nothing_more(run_module, camera, archive):
    camera.variables["EnableSoftwareDowngrade"] = 1
    failed, result = run_module(sensingcam_firmware.main, args(archive, version="2.5.0", allow_downgrade=True))
    assert not failed, result
    assert result["changed_settings"] == [] and camera.writes() == []


def test_update_state_error_fails_clearly_and_the_camera_stays_on_the_old_version(run_module, camera, archive):
    """UpdateState 3 (error) after the start: a clear failure naming the state; one upload, the old version.

    Mutation tried: the `error` check removed from the poll loop: the module waited until the reboot timeout and
    failed with "still reports firmware", not naming the update error; this test failed."""
    camera.firmware_outcome = "fails"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed, result
    assert "the firmware update to 2.7.0 failed (UpdateState: error)" in result["msg"]
    assert "stays on 2.6.2" in result["msg"] and result["update_state"] == "error"
    assert len(started(camera)) == 1 and len(camera.uploads) == 3
    assert camera.value("FirmwareVersion") == "2.6.2"


def test_an_error_left_by_an_earlier_attempt_does_not_fail_a_new_update(run_module, camera, archive):
    """UpdateState already 3 before the start (an earlier failed attempt): the new update is judged by what
    follows. Mutation tried: stale_error ignored: the first poll read the old 3 and failed; this test failed."""
    camera.variables["UpdateState"] = 3
    camera.reboot_polls = 0  # the fake installs at once
    start = camera._start_firmware

    def start_but_report_the_old_state():
        result = start()
        camera.variables["UpdateState"] = 3  # a camera that updates the state variable only later
        return result
    camera._start_firmware = start_but_report_the_old_state
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert not failed, result
    assert result["version"] == "2.7.0"


def test_version_unchanged_after_reboot(run_module, camera, archive):
    camera.firmware_outcome = "unchanged"
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "still runs 2.6.2" in result["msg"] and "stays on 2.6.2" in result["msg"]
    assert len(started(camera)) == 1


def test_interrupted_upload_no_retry_old_version(run_module, camera, archive):
    """The connection drops on the first chunk: one upload request only (retries=5 does not apply to uploads), no
    start call, the camera stays on its old version, the password is not in the result."""
    camera.upload_breaks = True
    failed, result = run_module(sensingcam_firmware.main, args(archive, retries=5))
    assert failed and "upload of sec100-2.7.0.spk failed" in result["msg"]
    assert "stays on 2.6.2" in result["msg"] and "no retry" in result["msg"]
    assert len(upload_requests(camera)) == 1 and camera.method_calls == []
    assert camera.value("FirmwareVersion") == "2.6.2" and not result["changed"]
    assert PASSWORD not in str(result)


def test_a_refused_start_fails_naming_the_method(run_module, camera, archive):
    camera.method_results["RunFirmwareUpdate"] = 2
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "did not start the update with RunFirmwareUpdate" in result["msg"]
    assert "busy" in result["msg"] and "stays on 2.6.2" in result["msg"]
    assert camera.value("FirmwareVersion") == "2.6.2"


def test_camera_never_comes_back(run_module, camera, archive, clock):
    camera.reboot_polls = 10_000
    failed, result = run_module(sensingcam_firmware.main, args(archive, reboot_timeout=60))
    assert failed and "did not answer again within 60 s" in result["msg"]
    assert len(started(camera)) == 1
    assert 60 <= clock.now - 1000.0 <= 65


def test_update_already_in_progress_is_not_doubled(run_module, camera, archive):
    """Mutation tried: the in-progress check removed: a second image was uploaded; this test failed."""
    camera.variables["UpdateState"] = 1
    failed, result = run_module(sensingcam_firmware.main, args(archive))
    assert failed and "already in progress (UpdateState started)" in result["msg"]
    assert upload_requests(camera) == []


def test_reboot_timeout_defaults_to_profile(run_module, camera, archive, clock):
    camera.reboot_polls = 10_000
    values = args(archive, poll_interval=30)
    del values["reboot_timeout"]
    failed, result = run_module(sensingcam_firmware.main, values)
    assert failed and "within 300 s" in result["msg"]


def archive_naming(tmp_path, name):
    """An archive directory whose manifest's 2.7.0 entry names ``name``; beside the archive (outside it) lies a
    valid 2.7.0 image with the manifest's checksum, so only the path check can stop the upload."""
    content = image_of("2.7.0")
    (tmp_path / "outside.bin").write_bytes(content)
    directory = tmp_path / "archive"
    directory.mkdir()
    (directory / "link.bin").symlink_to(tmp_path / "outside.bin")
    entries = [{"version": "2.7.0", "file": name, "device_family": "sensingCam SEC100",
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
    assert f"Entry 0 (version 2.7.0) of the firmware manifest {directory / 'manifest.yml'}" in result["msg"]
    assert upload_requests(camera) == [] and camera.writes() == []


def test_a_manifest_file_in_a_subdirectory_of_the_archive_is_accepted(run_module, camera, tmp_path):
    directory = archive_naming(tmp_path, "line1/sec100-2.7.0.spk")
    (directory / "line1").mkdir()
    (directory / "line1" / "sec100-2.7.0.spk").write_bytes((tmp_path / "outside.bin").read_bytes())
    failed, result = run_module(sensingcam_firmware.main, args(directory), check_mode=True)
    assert not failed and result["msg"].startswith("Would upgrade"), result


@pytest.mark.parametrize("option", ["poll_interval", "reboot_timeout"])
def test_a_wait_option_of_zero_is_refused_before_any_request(run_module, camera, archive, option):
    """Mutation tried: the check removed: the upload ran (and a zero interval polled without pause); this test
    failed."""
    failed, result = run_module(sensingcam_firmware.main, args(archive, **{option: 0}))
    assert failed and f"{option} must be a number of seconds above 0" in result["msg"]
    assert camera.requests == []
