"""playbooks/firmware_audit.yml audits every camera with its own connection settings, through real ansible-playbook
against two camera simulators (tools/camera_simulator, in-process on free loopback ports; no real camera).

The inventory has three groups; the first camera (the one the run_once fleet task runs for) is a plain-HTTP camera:
  plain: simulator A (shipped profile: reads need no login), its own ports, timeout 3;
  tls:   sensingcam_use_tls true, pointed at a plain-HTTP port of simulator A. The simulator cannot serve TLS, so
         an audit over HTTPS must fail the TLS handshake (unreachable) and never reach the simulator's API; an audit
         over http:// (the bug: the first camera's use_tls for the whole fleet) would reach it and approve it;
  login: simulator B, whose profile makes reads need a login, its own password; these cameras set
         sensingcam_profile_path to that profile, so they are read with a login (the first camera's profile would
         read without one and get 401).
Each camera's own settings are proven by the simulators' request and login counters per camera."""

import json
import secrets
import sys

import yaml
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.profile import load_profile
from sensingcam_simulator.testing import free_ports, running_simulator

from .conftest import PROFILE, REPO, run_playbook

AUDIT = REPO / "playbooks" / "firmware_audit.yml"


def configs(prefix, count, password, firmware="2.6.2"):
    return [CameraConfig(name=f"{prefix}{i + 1}", port=port, user="Service", password=password,
                         firmware_version=firmware, serial=f"SIM-{prefix}{i + 1}")
            for i, port in enumerate(free_ports(count))]


def login_profile(tmp_path):
    raw = yaml.safe_load(PROFILE.read_text())
    raw["auth"]["reads_require_login"]["value"] = True
    path = tmp_path / "reads-need-login.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def hosts(sim, names):
    return {name: {"sensingcam_host": "127.0.0.1", "sensingcam_port": sim.camera(name).config.port} for name in names}


def inventory(path, plain, tls_port, login, login_profile_path, password_a, password_b):
    groups = {
        "plain": {"hosts": hosts(plain, ["pa1", "pa2"]),
                  "vars": {"sensingcam_password": password_a, "sensingcam_timeout": 3, "sensingcam_retries": 0}},
        "tls": {"hosts": {"tl1": {"sensingcam_host": "127.0.0.1", "sensingcam_port": tls_port}},
                "vars": {"sensingcam_use_tls": True, "sensingcam_password": password_a, "sensingcam_timeout": 4,
                         "sensingcam_retries": 0}},
        "login": {"hosts": hosts(login, ["lb1", "lb2"]),
                  "vars": {"sensingcam_password": password_b, "sensingcam_profile_path": str(login_profile_path),
                           "sensingcam_timeout": 5, "sensingcam_retries": 1}},
    }
    path.write_text(yaml.safe_dump({"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable},
        "children": {"sensingcams": {"children": groups}}}}, sort_keys=False))
    return path


def test_every_camera_is_audited_with_its_own_connection_settings(tmp_path):
    """Mutation (the bug): the fleet task back on module_defaults from the first camera's sensingcam_connection
    and only host/port/username/password per camera -> tl1 is audited over http:// and approved, and lb1/lb2 are
    read without a login (401, unknown)."""
    password_a, password_b = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    profile_b = login_profile(tmp_path)
    with running_simulator(configs("pa", 2, password_a) + configs("tl", 1, password_a)) as plain, \
            running_simulator(configs("lb", 2, password_b), profile=load_profile(profile_b)) as login:
        tls_port = plain.camera("tl1").config.port
        written = inventory(tmp_path / "hosts.yml", plain, tls_port, login, profile_b, password_a, password_b)
        run = run_playbook(AUDIT, written, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}",
                           "-e", "sensingcam_minimum_firmware=2.6.0")
        assert run.returncode == 0, run.stdout + run.stderr
        assert run.stdout.count("TASK [Audit the firmware of every camera in one fleet task]") == 1
        fleet_task = run.stdout.split("TASK [Audit the firmware of every camera in one fleet task]")[1]
        assert "ok: [pa1]" in fleet_task.split("TASK [")[0], "the fleet task runs for the plain-HTTP camera pa1"
        report = json.loads((tmp_path / "reports" / "firmware-audit-latest.json").read_text())
        by_name = {camera["name"]: camera for camera in report["cameras"]}
        assert {name: camera["verdict"] for name, camera in by_name.items()} == {
            "pa1": "approved", "pa2": "approved", "tl1": "unreachable", "lb1": "approved", "lb2": "approved"}
        assert f"https://127.0.0.1:{tls_port}" in by_name["tl1"]["error"]
        counters = {name: plain.camera(name).counters for name in ("pa1", "pa2", "tl1")}
        counters.update({name: login.camera(name).counters for name in ("lb1", "lb2")})
        assert counters["tl1"]["requests"] == 0, "the TLS camera was reached over plain HTTP"
        for name in ("pa1", "pa2"):
            assert counters[name]["requests"] >= 1 and counters[name]["logins_ok"] == 0
        for name in ("lb1", "lb2"):  # read with a login: its own profile, user and password
            assert counters[name]["logins_ok"] >= 1 and counters[name]["logins_failed"] == 0
        output = run.stdout + run.stderr
        assert password_a not in output and password_b not in output


