"""The frigate role's preflight: each bad input fails before anything is changed, naming the variable.

One ansible-playbook run (``--tags frigate_preflight``: the argument spec and tasks/preflight.yml only, nothing on
the host) with one NVR host per case, each with its own bad input, plus one good host that must pass; each host's
failure message is read from the JSON report. Real ansible-playbook and the real role; no Frigate, no Docker.

Mutations tried (each restored, each made the named case fail):
- the image-tag comparison removed from "Check the Frigate release and the image tag" -> [image-tag]
- the 0.16-only retain-mode check removed -> at first nothing failed: the filter refuses it too, naming the
  variable; the case now also expects the preflight's fix (frigate_record_continuous_days), and fails
- the frigate_config_problems assert removed -> [extra-retain-0.18], [extra-sync-0.18] (the filter's own check
  still names frigate_extra_config; the case checks the preflight's message "cannot be used with Frigate")
- 5000/1984 check removed -> [port-5000], [port-1984]
- the per-camera RTSP path check removed -> [no-rtsp-path] (the filter then fails naming the camera without the
  preflight's "Camera cam-nopath:" message)
- the stream proxy's checks (tasks/stream_proxy_preflight.yml) no longer imported by preflight.yml (they then ran
  only in stream_proxy.yml, after Frigate's deployment) -> [proxy-url-with-path], [proxy-stream-name],
  [proxy-pki-files]; the public-URL pattern loosened to '^https://' -> [proxy-url-with-path]
The good host runs with the stream proxy enabled (the role's default), so its checks pass on good input.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "tests" / "integration" / "frigate" / "frigate_rollout.yml"

GOOD = {
    "frigate_restream_password": "restream-password-1234", "frigate_mqtt_password": "mqtt-password-12345",
    "frigate_cameras": ["cam-ok"], "frigate_stream_proxy_enabled": True,
}
CASES = {
    "unsupported-version": ({"frigate_version": "0.15.2", "frigate_image": "ghcr.io/blakeblackshear/frigate:0.15.2"},
                            ["frigate_version"]),
    "image-tag": ({"frigate_version": "0.17.2"}, ["frigate_image", "0.18.0", "must be that release"]),
    "retain-mode-0.18": ({"frigate_record_retain_mode": "all"},
                         ["frigate_record_retain_mode", "0.16 setting", "frigate_record_continuous_days"]),
    "extra-retain-0.18": ({"frigate_extra_config": {"record": {"retain": {"days": 3, "mode": "all"}}}},
                          ["frigate_extra_config cannot be used with Frigate 0.18.0", "record.retain"]),
    "extra-sync-0.18": ({"frigate_extra_config": {"record": {"sync_recordings": True}}},
                        ["frigate_extra_config cannot be used", "record.sync_recordings"]),
    "unknown-detector": ({"frigate_detector_type": "tensorrt"}, ["frigate_detector_type"]),
    "edgetpu-device": ({"frigate_detector_type": "edgetpu", "frigate_detector_device": "GPU"},
                       ["frigate_detector_device"]),
    "port-5000": ({"frigate_extra_ports": [{"port": 5000, "container_port": 5000}]}, ["frigate_extra_ports", "5000"]),
    "port-1984": ({"frigate_extra_ports": [{"port": 11984, "container_port": 1984}]}, ["frigate_extra_ports", "1984"]),
    "no-rtsp-path": ({"frigate_cameras": ["cam-nopath"]}, ["Camera cam-nopath", "sensingcam_rtsp_paths", "video1"]),
    "no-restream-password": ({"frigate_restream_password": ""}, ["frigate_restream_password"]),
    "proxy-url-with-path": ({"frigate_stream_proxy_public_url": "https://nvr1.plant.example:8443/live"},
                            ["frigate_stream_proxy_public_url", "without a path"]),
    "proxy-stream-name": ({"frigate_stream_proxy_streams": ["cam.line1_dashboard"]},
                          ["frigate_stream_proxy_streams", "cam.line1_dashboard"]),
    "proxy-pki-files": ({"frigate_stream_proxy_tls_source": "files"}, ["frigate_stream_proxy_tls_cert_file"]),
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    directory = tmp_path_factory.mktemp("frigate-preflight")
    nvrs = {"good": dict(GOOD, ansible_connection="local")}
    for name, (bad, _expected) in CASES.items():
        nvrs[name] = dict(GOOD, ansible_connection="local", **bad)
    camera = {"sensingcam_line": "line1", "sensingcam_password": "camera-password", "sensingcam_ingest": "rtsp"}
    inventory = {"all": {"children": {
        "ming_nvr": {"hosts": nvrs},
        "ming_brokers": {"hosts": {"broker-t": {"ansible_host": "mqtt.test.example"}}},
        "sensingcams": {"hosts": {
            "cam-ok": dict(camera, sensingcam_host="10.0.0.1", sensingcam_station="st10",
                           sensingcam_rtsp_paths={"video0": "/live/0"}),
            "cam-nopath": dict(camera, sensingcam_host="10.0.0.2", sensingcam_station="st20",
                               sensingcam_rtsp_paths={"video0": "/live/0"},
                               sensingcam_stream_roles={"archive": "video0", "detect": "video1"}),
        }}}}}
    hosts = directory / "hosts.yml"
    hosts.write_text(yaml.safe_dump(inventory))
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    playbook = Path(os.sys.executable).parent / "ansible-playbook"
    done = subprocess.run([str(playbook), "-i", str(hosts), str(PLAYBOOK), "--tags", "frigate_preflight"],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False)
    start = done.stdout.find("{")
    assert start >= 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout[start:])


def failure_of(report, host):
    for play in report["plays"]:
        for task in play["tasks"]:
            result = task["hosts"].get(host)
            if result and result.get("failed"):
                return task["task"]["name"], json.dumps(result)
    return None


def test_the_good_host_passes(report):
    assert failure_of(report, "good") is None
    assert report["stats"]["good"]["failures"] == 0 and report["stats"]["good"]["changed"] == 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_bad_input_fails_naming_the_variable(report, case):
    failure = failure_of(report, case)
    assert failure is not None, f"{case} did not fail"
    task, text = failure
    for expected in CASES[case][1]:
        assert expected in text, (case, task, text[:1500])
    assert report["stats"][case]["changed"] == 0
