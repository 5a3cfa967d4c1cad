"""Unit tests of the camera simulator's profile reader, camera model and config parsing (tools/camera_simulator).

They run against the simulator's code only: no network, no real camera.
"""

import copy
import socket
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator import cli, testing
from sensingcam_simulator.camera import (INITIAL_BY_KEY, ApiError, Camera, CameraConfig, make_firmware_image,
                                         parse_firmware_header, validate_faults)
from sensingcam_simulator.profile import ProfileError, load_profile, parse_profile, version_tuple

PROFILE_PATH = Path(__file__).resolve().parents[3] / "profiles" / "sensingcam" / "sec100-fw2.yml"
RAW = yaml.safe_load(PROFILE_PATH.read_text())


@pytest.fixture(scope="module")
def profile():
    return load_profile(PROFILE_PATH)


@pytest.fixture
def camera(profile):
    return Camera(CameraConfig(name="cam", port=1, user="Service", password="pw"), profile)


def yaml_variables(tree=None, prefix=""):
    """{dotted key: entry} read straight from the YAML (not through the loader under test)."""
    found = {}
    for key, entry in (RAW["variables"] if tree is None else tree).items():
        if isinstance(entry, dict) and "name" in entry:
            found[prefix + key] = entry
        else:
            found.update(yaml_variables(entry, f"{prefix}{key}."))
    return found


def test_every_profile_variable_is_loaded_with_its_key_access_and_secret(profile):
    """Runs against the camera simulator's code, not a real camera: variables mirror the YAML."""
    expected = {entry["name"]: (key, entry["access"] == "read_write", bool(entry.get("secret")))
                for key, entry in yaml_variables().items()}
    expected["UpdateState"] = ("firmware.state", False, False)
    assert {v.name: (v.key, v.writable, v.secret) for v in profile.variables.values()} == expected


def test_profile_protocol_entries(profile):
    """Runs against the camera simulator's code, not a real camera: the transport/auth/response entries."""
    assert (profile.api_prefix, profile.file_download_prefix, profile.file_upload_prefix) == (
        "/api", "/file/download", "/file/upload")
    assert (profile.authentication_free_prefix, profile.api_description_path) == (
        "/authenticationFree", "/deviceDescription.yaml")
    assert (profile.realm, profile.empty_salt, profile.busy_http_status) == ("SICK Sensor", "separator", 400)
    assert profile.status("access_denied", 0) == 4 and profile.status("invalid_challenge", 0) == 10
    assert profile.status("out_of_connections", 0) == 11
    assert profile.method_result("mode_not_enabled", 9) == 1
    assert profile.files == {"latest_snapshot": "latestSnapshot", "latest_event_recording": "latestEventRecording"}
    assert (profile.firmware_upload_file, profile.firmware_start_method) == ("firmware.spk", "RunFirmwareUpdate")
    assert (profile.backup_create_method, profile.backup_argument, profile.backup_path,
            profile.backup_restore_method) == ("CreateParameterBackup", "Passphrase", "/api/parameterbackup",
                                               "RestoreParameterBackup")
    assert profile.save_method is None


@pytest.mark.parametrize(("name", "good", "bad"), [
    ("Video0Resolution", [0, 6], [7, -1, "5", True, 5.0]),
    ("Video0FrameRate", [1, 60], [0, 61, "25", None]),
    ("Video0CompressionRate", [1023, 16383], [1024, 0]),
    ("Video0EnableRtsp", [0, 1], [2, True, False, "1"]),
    ("TSCTCSrvAddr", [[0, 0, 0, 0], [255, 255, 255, 255]], [[1, 2, 3], [1, 2, 3, 256], "1.2.3.4", [1, 2, 3, True]]),
    ("LocationName", ["", "x" * 128], ["x" * 129, 5]),
    ("TSCRole", [0, 1, 3], [2, 4]),
    ("DeviceIdent", [{"Name": "x"}], ["text", 1]),
])
def test_codec_checks(profile, name, good, bad):
    """Runs against the camera simulator's code, not a real camera: each codec accepts its wire values only.

    Mutation tried: the bool codec accepting any integer: the EnableRtsp 2 case fails."""
    codec = profile.variables[name].codec
    for value in good:
        assert codec.check(value) is None, value
    for value in bad:
        assert codec.check(value), value


def test_allowed_text(profile):
    """Runs against the camera simulator's code, not a real camera: the allowed values named in messages."""
    assert profile.variables["Video0FrameRate"].codec.allowed() == "an integer from 1 to 60"
    assert profile.variables["Video0CompressionType"].codec.allowed() == "one of 0 (h264), 1 (h265)"
    assert "1023, 2047" in profile.variables["Video0CompressionRate"].codec.allowed()


