"""The per-release Frigate config checks (tests/frigate_schema), and the frigate_config filter's output against them.

Neither Frigate nor its source runs here: the checks are rule tables written from each release's config models
(tests/frigate_schema/README.md says which tags and commits were read and what is not covered). What this file
proves: each release's own minimal config passes its own check; the keys that differ between releases are refused
by the other releases (services.md §1.3, §1.4, §1.8); unknown keys, wrong enums and out-of-range values fail; and the
configs the filter renders (plugins/filter/frigate_config.py) pass their own release and fail the others where the
schemas differ.

Mutations tried (each made the named tests fail, then was undone):
- extra="forbid" dropped from RecordConfig (``extra="ignore"``)
  -> test_record_retention_is_not_portable_between_016_and_017, test_rendered_016_config_is_refused_by_newer_releases,
  test_unknown_keys_fail_everywhere[record...]
- ``record.retain`` added to the 0.17/0.18 RecordConfig
  -> test_record_retention_is_not_portable_between_016_and_017, test_rendered_016_config_is_refused_by_newer_releases
- ``sync_recordings`` kept in 0.18 -> test_keys_018_removed[sync_recordings]
- string masks accepted by 0.18 (mask = str|list) -> test_keys_018_removed[motion mask], [object mask], [filter mask],
  test_018_masks_are_dicts_and_017_refuses_them
- ``le=60`` removed from pre_capture -> test_wrong_enum_or_range_fails[pre_capture 61]
- ``ge=0`` on retention days applied to 0.16 too -> test_negative_days_only_refused_since_017
- single-input role forcing removed -> test_single_input_roles_are_forced, test_required_fields
- the detect-role validator removed -> test_multi_input_roles_are_validated[no detect-*]
- 0.17 detector types used for every release -> test_detector_types_per_release[0.16.4], [0.18.0]
- mqtt.host as EnvString in 0.16 too -> test_frigate_placeholders_only_where_the_release_substitutes
"""

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.frigate_config import (
    frigate_config, frigate_config_problems, frigate_secrets)
from frigate_schema import CURRENT_CONFIG_VERSION, DETECTOR_TYPES, VERSIONS, check, placeholders
from frigate_schema.models import build
from frigate_schema.spec import Dict, Model, Nullable, OneOf

INPUT = {"path": "rtsp://127.0.0.1:8554/cam1", "input_args": "preset-rtsp-restream", "roles": ["record", "detect"]}
ALERTS = {"pre_capture": 5, "post_capture": 5, "retain": {"days": 30, "mode": "motion"}}


def minimal(version):
    """A small config as each release's own docs shape it; passes that release's check."""
    config = {
        "version": CURRENT_CONFIG_VERSION[version],
        "mqtt": {"host": "broker.plant.example", "port": 8883, "user": "{FRIGATE_MQTT_USER}",
                 "password": "{FRIGATE_MQTT_PASSWORD}", "tls_ca_certs": "/config/certs/ca.crt", "tls_insecure": False},
        "go2rtc": {"streams": {"cam1": ["rtsp://{FRIGATE_CAM_USER}:{FRIGATE_CAM_PASSWORD}@10.0.0.5:554/live/0"]}},
        "detectors": {"cpu": {"type": "cpu", "num_threads": 3}},
        "detect": {"enabled": True},
        "review": {"alerts": {"enabled": True, "labels": ["person", "plc_event"]}},
        "cameras": {"cam1": {
            "ffmpeg": {"inputs": [copy.deepcopy(INPUT)]},
            "detect": {"enabled": True, "width": 1280, "height": 720, "fps": 5},
            "record": {"enabled": True, "alerts": copy.deepcopy(ALERTS), "detections": copy.deepcopy(ALERTS)},
            "snapshots": {"enabled": True, "retain": {"default": 14}},
        }},
    }
    record = config["cameras"]["cam1"]["record"]
    if version == "0.16.4":
        record["retain"] = {"days": 3, "mode": "motion"}
    else:
        record["continuous"] = {"days": 0}
        record["motion"] = {"days": 7}
    return config


