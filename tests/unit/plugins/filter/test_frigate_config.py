"""The frigate_config filters: the config per pinned Frigate release, the secret names, the pass-through check, the
shared-memory size and the URL encoding of RTSP credentials.

Pure Python, no Frigate. The per-release keys asserted here come from reading Frigate's config models at the tags
v0.16.4 and v0.17.2 and the 0.18 source (frigate/config/, frigate/util/config.py, frigate/detectors/plugins/);
the rendered configs are checked against per-release schema rules in tests of their own (FRIGATESCHEMA). URL
decoding is checked with urllib's ``unquote``, an independent oracle, not with the filter's encoder.

Mutations tried (each restored, each made the named test fail):
- CONFIG_VERSIONS['0.17.2'] = '0.16-0' -> test_the_config_version_is_the_release_s
- 0.16 retention rendered as continuous/motion -> test_retention_0_16_is_retain_days_and_mode
- retain_mode accepted with 0.18 -> test_retain_mode_is_refused_after_0_16
- ``safe='-._~'`` widened to ``safe='-._~/@'`` -> test_credentials_are_url_encoded
- review.alerts.enabled False -> test_review_alerts_keep_manual_events
- the detect input pointed at the record stream -> test_stream_roles
- 'record.retain' dropped from FORBIDDEN_KEYS['0.18.0'] -> test_pass_through_refuses_keys_the_release_lacks
- the 270480 term dropped from frigate_shm_size -> test_shm_size_is_frigate_s_formula
- edgetpu device check removed -> test_detectors
- the mqtt.host '{' check for 0.16 removed -> test_mqtt_over_tls
"""

import math
import re
from urllib.parse import unquote, urlsplit

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.frigate_config import (
    FilterModule,
    frigate_config,
    frigate_config_problems,
    frigate_secrets,
    frigate_shm_size,
    url_encode,
)

VERSIONS = ("0.16.4", "0.17.2", "0.18.0")


def camera(name="cam-line1-st10", **overrides):
    base = {"name": name, "host": "10.20.1.10", "rtsp_paths": {"video0": "/live/0", "video1": "/live/1"},
            "stream_roles": {"archive": "video0", "detect": "video1", "dashboard": "video1"},
            "detect": {"width": 640, "height": 360, "fps": 5}}
    base.update(overrides)
    return base


def settings(version="0.18.0", **overrides):
    base = {"version": version, "mqtt": {"host": "mqtt.plant.example"}}
    base.update(overrides)
    return base


def render(version="0.18.0", cameras=None, **overrides):
    return frigate_config(cameras if cameras is not None else [camera()], settings(version, **overrides))


def test_the_filters_are_registered():
    assert set(FilterModule().filters()) == {"frigate_config", "frigate_config_problems", "frigate_secrets",
                                             "frigate_shm_size", "frigate_url_encode"}


@pytest.mark.parametrize(("version", "expected"), [("0.16.4", "0.16-0"), ("0.17.2", "0.17-0"), ("0.18.0", "0.18-0")])
def test_the_config_version_is_the_release_s(version, expected):
    assert render(version)["version"] == expected


def test_default_version_is_0_18_0():
    assert frigate_config([camera()], {"mqtt": {"host": "b"}})["version"] == "0.18-0"


@pytest.mark.parametrize("version", ["0.15.2", "0.17.1", "0.18", "latest"])
def test_unsupported_versions_are_refused(version):
    expected = r"frigate_version.*supported Frigate releases are 0\.16\.4, 0\.17\.2, 0\.18\.0"
    with pytest.raises(AnsibleFilterError, match=expected):
        render(version)


def test_retention_0_16_is_retain_days_and_mode():
    record = render("0.16.4", retention={"continuous_days": 2, "motion_days": 9})["record"]
    assert record["retain"] == {"days": 9, "mode": "all"}
    assert "continuous" not in record and "motion" not in record
    assert render("0.16.4", retention={"continuous_days": 0, "motion_days": 5})["record"]["retain"] == {
        "days": 5, "mode": "motion"}
    assert render("0.16.4", retention={"retain_mode": "active_objects"})["record"]["retain"]["mode"] == "active_objects"


@pytest.mark.parametrize("version", ["0.17.2", "0.18.0"])
def test_retention_0_17_on_is_continuous_and_motion(version):
    record = render(version, retention={"continuous_days": 2, "motion_days": 9, "alerts_days": 60,
                                        "detections_days": 20})["record"]
    assert record["continuous"] == {"days": 2} and record["motion"] == {"days": 9}
    assert "retain" not in record
    assert record["alerts"] == {"retain": {"days": 60}} and record["detections"] == {"retain": {"days": 20}}


