"""Unit tests of the camera simulator's profile reader, camera model and config parsing (tools/camera_simulator).

They run against the simulator's code only: no network, no real camera.
"""

import copy
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator import cli
from sensingcam_simulator.camera import (ApiError, Camera, CameraConfig, make_firmware_image,
                                         parse_firmware_header, validate_faults)
from sensingcam_simulator.profile import ProfileError, load_profile, parse_profile, version_tuple

PROFILE_PATH = Path(__file__).resolve().parents[3] / "profiles" / "sensingcam" / "sec100-fw2.yml"


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE_PATH)


@pytest.fixture
def camera(profile):
    return Camera(CameraConfig(name="cam", port=1, user="Service", password="pw"), profile)


def test_profile_names_come_from_the_file(profile):
    """Runs against the camera simulator's code, not a real camera: variables/methods/files mirror the profile."""
    # The expected names are written out here, not read back through the loader under test.
    assert profile.variables["FirmwareVersion"].writable is False
    assert profile.variables["LocationName"].writable is True
    assert profile.methods == {"snapshot_mode": "SnapshotMode", "trigger_event": "EventTriggerEvent",
                               "trigger_snapshot": "SnapshotTriggerSnapshot", "reboot": "Reboot"}
    assert {k: f.path for k, f in profile.files.items()} == {
        "latest_snapshot": "/file/download/latestSnapshot", "firmware_upload": "/file/upload/firmware",
        "config_export": "/file/download/configuration", "config_import": "/file/upload/configuration"}
    assert profile.rtsp_paths == {"primary": "/stream1", "secondary": "/stream2"}
    assert profile.variables["StreamProfilePrimary"].allowed["fps"] == {"min": 1, "max": 30}


def test_profile_errors_are_clear():
    """Runs against the camera simulator's code, not a real camera: a broken profile names what is missing."""
    raw = yaml.safe_load(PROFILE_PATH.read_text())
    broken = copy.deepcopy(raw)
    del broken["files"]["firmware_upload"]
    with pytest.raises(ProfileError, match="files.firmware_upload"):
        parse_profile(broken, PROFILE_PATH)
    clash = copy.deepcopy(raw)
    clash["time"]["time_zone"]["name"] = "LocationName"
    with pytest.raises(ProfileError, match="twice"):
        parse_profile(clash, PROFILE_PATH)


def test_version_tuple():
    """Runs against the camera simulator's code, not a real camera: dotted versions compare numerically."""
    assert version_tuple("2.10.0") > version_tuple("2.6.0")
    assert version_tuple("2.6") == (2, 6, 0)
    with pytest.raises(ValueError):
        version_tuple("2.6.0-beta")


def test_structured_write_validation(camera):
    """Runs against the camera simulator's code, not a real camera: profile `allowed` ranges and choices apply."""
    merged = camera.write("StreamProfilePrimary", {"FrameRate": 30})
    assert merged["FrameRate"] == 30 and merged["Codec"] == "h264"
    for bad in ({"FrameRate": 0}, {"Codec": "av1"}, {"Width": True}, {"Nope": 1}, "text"):
        with pytest.raises(ApiError) as err:
            camera.write("StreamProfilePrimary", bad)
        assert err.value.status == 400
    with pytest.raises(ApiError) as err:
        camera.write("SerialNumber", "x")
    assert err.value.status == 403
    with pytest.raises(ApiError) as err:
        camera.read("Nope")
    assert err.value.status == 404


def test_export_import_roundtrip(camera):
    """Runs against the camera simulator's code, not a real camera: an export re-imports all-or-nothing."""
    camera.write("TimeZone", "Europe/Rome")
    exported = camera.export_configuration()
    camera.reset()
    assert camera.read("TimeZone") == "UTC"
    assert "TimeZone" in camera.import_configuration(exported)
    assert camera.read("TimeZone") == "Europe/Rome"
    with pytest.raises(ApiError):
        camera.import_configuration({"TimeZone": "UTC", "EventRecording": {"Duration": 0}})
    assert camera.read("TimeZone") == "Europe/Rome"


def test_faults_validation():
    """Runs against the camera simulator's code, not a real camera: unknown faults and wrong types are refused."""
    assert validate_faults({"offline": True, "slow_ms": 250}) == {"offline": True, "slow_ms": 250}
    assert validate_faults({"hold_firmware_state": "rebooting"}) == {"hold_firmware_state": "rebooting"}
    for bad in ({"offline": 1}, {"slow_ms": True}, {"slow_ms": -5}, {"unplugged": True}, [],
                {"hold_firmware_state": "receiving"}, {"hold_firmware_state": True}):
        with pytest.raises(ValueError):
            validate_faults(bad)