def with_key(config, dotted, value):
    node = config
    *parents, last = dotted.split(".")
    for part in parents:
        node = node.setdefault(part, {}) if isinstance(node, dict) else node[int(part)]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return config


def model_errors(config, version):
    return check(config, version, project_rules=False)


@pytest.mark.parametrize("version", VERSIONS)
def test_minimal_config_passes_its_own_release(version):
    assert check(minimal(version), version,
                 environment={"FRIGATE_MQTT_USER", "FRIGATE_MQTT_PASSWORD", "FRIGATE_CAM_USER",
                              "FRIGATE_CAM_PASSWORD"}) == []


def test_record_retention_is_not_portable_between_016_and_017():
    """services.md §1.8: the same pair Frigate's own models gave when reproduced with the v0.16.4/v0.17.2 source."""
    assert model_errors(minimal("0.16.4"), "0.17.2") == ["cameras.cam1.record.retain: Extra inputs are not permitted"]
    assert model_errors(minimal("0.16.4"), "0.18.0") == ["cameras.cam1.record.retain: Extra inputs are not permitted"]
    assert sorted(model_errors(minimal("0.17.2"), "0.16.4")) == [
        "cameras.cam1.record.continuous: Extra inputs are not permitted",
        "cameras.cam1.record.motion: Extra inputs are not permitted"]


def test_retain_mode_is_016_only():
    config = with_key(minimal("0.17.2"), "record.continuous", {"days": 3, "mode": "all"})
    assert model_errors(config, "0.17.2") == ["record.continuous.mode: Extra inputs are not permitted"]


REMOVED_IN_018 = {
    "sync_recordings": ("record.sync_recordings", True),
    "timelapse_args": ("record.export.timelapse_args", "-vf setpts=0.04*PTS -r 30"),
    "clean_copy": ("snapshots.clean_copy", True),
    "date_style": ("ui.date_style", "short"),
    "time_style": ("ui.time_style", "medium"),
    "snapshot retain mode": ("snapshots.retain.mode", "motion"),
    "camera sync_recordings": ("cameras.cam1.record.sync_recordings", False),
}
STRING_MASKS = {
    "motion mask": "cameras.cam1.motion.mask",
    "object mask": "cameras.cam1.objects.mask",
    "filter mask": "cameras.cam1.objects.filters.person.mask",
}


@pytest.mark.parametrize("name", list(REMOVED_IN_018) + list(STRING_MASKS))
def test_keys_018_removed(name):
    """0.18 (migrate_018_0) removed these keys and made masks dicts; 0.17.2 accepts all of them."""
    if name in STRING_MASKS:
        dotted, value = STRING_MASKS[name], "0,0,100,0,100,100,0,100"
    else:
        dotted, value = REMOVED_IN_018[name]
    config = with_key(minimal("0.17.2"), dotted, value)
    assert model_errors(config, "0.17.2") == []
    config["version"] = CURRENT_CONFIG_VERSION["0.18.0"]
    errors = model_errors(config, "0.18.0")
    assert len(errors) == 1 and errors[0].startswith(dotted + ": ")
    expected = "Input should be a valid dictionary" if name in STRING_MASKS else "Extra inputs are not permitted"
    assert errors[0] == f"{dotted}: {expected}"


def test_018_masks_are_dicts_and_017_refuses_them():
    mask = {"door": {"friendly_name": "Door", "enabled": True, "coordinates": "0,0,100,0,100,100"}}
    config = with_key(minimal("0.18.0"), "cameras.cam1.motion.mask", mask)
    assert model_errors(config, "0.18.0") == []
    assert model_errors(config, "0.17.2") == [
        "cameras.cam1.motion.mask: Input should be a valid string or a valid list"]
    with_key(config, "cameras.cam1.motion.mask.door.colour", "red")
    assert model_errors(config, "0.18.0") == ["cameras.cam1.motion.mask.door.colour: Extra inputs are not permitted"]


