"""sensingcam_firmware, sensingcam_backup and sensingcam_system through real ``ansible`` processes.

Every test here runs against the camera simulator (tools/camera_simulator, time scale 0.02: a reboot takes
0.4-1.2 s), a double that serves the device profile's family firmware and backup flows, not a real SEC100.
"""

import hashlib
import json
import os
from pathlib import Path

import pytest
import yaml

from .conftest import PROFILE, assert_no_secret, run_module

pytestmark = pytest.mark.simulator

PASSPHRASE = "Backup-Pa55phrase-93"
CHUNK = 65536  # transport.upload_chunk_bytes of the shipped profile


def firmware_archive(directory, version="2.7.0", size=200_000):
    """An archive directory with one simulated image (first line ``SICK-SEC100-FW <version>``, then ``size`` random
    bytes: four upload chunks by default) and its manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / f"sec100-{version}.spk"
    image.write_bytes(f"SICK-SEC100-FW {version}\n".encode() + os.urandom(size))
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    manifest = directory / "manifest.yml"
    entries = yaml.safe_load(manifest.read_text())["firmware"] if manifest.exists() else []
    entries.append({"version": version, "file": image.name, "sha256": digest, "device_family": "sensingCam SEC100"})
    manifest.write_text(yaml.safe_dump({"firmware": entries}))
    return directory


def counters(sim, name="cam001"):
    return sim.summary(name)["counters"]


@pytest.mark.slow
def test_firmware_check_apply_idempotent_with_a_chunked_upload(simulator, tmp_path):
    """Check says "Would upgrade" and sends nothing; the update uploads the 200 kB image in four chunks, each with a
    login of its own, starts RunFirmwareUpdate and waits for the camera to come back on 2.7.0; a re-run changes
    nothing and uploads nothing."""
    sim = simulator(1, firmware=["2.5.1"])
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "reboot_timeout": 60}
    checked = run_module("sensingcam_firmware", args, sim, "cam001", check=True)
    assert checked["changed"] is True and checked["msg"] == "Would upgrade the camera from 2.5.1 to 2.7.0."
    assert counters(sim)["firmware_uploads"] == 0 and counters(sim)["logins_ok"] == 0
    applied = run_module("sensingcam_firmware", args, sim, "cam001")
    assert applied["changed"] is True and applied["version"] == "2.7.0", applied["_stdout"]
    assert applied["chunks"] == 4 and applied["changed_settings"] == []
    assert sim.get("cam001", "FirmwareVersion") == "2.7.0"
    done = counters(sim)
    assert done["firmware_uploads"] == 1 and done["reboots"] == 1
    assert done["logins_ok"] == 5, "one login per chunk (4) and one for RunFirmwareUpdate"
    again = run_module("sensingcam_firmware", args, sim, "cam001")
    assert again["changed"] is False and again["msg"] == "The camera already runs firmware 2.7.0."
    assert counters(sim)["firmware_uploads"] == 1 and counters(sim)["logins_ok"] == 5


@pytest.mark.slow
def test_downgrade_needs_allow_downgrade_and_turns_on_enable_software_downgrade_first(simulator, tmp_path):
    """Without allow_downgrade: refused, nothing sent. With it: the module sets EnableSoftwareDowngrade to 1 before
    the upload (the simulator refuses a downgrade otherwise) and reports it in changed_settings."""
    sim = simulator(1, firmware=["2.6.2"])
    args = {"version": "2.5.1", "archive": str(firmware_archive(tmp_path / "fw", "2.5.1")), "poll_interval": 0.2,
            "reboot_timeout": 60}
    refused = run_module("sensingcam_firmware", args, sim, "cam001")
    assert refused["failed"] is True and "allow_downgrade: true" in refused["msg"]
    assert counters(sim)["firmware_uploads"] == 0 and counters(sim)["writes"] == 0
    assert sim.get("cam001", "EnableSoftwareDowngrade") == 0
    applied = run_module("sensingcam_firmware", {**args, "allow_downgrade": True}, sim, "cam001", diff=True)
    assert applied["changed"] is True and applied["version"] == "2.5.1", applied["_stdout"]
    assert applied["changed_settings"] == ["software_downgrade"]
    assert applied["diff"]["after"] == {"firmware_version": "2.5.1", "software_downgrade": True}
    assert sim.get("cam001", "FirmwareVersion") == "2.5.1"
    assert sim.get("cam001", "EnableSoftwareDowngrade") == 1


def test_update_state_error_fails_clearly_and_the_camera_stays_on_its_version(simulator, tmp_path):
    """Fault checksum_mismatch: the camera rejects the image after verifying it (UpdateState 3): the task fails
    naming the state, the camera stays on 2.5.1 and does not reboot; one upload only."""
    sim = simulator(1, firmware=["2.5.1"])
    sim.set_faults("cam001", checksum_mismatch=True)
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "reboot_timeout": 60}
    result = run_module("sensingcam_firmware", args, sim, "cam001")
    assert result["failed"] is True, result["_stdout"]
    assert "failed (UpdateState: error)" in result["msg"] and "stays on 2.5.1" in result["msg"]
    summary = sim.summary("cam001")
    assert summary["firmware_version"] == "2.5.1" and summary["firmware_state"] == "error"
    assert summary["counters"]["firmware_uploads"] == 1 and summary["counters"]["reboots"] == 0


def test_interrupted_upload_leaves_old_version_with_one_attempt(simulator, tmp_path):
    """Fault upload_interrupted (the simulator drops the connection on the first chunk): the task fails saying the
    camera stays on its old version, with no retry; exactly one upload reached the camera, no update started."""
    sim = simulator(1, firmware=["2.5.1"])
    sim.set_faults("cam001", upload_interrupted=True)
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "retries": 3}
    result = run_module("sensingcam_firmware", args, sim, "cam001")
    assert result["failed"] is True
    assert "stays on 2.5.1" in result["msg"] and "no retry" in result["msg"]
    summary = sim.summary("cam001")
    assert summary["firmware_version"] == "2.5.1" and summary["firmware_state"] == "initial"
    assert summary["counters"]["firmware_uploads"] == 1 and summary["counters"]["reboots"] == 0
    assert sim.password not in result["_stdout"]


def backup_args(dest=None, **kwargs):
    args = {"passphrase": PASSPHRASE}
    if dest is not None:
        args.update(dest=str(dest), name="cam001")
    args.update(kwargs)
    return args


def test_backup_export_idempotent_change_and_restore(simulator, tmp_path):
    """sensingcam_backup: export (check, apply, re-run), a change gives a new version, restore puts the old
    parameters back (check, apply, re-run); the passphrase never shows."""
    sim = simulator(1)
    dest = tmp_path / "backups"
    checked = run_module("sensingcam_backup", backup_args(dest), sim, "cam001", check=True)
    assert checked["changed"] is True and not dest.exists(), checked["_stdout"]
    first = run_module("sensingcam_backup", backup_args(dest), sim, "cam001")
    assert first["changed"] is True, first["_stdout"]
    first_file = Path(first["backup_file"])
    assert json.loads(first_file.read_text())["LocationName"] == sim.get("cam001", "LocationName")
    assert oct(first_file.stat().st_mode & 0o777) == "0o600"
    again = run_module("sensingcam_backup", backup_args(dest), sim, "cam001")
    assert again["changed"] is False
    assert run_module("sensingcam_config", {"location_name": "line3-st10"}, sim, "cam001")["changed"] is True
    second = run_module("sensingcam_backup", backup_args(dest), sim, "cam001")
    assert second["changed"] is True and Path(second["backup_file"]) != first_file
    assert json.loads((dest / "cam001-latest.json").read_text())["LocationName"] == "line3-st10"
    assert len(list(dest.glob("cam001-2*.json"))) == 2

    restore = backup_args(state="restored", src=str(first_file))
    assert run_module("sensingcam_backup", restore, sim, "cam001", check=True)["changed"] is True
    assert sim.get("cam001", "LocationName") == "line3-st10"
    restored = run_module("sensingcam_backup", restore, sim, "cam001")
    assert restored["changed"] is True and restored.get("warnings", []) == [], restored["_stdout"]
    assert sim.get("cam001", "LocationName") != "line3-st10"
    assert counters(sim)["config_imports"] == 1
    assert run_module("sensingcam_backup", restore, sim, "cam001")["changed"] is False
    assert counters(sim)["config_imports"] == 1
    for result in (checked, first, again, second, restored):
        assert PASSPHRASE not in result["_stdout"]


def test_backup_diff_redacts_the_ftp_password(simulator, tmp_path):
    """The FTP password (FtpPassword, matched by backup.secret_keys *password*) shows ******** in the --diff of an
    export; the backup file keeps it."""
    sim = simulator(1)
    secret = "Clip-Server-Secret-31"
    set_password = run_module("sensingcam_offload", {"server_password": secret,
                                                     "secret_state_dir": str(tmp_path / "state")}, sim, "cam001")
    assert set_password["changed"] is True, set_password["_stdout"]
    result = run_module("sensingcam_backup", backup_args(tmp_path / "b"), sim, "cam001", diff=True)
    assert result["changed"] is True
    assert json.loads(result["diff"]["after"])["FtpPassword"] == "********"
    assert_no_secret(result["_stdout"], secret)
    assert json.loads((tmp_path / "b" / "cam001-latest.json").read_text())["FtpPassword"] == secret


def test_backup_without_passphrase_is_refused_before_any_request(simulator, tmp_path):
    sim = simulator(1)
    result = run_module("sensingcam_backup", {"dest": str(tmp_path)}, sim, "cam001")
    assert result["failed"] is True and "passphrase is required" in result["msg"]
    assert counters(sim)["requests"] == 0


def test_system_reboot_waits_for_the_camera(simulator):
    """Check mode sends nothing; reboot calls RebootDevice, the camera goes down and the module returns once it
    answers again."""
    sim = simulator(1)
    checked = run_module("sensingcam_system", {"action": "reboot"}, sim, "cam001", check=True)
    assert checked["changed"] is True and checked["msg"].startswith("Would reboot the camera (RebootDevice)")
    assert counters(sim)["requests"] == 0
    result = run_module("sensingcam_system", {"action": "reboot", "poll_interval": 0.2, "reboot_timeout": 60},
                        sim, "cam001")
    assert result["changed"] is True, result["_stdout"]
    assert result["msg"] == "Called RebootDevice; the camera answers again."
    assert counters(sim)["reboots"] == 1
    assert sim.get("cam001", "PowerOnCnt") is not None


def test_system_factory_defaults_needs_confirmation(simulator):
    """Without confirm_factory_defaults: refused, zero requests, the setting kept. With it: LoadFactoryDefaults
    resets the camera's settings."""
    sim = simulator(1)
    assert run_module("sensingcam_config", {"location_name": "line3-st10"}, sim, "cam001")["changed"] is True
    before = counters(sim)["requests"]
    refused = run_module("sensingcam_system", {"action": "factory_defaults"}, sim, "cam001")
    assert refused["failed"] is True and "confirm_factory_defaults: true" in refused["msg"]
    assert counters(sim)["requests"] == before
    assert sim.get("cam001", "LocationName") == "line3-st10"
    reset = run_module("sensingcam_system", {"action": "factory_defaults", "confirm_factory_defaults": True},
                       sim, "cam001")
    assert reset["changed"] is True and reset["method"] == "LoadFactoryDefaults", reset["_stdout"]
    assert sim.get("cam001", "LocationName") != "line3-st10"


def test_the_profile_names_the_steps(simulator, tmp_path):
    """A field engineer corrects data, not code: with a profile copy whose firmware.start_method is another name,
    the module calls that name (the simulator does not know it and answers 404, which the error names)."""
    sim = simulator(1, firmware=["2.5.1"])
    profile = yaml.safe_load(PROFILE.read_text())
    profile["firmware"]["start_method"]["value"] = "StartUpdateNow"
    copy = tmp_path / "profile.yml"
    copy.write_text(yaml.safe_dump(profile))
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "profile": str(copy)}
    result = run_module("sensingcam_firmware", args, sim, "cam001")
    assert result["failed"] is True
    assert "StartUpdateNow" in result["msg"] and "stays on 2.5.1" in result["msg"]
