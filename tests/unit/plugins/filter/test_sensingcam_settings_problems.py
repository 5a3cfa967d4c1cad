"""The sensingcam_settings_problems filter (the camera preflight's value check) against the shipped device profile.

Real: the filter, the collection's profile code and profiles/sensingcam/sec100-fw2.yml. No double, no camera.
"""

from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_settings_problems import (
    FilterModule,
    sensingcam_settings_problems,
)

REPO = Path(__file__).resolve().parents[4]
PROFILE = str(REPO / "profiles" / "sensingcam" / "sec100-fw2.yml")
ROLE = REPO / "roles" / "sensingcam"
LAB = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "sensingcams.yml").read_text())
SECRET = "Offl0ad-Secret-Value-7"


def problems(**variables):
    return sensingcam_settings_problems(variables, PROFILE)


def test_the_lab_and_the_role_defaults_pass():
    lab = {name: LAB[name] for name in ("sensingcam_streams", "sensingcam_event_recording", "sensingcam_time_sync")}
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert problems(**lab) == []
    assert problems(sensingcam_security=defaults["sensingcam_security"], sensingcam_snapshot_mode="stream",
                    sensingcam_location_name="cam-line1-st10", sensingcam_offload=None) == []


def test_a_full_valid_set_passes_including_strings_ansible_would_convert():
    assert problems(
        sensingcam_streams={"video0": {"resolution": "2880x1616", "fps": "60", "codec": "h265", "bitrate_class": 16383,
                                       "gop": 1, "rtsp_enabled": "yes"}},
        sensingcam_event_recording={"enabled": True, "pre_trigger_seconds": 0, "naming": "line3",
                                    "hardware_trigger": {"enabled": True, "active_level": "low", "delay_ms": 60000},
                                    "tcpip_trigger": {"enabled": False, "port": 2112}},
        sensingcam_time_sync={"role": "ptp", "ntp_server": "10.0.0.1", "update_interval_seconds": 3600,
                              "time_zone_index": 255},
        sensingcam_offload={"protocol": "sftp", "server": "192.168.136.20", "port": 22, "directory": "/clips",
                            "username": "sec100", "password": SECRET, "test_connection": True},
        sensingcam_security={"authentication_free_api": False, "rtsp_authentication": True}) == []


@pytest.mark.parametrize("variables, expected", [
    ({"sensingcam_streams": {"video0": {"resolution": "1024x768"}}},
     "sensingcam_streams.video0.resolution: \"1024x768\" is not one of 240x134, 320x180, 480x270, 640x360, 1280x720, "
     "1920x1080, 2880x1616"),
    ({"sensingcam_streams": {"video1": {"fps": 75}}},
     "sensingcam_streams.video1.fps: 75 is above the maximum 60 (device profile variables.streams.video1.fps"),
    ({"sensingcam_streams": {"video0": {"fps": "fast"}}}, "sensingcam_streams.video0.fps: \"fast\" is not an integer"),
    ({"sensingcam_streams": {"video0": {"bitrate_class": 4096}}},
     "sensingcam_streams.video0.bitrate_class: 4096 is not one of 1023, 2047, 4095, 8191, 16383"),
    ({"sensingcam_streams": {"video0": {"codec": "mjpeg"}}},
     "sensingcam_streams.video0.codec: \"mjpeg\" is not one of"),
    ({"sensingcam_time_sync": {"ntp_server": "pool.ntp.org"}},
     "sensingcam_time_sync.ntp_server: \"pool.ntp.org\" is not an IPv4 address"),
    ({"sensingcam_time_sync": {"ntp_server": "10.0.0.256"}}, "sensingcam_time_sync.ntp_server: \"10.0.0.256\" is not"),
    ({"sensingcam_time_sync": {"time_zone_index": 256}},
     "sensingcam_time_sync.time_zone_index: 256 is above the maximum 255"),
    ({"sensingcam_time_sync": {"update_interval_seconds": 0}},
     "sensingcam_time_sync.update_interval_seconds: 0 is below the minimum 1"),
    ({"sensingcam_offload": {"server": "files.plant.local"}},
     "sensingcam_offload.server: \"files.plant.local\" is not an IPv4 address"),
    ({"sensingcam_offload": {"username": "sec100"}},
     "sensingcam_offload.password is missing, but sensingcam_offload.username is set"),
    ({"sensingcam_offload": {"username": "sec100", "password": ""}}, "sensingcam_offload.password is missing"),
    ({"sensingcam_offload": {"test_connection": "maybe"}},
     "sensingcam_offload.test_connection: \"maybe\" is not a boolean"),
    ({"sensingcam_event_recording": {"hardware_trigger": {"active_level": "rising"}}},
     "sensingcam_event_recording.hardware_trigger.active_level: \"rising\" is not one of low, high"),
    ({"sensingcam_event_recording": {"tcpip_trigger": {"port": 70000}}},
     "sensingcam_event_recording.tcpip_trigger.port: 70000 is above the maximum 65535"),
    ({"sensingcam_event_recording": {"duration_seconds": 30}},
     "sensingcam_event_recording.duration_seconds is gone: the camera has no clip duration"),
    ({"sensingcam_event_recording": {"trigger_source": "mqtt"}},
     "sensingcam_event_recording.trigger_source is gone: the camera has no trigger-source selector"),
    ({"sensingcam_streams": {"primary": {"fps": 12}}}, "sensingcam_streams.primary was renamed: use video0 instead"),
    ({"sensingcam_streams": {"secondary": {"fps": 12}}}, "sensingcam_streams.secondary was renamed: use video1"),
    ({"sensingcam_streams": {"video0": {"width": 640}}},
     "sensingcam_streams.video0.width was renamed: use resolution (WIDTHxHEIGHT)"),
    ({"sensingcam_streams": {"video2": {"fps": 12}}},
     "sensingcam_streams.video2 is not a setting; sensingcam_streams takes video0, video1"),
    ({"sensingcam_streams": {"video0": {"frames": 12}}}, "sensingcam_streams.video0.frames is not a setting"),
    ({"sensingcam_streams": ["video0"]}, "sensingcam_streams is [\"video0\"], not a mapping of video0, video1"),
    ({"sensingcam_security": {"authentication_free_api": "sometimes"}},
     "sensingcam_security.authentication_free_api: \"sometimes\" is not a boolean"),
    ({"sensingcam_snapshot_mode": "video"}, "sensingcam_snapshot_mode: \"video\" is not one of stream, snapshot"),
    ({"sensingcam_location_name": "x" * 129}, "sensingcam_location_name: "),
], ids=["resolution", "fps-over-60", "fps-text", "bitrate", "codec-mjpeg", "ntp-hostname", "ntp-octet",
        "time-zone-index", "update-interval", "ftp-hostname", "ftp-user-without-password", "ftp-empty-password",
        "test-connection-type", "active-level", "tcpip-port", "duration-gone", "trigger-source-gone",
        "primary-renamed", "secondary-renamed", "width-renamed", "unknown-stream", "unknown-setting", "not-a-mapping",
        "security-type", "snapshot-mode", "location-too-long"])