@pytest.mark.parametrize("version", VERSIONS)
def test_alert_and_detection_retention_in_every_release(version):
    record = render(version, retention={"alerts_days": 31, "detections_days": 11})["record"]
    assert record["alerts"]["retain"]["days"] == 31 and record["detections"]["retain"]["days"] == 11


@pytest.mark.parametrize("version", ["0.17.2", "0.18.0"])
def test_retain_mode_is_refused_after_0_16(version):
    with pytest.raises(AnsibleFilterError, match=r"frigate_record_retain_mode.*Frigate 0\.16 setting"):
        render(version, retention={"retain_mode": "all"})


def test_bad_retention_is_refused():
    with pytest.raises(AnsibleFilterError, match="frigate_record_motion_days"):
        render(retention={"motion_days": -1})
    with pytest.raises(AnsibleFilterError, match="frigate_record_retain_mode"):
        render("0.16.4", retention={"retain_mode": "everything"})


def paths(data, prefix=""):
    for key, value in data.items():
        yield prefix + key
        if isinstance(value, dict):
            yield from paths(value, prefix + key + ".")


@pytest.mark.parametrize("version", VERSIONS)
def test_nothing_0_18_removed_and_no_masks(version):
    keys = set(paths(render(version)))
    for gone in ("record.sync_recordings", "record.export", "snapshots.clean_copy", "ui"):
        assert gone not in keys
    assert not any("mask" in key for key in keys)


@pytest.mark.parametrize("version", VERSIONS)
def test_detect_enabled_is_explicit(version):
    config = render(version)
    assert config["detect"]["enabled"] is True
    assert config["cameras"]["cam-line1-st10"]["detect"] == {"width": 640, "height": 360, "fps": 5, "enabled": True}


@pytest.mark.parametrize("version", VERSIONS)
def test_review_alerts_keep_manual_events(version):
    review = render(version, manual_event_label="press_fault", alert_labels=["person"])["review"]
    assert review["alerts"]["enabled"] is True
    assert review["alerts"]["labels"] == ["person", "press_fault"]
    assert render(version)["review"]["alerts"]["labels"][-1] == "plc_event"
    with pytest.raises(AnsibleFilterError, match="nodered_frigate_label"):
        render(version, manual_event_label="plc event")


def test_mqtt_over_tls():
    mqtt = render(mqtt={"host": "mqtt.plant.example", "port": 8883, "ca_file": "/config/certs/ca.crt"})["mqtt"]
    assert mqtt["host"] == "mqtt.plant.example" and mqtt["port"] == 8883
    assert mqtt["tls_ca_certs"] == "/config/certs/ca.crt" and mqtt["tls_insecure"] is False
    assert mqtt["user"] == "{FRIGATE_MQTT_USER}" and mqtt["password"] == "{FRIGATE_MQTT_PASSWORD}"
    # mqtt.host is substituted only since 0.17: a {FRIGATE_*} host is refused for 0.16, kept for 0.17.
    with pytest.raises(AnsibleFilterError, match=r"frigate_mqtt_host.*0\.16 does not substitute"):
        render("0.16.4", mqtt={"host": "{FRIGATE_MQTT_HOST}"})
    assert render("0.17.2", mqtt={"host": "{FRIGATE_MQTT_HOST}"})["mqtt"]["host"] == "{FRIGATE_MQTT_HOST}"
    with pytest.raises(AnsibleFilterError, match="frigate_mqtt_host"):
        render(mqtt={})


def test_go2rtc_streams_and_restream_inputs():
    config = render()
    streams = config["go2rtc"]["streams"]
    assert streams == {
        "cam-line1-st10": ["rtsp://{FRIGATE_CAM_CAM_LINE1_ST10_USER}:{FRIGATE_CAM_CAM_LINE1_ST10_PASSWORD}"
                           "@10.20.1.10:554/live/0"],
        "cam-line1-st10_detect": ["rtsp://{FRIGATE_CAM_CAM_LINE1_ST10_USER}:{FRIGATE_CAM_CAM_LINE1_ST10_PASSWORD}"
                                  "@10.20.1.10:554/live/1"],
        "cam-line1-st10_dashboard": ["ffmpeg:cam-line1-st10_detect#video=mjpeg"],
    }
    for sources in streams.values():
        for source in sources:
            assert not source.startswith(("exec:", "echo:", "expr:")) and isinstance(source, str)
    assert config["go2rtc"]["rtsp"] == {"username": "{FRIGATE_RTSP_RESTREAM_USER}",
                                        "password": "{FRIGATE_RTSP_RESTREAM_PASSWORD}"}


