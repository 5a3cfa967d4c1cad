"""The camera playbooks (firmware audit, firmware update, backup) and the lab simulator script, run through real
``ansible-playbook`` processes (the Cameras play of site.yml: test_site_cameras.py).

All of these run against the camera simulator (tools/camera_simulator), not a real camera.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator.testing import free_ports

from .conftest import REPO, assert_no_secret, recap_of, run_playbook, run_module
from .test_firmware_backup_modules import PASSPHRASE, firmware_archive

pytestmark = pytest.mark.simulator
AUDIT = REPO / "playbooks" / "firmware_audit.yml"


def reports(directory):
    report = json.loads((directory / "firmware-audit-latest.json").read_text())
    markdown = (directory / "firmware-audit-latest.md").read_text()
    return report, markdown


@pytest.mark.slow
def test_audit_of_20_cameras_with_3_offline_reports_exactly_those_3(simulator, tmp_path):
    """Fault "3 of 20 cameras offline" (simulator ports closed): the audit finishes, both reports list all 20 and
    exactly those 3 as unreachable; the others get their verdicts and known issues. One fleet task audits all."""
    sim = simulator(20, firmware=["2.6.2", "2.5.1"])
    offline = ["cam004", "cam011", "cam017"]
    for name in offline:
        sim.set_faults(name, offline=True)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_minimum_firmware="2.6.0")
    run = run_playbook(AUDIT, inventory, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.count("TASK [Audit the firmware of every camera in one fleet task]") == 1
    report, markdown = reports(tmp_path / "reports")
    assert report["summary"] == {"total": 20, "approved": 8, "below_minimum": 9, "unknown": 0, "unreachable": 3}
    by_name = {camera["name"]: camera for camera in report["cameras"]}
    assert sorted(by_name) == sim.names
    assert sorted(n for n, c in by_name.items() if c["verdict"] == "unreachable") == offline
    assert all("Cannot reach the camera" in by_name[n]["error"] for n in offline)
    assert by_name["cam002"]["verdict"] == "below_minimum" and by_name["cam002"]["version"] == "2.5.1"
    assert by_name["cam002"]["known_issues"][0]["summary"].startswith("RTSP connections reported to drop")
    assert "ingest is rtsp but firmware 2.5.1" in by_name["cam002"]["notes"][0]
    assert by_name["cam001"] | {"notes": []} == by_name["cam001"] and by_name["cam001"]["verdict"] == "approved"
    assert by_name["cam001"]["line"] == "line1" and by_name["cam001"]["station"] == "st001"
    assert sorted(report["not_audited"]) == offline and len(report["violations"]) == 9
    assert "| cam004 | line1 | st004 | rtsp | - | unreachable |" in markdown
    assert "| cam002 | line1 | st002 | rtsp | 2.5.1 | below minimum | RTSP connections reported to drop" in markdown
    assert "20 in total, 8 approved, 9 below minimum, 0 unknown, 3 unreachable" in markdown
    assert sim.password not in run.stdout + run.stderr
    assert sim.password not in (tmp_path / "reports" / "firmware-audit-latest.json").read_text()
    stamped = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert len(stamped) == 4 and all(p.startswith("firmware-audit-") for p in stamped)


def test_audit_policy_fails_listing_violators_and_is_safe_in_check_mode(simulator, tmp_path):
    """Policy "fail on violation" against the simulator: non-zero exit naming the cameras below the minimum; the
    run is read-only (no login, nothing written to a camera) and works under --check."""
    sim = simulator(3, firmware=["2.6.2", "2.5.1", "2.4.0"])
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_minimum_firmware="2.6.0",
                                    sensingcam_audit_fail_on_violation=True)
    run = run_playbook(AUDIT, inventory, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}", check=True)
    assert run.returncode != 0
    assert "Firmware policy violated: 2 camera(s) run firmware below 2.6.0: cam002, cam003." in run.stdout
    report, _markdown = reports(tmp_path / "reports")
    assert report["check_mode"] is True and report["violations"] == ["cam002", "cam003"]
    for name in sim.names:
        counters = sim.summary(name)["counters"]
        assert counters["logins_ok"] == counters["logins_failed"] == counters["config_imports"] == 0


def test_audit_rejects_bad_input_before_touching_a_camera(simulator, tmp_path):
    """Input validation (firmware_audit.meta.yml) against the simulator: a bad ingest mode fails the run early."""
    sim = simulator(1)
    inventory = sim.write_inventory(tmp_path / "hosts.yml")
    run = run_playbook(AUDIT, inventory, "-e", "sensingcam_ingest=hls", "-e", f"sensingcam_report_dir={tmp_path}")
    assert run.returncode != 0 and "sensingcam_ingest" in run.stdout and "hls" in run.stdout
    assert sim.summary("cam001")["counters"]["requests"] == 0


@pytest.mark.slow
def test_firmware_update_playbook_backs_up_then_updates_in_batches(simulator, tmp_path):
    """playbooks/firmware_update.yml against the simulator: check mode says what it would do and sends nothing;
    the run backs every camera up first, updates in batches, and a re-run changes nothing."""
    sim = simulator(3, firmware=["2.5.1", "2.6.2", "2.7.0"])
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_backup_passphrase=PASSPHRASE)
    args = ["-e", "sensingcam_firmware_target=2.7.0",
            "-e", f"sensingcam_firmware_archive={firmware_archive(tmp_path / 'fw')}",
            "-e", "sensingcam_firmware_poll_interval=0.2", "-e", "sensingcam_update_serial=2",
            "-e", f"sensingcam_backup_dir={tmp_path / 'backups'}"]
    playbook = REPO / "playbooks" / "firmware_update.yml"
    checked = run_playbook(playbook, inventory, *args, check=True)
    assert checked.returncode == 0, checked.stdout
    assert "cam001: Would upgrade the camera from 2.5.1 to 2.7.0." in checked.stdout
    assert "cam002: Would upgrade the camera from 2.6.2 to 2.7.0." in checked.stdout
    assert "cam003: The camera already runs firmware 2.7.0." in checked.stdout
    assert not (tmp_path / "backups").exists()
    assert all(sim.summary(n)["counters"]["firmware_uploads"] == 0 for n in sim.names)

    applied = run_playbook(playbook, inventory, *args)
    assert applied.returncode == 0, applied.stdout
    assert applied.stdout.count("PLAY [Camera firmware update]") == 2, "serial 2 of 3 cameras: two batches"
    assert [sim.get(n, "FirmwareVersion") for n in sim.names] == ["2.7.0"] * 3
    assert [sim.summary(n)["counters"]["firmware_uploads"] for n in sim.names] == [1, 1, 0]
    assert sorted(p.name for p in (tmp_path / "backups").glob("*-latest.json")) == [
        "cam001-latest.json", "cam002-latest.json", "cam003-latest.json"]
    again = run_playbook(playbook, inventory, *args)
    assert again.returncode == 0, again.stdout
    # The re-run uploads nothing; the backups of cam001/cam002 are new (their export carries the new version).
    firmware_tasks = [part.split("TASK [", 1)[0] for part in again.stdout.split("TASK [Update the firmware")[1:]]
    assert len(firmware_tasks) == 2 and not any("changed:" in part for part in firmware_tasks), again.stdout
    assert [sim.summary(n)["counters"]["firmware_uploads"] for n in sim.names] == [1, 1, 0]


@pytest.mark.slow
def test_firmware_update_stops_after_a_failed_batch(simulator, tmp_path):
    """Fault "checksum mismatch" on the first camera (simulator rejects the image): max_fail_percentage 0 stops the
    roll-out before the next batch; the failed camera stays on its old version."""
    sim = simulator(3, firmware=["2.5.1"])
    sim.set_faults("cam001", checksum_mismatch=True)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_backup_passphrase=PASSPHRASE)
    run = run_playbook(REPO / "playbooks" / "firmware_update.yml", inventory,
                       "-e", "sensingcam_firmware_target=2.7.0",
                       "-e", f"sensingcam_firmware_archive={firmware_archive(tmp_path / 'fw')}",
                       "-e", "sensingcam_firmware_poll_interval=0.2", "-e", "sensingcam_update_serial=1",
                       "-e", f"sensingcam_backup_dir={tmp_path / 'backups'}")
    assert run.returncode != 0
    assert "stays on 2.5.1" in run.stdout
    assert [sim.get(n, "FirmwareVersion") for n in sim.names] == ["2.5.1"] * 3
    assert [sim.summary(n)["counters"]["firmware_uploads"] for n in sim.names] == [1, 0, 0]


def test_camera_backup_playbook_is_idempotent(simulator, tmp_path):
    """playbooks/camera_backup.yml against the simulator: one versioned file per camera, nothing new on a re-run."""
    sim = simulator(2)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_backup_passphrase=PASSPHRASE)
    playbook = REPO / "playbooks" / "camera_backup.yml"
    first = run_playbook(playbook, inventory, "-e", "sensingcam_backup_dir=backups", cwd=tmp_path)
    assert first.returncode == 0, first.stdout
    assert all(h["changed"] == 1 for h in recap_of(first.stdout, sim.names).values()), first.stdout
    assert len(list((tmp_path / "backups").glob("cam00?-2*.json"))) == 2, "relative to the start directory"
    again = run_playbook(playbook, inventory, "-e", "sensingcam_backup_dir=backups", cwd=tmp_path)
    assert all(h["changed"] == 0 for h in recap_of(again.stdout, sim.names).values()), again.stdout


@pytest.mark.parametrize("playbook", ["camera_backup.yml", "firmware_update.yml"])
def test_backup_playbooks_need_the_passphrase_before_touching_a_camera(simulator, tmp_path, playbook):
    """Against the simulator: without sensingcam_backup_passphrase both playbooks stop at their input check, naming
    the variable, before any request reaches a camera.

    Mutation tried: `required: true` dropped from the passphrase in both .meta.yml files: the run failed later, at
    the backup task, on an undefined variable instead of the input check; this test failed."""
    sim = simulator(1)
    inventory = sim.write_inventory(tmp_path / "hosts.yml")
    run = run_playbook(REPO / "playbooks" / playbook, inventory, "-e", f"sensingcam_backup_dir={tmp_path / 'b'}",
                       "-e", "sensingcam_firmware_target=2.7.0", "-e", f"sensingcam_firmware_archive={tmp_path}")
    assert run.returncode != 0
    assert "missing required arguments: sensingcam_backup_passphrase" in run.stdout, run.stdout
    assert sim.summary("cam001")["counters"]["requests"] == 0


def ports_free(*ports):
    for port in ports:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


LAB_CAMERAS = ("cam-line1-st10", "cam-line1-st20", "cam-line2-st10")


def lab_layout(root, ports):
    """A checkout's layout for scripts/camera-simulator-lab.sh: the real script and profile (linked), the running
    venv, and a copy of inventories/lab whose cameras listen on ``ports`` instead of 18101-18103.

    The script reads the fleet from ``<checkout>/inventories/lab``; moving the ports keeps this test from meeting
    the lab's own simulator, which `make lab` leaves running on 18101-18103 before `make test`. Its secrets go to
    ``<root>/.secrets/lab``, never to the real lab's.
    """
    (root / "scripts").mkdir(parents=True)
    for script in ("camera-simulator-lab.sh", "lab-owner.sh", "lab-process.sh"):
        (root / "scripts" / script).symlink_to(REPO / "scripts" / script)
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    (root / "profiles").symlink_to(REPO / "profiles")
    shutil.copytree(REPO / "inventories" / "lab", root / "inventories" / "lab")
    hosts_file = root / "inventories" / "lab" / "hosts.yml"
    inventory = yaml.safe_load(hosts_file.read_text())
    cameras = inventory["all"]["children"]["sensingcams"]["hosts"]
    assert sorted(cameras) == sorted(LAB_CAMERAS), "inventories/lab changed its cameras: update this test"
    for name, port in zip(LAB_CAMERAS, ports, strict=True):
        cameras[name]["sensingcam_port"] = port
    hosts_file.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return root / "scripts" / "camera-simulator-lab.sh", hosts_file


def stop_leftover_simulator(state_dir):
    """Stop a simulator this test started that the script could not stop: only processes whose command line names
    this test's own state directory (its --config file), each by its pid."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(word.startswith(str(state_dir).encode() + b"/") for word in words) and b"--config" in words:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(cmdline.parent.name), signal.SIGTERM)


