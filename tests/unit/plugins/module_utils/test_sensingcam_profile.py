"""Unit tests of the device profile loader (sensingcam_profile.py, profile format 2): codecs both ways and their
error texts, Field/Method/group/fields, the named properties, and the checks made when a profile is loaded.

No camera and no network: the shipped profile profiles/sensingcam/sec100-fw2.yml and edited copies of it.
"""

import copy

import pytest
import yaml
from sensingcam_fake_camera import PROFILE_PATH

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import (
    Codec,
    DeviceProfile,
    ProfileError,
)

with open(PROFILE_PATH) as _handle:
    SHIPPED = yaml.safe_load(_handle)


@pytest.fixture
def profile():
    return DeviceProfile.load(PROFILE_PATH)


def data():
    return copy.deepcopy(SHIPPED)


def load_errors(edited):
    with pytest.raises(ProfileError) as caught:
        DeviceProfile(edited, "edited.yml")
    assert "edited.yml" in str(caught.value)
    return caught.value


# -- the shipped profile ------------------------------------------------------------------------------------------

def test_shipped_profile_loads_with_every_variable(profile):
    names = [field.name for field in profile.fields()]
    assert len(names) == len(set(names)) == 63
    assert names[0] == "FirmwareVersion" and names[-1] == "UpdateState"
    assert profile.field("firmware", "state").name == "UpdateState"


def test_field_attributes(profile):
    fps = profile.field("streams", "video0", "fps")
    assert (fps.key, fps.name, fps.access, fps.writable, fps.level, fps.secret) == (
        "streams.video0.fps", "Video0FrameRate", "read_write", True, "observed", False)
    assert fps.codec.type == "int" and fps.codec.name == "frame_rate"
    path = profile.field("streams", "video0", "rtsp_path")
    assert path.writable is False and path.access == "read"
    assert profile.field("offload", "password").secret is True
    assert profile.variable("identity", "firmware_version") == "FirmwareVersion"


def test_unknown_field_names_the_key(profile):
    with pytest.raises(ProfileError, match=r"no variable `variables.streams.video9.fps`"):
        profile.field("streams", "video9", "fps")


def test_group_gives_options_to_fields(profile):
    group = profile.group("streams", "video0")
    assert sorted(group) == ["bitrate_class", "codec", "fps", "gop", "resolution", "rtsp_enabled", "rtsp_path",
                             "rtsp_status"]
    assert group["codec"].name == "Video0CompressionType"
    assert "video0.fps" in profile.group("streams")
    with pytest.raises(ProfileError, match="no variable group `variables.nothing`"):
        profile.group("nothing")


def test_group_does_not_match_a_key_prefix(profile):
    """group('time') must not pick up a hypothetical 'timeout.x' (mutation: prefix without the dot)."""
    edited = data()
    edited["variables"]["timeout"] = {"x": {"name": "TimeoutX", "access": "read", "level": "assumed",
                                            "codec": "text"}}
    assert sorted(DeviceProfile(edited, "edited.yml").group("time")) == [
        "device_time", "ntp_server", "role", "time_zone_index", "update_interval_seconds"]


def test_methods(profile):
    trigger = profile.method("trigger_event")
    assert (trigger.name, trigger.argument, trigger.level) == ("EventTriggerEvent", None, "verified")
    assert profile.method("delete_file").argument == "fileName"
    backup = profile.method("backup.create_method")
    assert (backup.name, backup.argument, backup.level) == ("CreateParameterBackup", "Passphrase", "family")
    assert profile.method("firmware", "start_method").name == "RunFirmwareUpdate"
    with pytest.raises(ProfileError, match="no method `methods.fly`"):
        profile.method("fly")


def test_files_and_properties(profile):
    assert profile.file_name("latest_snapshot") == "latestSnapshot"
    assert (profile.http_port, profile.https_port, profile.api_prefix) == (80, 443, "/api")
    assert (profile.file_download_prefix, profile.file_upload_prefix) == ("/file/download", "/file/upload")
    assert profile.upload_chunk_bytes == 65536
    assert profile.authentication_free_prefix == "/authenticationFree"
    assert profile.api_description_path == "/deviceDescription.yaml"
    assert (profile.realm, profile.challenge_method) == ("SICK Sensor", "getChallenge")
    assert profile.default_user == "Service"
    assert profile.reads_require_login is False and profile.nonce_reuse is True
    assert profile.empty_salt == "separator"
    assert (profile.header_key, profile.data_key, profile.status_ok) == ("header", "data", 0)
    assert profile.statuses[4] == "access_denied" and profile.statuses[11] == "out_of_connections"
    assert profile.relogin_statuses == (4, 10)
    assert (profile.busy_http_status, profile.busy_retry_seconds, profile.busy_retries) == (400, 0.25, 20)
    assert profile.method_result_key == "result" and profile.method_results[1] == "mode_not_enabled"
    assert profile.save_method is None and profile.reboot_timeout_seconds == 300
    assert profile.suffix_order is None
    assert profile.setting("transport", "http_port") == 80 and profile.level("transport", "https_port") == "assumed"