def test_format_1_and_broken_profiles_are_refused():
    """Runs against the camera simulator's code, not a real camera: a format-1 profile says it was retired; a
    broken one names what is missing or wrong."""
    old = copy.deepcopy(RAW)
    old["profile_format"] = 1
    with pytest.raises(ProfileError, match="retired.*sec100-fw2.yml"):
        parse_profile(old, PROFILE_PATH)
    clash = copy.deepcopy(RAW)
    clash["variables"]["identity"]["vendor"]["name"] = "LocationName"
    with pytest.raises(ProfileError, match="twice"):
        parse_profile(clash, PROFILE_PATH)
    unknown_codec = copy.deepcopy(RAW)
    unknown_codec["variables"]["identity"]["vendor"]["codec"] = "nope"
    with pytest.raises(ProfileError, match="identity.vendor.*nope"):
        parse_profile(unknown_codec, PROFILE_PATH)
    no_files = copy.deepcopy(RAW)
    del no_files["files"]["latest_snapshot"]
    with pytest.raises(ProfileError, match="files.latest_snapshot"):
        parse_profile(no_files, PROFILE_PATH)
    method_clash = copy.deepcopy(RAW)
    method_clash["methods"]["reboot"]["name"] = "LocationName"
    with pytest.raises(ProfileError, match="both as variable and method"):
        parse_profile(method_clash, PROFILE_PATH)


def test_every_initial_value_passes_its_codec_and_is_keyed_by_profile_key(camera, profile):
    """Runs against the camera simulator's code, not a real camera: every variable's start value is a valid wire
    value; the initial-value table only uses keys the profile has (none by device name)."""
    for variable in profile.variables.values():
        assert variable.codec.check(camera.read(variable.name)) is None, variable.name
    keys = {v.key for v in profile.variables.values()}
    assert set(INITIAL_BY_KEY) <= keys


def test_a_variable_added_to_the_profile_is_served_with_a_codec_default():
    """Runs against the camera simulator's code, not a real camera: a new profile entry needs no code change."""
    raw = copy.deepcopy(RAW)
    raw["variables"]["system"]["leds"] = {"name": "LedsEnable", "access": "read_write", "level": "observed",
                                          "codec": {"type": "int", "min": 3, "max": 9}}
    added = Camera(CameraConfig(name="cam", port=1, user="Service", password="pw"), parse_profile(raw, PROFILE_PATH))
    assert added.read("LedsEnable") == 3
    assert added.write("LedsEnable", 9) == 9


def test_write_validation_messages(camera):
    """Runs against the camera simulator's code, not a real camera: refusals are status 3 naming the variable and
    the allowed values; read-only is status 3 'read-only'; unknown names are HTTP 404; secrets are not echoed."""
    with pytest.raises(ApiError) as err:
        camera.write("Video0FrameRate", 61)
    assert (err.value.http, err.value.status) == (200, 3)
    assert err.value.message == "Video0FrameRate: 61 is above the maximum 60; allowed: an integer from 1 to 60"
    with pytest.raises(ApiError) as err:
        camera.write("SerialNumber", "x")
    assert err.value.status == 3 and "read-only" in err.value.message
    with pytest.raises(ApiError) as err:
        camera.write("Nope", 1)
    assert (err.value.http, err.value.status) == (404, None)
    with pytest.raises(ApiError) as err:
        camera.write("FtpPassword", 12345678)
    assert "12345678" not in err.value.message and "FtpPassword" in err.value.message


def test_backup_is_all_or_nothing(camera):
    """Runs against the camera simulator's code, not a real camera: create, export, stage, restore; a bad document
    stages nothing; restore without a staged backup is refused.

    Mutation tried: stage_backup storing the document without checking it: the bad document was staged, this test
    failed."""
    with pytest.raises(ApiError):
        camera.export_backup()
    camera.create_backup("pass")
    document = camera.export_backup()
    assert "FtpPassword" in document and "FirmwareVersion" not in document
    with pytest.raises(ApiError):
        camera.stage_backup({"LocationName": "new", "Video0FrameRate": 0})
    with pytest.raises(ApiError):
        camera.restore_backup()
    assert camera.read("LocationName") == ""
    camera.stage_backup({**document, "LocationName": "new"})
    assert camera.restore_backup() == sorted(document)
    assert camera.read("LocationName") == "new"
    with pytest.raises(ApiError):
        camera.create_backup("")