def command_lines():
    """The command line of every process that still runs (one that exits meanwhile is left out)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            yield cmdline.read_bytes()


def control_get(port, path, token):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


@pytest.mark.slow
def test_lab_simulator_script_and_audit_of_the_lab_inventory(tmp_path):
    """scripts/camera-simulator-lab.sh starts the simulator for inventories/lab (idempotent), the firmware audit of
    the lab inventory writes both reports, and stop stops it. Against the camera simulator, not a real camera.
    The script creates the control token .secrets/lab/simulator-control (0600) on first use: the control API
    answers with it and refuses without it; the token is on no command line.

    Runs beside a running lab: the script runs in a throwaway checkout layout (lab_layout) whose copy of
    inventories/lab puts the three lab cameras on free ports, with its own state directory and secrets."""
    ports = free_ports(3)
    control_port = free_ports(1)[0]
    script, lab_inventory = lab_layout(tmp_path / "checkout", ports)
    state_dir = tmp_path / "state"
    env = dict(os.environ, MING_DEV_DIR=str(state_dir), MING_LAB_SIMULATOR_CONTROL_PORT=str(control_port))
    try:
        started = subprocess.run([str(script), "start"], capture_output=True, text=True, env=env, timeout=60,
                                 check=False)
        assert started.returncode == 0 and "started" in started.stdout, started.stdout + started.stderr
        token_file = tmp_path / "checkout" / ".secrets" / "lab" / "simulator-control"
        assert token_file.stat().st_mode & 0o777 == 0o600
        token = token_file.read_text().strip()
        assert len(token) >= 32 and token not in started.stdout + started.stderr
        assert not any(token.encode() in words for words in command_lines()), "the control token is on a command line"
        cameras = control_get(control_port, "/cameras", token)
        assert sorted(camera["name"] for camera in cameras["cameras"]) == sorted(LAB_CAMERAS)
        with pytest.raises(urllib.error.HTTPError) as refused:
            control_get(control_port, "/cameras", None)
        assert refused.value.code == 401
        assert "already runs" in subprocess.run([str(script), "start"], capture_output=True, text=True, env=env,
                                                timeout=60, check=False).stdout
        run = run_playbook(AUDIT, lab_inventory, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}")
        assert run.returncode == 0, run.stdout + run.stderr
        report, markdown = reports(tmp_path / "reports")
        assert {c["name"]: c["verdict"] for c in report["cameras"]} == {
            "cam-line1-st10": "approved", "cam-line1-st20": "approved", "cam-line2-st10": "below_minimum"}
        assert "| cam-line2-st10 | line2 | st10 | websocket | 2.5.1 | below minimum |" in markdown
    finally:
        stopped = subprocess.run([str(script), "stop"], capture_output=True, text=True, env=env, timeout=60,
                                 check=False)
        stop_leftover_simulator(state_dir)
    assert "stopped" in stopped.stdout
    assert ports_free(*ports)
    assert "not running" in subprocess.run([str(script), "stop"], capture_output=True, text=True, env=env,
                                           timeout=60, check=False).stdout
    shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.slow
def test_a_failed_backup_blocks_that_cameras_firmware_update(simulator, tmp_path):
    """The promise of playbooks/firmware_update.yml, "configuration backup first, then the firmware": against the
    simulator, cam002's backup fails (its <name>-latest.json in the backup directory is a directory, so the module
    cannot read or write it; the camera itself is healthy) and cam002 gets no firmware upload (simulator counter
    firmware_uploads stays 0, version stays 2.5.1) while cam001 and cam003, in the same batch, are updated.

    Mutation tried: `ignore_errors: true` on the backup task: cam002 is uploaded and updated, this test fails."""
    sim = simulator(3, firmware=["2.5.1"])
    backups = tmp_path / "backups"
    (backups / "cam002-latest.json").mkdir(parents=True)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_backup_passphrase=PASSPHRASE)
    run = run_playbook(REPO / "playbooks" / "firmware_update.yml", inventory,
                       "-e", "sensingcam_firmware_target=2.7.0",
                       "-e", f"sensingcam_firmware_archive={firmware_archive(tmp_path / 'fw')}",
                       "-e", "sensingcam_firmware_poll_interval=0.2", "-e", "sensingcam_update_serial=3",
                       "-e", "sensingcam_update_max_fail_percentage=50", "-e", f"sensingcam_backup_dir={backups}")
    assert run.returncode != 0, run.stdout
    counts = recap_of(run.stdout, sim.names)
    assert counts["cam002"]["failed"] == 1 and counts["cam001"]["failed"] == counts["cam003"]["failed"] == 0
    assert "Cannot write or read the backup file" in run.stdout
    assert [sim.summary(n)["counters"]["firmware_uploads"] for n in sim.names] == [1, 0, 1]
    assert [sim.get(n, "FirmwareVersion") for n in sim.names] == ["2.7.0", "2.5.1", "2.7.0"]
    assert sorted(p.name for p in backups.glob("cam00[13]-2*.json")) != []
    assert not list(backups.glob("cam002-2*.json"))


@pytest.mark.parametrize("fail_on_unreachable", [True, False], ids=["fails", "passes"])
def test_audit_fail_on_unreachable(simulator, tmp_path, fail_on_unreachable):
    """sensingcam_audit_fail_on_unreachable in playbooks/firmware_audit.yml, against the simulator with cam002
    offline (fault offline): true fails the run naming exactly the unreachable camera, false passes; both write the
    report with cam002 unreachable.

    Mutation tried: the `when:` of "Fail on cameras that could not be audited" set to false: the "fails" case fails."""
    sim = simulator(3)
    sim.set_faults("cam002", offline=True)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_minimum_firmware="2.6.0")
    run = run_playbook(AUDIT, inventory, "-e", f"sensingcam_report_dir={tmp_path / 'reports'}",
                       "-e", f"sensingcam_audit_fail_on_unreachable={str(fail_on_unreachable).lower()}")
    message = "1 camera(s) could not be audited (unreachable or unknown): cam002. See the report for each error."
    if fail_on_unreachable:
        assert run.returncode != 0, run.stdout
        assert message in " ".join(run.stdout.split()), run.stdout
    else:
        assert run.returncode == 0, run.stdout
        assert "camera(s) could not be audited" not in run.stdout
    report, _markdown = reports(tmp_path / "reports")
    assert report["not_audited"] == ["cam002"] and report["summary"]["unreachable"] == 1
    assert {c["name"]: c["verdict"] for c in report["cameras"]} == {
        "cam001": "approved", "cam002": "unreachable", "cam003": "approved"}


# Characters that change under base64, URL and JSON encoding, so every form of the password differs. ASCII only:
# for a non-ASCII password the client (utf-8) and the simulator (latin-1) compute different login hashes.
ODD_PASSWORD = 'Cam "pw" 7/+&%=?#:\\x'


@pytest.mark.slow
def test_camera_password_never_shows_under_diff_and_vvv(simulator, tmp_path):
    """Every camera playbook that logs in, run with --diff -vvv against the simulator (check mode and a real run
    that changes settings, a backup, a firmware update, the audit): the whole output holds the camera password in
    none of its forms (plain, base64, URL-encoded, JSON-escaped, the login's HA1). ANSIBLE_INJECT_INVOCATION is on,
    as a plant may set it: every result then carries the module's arguments, which -vvv prints, so the output is
    the most a run can show (ansible-core 2.21 injects no invocation by default).

    Mutation tried: no_log removed from the password option (module_utils/sensingcam_module.py): -vvv prints the
    invocation with the password and this test fails."""
    invocation = {"ANSIBLE_INJECT_INVOCATION": "1"}
    sim = simulator(2, firmware=["2.5.1"], password=ODD_PASSWORD)
    assert sim.password == ODD_PASSWORD
    inventory = sim.write_inventory(
        tmp_path / "hosts.yml", sensingcam_location_name="line-vienna-7",
        sensingcam_streams={"video1": {"fps": 12}}, sensingcam_event_recording={"pre_trigger_seconds": 7},
        sensingcam_secret_state_dir=str(tmp_path / "state"), sensingcam_backup_passphrase=PASSPHRASE)
    outputs = []
    for check in (True, False):
        run = run_playbook(REPO / "site.yml", inventory, "--diff", "-vvv", check=check, env=invocation)
        assert run.returncode == 0, run.stdout
        outputs.append(run.stdout + run.stderr)
    assert sim.get("cam001", "LocationName") == "line-vienna-7", "the run changed what it was asked to"
    assert sim.get("cam001", "Video1FrameRate") == 12
    assert "line-vienna-7" in outputs[0], "--diff shows the change"
    run = run_playbook(REPO / "playbooks" / "camera_backup.yml", inventory, "--diff", "-vvv",
                       "-e", f"sensingcam_backup_dir={tmp_path / 'backups'}", env=invocation)
    assert run.returncode == 0, run.stdout
    outputs.append(run.stdout + run.stderr)
    run = run_playbook(REPO / "playbooks" / "firmware_update.yml", inventory, "--diff", "-vvv",
                       "-e", "sensingcam_firmware_target=2.7.0",
                       "-e", f"sensingcam_firmware_archive={firmware_archive(tmp_path / 'fw')}",
                       "-e", "sensingcam_firmware_poll_interval=0.2", "-e", "sensingcam_update_serial=2",
                       "-e", f"sensingcam_backup_dir={tmp_path / 'backups'}", env=invocation)
    assert run.returncode == 0, run.stdout
    assert [sim.summary(n)["counters"]["firmware_uploads"] for n in sim.names] == [1, 1]
    outputs.append(run.stdout + run.stderr)
    run = run_playbook(AUDIT, inventory, "--diff", "-vvv", "-e", f"sensingcam_report_dir={tmp_path / 'reports'}",
                       env=invocation)
    assert run.returncode == 0, run.stdout
    outputs.append(run.stdout + run.stderr)
    assert all(sim.summary(n)["counters"]["logins_ok"] > 0 for n in sim.names), "the runs did log in"
    assert all("invocation:" in output for output in outputs), "the module arguments are in the output"
    for output in outputs:
        assert_no_secret(output, ODD_PASSWORD)
        assert PASSPHRASE not in output, "the backup passphrase is in the output"


def test_backup_diff_shows_secret_values_redacted(simulator, tmp_path):
    """playbooks/camera_backup.yml --diff -vvv against the simulator, with a copy of the device profile that marks
    variables.identity.location_name (LocationName) `secret: true`: the diff shows ******** for it, the output never
    holds its value, the backup file does.

    Mutation tried: the diff without redaction (sensingcam_backup diff_text without redact()): this test fails."""
    sim = simulator(1)
    marker = "secret-location-4711"
    changed = run_module("sensingcam_config", {"location_name": marker}, sim, "cam001")
    assert changed["changed"] is True and sim.get("cam001", "LocationName") == marker
    profile = yaml.safe_load((REPO / "profiles" / "sensingcam" / "sec100-fw2.yml").read_text())
    profile["variables"]["identity"]["location_name"]["secret"] = True
    profile_path = tmp_path / "sec100-fw2-marked.yml"
    profile_path.write_text(yaml.safe_dump(profile))
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_profile_path=str(profile_path),
                                    sensingcam_backup_passphrase=PASSPHRASE)
    run = run_playbook(REPO / "playbooks" / "camera_backup.yml", inventory, "--diff", "-vvv",
                       "-e", f"sensingcam_backup_dir={tmp_path / 'backups'}")
    assert run.returncode == 0, run.stdout
    assert '"LocationName": "********"' in run.stdout, run.stdout
    assert marker not in run.stdout + run.stderr
    assert json.loads((tmp_path / "backups" / "cam001-latest.json").read_text())["LocationName"] == marker
