"""The frigate role rolled out on this machine, rendered only: the Frigate image is not on this host (no registry),
so compose_project's render_mode (``compose_project_render_only_when_image_missing: [frigate]``) keeps it from
starting and Frigate's own ``--validate-config`` cannot run; the run says so. What is checked here is what the role
writes: config.yml for the pinned release, the Compose fragment (checked by ``docker compose config`` in
compose_project), the secret files, and that no secret shows in any output (``--diff -vvv``, module invocations
on). Every run is a real ansible-playbook run against the real role and the real Docker engine; no double.
The module shares one converged roll-out (two runs: the first, and the second that must change nothing), with the
live-stream proxy on: its image ming/stream-proxy:lab is built here, so its nginx.conf is checked with nginx -t, and
it is rendered only because Frigate is (nothing is started).

Mutations tried (each restored, each made the named test fail):
- the ``:ro`` of the config.yml mount removed in vars/main.yml -> test_the_config_is_mounted_read_only
- ``mode: "0400"`` of the secret files changed to 0644 -> test_secrets_are_files_0400_and_not_in_the_config
- ``no_log: true`` and ``diff: false`` removed from "Write the {FRIGATE_*} secret files" (the diff then shows
  the values) -> test_no_secret_in_any_output. ``no_log`` alone removed: nothing leaked (copy treats ``content`` as
  no_log and the loop items are names), so it stays as defense in depth
- a published port for container port 5000 added to __frigate_ports -> test_5000_and_1984_are_not_published,
  test_no_fragment_publishes_5000_or_1984
- the secret files' copy looping over every name again (no skip of current files) ->
  test_a_second_run_changes_nothing (the loop then has results; which files are current is pinned in
  tests/unit/roles/test_frigate_secret_files.py)

Check mode on a fresh host is tested in test_frigate_role_check.py (a file of its own, to keep each file's runs few).
"""

import json
import math
import stat
import uuid
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import containers_of, remove_compose_project
from playbook_report import PlaybookResult, json_report, run_json_playbook

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = Path(__file__).resolve().parent / "frigate_rollout.yml"
PROJECT = f"frigate-t-{uuid.uuid4().hex[:6]}"
CAMERA_PASSWORD = f"$@foo%/{uuid.uuid4().hex[:8]}"
MQTT_PASSWORD = f"mqtt-{uuid.uuid4().hex}"
RESTREAM_PASSWORD = f"rs-{uuid.uuid4().hex}"
SECRETS = {"camera": CAMERA_PASSWORD, "camera (encoded)": "%24%40foo%25%2F" + CAMERA_PASSWORD[7:],
           "mqtt": MQTT_PASSWORD, "restream": RESTREAM_PASSWORD}


def inventory(directory, version="0.18.0", other_nvrs=None, **nvr_vars):
    """This host as the NVR ``localhost`` (``nvr_vars`` override its settings), and, for runs that test several
    inputs at once, ``other_nvrs`` (name -> overrides): more NVRs on this host, each with its own base directory
    (``<directory>/<name>``) and Compose project; the plant CA (controller side, made once per run) is shared."""
    ca = directory / "broker-ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot a real CA, only copied\n-----END CERTIFICATE-----\n")
    nvr = {
        "ansible_connection": "local",
        "ming_base_dir": str(directory / "base"), "ming_compose_project": PROJECT,
        "compose_project_render_only_when_image_missing": ["frigate"],
        "frigate_version": version, "frigate_image": f"ghcr.io/blakeblackshear/frigate:{version}",
        "frigate_listen_addresses": ["127.0.0.1"], "frigate_port": 18971 + int(uuid.uuid4().int % 1000),
        "frigate_tls_managed_ca_dir": str(directory / "ca"), "frigate_tls_managed_ca_allow_unencrypted_key": True,
        "frigate_tls_san": ["localhost"],
        "frigate_restream_password": RESTREAM_PASSWORD,
        "frigate_stream_proxy_enabled": False,
    }
    nvr.update(nvr_vars)
    nvrs = {"localhost": nvr}
    for name, overrides in (other_nvrs or {}).items():
        nvrs[name] = dict(nvr, ming_base_dir=str(directory / name),
                          ming_compose_project=f"{nvr['ming_compose_project']}-{name}", **overrides)
    camera = {"sensingcam_line": "line1", "sensingcam_username": "Service", "sensingcam_password": CAMERA_PASSWORD,
              "sensingcam_rtsp_paths": {"video0": "/live/0", "video1": "/live/1"}}
    data = {"all": {"children": {
        "ming_nvr": {"hosts": nvrs},
        "ming_brokers": {"hosts": {"broker-t": {
            "ansible_host": "mqtt.test.example", "mosquitto_tls_port": 8883,
            "mosquitto_tls_source": "files", "mosquitto_tls_ca_file": str(ca),
            "mosquitto_clients": [{"name": "frigate", "role": "frigate", "password": MQTT_PASSWORD}]}}},
        "sensingcams": {"hosts": {
            "cam-line1-st10": dict(camera, sensingcam_host="10.20.1.10", sensingcam_station="st10",
                                   sensingcam_ingest="rtsp",
                                   sensingcam_stream_roles={"archive": "video0", "detect": "video1"},
                                   sensingcam_streams={"video1": {"resolution": "640x360"}}),
            "cam-line1-st20": dict(camera, sensingcam_host="10.20.1.20", sensingcam_station="st20",
                                   sensingcam_rtsp_port=8554),
            "cam-line2-st10": dict(camera, sensingcam_host="10.20.2.10", sensingcam_line="line2",
                                   sensingcam_station="st10", sensingcam_ingest="websocket")}},
    }}}
    path = directory / "hosts.yml"
    path.write_text(yaml.safe_dump(data))
    return path