def test_persistence_modes(profile):
    """Runs against the camera simulator's code, not a real camera: a power cycle keeps writes ('persistent') or
    returns to the last save ('volatile'); the power-on count grows; factory defaults keep the password."""
    persistent = Camera(CameraConfig(name="p", port=1, user="Service", password="pw"), profile)
    volatile = Camera(CameraConfig(name="v", port=2, user="Service", password="pw", persistence="volatile"), profile)
    for cam in (persistent, volatile):
        cam.write("LocationName", "written")
        count = cam.read("PowerOnCnt")
        cam.power_cycle()
        assert cam.read("PowerOnCnt") == count + 1
    assert persistent.read("LocationName") == "written" and volatile.read("LocationName") == ""
    volatile.write("LocationName", "saved")
    volatile.save()
    volatile.power_cycle()
    assert volatile.read("LocationName") == "saved"
    volatile.factory_defaults()
    assert volatile.read("LocationName") == "" and volatile.config.password == "pw"
    with pytest.raises(ValueError, match="persistence"):
        CameraConfig(name="x", port=1, user="Service", password="pw", persistence="sometimes")


def test_events_grow_storage_and_delete(camera):
    """Runs against the camera simulator's code, not a real camera."""
    name = camera.trigger_event()
    assert camera.read("EventList") == [name] and camera.read("DeviceStatusStorageUsage") == 2
    assert camera.delete_file(name) and not camera.delete_file(name)
    assert camera.read("EventList") == [] and camera.read("DeviceStatusStorageUsage") == 0


def test_version_tuple():
    """Runs against the camera simulator's code, not a real camera: dotted versions compare numerically."""
    assert version_tuple("2.10.0") > version_tuple("2.6.0")
    assert version_tuple("2.6") == (2, 6, 0)
    with pytest.raises(ValueError):
        version_tuple("2.6.0-beta")


def test_faults_validation():
    """Runs against the camera simulator's code, not a real camera: unknown faults and wrong types are refused."""
    assert validate_faults({"offline": True, "slow_ms": 250}) == {"offline": True, "slow_ms": 250}
    assert validate_faults({"busy_requests": 3, "out_of_connections": 1, "trigger_busy": True}) == {
        "busy_requests": 3, "out_of_connections": 1, "trigger_busy": True}
    assert validate_faults({"hold_firmware_state": "started"}) == {"hold_firmware_state": "started"}
    for bad in ({"offline": 1}, {"slow_ms": True}, {"slow_ms": -5}, {"unplugged": True}, [],
                {"hold_firmware_state": "verifying"}, {"hold_firmware_state": True}, {"busy_requests": -1},
                {"busy_requests": "2"}, {"trigger_busy": 1}):
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


@pytest.mark.parametrize(("changes", "message"), [
    ({"password": ""}, "empty password"),
    ({"name": "bad name"}, "name"),
    ({"password": "p\u00e4ss"}, "ASCII"),
    ({"user": "S\u00e9rvice"}, "ASCII"),
    ({"salt": [256]}, "salt"),
    ({"salt": list(range(17))}, "salt"),
    ({"salt": [True]}, "salt"),
    ({"host": "localhost"}, "IP address"),
])
def test_camera_config_refusals(changes, message):
    """Runs against the camera simulator's code, not a real camera: no default password, ASCII credentials only
    (the simulator refuses to start otherwise), salts of at most 16 bytes; the password is never in the message.

    Mutation tried: the ASCII check removed: the two ASCII cases fail."""
    settings = {"name": "a", "port": 1, "user": "Service", "password": "pw", **changes}
    with pytest.raises(ValueError, match=message) as err:
        CameraConfig(**settings)
    assert "p\u00e4ss" not in str(err.value)