def test_secret_keys_and_location_of(profile):
    keys = profile.secret_keys()
    assert "ftppassword" in keys and "*password*" in keys and keys == sorted(keys)
    assert profile.location_of("Video0FrameRate") == "variables.streams.video0.fps.name"
    assert profile.location_of("latestSnapshot") == "files.latest_snapshot.name"
    assert profile.location_of("RunFirmwareUpdate") == "firmware.start_method.value"
    assert profile.location_of("NoSuchThing") is None


@pytest.mark.parametrize("host, path, url", [
    ("10.0.0.5", "/live/0", "rtsp://10.0.0.5:554/live/0"),
    ("10.0.0.5", "live/1", "rtsp://10.0.0.5:554/live/1"),
    ("fd00::5", "/live/0", "rtsp://[fd00::5]:554/live/0"),
    ("cam1.plant", "//live/0", "rtsp://cam1.plant:554/live/0"),
])
def test_rtsp_url(profile, host, path, url):
    assert profile.rtsp_url(host, 554, path) == url


# -- codecs -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("keys, wire, value", [
    (("streams", "video0", "resolution"), 5, "1920x1080"),
    (("streams", "video0", "codec"), 1, "h265"),
    (("streams", "video0", "fps"), 25, 25),
    (("streams", "video0", "rtsp_enabled"), 1, True),
    (("streams", "video0", "rtsp_enabled"), 0, False),
    (("time", "ntp_server"), [10, 0, 0, 1], "10.0.0.1"),
    (("time", "role"), 3, "ptp"),
    (("identity", "location_name"), "line 3", "line 3"),
    (("identity", "device_ident"), {"Name": "SEC100"}, {"Name": "SEC100"}),
    (("health", "operating_hours"), 12345, 1234.5),
])
def test_codecs_round_trip(profile, keys, wire, value):
    field = profile.field(*keys)
    assert field.decode(wire) == value
    assert field.encode(value) == wire
    assert field.check(value) is None
    assert field.same(value, wire)


@pytest.mark.parametrize("keys, wire", [
    (("streams", "video0", "resolution"), 9),
    (("streams", "video0", "resolution"), "weird"),
    (("streams", "video0", "rtsp_enabled"), 7),
    (("time", "ntp_server"), [10, 0, 1]),
    (("time", "ntp_server"), [10, 0, 0, 300]),
    (("health", "operating_hours"), "n/a"),
    (("streams", "video0", "fps"), "fast"),
])
def test_decoding_unknown_device_data_returns_it_unchanged(profile, keys, wire):
    """Never crash on device data: a module reports what the camera sent."""
    assert profile.field(*keys).decode(wire) == wire


def test_decoding_tolerates_numbers_as_strings(profile):
    assert profile.field("streams", "video0", "resolution").decode("5") == "1920x1080"
    assert profile.field("streams", "video0", "fps").decode("25") == 25
    assert profile.field("streams", "video0", "rtsp_enabled").decode(True) is True
    assert profile.field("streams", "video0", "fps").same(25, "25")
    assert profile.field("identity", "location_name").decode(None) is None


@pytest.mark.parametrize("keys, value, message", [
    (("streams", "video0", "resolution"), "1920x1081",
     "is not one of 240x134, 320x180, 480x270, 640x360, 1280x720, 1920x1080, 2880x1616"),
    (("streams", "video0", "fps"), 61, "is above the maximum 60"),
    (("streams", "video0", "fps"), 0, "is below the minimum 1"),
    (("streams", "video0", "fps"), "25", "is not an integer"),
    (("streams", "video0", "fps"), True, "is not an integer"),
    (("streams", "video0", "bitrate_class"), 4096, "is not one of 1023, 2047, 4095, 8191, 16383"),
    (("streams", "video0", "rtsp_enabled"), 1, "is not a boolean (true or false)"),
    (("time", "ntp_server"), "10.0.0.256", "is not an IPv4 address like 192.168.0.10"),
    (("time", "ntp_server"), "ntp.plant", "is not an IPv4 address like 192.168.0.10"),
    (("time", "ntp_server"), "10.0.0", "is not an IPv4 address like 192.168.0.10"),
    (("identity", "location_name"), "x" * 129, "is longer than the maximum of 128 characters (129)"),
    (("identity", "location_name"), 5, "is not text"),
    (("identity", "device_ident"), [1], "is not a mapping (JSON object)"),
    (("health", "operating_hours"), "ten", "is not a number"),
])
def test_codec_check_messages(profile, keys, value, message):
    assert profile.field(*keys).check(value) == message