class Rollout:
    """ansible-playbook runs of frigate_rollout.yml, every output kept for the secret check."""

    def __init__(self, directory, hosts):
        self.directory = directory
        self.hosts = hosts
        self.base = directory / "base"
        self.outputs = []

    def run(self, check=False, expect_failure=False, tags=None):
        """One ansible-playbook run; its PlaybookResult (for ``localhost``), or with ``expect_failure`` its output
        (the run must fail), or with ``expect_failure=None`` the pair (return code, report): hosts may fail."""
        done = run_json_playbook(["-i", str(self.hosts), str(PLAYBOOK)], check=check, tags=tags)
        self.outputs.append(done.stdout + done.stderr)
        if expect_failure is None:
            return done.returncode, json_report(done.stdout)
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
        return PlaybookResult(json_report(done.stdout))


PROXY_PORT = 18443 + int(uuid.uuid4().int % 1000)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    """One converged roll-out for the whole module: the first run, then the second (idempotence), both kept."""
    directory = tmp_path_factory.mktemp("frigate-role")
    subject = Rollout(directory, inventory(directory, frigate_stream_proxy_enabled=True,
                                           frigate_stream_proxy_port=PROXY_PORT,
                                           frigate_stream_proxy_listen_addresses=["127.0.0.1"]))
    try:
        subject.first = subject.run()
        subject.second = subject.run()
        yield subject
    finally:
        remove_compose_project(PROJECT, services=("frigate", "frigate-stream-proxy"))


def config_of(rollout):
    return yaml.safe_load((rollout.base / "frigate" / "config" / "config.yml").read_text())


def fragment_of(rollout):
    return yaml.safe_load((rollout.base / "compose.d" / "frigate.yml").read_text())["services"]["frigate"]


def test_rendered_only_and_said_so(rollout):
    assert rollout.first.changed > 0
    assert containers_of(PROJECT) == []
    report = rollout.first.task_result("Report how the config was checked")["msg"]
    assert "rendered only, not checked by Frigate" in report and "is not on this host" in report


def test_the_config_is_for_the_pinned_release(rollout):
    config = config_of(rollout)
    assert config["version"] == "0.18-0"
    assert set(config["cameras"]) == {"cam-line1-st10", "cam-line1-st20"}, "the websocket camera is left out"
    assert "retain" not in config["record"] and config["record"]["motion"] == {"days": 7}
    assert config["mqtt"]["host"] == "mqtt.test.example" and config["mqtt"]["tls_insecure"] is False
    assert config["review"]["alerts"]["enabled"] is True and "plc_event" in config["review"]["alerts"]["labels"]
    streams = config["go2rtc"]["streams"]
    assert streams["cam-line1-st10"] == [
        "rtsp://{FRIGATE_CAM_CAM_LINE1_ST10_USER}:{FRIGATE_CAM_CAM_LINE1_ST10_PASSWORD}@10.20.1.10:554/live/0"]
    assert streams["cam-line1-st20"] == [
        "rtsp://{FRIGATE_CAM_CAM_LINE1_ST20_USER}:{FRIGATE_CAM_CAM_LINE1_ST20_PASSWORD}@10.20.1.20:8554/live/0"]
    assert config["cameras"]["cam-line1-st10"]["detect"]["width"] == 640
    left_out = rollout.first.task_result("Report cameras left out of Frigate")["msg"]
    assert "cam-line2-st10" in left_out


def test_the_config_is_mounted_read_only(rollout):
    volumes = fragment_of(rollout)["volumes"]
    config_mounts = [v for v in volumes if (v if isinstance(v, str) else v.get("target", "")).find(
        "/config/config.yml") >= 0]
    assert len(config_mounts) == 1, volumes
    mount = config_mounts[0]
    if isinstance(mount, str):
        assert mount.endswith("/config/config.yml:ro"), mount
    else:
        assert mount["read_only"] is True, mount
    secrets = [v for v in volumes if isinstance(v, str) and ":/run/secrets" in v]
    assert secrets and all(v.endswith(":ro") for v in secrets), volumes