def test_each_wrong_value_is_one_message_naming_the_variable_path(variables, expected):
    found = problems(**variables)
    assert len(found) == 1, found
    assert expected in found[0]


def test_several_problems_are_all_reported_in_order():
    found = problems(sensingcam_streams={"video0": {"fps": 0, "resolution": "1x1"}},
                     sensingcam_time_sync={"ntp_server": "ntp"})
    assert [message.split(":")[0] for message in found] == [
        "sensingcam_streams.video0.fps", "sensingcam_streams.video0.resolution", "sensingcam_time_sync.ntp_server"]


def test_the_offload_password_is_never_in_a_message():
    found = problems(sensingcam_offload={"username": "sec100", "password": SECRET * 10})
    assert len(found) == 1 and "sensingcam_offload.password: the value is longer than" in found[0]
    assert SECRET not in found[0]


def test_bad_input_and_profile_fail_with_a_message():
    with pytest.raises(AnsibleFilterError, match="does not know the variable sensingcam_config"):
        problems(sensingcam_config={"device_name": "x"})
    with pytest.raises(AnsibleFilterError, match="takes a mapping"):
        sensingcam_settings_problems(["sensingcam_streams"], PROFILE)
    with pytest.raises(AnsibleFilterError, match="/nonexistent.yml"):
        sensingcam_settings_problems({}, "/nonexistent.yml")
    assert FilterModule().filters()["sensingcam_settings_problems"] is sensingcam_settings_problems


def choices_in_argument_specs():
    """{(variable path): choices} of the role's argument spec."""
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    found = {}

    def walk(options, path):
        for name, option in options.items():
            if "choices" in option:
                found[path + (name,)] = option["choices"]
            walk(option.get("options") or {}, path + (name,))
    walk(spec, ())
    return found


def test_the_role_argument_spec_choices_are_the_device_profile_values():
    """The choices ansible-doc shows for the role are the shipped profile's: each choice passes the filter and a value
    outside them does not (so a profile change that the spec misses fails here)."""
    from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_settings_problems import LAYOUT
    from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import DeviceProfile

    profile = DeviceProfile.load(PROFILE)
    checked = 0
    for path, choices in choices_in_argument_specs().items():
        layout = LAYOUT[path[0]]
        for key in path[1:]:
            layout = layout[key]
        codec = profile.field(*layout).codec
        names = [codec.values[code] for code in sorted(codec.values)] if codec.type == "enum" else codec.choices
        assert choices == names, path
        checked += 1
    assert checked >= 7