def test_stream_roles():
    inputs = render()["cameras"]["cam-line1-st10"]["ffmpeg"]["inputs"]
    assert inputs == [
        {"path": "rtsp://127.0.0.1:8554/cam-line1-st10", "input_args": "preset-rtsp-restream", "roles": ["record"]},
        {"path": "rtsp://127.0.0.1:8554/cam-line1-st10_detect", "input_args": "preset-rtsp-restream",
         "roles": ["detect"]},
    ]
    # One stream for both: one input with both roles, and the detect stream read from the local restream.
    same = render(cameras=[camera(stream_roles={"archive": "video0", "detect": "video0"})])
    assert same["cameras"]["cam-line1-st10"]["ffmpeg"]["inputs"] == [
        {"path": "rtsp://127.0.0.1:8554/cam-line1-st10", "input_args": "preset-rtsp-restream",
         "roles": ["record", "detect"]}]
    assert same["go2rtc"]["streams"]["cam-line1-st10_detect"] == ["rtsp://127.0.0.1:8554/cam-line1-st10"]
    dashboard_archive = render(cameras=[camera(stream_roles={"archive": "video0", "detect": "video1",
                                                             "dashboard": "video0"})])
    assert dashboard_archive["go2rtc"]["streams"]["cam-line1-st10_dashboard"] == ["ffmpeg:cam-line1-st10#video=mjpeg"]


def test_a_missing_rtsp_path_names_the_camera_and_the_variable():
    with pytest.raises(AnsibleFilterError, match=r"camera cam-line1-st10: sensingcam_rtsp_paths\.video1"):
        render(cameras=[camera(rtsp_paths={"video0": "/live/0"})])
    with pytest.raises(AnsibleFilterError, match=r"sensingcam_rtsp_paths\.video0"):
        render(cameras=[camera(rtsp_paths={"video0": "/live/{0}", "video1": "/live/1"})])


def test_websocket_cameras_are_refused_with_the_reason():
    with pytest.raises(AnsibleFilterError, match=r"cam-line2-st10: sensingcam_ingest 'websocket'.*exec:"):
        render(cameras=[camera("cam-line2-st10", ingest="websocket")])


def test_ipv6_camera_host_is_bracketed_and_port_used():
    streams = render(cameras=[camera(host="fd00::10", rtsp_port=8554)])["go2rtc"]["streams"]
    assert "@[fd00::10]:8554/live/0" in streams["cam-line1-st10"][0]


@pytest.mark.parametrize("password", ["$@foo%", "p/a:ss@w#rd?", "ä{x}"])
def test_credentials_are_url_encoded(password):
    encoded = url_encode(password)
    assert unquote(encoded) == password
    assert not set(encoded) & set(":/@#?[]$%{}") - {"%"} and "{" not in encoded
    url = f"rtsp://Service:{encoded}@10.20.1.10:554/live/0"
    parts = urlsplit(url)
    assert parts.hostname == "10.20.1.10" and unquote(parts.password) == password
    assert url_encode("$@foo%") == "%24%40foo%25"


def test_secret_names_match_the_config():
    config = render(cameras=[camera(), camera("cam-line1-st20", host="10.20.1.20")])
    names = [entry["name"] for entry in frigate_secrets([camera(), camera("cam-line1-st20")], settings())]
    text = repr(config)
    for name in names:
        assert "{" + name + "}" in text
    assert len(names) == 8
    assert sorted(set(re.findall(r"\{(FRIGATE_[A-Z0-9_]+)\}", text))) == sorted(names)


def test_camera_names_mapping_to_one_secret_are_refused():
    with pytest.raises(AnsibleFilterError, match="same secret variable"):
        render(cameras=[camera("cam-a"), camera("cam_a")])