def test_keys_new_in_017_are_refused_by_016():
    for dotted, value in [("networking", {"ipv6": {"enabled": False}}), ("safe_mode", False),
                          ("review.alerts.cutoff_time", 40), ("auth.roles", {"line": ["cam1"]}),
                          ("cameras.cam1.friendly_name", "Line 1"), ("record.export.chapters", "none")]:
        config = with_key(minimal("0.16.4"), dotted, value)
        assert model_errors(config, "0.16.4") == [f"{dotted}: Extra inputs are not permitted"], dotted
        newer = with_key(minimal("0.17.2"), dotted, value)
        assert model_errors(newer, "0.17.2") == [], dotted
    config = with_key(minimal("0.17.2"), "ui.strftime_fmt", "%Y")
    assert model_errors(config, "0.17.2") == ["ui.strftime_fmt: Extra inputs are not permitted"]
    assert model_errors(with_key(minimal("0.16.4"), "ui.strftime_fmt", "%Y"), "0.16.4") == []


UNKNOWN_KEY_PATHS = [
    "colour", "mqtt.colour", "auth.colour", "tls.colour", "ui.colour", "logger.colour", "detect.colour",
    "record.colour", "record.alerts.colour", "record.alerts.retain.colour", "review.alerts.colour",
    "snapshots.retain.colour", "objects.colour", "model.colour", "telemetry.stats.colour",
    "cameras.cam1.colour", "cameras.cam1.ffmpeg.colour", "cameras.cam1.ffmpeg.inputs.0.colour",
    "cameras.cam1.detect.stationary.colour", "cameras.cam1.record.colour", "cameras.cam1.record.detections.colour",
    "cameras.cam1.review.detections.colour", "cameras.cam1.snapshots.colour", "cameras.cam1.motion.colour",
    "cameras.cam1.objects.filters.person.colour", "cameras.cam1.live.colour", "cameras.cam1.ui.colour",
    "cameras.cam1.mqtt.colour", "cameras.cam1.onvif.colour", "cameras.cam1.notifications.colour",
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("dotted", UNKNOWN_KEY_PATHS)
def test_unknown_keys_fail_everywhere(version, dotted):
    config = with_key(minimal(version), dotted, 1)
    assert model_errors(config, version) == [f"{dotted}: Extra inputs are not permitted"]


@pytest.mark.parametrize("version", VERSIONS)
def test_models_that_are_not_frigate_base_models_ignore_or_allow_extras(version):
    """Faithful to the source: ZoneConfig and BirdseyeCameraConfig are plain pydantic models (extras ignored),
    detector configs allow extras (BaseDetectorConfig extra="allow"), go2rtc is passed through (extra="allow")."""
    config = minimal(version)
    config["cameras"]["cam1"]["zones"] = {"bench": {"coordinates": "0,0,1,1,0,1", "colour": "red"}}
    config["cameras"]["cam1"]["birdseye"] = {"enabled": False, "colour": "red"}
    config["detectors"]["cpu"]["colour"] = "red"
    config["go2rtc"]["webrtc"] = {"candidates": ["10.0.0.1:8555"]}
    assert model_errors(config, version) == []


WRONG_VALUES = [
    ("pre_capture 61", "record.alerts.pre_capture", 61, "Input should be less than or equal to 60"),
    ("post_capture text", "record.alerts.post_capture", "5s", "Input should be a valid integer"),
    ("alert retain mode", "record.alerts.retain.mode", "always", "Input should be 'all', 'motion' or 'active_objects'"),
    ("preview quality", "record.preview.quality", "ultra",
     "Input should be 'very_low', 'low', 'medium', 'high' or 'very_high'"),
    ("time format", "ui.time_format", "25hour", "Input should be 'browser', '12hour' or '24hour'"),
    ("stats interval", "mqtt.stats_interval", 14, "Input should be greater than or equal to 15"),
    ("motion threshold", "cameras.cam1.motion.threshold", 256, "Input should be less than or equal to 255"),
    ("snapshot quality", "snapshots.quality", 101, "Input should be less than or equal to 100"),
    ("live quality", "cameras.cam1.live.quality", 0, "Input should be greater than or equal to 1"),
    ("enabled text", "cameras.cam1.record.enabled", "yes", "Input should be a valid boolean"),
    ("log level", "logger.default", "verbose", "Input should be 'debug', 'info', 'warning', 'error' or 'critical'"),
    ("camera name", "cameras.cam1.name", "cam 1", "String should match pattern '^[a-zA-Z0-9_-]+$'"),
    ("version number", "version", 0.17, "Input should be a valid string"),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", WRONG_VALUES, ids=[case[0] for case in WRONG_VALUES])
def test_wrong_enum_or_range_fails(version, case):
    _name, dotted, value, message = case
    config = with_key(minimal(version), dotted, value)
    errors = model_errors(config, version)
    assert len(errors) == 1 and errors[0].endswith(message), errors
    assert errors[0].startswith(dotted)
    if dotted == "record.alerts.pre_capture":
        assert model_errors(with_key(minimal(version), dotted, 60), version) == []


def test_negative_days_only_refused_since_017():
    """0.17 added ge=0 to the retention days; 0.16's fields have no bound (negative days are accepted there)."""
    assert model_errors(with_key(minimal("0.16.4"), "record.alerts.retain.days", -1), "0.16.4") == []
    for version in ("0.17.2", "0.18.0"):
        config = with_key(minimal(version), "cameras.cam1.record.motion.days", -1)
        assert model_errors(config, version) == [
            "cameras.cam1.record.motion.days: Input should be greater than or equal to 0"]


@pytest.mark.parametrize("version", VERSIONS)
def test_required_fields(version):
    for dotted in ("cameras", "mqtt"):
        config = minimal(version)
        del config[dotted]
        assert model_errors(config, version) == [f"{dotted}: Field required"]
    config = minimal(version)
    del config["cameras"]["cam1"]["ffmpeg"]
    assert model_errors(config, version) == ["cameras.cam1.ffmpeg: Field required (Frigate stops with a bare KeyError "
                                             "here)"]
    config = minimal(version)
    del config["cameras"]["cam1"]["ffmpeg"]["inputs"][0]["path"]
    assert model_errors(config, version) == ["cameras.cam1.ffmpeg.inputs.0.path: Field required"]
    config = minimal(version)
    config["cameras"]["cam1"]["ffmpeg"]["inputs"].append({"path": "rtsp://127.0.0.1:8554/cam1_detect"})
    assert "cameras.cam1.ffmpeg.inputs.1.roles: Field required" in model_errors(config, version)


@pytest.mark.parametrize("version", VERSIONS)
def test_single_input_roles_are_forced(version):
    """services.md §1.5: CameraConfig.__init__ gives a single input [record, detect] whatever it lists."""
    config = with_key(minimal(version), "cameras.cam1.ffmpeg.inputs.0.roles", ["detect"])
    assert model_errors(config, version) == []
    config = with_key(minimal(version), "cameras.cam1.ffmpeg.inputs.0.roles", ["record"])
    assert model_errors(config, version) == []


MULTI_INPUT_CASES = [
    ("no detect", [["record"], ["audio"]], "cameras.cam1.ffmpeg.inputs: Value error, The detect role is required."),
    ("role twice", [["record", "detect"], ["detect"]],
     "cameras.cam1.ffmpeg.inputs: Value error, Each input role may only be used once."),
    ("unknown role", [["record", "detect"], ["video"]],
     "cameras.cam1.ffmpeg.inputs.1.roles.0: Input should be 'audio', 'record' or 'detect'"),
    ("record enabled, no record role", [["detect"], ["audio"]],
     "cameras.cam1: Value error, Camera cam1 has record enabled, but record is not assigned to an input."),
]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("case", MULTI_INPUT_CASES, ids=[case[0] for case in MULTI_INPUT_CASES])
def test_multi_input_roles_are_validated(version, case):
    _name, roles, message = case
    config = minimal(version)
    config["cameras"]["cam1"]["ffmpeg"]["inputs"] = [
        {"path": f"rtsp://127.0.0.1:8554/s{index}", "roles": item} for index, item in enumerate(roles)]
    assert model_errors(config, version) == [message]
    config["cameras"]["cam1"]["ffmpeg"]["inputs"] = [
        {"path": "rtsp://127.0.0.1:8554/cam1", "roles": ["record"]},
        {"path": "rtsp://127.0.0.1:8554/cam1_detect", "roles": ["detect"]}]
    assert model_errors(config, version) == []


@pytest.mark.parametrize("version", VERSIONS)
def test_detector_types_per_release(version):
    for kind in ("zmq", "axengine", "cpu", "openvino", "edgetpu", "coral"):
        config = with_key(minimal(version), "detectors", {kind: {"type": kind}})
        errors = model_errors(config, version)
        if kind in DETECTOR_TYPES[version]:
            assert errors == [], (kind, errors)
        else:
            assert len(errors) == 1 and errors[0].startswith(f"detectors.{kind}.type: Input tag '{kind}' found"), kind
    assert "zmq" not in DETECTOR_TYPES["0.16.4"] and "axengine" in DETECTOR_TYPES["0.18.0"]
    config = with_key(minimal(version), "detectors", {"ov": {"type": "openvino", "device": "GPU", "model": {
        "width": 300, "input_tensor": "nchx"}}})
    assert model_errors(config, version) == [
        "detectors.ov.model.input_tensor: Input should be 'nchw', 'nhwc', 'hwnc' or 'hwcn'"]


@pytest.mark.parametrize("version", VERSIONS)
def test_mqtt_user_needs_password(version):
    config = minimal(version)
    del config["mqtt"]["password"]
    assert model_errors(config, version) == ["mqtt: Value error, Password must be provided with username."]


def test_018_detect_dimensions_go_together():
    for version in VERSIONS:
        config = minimal(version)
        del config["cameras"]["cam1"]["detect"]["height"]
        errors = model_errors(config, version)
        assert errors == ([] if version != "0.18.0" else [
            "cameras.cam1.detect: Value error, detect -> both width and height must be specified together, "
            "or both omitted"])


def test_version_key_semantics():
    """``version:`` is a string (a YAML float fails the model); any value but the release's CURRENT_CONFIG_VERSION
    makes Frigate migrate the file on start, so the project rule refuses it; missing counts as 0.13."""
    for version in VERSIONS:
        config = minimal(version)
        assert check(config, version) == []
        config["version"] = "0.15-1"
        assert check(config, version) == [
            f"version: should be '{CURRENT_CONFIG_VERSION[version]}' for Frigate {version}: any other value makes "
            "Frigate migrate the file on start (or refuse to, on a read-only mount) (project rule)"]
        del config["version"]
        assert len(check(config, version)) == 1


def test_frigate_placeholders_only_where_the_release_substitutes():
    """mqtt.host became an EnvString in 0.17 (services.md §1.5); in 0.16 the braces would stay literal."""
    for version in VERSIONS:
        config = with_key(minimal(version), "mqtt.host", "{FRIGATE_MQTT_HOST}")
        errors = check(config, version)
        if version == "0.16.4":
            assert errors == ["mqtt.host: {FRIGATE_MQTT_HOST} is not substituted in this field by Frigate 0.16.4: "
                              "the literal text would be used (project rule)"]
        else:
            assert errors == []
    config = with_key(minimal("0.18.0"), "cameras.cam1.ffmpeg.inputs.0.path", "rtsp://{CAM_PASSWORD}@cam/live/0")
    assert check(config, "0.18.0") == [
        "cameras.cam1.ffmpeg.inputs.0.path: {CAM_PASSWORD}: Frigate substitutes only FRIGATE_* variables here, any "
        "other name stops it with KeyError (project rule)"]
    config = minimal("0.18.0")
    assert check(config, "0.18.0", environment={"FRIGATE_MQTT_USER", "FRIGATE_MQTT_PASSWORD", "FRIGATE_CAM_USER"}) == [
        "go2rtc.streams.cam1.0: {FRIGATE_CAM_PASSWORD}: variable not provided, Frigate stops with KeyError "
        "(project rule)"]


def test_go2rtc_sources_frigate_deletes():
    config = minimal("0.17.2")
    config["go2rtc"]["streams"]["bridge"] = "exec:ffmpeg -i x -f rtsp {output}"
    config["go2rtc"]["streams"]["dyn"] = {"url": "rtsp://x"}
    errors = check(config, "0.17.2")
    assert any(line.startswith("go2rtc.streams.bridge: echo:/expr:/exec: source") for line in errors), errors
    assert any(line.startswith("go2rtc.streams.dyn: map-form source") for line in errors), errors


# -- the filter's output (plugins/filter/frigate_config.py) -------------------------------------------------------
LAB_CAMERAS = [
    {"name": "cam-line1-st10", "host": "10.20.1.10", "line": "line1", "station": "st10", "rtsp_port": 554,
     "rtsp_paths": {"video0": "/live/0", "video1": "/live/1"},
     "stream_roles": {"archive": "video0", "detect": "video1", "dashboard": "video1"},
     "detect": {"width": 1280, "height": 720, "fps": 5}},
    {"name": "cam-line1-st20", "host": "10.20.1.11", "rtsp_port": 8554, "rtsp_paths": {"video0": "/live/0"}},
    {"name": "cam-line2-st10", "host": "fd00::20", "rtsp_paths": {"video0": "/live/0", "video1": "/live/1"},
     "stream_roles": {"archive": "video0", "detect": "video1", "dashboard": "video0"},
     "detect": {"width": 640, "height": 360, "fps": 5}},
]
DETECTORS = [{"type": "cpu", "num_threads": 2}, {"type": "openvino", "device": "GPU"}, {"type": "edgetpu"}]


def rendered(version, detector=None, cameras=None, **settings):
    settings = {"version": version, "mqtt": {"host": "broker.plant.example"},
                "detector": detector or DETECTORS[0], **settings}
    cameras = LAB_CAMERAS if cameras is None else cameras
    config = frigate_config(copy.deepcopy(cameras), settings)
    environment = {item["name"] for item in frigate_secrets(copy.deepcopy(cameras), settings)}
    return config, environment


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("detector", DETECTORS, ids=[item["type"] for item in DETECTORS])
def test_rendered_config_passes_its_own_release(version, detector):
    config, environment = rendered(version, detector)
    assert check(config, version, environment=environment) == []
    assert used_placeholders(config) == environment  # every secret file is used, every placeholder has one


def used_placeholders(node):
    if isinstance(node, dict):
        return set().union(*(used_placeholders(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(used_placeholders(value) for value in node))
    return set(placeholders(node)) if isinstance(node, str) else set()


def test_rendered_016_config_is_refused_by_newer_releases():
    config, _secrets = rendered("0.16.4")
    for version in ("0.17.2", "0.18.0"):
        assert model_errors(config, version) == ["record.retain: Extra inputs are not permitted"]


def test_rendered_017_and_018_configs_are_refused_by_016():
    for version in ("0.17.2", "0.18.0"):
        config, _secrets = rendered(version)
        assert sorted(model_errors(config, "0.16.4")) == ["record.continuous: Extra inputs are not permitted",
                                                          "record.motion: Extra inputs are not permitted"]


def test_rendered_017_and_018_configs_differ_only_in_version():
    """The rendered subset is common to 0.17.2 and 0.18 (nothing 0.18 removed is rendered), so the model checks
    pass across the pair; only ``version:`` tells them apart, and the project rule refuses the other release's."""
    config17, environment = rendered("0.17.2")
    config18, _secrets = rendered("0.18.0")
    assert model_errors(config17, "0.18.0") == [] and model_errors(config18, "0.17.2") == []
    assert check(config17, "0.18.0", environment=environment) == [
        "version: should be '0.18-0' for Frigate 0.18.0: any other value makes Frigate migrate the file on start (or "
        "refuse to, on a read-only mount) (project rule)"]
    assert {key: value for key, value in config17.items() if key != "version"} == {
        key: value for key, value in config18.items() if key != "version"}


def test_websocket_ingest_is_refused_by_the_filter():
    """No go2rtc source reads the SEC100's WebSocket JPEG stream without exec: (deleted since 0.16.4)."""
    camera = dict(LAB_CAMERAS[1], ingest="websocket")
    with pytest.raises(AnsibleFilterError, match="websocket"):
        rendered("0.18.0", cameras=[camera])


CAMERA = "cam-line1-st10"
EXTRAS_THE_FILTER_ACCEPTS = [
    ("0.17.2", {"record": {"sync_recordings": True}, "snapshots": {"clean_copy": True}}),
    ("0.18.0", {"record": {"export": {"chapters": "review_items"}}}),
    ("0.16.4", {"ui": {"strftime_fmt": "%d.%m.%Y %H:%M"}}),
    ("0.18.0", {"ui": {"date_style": "short"}}),
    ("0.17.2", {"record": {"export": {"max_concurrent": 2}}}),
    ("0.16.4", {"networking": {"ipv6": {"enabled": False}}}),
    ("0.18.0", {"snapshots": {"retain": {"mode": "motion"}}}),
    ("0.18.0", {"cameras": {CAMERA: {"motion": {"mask": "0,0,100,0,100,100"}}}}),
    ("0.18.0", {"objects": {"filters": {"person": {"mask": ["0,0,10,0,10,10"]}}}}),
    ("0.17.2", {"cameras": {CAMERA: {"motion": {"mask": {"m1": {"coordinates": "0,0,100,0,100,100"}}}}}}),
    ("0.16.4", {"safe_mode": True}),
    ("0.16.4", {"auth": {"roles": {"viewer": [CAMERA]}}}),
    ("0.16.4", {"cameras": {CAMERA: {"friendly_name": "Line 1 St 10"}}}),
    ("0.16.4", {"detect": {"stationary": {"classifier": True}}}),
    ("0.16.4", {"proxy": {"header_map": {"role_map": {"admin": ["ming-admins"]}}}}),
    ("0.17.2", {"networking": {"listen": {"internal": 5000}}}),
    ("0.17.2", {"cameras": {CAMERA: {"ui": {"review": False}}}}),
    ("0.17.2", {"motion": {"skip_motion_threshold": 0.5}}),
    ("0.18.0", {"cameras": {CAMERA: {"genai": {"enabled": False}}}}),
    ("0.17.2", {"cameras": {CAMERA: {"genai": {"enabled": False}}}}),
]


@pytest.mark.parametrize("version,extra", EXTRAS_THE_FILTER_ACCEPTS)
def test_whatever_the_filter_accepts_the_release_accepts(version, extra):
    """The filter's pass-through (settings.extra) refuses keys a release lacks; anything it lets through must pass
    that release's check.

    Mutations tried: 'networking' dropped from the filter's _ADDED['0.17.2'] -> [0.16.4-extra5];
    'snapshots.retain.mode' dropped from _REMOVED['0.18.0'] -> [0.18.0-extra6]; the mask shape check removed ->
    [0.18.0-extra7], [0.18.0-extra8], [0.17.2-extra9]; camera 'genai' dropped from _REMOVED['0.17.2'] ->
    [0.18.0-extra18], [0.17.2-extra19]."""
    try:
        config, environment = rendered(version, extra=extra)
    except AnsibleFilterError:
        return
    assert check(config, version, environment=environment) == []


def _key_paths(spec, prefix, out):
    """Every dotted key a model defines; camera keys as ``cameras.*.<key>`` (other dicts are not descended)."""
    if isinstance(spec, Nullable):
        _key_paths(spec.inner, prefix, out)
    elif isinstance(spec, OneOf):
        for member in spec.members:
            _key_paths(member, prefix, out)
    elif isinstance(spec, Dict) and prefix == "cameras":
        _key_paths(spec.value_spec, "cameras.*", out)
    elif isinstance(spec, Model):
        for key, field in spec.fields.items():
            path = f"{prefix}.{key}" if prefix else key
            out.add(path)
            _key_paths(field, path, out)
    return out


KEY_PATHS = {version: _key_paths(build(version), "", set()) for version in VERSIONS}


def _sample(dotted):
    """A pass-through holding ``dotted`` (a dict value, which the type check never reaches before the key check)."""
    value = {}
    for part in reversed(dotted.replace("*", CAMERA).split(".")):
        value = {part: value}
    return value


@pytest.mark.parametrize("version,key", sorted(
    (version, key) for version in VERSIONS
    for key in set().union(*(KEY_PATHS[other] for other in VERSIONS)) - KEY_PATHS[version]
    if not any(key.startswith(parent + ".") for parent in
               set().union(*(KEY_PATHS[other] for other in VERSIONS)) - KEY_PATHS[version])))
def test_filter_refuses_every_key_another_release_has_and_this_one_lacks(version, key):
    """Derived from the rule tables: every key that exists in one release's models and not in ``version``'s is
    refused by the filter's pass-through check for ``version`` (its list names it, or a parent of it).

    Mutations tried: 'networking' dropped from _ADDED['0.17.2'] -> [0.16.4-networking] fails;
    'snapshots.retain.mode' dropped from _REMOVED['0.18.0'] -> [0.18.0-snapshots.retain.mode] and
    [0.18.0-cameras.*.snapshots.retain.mode] fail; 'genai' dropped from _REMOVED['0.17.2']['camera'] ->
    [0.17.2-cameras.*.genai], [0.18.0-cameras.*.genai] fail."""
    problems = frigate_config_problems(_sample(key), version)
    assert any(problem.startswith(key + ":") for problem in problems), problems


@pytest.mark.parametrize("version", VERSIONS)
def test_filter_refuses_masks_of_the_other_shape(version):
    """String masks are refused for 0.18 (dicts there), dict masks before it; the release's own shape passes.

    Mutation tried: the mask check removed from frigate_config_problems -> every case fails."""
    string_mask, dict_mask = "0,0,100,0,100,100", {"m1": {"coordinates": "0,0,100,0,100,100"}}
    good, bad = (dict_mask, string_mask) if version == "0.18.0" else (string_mask, dict_mask)
    for where in ({"motion": {"mask": None}}, {"cameras": {CAMERA: {"objects": {"mask": None}}}},
                  {"objects": {"filters": {"person": {"mask": None}}}}):
        for value, refused in ((good, False), (bad, True)):
            extra = copy.deepcopy(where)
            node = extra
            while any(isinstance(child, dict) for child in node.values()):
                node = next(child for child in node.values() if isinstance(child, dict))
            node["mask"] = value
            problems = [problem for problem in frigate_config_problems(extra, version) if "mask" in problem]
            assert bool(problems) is refused, (extra, problems)
            if not refused:
                config, environment = rendered(version, extra=extra)
                assert check(config, version, environment=environment) == []