@pytest.mark.parametrize("keys, allowed", [
    (("streams", "video0", "fps"), "an integer from 1 to 60"),
    (("streams", "video0", "codec"), "one of h264, h265"),
    (("streams", "video0", "bitrate_class"), "one of 1023, 2047, 4095, 8191, 16383"),
    (("streams", "video0", "rtsp_enabled"), "true or false"),
    (("time", "ntp_server"), "an IPv4 address like 192.168.0.10"),
    (("identity", "location_name"), "text of at most 128 characters"),
    (("health", "operating_hours"), "a number in h (steps of 0.1)"),
    (("health", "temperature"), "an integer"),
])
def test_allowed_text(profile, keys, allowed):
    assert profile.field(*keys).allowed() == allowed


def test_scaled_codec_range_and_rounding():
    codec = Codec({"type": "scaled", "factor": 0.1, "unit": "s", "min": 0, "max": 10})
    assert codec.encode(1.25) in (12, 13) and codec.encode(2.5) == 25
    assert codec.decode(3) == 0.3
    assert codec.check(10.5) == "is above the maximum 10"
    assert codec.allowed() == "a number in s from 0 to 10 (steps of 0.1)"


def test_object_is_compared_as_a_whole(profile):
    field = profile.field("identity", "device_ident")
    assert field.same({"Name": "SEC100"}, {"Name": "SEC100"})
    assert not field.same({"Name": "SEC100"}, {"Name": "SEC100", "Version": "2.6.2.0R"})


def test_string_is_not_compared_loosely(profile):
    field = profile.field("identity", "location_name")
    assert not field.same("5", 5)
    assert not field.same("x", None)


# -- checks on load -----------------------------------------------------------------------------------------------

def test_format_1_is_retired():
    error = load_errors({"profile_format": 1, "name": "old"})
    assert "retired" in str(error) and "profiles/sensingcam/sec100-fw2.yml" in str(error)


def test_unknown_format_is_refused():
    assert "profile_format 9" in str(load_errors({"profile_format": 9}))