def test_bad_port_or_non_ascii_password_stops_the_audit_naming_camera_and_variable(simulator, tmp_path):
    """Before any call: no camera gets a request, the message names the camera and the variable, never the value
    (mutation: the checks of the filter sensingcam_fleet_cameras, which builds the fleet task's cameras, bypassed
    -> the audit ran and exited 0)."""
    sim = simulator(3)
    password = "Kamera-\u00dcberwachung-7"
    hosts = sim.write_inventory(tmp_path / "hosts.yml")
    raw = yaml.safe_load(hosts.read_text())
    cameras = raw["all"]["children"]["sensingcams"]["hosts"]
    cameras["cam002"]["sensingcam_port"] = "eighty"
    cameras["cam003"]["sensingcam_password"] = password
    hosts.write_text(yaml.safe_dump(raw))
    run = run_playbook(AUDIT, hosts, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}")
    assert run.returncode != 0
    assert "cam002: sensingcam_port is not a TCP port (1-65535)" in run.stdout
    assert "cam003: sensingcam_password contains characters outside ASCII" in run.stdout
    assert password not in run.stdout + run.stderr
    assert all(sim.summary(name)["counters"]["requests"] == 0 for name in sim.names)
    assert not (tmp_path / "reports").exists()


def test_report_shows_version_source_suffix_and_issue_levels(simulator, tmp_path):
    """Against the simulator: cam002 is read with a profile whose FirmwareVersion name the camera does not know, so
    its version comes from ExtendedFirmwareVersion; both reports say so, list the known issue with its level and
    note the RTSP issue of a camera on RTSP (mutation: the issue-based RTSP note removed -> no note for cam002)."""
    sim = simulator(2, firmware=["2.6.2", "2.5.1"])
    raw = yaml.safe_load(PROFILE.read_text())
    raw["variables"]["identity"]["firmware_version"]["name"] = "FirmwareVersionX"
    renamed = tmp_path / "renamed.yml"
    renamed.write_text(yaml.safe_dump(raw))
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_minimum_firmware="2.6.0")
    hosts = yaml.safe_load(inventory.read_text())
    hosts["all"]["children"]["sensingcams"]["hosts"]["cam002"]["sensingcam_profile_path"] = str(renamed)
    inventory.write_text(yaml.safe_dump(hosts))
    run = run_playbook(AUDIT, inventory, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}")
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((tmp_path / "reports" / "firmware-audit-latest.json").read_text())
    markdown = (tmp_path / "reports" / "firmware-audit-latest.md").read_text()
    by_name = {camera["name"]: camera for camera in report["cameras"]}
    assert (by_name["cam001"]["version_source"], by_name["cam001"]["suffix"]) == ("FirmwareVersion", None)
    cam2 = by_name["cam002"]
    assert (cam2["version"], cam2["version_source"]) == ("2.5.1+sim_build", "ExtendedFirmwareVersion")
    assert cam2["version_strings"] == {"ExtendedFirmwareVersion": "2.5.1+sim_build"}
    assert cam2["verdict"] == "below_minimum" and cam2["known_issues"][0]["level"] == "assumed"
    assert cam2["notes"] == ["ingest is rtsp but firmware 2.5.1+sim_build has a known RTSP issue (level assumed): "
                             "RTSP connections reported to drop intermittently (third-party report); workaround "
                             "RTSP over TCP. Update the camera or set sensingcam_ingest: websocket"]
    row = next(line for line in markdown.splitlines() if line.startswith("| cam002 |"))
    assert "workaround RTSP over TCP (level assumed); version from ExtendedFirmwareVersion; ingest is rtsp" in row
    assert "| cam001 | line1 | st001 | rtsp | 2.6.2 | approved | - |" in markdown