@pytest.mark.parametrize(("kind", "expected"), [
    ({"type": "cpu"}, {"cpu": {"type": "cpu", "num_threads": 3}}),
    ({"type": "cpu", "num_threads": 2}, {"cpu": {"type": "cpu", "num_threads": 2}}),
    ({"type": "openvino"}, {"openvino": {"type": "openvino", "device": "GPU"}}),
    ({"type": "openvino", "device": "NPU"}, {"openvino": {"type": "openvino", "device": "NPU"}}),
    ({"type": "edgetpu"}, {"edgetpu": {"type": "edgetpu", "device": "usb"}}),
    ({"type": "edgetpu", "device": "pci"}, {"edgetpu": {"type": "edgetpu", "device": "pci"}}),
])
def test_detectors(kind, expected):
    config = render(detector=kind)
    assert config["detectors"] == expected
    assert ("model" in config) == (kind["type"] == "openvino")
    if kind["type"] == "openvino":
        assert config["model"]["path"] == "/openvino-model/ssdlite_mobilenet_v2.xml"


@pytest.mark.parametrize(("kind", "variable"), [
    ({"type": "tensorrt"}, "frigate_detector_type"),
    ({"type": "edgetpu", "device": "GPU"}, "frigate_detector_device"),
    ({"type": "openvino", "device": "usb"}, "frigate_detector_device"),
    ({"type": "cpu", "num_threads": 0}, "frigate_detector_num_threads"),
    ({"type": "cpu", "model": "x"}, "unknown keys"),
])
def test_bad_detectors_are_refused(kind, variable):
    with pytest.raises(AnsibleFilterError, match=variable):
        render(detector=kind)


@pytest.mark.parametrize(("version", "extra", "key"), [
    ("0.18.0", {"record": {"retain": {"days": 3, "mode": "all"}}}, "record.retain"),
    ("0.18.0", {"record": {"sync_recordings": True}}, "record.sync_recordings"),
    ("0.18.0", {"snapshots": {"clean_copy": True}}, "snapshots.clean_copy"),
    ("0.18.0", {"ui": {"date_style": "short"}}, "ui.date_style"),
    ("0.18.0", {"cameras": {"x": {"record": {"sync_recordings": True}}}}, "cameras.*.record.sync_recordings"),
    ("0.17.2", {"record": {"retain": {"days": 3}}}, "record.retain"),
    ("0.16.4", {"record": {"continuous": {"days": 3}}}, "record.continuous"),
    ("0.16.4", {"review": {"alerts": {"cutoff_time": 40}}}, "review.alerts.cutoff_time"),
])
def test_pass_through_refuses_keys_the_release_lacks(version, extra, key):
    problems = frigate_config_problems(extra, version)
    assert any(problem.startswith(key + ":") for problem in problems), problems
    with pytest.raises(AnsibleFilterError, match=r"frigate_extra_config.*" + re.escape(key)):
        render(version, extra=extra)


@pytest.mark.parametrize("extra", [
    {"mqtt": {"password": "x"}}, {"version": "0.15-0"}, {"go2rtc": {"streams": {"x": ["exec:ffmpeg"]}}},
    {"go2rtc": {"streams": {"x": [{"url": "rtsp://x"}]}}}, {"detectors": {"x": {"type": "cpu"}}},
])
def test_pass_through_refuses_managed_keys_and_deleted_sources(extra):
    assert frigate_config_problems(extra, "0.18.0")


def test_pass_through_merges_deep():
    config = render("0.17.2", extra={"record": {"sync_recordings": True}, "objects": {"track": ["person", "car"]}})
    assert config["record"]["sync_recordings"] is True and config["record"]["motion"] == {"days": 7}
    assert config["objects"]["track"] == ["person", "car"]
    assert frigate_config_problems({}, "0.18.0") == [] and frigate_config_problems(None) == []


def test_shm_size_is_frigate_s_formula():
    cams = [{"detect": {"width": 1280, "height": 720}}] * 8
    assert frigate_shm_size(cams) == math.ceil(((1280 * 720 * 1.5 * 20 + 270480) / 1048576) * 8 + 40)  # 253
    assert frigate_shm_size([{"detect": {"width": 1280, "height": 720}}]) == 67  # 66.63 MB in Frigate's docs
    assert frigate_shm_size([{"detect": {"width": 640, "height": 360}}], 0) == math.ceil((640 * 360 * 30 + 270480)
                                                                                         / 1048576)
    assert frigate_shm_size([]) == 40


def test_no_cameras_and_bad_input_are_refused():
    with pytest.raises(AnsibleFilterError, match="at least one camera"):
        render(cameras=[])
    with pytest.raises(AnsibleFilterError, match=r"cameras\[0\]\.name"):
        render(cameras=[camera(name="cam 1")])
    with pytest.raises(AnsibleFilterError, match="sensingcam_stream_roles"):
        render(cameras=[camera(stream_roles={"archive": "video2"})])