def test_firmware_header():
    """Runs against the camera simulator's code, not a real camera: the first line names the version."""
    image = make_firmware_image("2.7.1", 100)
    assert len(image) == 100
    assert parse_firmware_header(image.split(b"\n", 1)[0]) == "2.7.1"
    for bad in (b"SICK-SEC100-FW", b"SICK-SEC200-FW 2.7.1", b"SICK-SEC100-FW two", b"\xff\xfe"):
        with pytest.raises(ValueError):
            parse_firmware_header(bad)


def test_rtsp_availability_follows_firmware(profile):
    """Runs against the camera simulator's code, not a real camera: RTSP only from rtsp.available_from_version."""
    old = Camera(CameraConfig(name="a", port=1, user="u", password="p", firmware_version="2.5.9", rtsp=True,
                              rtsp_port=2), profile)
    new = Camera(CameraConfig(name="b", port=3, user="u", password="p", firmware_version="2.6.0", rtsp=True,
                              rtsp_port=4), profile)
    assert not old.rtsp_available() and new.rtsp_available()


def test_camera_config_rejects_empty_password_and_bad_names():
    """Runs against the camera simulator's code, not a real camera: there is no default password."""
    with pytest.raises(ValueError, match="password"):
        CameraConfig(name="a", port=1, user="u", password="")
    with pytest.raises(ValueError, match="name"):
        CameraConfig(name="bad name", port=1, user="u", password="p")


def test_password_file_is_generated_once(tmp_path):
    """Runs against the camera simulator's code, not a real camera: a missing password file gets a random one."""
    path = tmp_path / "pw"
    first = cli.read_or_create_password(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert cli.read_or_create_password(path) == first
    assert cli.read_or_create_password(tmp_path / "other") != first


def args(**overrides):
    parsed = cli.build_parser().parse_args(["--cameras", "1"])
    for key, value in overrides.items():
        setattr(parsed, key, value)
    return parsed


def test_cameras_from_args_assign_ports_versions_and_rtsp(tmp_path, profile):
    """Runs against the camera simulator's code, not a real camera: --cameras builds a consistent fleet."""
    fleet = cli.cameras_from_args(args(cameras=3, base_port=20000, password_file=str(tmp_path / "pw"),
                                       firmware_versions="2.5.1,2.6.2", rtsp=True), profile)
    assert [c.name for c in fleet] == ["cam001", "cam002", "cam003"]
    assert [c.port for c in fleet] == [20000, 20001, 20002]
    assert [c.firmware_version for c in fleet] == ["2.5.1", "2.6.2", "2.5.1"]
    assert [c.rtsp_port for c in fleet] == [21000, 21001, 21002]
    assert len({c.password for c in fleet}) == 1


def test_config_file_errors(tmp_path, profile):
    """Runs against the camera simulator's code, not a real camera: config mistakes are reported by camera."""
    config = tmp_path / "fleet.yml"
    config.write_text(yaml.safe_dump({"cameras": [{"name": "a", "port": 1, "pasword": "x"}]}))
    with pytest.raises(cli.ConfigError, match="unknown keys"):
        cli.cameras_from_config(config, args(password_file=None), profile)
    config.write_text(yaml.safe_dump({"cameras": [{"name": "a", "port": 1}]}))
    with pytest.raises(cli.ConfigError, match="no password"):
        cli.cameras_from_config(config, args(password_file=None), profile)
    config.write_text(yaml.safe_dump({"cameras": [{"name": "a", "port": 1, "password": "p",
                                                   "faults": {"offline": "yes"}}]}))
    with pytest.raises(cli.ConfigError, match="offline"):
        cli.cameras_from_config(config, args(password_file=None), profile)


def test_parser_options():
    """Runs against the camera simulator's code, not a real camera: options parse to what they say, and --cameras
    and --config are exclusive."""
    parsed = cli.build_parser().parse_args(["--cameras", "3", "--base-port", "20000", "--salt"])
    assert (parsed.cameras, parsed.config, parsed.base_port, parsed.salt, parsed.bind) == (3, None, 20000, True,
                                                                                           "127.0.0.1")
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--cameras", "1", "--config", "x.yml"])