def test_secrets_are_files_0400_and_not_in_the_config(rollout):
    directory = rollout.base / "frigate" / "config" / "secrets"
    names = sorted(path.name for path in directory.iterdir())
    assert names == sorted(["FRIGATE_CAM_CAM_LINE1_ST10_USER", "FRIGATE_CAM_CAM_LINE1_ST10_PASSWORD",
                            "FRIGATE_CAM_CAM_LINE1_ST20_USER", "FRIGATE_CAM_CAM_LINE1_ST20_PASSWORD",
                            "FRIGATE_MQTT_USER", "FRIGATE_MQTT_PASSWORD",
                            "FRIGATE_RTSP_RESTREAM_USER", "FRIGATE_RTSP_RESTREAM_PASSWORD"])
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o400, path
    assert stat.S_IMODE(directory.stat().st_mode) == 0o500
    encoded = (directory / "FRIGATE_CAM_CAM_LINE1_ST10_PASSWORD").read_text().strip()
    assert encoded == SECRETS["camera (encoded)"], "go2rtc takes the value verbatim: it must be URL-encoded"
    assert (directory / "FRIGATE_MQTT_PASSWORD").read_text().strip() == MQTT_PASSWORD
    text = (rollout.base / "frigate" / "config" / "config.yml").read_text()
    fragment = (rollout.base / "compose.d" / "frigate.yml").read_text()
    for value in SECRETS.values():
        assert value not in text and value not in fragment
    service = fragment_of(rollout)
    assert not any(name.startswith("FRIGATE_") for name in service.get("environment", {}) or {})


def test_5000_and_1984_are_not_published(rollout):
    service = fragment_of(rollout)
    targets = {int(port["target"]) for port in service["ports"]}
    assert targets == {8971}
    assert all(port["host_ip"] == "127.0.0.1" for port in service["ports"])
    assert service.get("privileged") is not True and "devices" not in service or service["devices"] == []
    frames = (640 * 360 + 1280 * 720) * 1.5 * 20 + 2 * 270480
    assert service["shm_size"] == f"{math.ceil(frames / 1048576 + 40)}m"
    assert any(str(t).startswith("/tmp/cache") for t in service["tmpfs"])
    assert json.loads(service["labels"]["sensingcam.ming.baseline.relaxed"].split(" because ")[0])["user"] == "0:0"


def test_a_second_run_changes_nothing(rollout):
    assert rollout.second.changed == 0, rollout.second.changed_tasks()
    skipped = rollout.second.task_result("Write the {FRIGATE_*} secret files (0400)")
    assert skipped.get("skipped") is True and not skipped.get("results"), "a converged host rewrites no secret file"


def proxy_fragment_of(rollout):
    return yaml.safe_load((rollout.base / "compose.d" / "frigate-stream-proxy.yml").read_text())


def test_the_stream_proxy_is_rendered_checked_and_render_only_with_frigate(rollout):
    """With Frigate rendered only, the proxy (its image ming/stream-proxy:lab is built here) is rendered only too:
    its certificate, nginx.conf (checked with nginx -t in its image) and Compose fragment are written, nothing is
    started; it admits the dashboard streams of the RTSP cameras only.

    Mutation tried: the proxy's ``validate:`` set to omit -> the module_args assertion fails."""
    assert containers_of(PROJECT) == []
    report = rollout.first.task_result("Say where the live streams are served")["msg"]
    assert "rendered only: frigate is rendered only" in report and "checked with nginx -t" in report
    template = rollout.first.task_result("Write the stream proxy's nginx.conf (validated with nginx -t)")
    assert template["changed"] is True
    assert "/usr/sbin/nginx -t" in template["invocation"]["module_args"]["validate"]
    config_dir = rollout.base / "frigate-stream-proxy" / "config"
    nginx = (config_dir / "nginx.conf").read_text()
    assert "cam-line1-st10_dashboard" in nginx and "cam-line1-st20_dashboard" in nginx
    assert "cam-line2-st10" not in nginx, "the websocket camera has no restream"
    assert (config_dir / "tls" / "server.crt").is_file()
    service = proxy_fragment_of(rollout)["services"]["frigate-stream-proxy"]
    assert [(int(port["target"]), int(port["published"]), port["host_ip"]) for port in service["ports"]] == [
        (8443, PROXY_PORT, "127.0.0.1")]


def test_no_fragment_publishes_5000_or_1984(rollout):
    fragments = {path.name: yaml.safe_load(path.read_text()) for path in (rollout.base / "compose.d").glob("*.yml")}
    assert {"frigate.yml", "frigate-stream-proxy.yml"} <= set(fragments)
    published = [(name, int(port["target"])) for name, fragment in fragments.items()
                 for service in (fragment.get("services") or {}).values() for port in service.get("ports") or []]
    assert [item for item in published if item[1] in (5000, 1984)] == [], published


def test_no_secret_in_any_output(rollout):
    everything = "\n".join(rollout.outputs)
    assert [name for name, value in SECRETS.items() if value in everything] == []