def test_profile_not_a_mapping_and_unreadable(tmp_path):
    with pytest.raises(ProfileError, match="not a YAML mapping"):
        DeviceProfile(["x"], "list.yml")
    with pytest.raises(ProfileError, match="Cannot read the device profile"):
        DeviceProfile.load(str(tmp_path / "missing.yml"))
    broken = tmp_path / "broken.yml"
    broken.write_text("a: [\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        DeviceProfile.load(str(broken))


def test_undefined_named_codec_names_the_entry():
    edited = data()
    edited["variables"]["streams"]["video0"]["fps"]["codec"] = "frame_rat"
    error = load_errors(edited)
    assert "variables.streams.video0.fps: codec 'frame_rat' is not defined under codecs:" in str(error)
    assert len(error.errors) == 1


def test_unknown_codec_type_named_and_inline():
    edited = data()
    edited["codecs"]["flag"] = {"type": "boolean"}
    edited["variables"]["health"]["temperature"]["codec"] = {"type": "celsius"}
    error = load_errors(edited)
    assert any(e.startswith("codecs.flag: unknown codec type 'boolean'") for e in error.errors)
    assert any(e.startswith("variables.health.temperature.codec: unknown codec type 'celsius'") for e in error.errors)
    assert "bool, enum, int, ipv4, list, object, scaled, string" in str(error)


@pytest.mark.parametrize("values", [{"0": "h264", 1: "h265"}, {0: 264, 1: "h265"}, [0, 1]],
                         ids=["string-key", "int-name", "list"])
def test_enum_values_must_map_int_to_str(values):
    edited = data()
    edited["codecs"]["video_codec"]["values"] = values
    error = load_errors(edited)
    assert any(e.startswith("codecs.video_codec: ") for e in error.errors), error.errors


def test_enum_names_must_be_unique():
    edited = data()
    edited["codecs"]["video_codec"]["values"] = {0: "h264", 1: "h264"}
    assert "repeated: h264" in str(load_errors(edited))


def test_duplicate_device_name_across_variables():
    edited = data()
    edited["variables"]["streams"]["video1"]["fps"]["name"] = "Video0FrameRate"
    error = load_errors(edited)
    assert error.errors == ["variables.streams.video1.fps: device name 'Video0FrameRate' is already used by "
                            "variables.streams.video0.fps"]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["codecs"]["frame_rate"].update(maxx=60), "codecs.frame_rate: codec type int has no key 'maxx'"),
    (lambda d: d["codecs"]["frame_rate"].update(min=70), "codecs.frame_rate: min 70 is above max 60"),
    (lambda d: d["codecs"]["text"].update(max_length=0), "codecs.text: max_length must be a positive integer"),
    (lambda d: d["codecs"]["bitrate_class"].update(choices=[]), "codecs.bitrate_class: choices must be"),
    (lambda d: d["variables"]["health"]["operating_hours"]["codec"].update(factor=0),
     "variables.health.operating_hours.codec: a scaled codec needs a non-zero number `factor:`"),
    (lambda d: d["variables"]["rtsp"]["port"].update(access="write"),
     "variables.rtsp.port: access 'write' is not one of read, read_write"),
    (lambda d: d["variables"]["rtsp"]["port"].update(level="guessed"),
     "variables.rtsp.port: level 'guessed' is not one of verified, observed, family, assumed, probed"),
    (lambda d: d["variables"]["rtsp"]["port"].pop("codec"), "variables.rtsp.port: no `codec:`"),
    (lambda d: d["variables"]["rtsp"]["port"].update(secret="yes"),
     "variables.rtsp.port: secret must be true or false"),
    (lambda d: d["variables"]["rtsp"]["port"].update(status="assumed"), "variables.rtsp.port: unknown key 'status'"),
    (lambda d: d["variables"]["rtsp"].update(port=554), "variables.rtsp.port: expected a variable entry"),
    (lambda d: d["auth"].update(empty_salt={"value": "skip", "level": "assumed"}),
     "auth.empty_salt: 'skip' is not one of separator, no_salt"),
    (lambda d: d["transport"].update(https_port={"value": 443, "status": "assumed"}),
     "transport.https_port: `status:` is the retired format-1 key"),
    (lambda d: d["methods"].update(broken={"level": "assumed"}), "methods.broken: a method needs `name:`"),
    (lambda d: d["response"].update(relogin_statuses={"value": ["4"], "level": "observed"}),
     "response.relogin_statuses: must be a list of integer status codes"),
    (lambda d: d["response"].update(statuses={"value": {"0": "ok"}, "level": "observed"}),
     "response.statuses: must map integer codes to names"),
    (lambda d: d["response"].update(busy_retries={"value": -1, "level": "assumed"}),
     "response.busy_retries: must be a number of at least 0"),
    (lambda d: d["transport"].update(upload_chunk_bytes={"value": 0, "level": "observed"}),
     "transport.upload_chunk_bytes: must be a positive integer"),
    (lambda d: d["firmware"]["known_issues"][0].update(below="soon"),
     "firmware.known_issues[0]: below 'soon' is not a version"),
    (lambda d: d["firmware"]["known_issues"][0].pop("summary"), "firmware.known_issues[0]: a known issue needs"),
    (lambda d: d.pop("codecs"), "codecs: the section is missing"),
    (lambda d: d["auth"].update(hash={"value": "md5", "level": "assumed"}),
     "auth.hash: 'md5' is not supported; this collection speaks sha256"),
    (lambda d: d["auth"].update(scheme={"value": "digest", "level": "assumed"}), "auth.scheme: 'digest' is not"),
    (lambda d: d["auth"].update(password_charset={"value": "utf-8", "level": "assumed"}),
     "auth.password_charset: 'utf-8' is not supported"),
    (lambda d: d["applies_to"].update(below_version="three"), "applies_to.below_version: 'three' is not a version"),
], ids=lambda value: value if isinstance(value, str) and len(value) < 40 else None)
def test_load_errors_name_the_entry(edit, message):
    """Each check on load, one edit at a time (mutation: each check removed in turn -> its case loads)."""
    edited = data()
    edit(edited)
    error = load_errors(edited)
    assert any(message in problem for problem in error.errors), error.errors


def test_all_load_errors_are_reported_at_once():
    edited = data()
    edited["variables"]["streams"]["video0"]["fps"]["codec"] = "frame_rat"
    edited["variables"]["rtsp"]["port"]["access"] = "write"
    assert len(load_errors(edited).errors) == 2