def test_password_file_is_generated_once(tmp_path):
    """Runs against the camera simulator's code, not a real camera: a missing password file gets a random one."""
    path = tmp_path / "pw"
    first = cli.read_or_create_password(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert cli.read_or_create_password(path) == first
    assert cli.read_or_create_password(tmp_path / "other") != first


def args(*argv, **overrides):
    parsed = cli.build_parser().parse_args(["--cameras", "1", *argv])
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
    assert {c.host for c in fleet} == {None} and {c.persistence for c in fleet} == {"persistent"}


def test_address_per_camera_and_volatile_writes(tmp_path, profile):
    """Runs against the camera simulator's code, not a real camera: --address-per-camera gives camera i the address
    ADDR+i-1 at the one base port (crossing an octet boundary); --volatile-writes sets the persistence."""
    fleet = cli.cameras_from_args(args("--address-per-camera", "127.1.0.254", "--volatile-writes", cameras=3,
                                       base_port=80, password_file=str(tmp_path / "pw")), profile)
    assert [(c.host, c.port) for c in fleet] == [("127.1.0.254", 80), ("127.1.0.255", 80), ("127.1.1.0", 80)]
    assert {c.persistence for c in fleet} == {"volatile"}
    with pytest.raises(cli.ConfigError, match="--rtsp"):
        cli.cameras_from_args(args("--address-per-camera", "127.1.0.1", "--rtsp",
                                   password_file=str(tmp_path / "pw")), profile)


def test_config_file_keys(tmp_path, profile):
    """Runs against the camera simulator's code, not a real camera: salt [] / true / list, api_description,
    persistence and host from the config file; mistakes are reported by camera."""
    config = tmp_path / "fleet.yml"
    config.write_text(yaml.safe_dump({"cameras": [
        {"name": "a", "port": 1, "password": "p", "salt": []},
        {"name": "b", "port": 2, "password": "p", "salt": True, "api_description": False, "persistence": "volatile"},
        {"name": "c", "port": 3, "password": "p", "salt": [1, 2], "host": "127.1.0.9"},
    ]}))
    a, b, c = cli.cameras_from_config(config, args(password_file=None), profile)
    assert a.salt == [] and len(b.salt) == 8 and c.salt == [1, 2]
    assert (a.api_description, b.api_description) == (True, False)
    assert (a.persistence, b.persistence, c.host) == ("persistent", "volatile", "127.1.0.9")
    for entry, message in (({"name": "a", "port": 1, "pasword": "x"}, "unknown keys"),
                           ({"name": "a", "port": 1}, "no password"),
                           ({"name": "a", "port": 1, "password": "p", "faults": {"offline": "yes"}}, "offline"),
                           ({"name": "a", "port": 1, "password": "p", "api_description": "no"}, "api_description"),
                           ({"name": "a", "port": 1, "password": "p", "salt": "x"}, "salt")):
        config.write_text(yaml.safe_dump({"cameras": [entry]}))
        with pytest.raises(cli.ConfigError, match=message):
            cli.cameras_from_config(config, args(password_file=None), profile)


def test_parser_options():
    """Runs against the camera simulator's code, not a real camera: options parse to what they say, and --cameras
    and --config are exclusive."""
    parsed = cli.build_parser().parse_args(["--cameras", "3", "--base-port", "20000", "--salt"])
    assert (parsed.cameras, parsed.config, parsed.base_port, parsed.salt, parsed.bind) == (3, None, 20000, True,
                                                                                           "127.0.0.1")
    assert (parsed.address_per_camera, parsed.volatile_writes) == (None, False)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["--cameras", "1", "--config", "x.yml"])


def test_fd_limit_is_raised_to_the_hard_limit(monkeypatch):
    """Runs against the camera simulator's code, not a real camera: the soft open-files limit goes to the hard one."""
    calls = []
    monkeypatch.setattr(cli.resource, "getrlimit", lambda _kind: (1024, 65536) if not calls else (65536, 65536))
    monkeypatch.setattr(cli.resource, "setrlimit", lambda kind, limits: calls.append(limits))
    cli._raise_fd_limit(100)
    assert calls == [(65536, 65536)]


def test_free_port_block_skips_a_taken_port_and_stays_below_the_ephemeral_range(monkeypatch):
    """Runs against the simulator's test helper, not a real camera: a block with one taken port is not returned,
    and the block lies below 32768 so an ephemeral port (what ``free_ports`` and outgoing connections get) cannot
    sit inside it. This is the race behind a CI failure: ``--cameras 2`` bound ``base + 1`` that another worker held.

    Mutation tried: binding only the first port of the block: the taken block came back, this test failed."""
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    taken.bind(("127.0.0.1", 0))
    held = taken.getsockname()[1]
    free_base = testing.free_port_block(2)
    assert free_base >= 20000 and free_base + 1 < 32768
    # the first candidate block has its second port taken; the second candidate was free a moment ago
    candidates = iter([held - 1, free_base])

    class Candidates:
        @staticmethod
        def randrange(_start, _stop):
            return next(candidates)

    monkeypatch.setattr(testing.random, "SystemRandom", Candidates)
    try:
        try:
            base = testing.free_port_block(2)
        except StopIteration:
            pytest.fail("free_port_block asked for more candidates than expected")
        assert base == free_base
    finally:
        taken.close()
