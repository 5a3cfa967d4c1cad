"""What the nodered role tests (test_nodered_role*.py) share: the cameras of their inventory, fresh secrets, and the
variables every roll-out of theirs sets. Imported by tests/integration/nodered/conftest.py and the tests."""

import subprocess
import uuid

from mosquitto_broker import require

IMAGE = "ming/nodered:lab"

CAMERAS = {
    "cam-l1-s10": {"sensingcam_host": "127.0.0.1", "sensingcam_port": 18901, "sensingcam_line": "line1",
                   "sensingcam_station": "st10"},
    "cam-l2-s10": {"sensingcam_host": "127.0.0.1", "sensingcam_port": 18902, "sensingcam_line": "line2",
                   "sensingcam_station": "st10", "sensingcam_use_tls": True},
}


def role_secrets(*extra):
    """Fresh secrets of a role test: the service token, the admin, httpNodeAuth, Frigate, MQTT and InfluxDB passwords,
    each camera's, plus one per name in ``extra`` (e.g. a viewer's)."""
    secrets = {"token": f"tok-{uuid.uuid4().hex}{uuid.uuid4().hex}", "admin": f"adm-{uuid.uuid4().hex}"}
    secrets.update((name, f"{name[:2]}-{uuid.uuid4().hex}") for name in extra)
    secrets.update({"http_node": f"http-{uuid.uuid4().hex}", "frigate": f"fr-{uuid.uuid4().hex}",
                    "mqtt": f"mq-{uuid.uuid4().hex}", "influxdb": f"ifx-{uuid.uuid4().hex}"})
    secrets.update((f"camera:{camera}", f"cam-{uuid.uuid4().hex}") for camera in CAMERAS)
    return secrets


def role_variables(directory, project, port, secrets):
    """What every role test sets: its own project, base and CA directories and port on loopback, the lab image, and
    the credentials from ``secrets`` (role_secrets). Fails with the build hint when the image is missing."""
    ready = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0
    require(ready, f"needs the Docker engine (scripts/docker-engine.sh) and {IMAGE} "
                   "(scripts/build-lab-images.sh nodered)")
    return {
        "ming_base_dir": str(directory / "base"), "ming_compose_project": project,
        "nodered_image": IMAGE, "nodered_port": port, "nodered_listen_addresses": ["127.0.0.1"],
        "nodered_api_host": "127.0.0.1",
        "nodered_tls_managed_ca_dir": str(directory / "ca"), "nodered_tls_managed_ca_allow_unencrypted_key": True,
        "nodered_service_token": secrets["token"],
        "nodered_http_node_auth_password": secrets["http_node"],
        "nodered_frigate_password": secrets["frigate"],
    }
