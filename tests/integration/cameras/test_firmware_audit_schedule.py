"""Role sensingcam.ming.firmware_audit_schedule on this machine, through real ``ansible-playbook``.

This machine has no systemd as PID 1, so the cron path runs for real (ansible.builtin.cron into a cron file under a
temporary root); the systemd path renders its units into that root without starting them and checks them with the
real ``systemd-analyze verify``. The installed job is run, but the ``ansible-playbook`` it calls is a stub that
records its working directory, environment and arguments: these tests prove the job's command line, not the audit
(the audit itself is tested against the camera simulator in test_camera_playbooks.py).
"""

import shutil
import subprocess
import sys

import pytest
import yaml

from .conftest import recap, run_playbook

PLAY = [{"name": "Schedule the firmware audit", "hosts": "localhost", "gather_facts": False,
         "roles": [{"role": "sensingcam.ming.firmware_audit_schedule"}]}]


def settings(root, **extra):
    values = {
        "firmware_audit_schedule_script_path": str(root / "sbin" / "ming-firmware-audit"),
        "firmware_audit_schedule_working_dir": str(root / "work"),
        "firmware_audit_schedule_report_dir": str(root / "work" / "reports"),
        "firmware_audit_schedule_cron_file": str(root / "cron.d" / "ming-firmware-audit"),
        "firmware_audit_schedule_log_file": str(root / "log" / "firmware-audit.log"),
        "firmware_audit_schedule_systemd_unit_dir": str(root / "systemd"),
        "firmware_audit_schedule_ansible_playbook": str(root / "bin" / "ansible-playbook"),
        "firmware_audit_schedule_inventory": str(root / "inventory"),
        "firmware_audit_schedule_hour": 3,
        "firmware_audit_schedule_minute": 5,
        "firmware_audit_schedule_environment": {"ANSIBLE_COLLECTIONS_PATH": "/opt/ming/collections"},
        "firmware_audit_schedule_extra_args": ["--vault-password-file", "/etc/ming/vault pass"],
    }
    values.update(extra)
    return values


@pytest.fixture
def schedule(tmp_path):
    root = tmp_path / "root"
    for folder in ("sbin", "cron.d", "systemd", "bin"):
        (root / folder).mkdir(parents=True)
    # A stand-in for ansible-playbook: records its arguments, so running the installed job proves the command line.
    fake = root / "bin" / "ansible-playbook"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$PWD" "$ANSIBLE_COLLECTIONS_PATH" "$@" > {root}/ran\n')
    fake.chmod(0o755)
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(PLAY))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))

    def run(check=False, **extra):
        (tmp_path / "vars.yml").write_text(yaml.safe_dump(settings(root, **extra)))
        return run_playbook(playbook, inventory, "-e", f"@{tmp_path / 'vars.yml'}", "--diff", check=check)

    run.root = root
    return run


def test_cron_path_check_apply_idempotent_remove(schedule):
    """No systemd here: auto picks cron. Check mode writes nothing, the run installs script and cron entry, a re-run
    changes nothing, the installed job calls the (stub) ansible-playbook with the audit's command line, state absent
    removes both."""
    if shutil.which("crontab") is None:
        pytest.fail("needs cron's crontab: run scripts/install-test-deps.sh runtime (make test does)")
    root = schedule.root
    checked = schedule(check=True)
    assert checked.returncode == 0, checked.stdout
    assert recap(checked.stdout)["localhost"]["changed"] >= 2
    assert "30 2" not in checked.stdout and "5 3 * * * root" in checked.stdout
    assert not (root / "cron.d" / "ming-firmware-audit").exists()
    assert not (root / "sbin" / "ming-firmware-audit").exists()

    applied = schedule()
    assert applied.returncode == 0, applied.stdout
    cron = (root / "cron.d" / "ming-firmware-audit").read_text()
    assert f"5 3 * * * root {root}/sbin/ming-firmware-audit >> {root}/log/firmware-audit.log 2>&1" in cron
    assert not list((root / "systemd").iterdir())
    again = schedule()
    assert recap(again.stdout)["localhost"]["changed"] == 0, again.stdout

    job = subprocess.run([str(root / "sbin" / "ming-firmware-audit")], capture_output=True, text=True, timeout=30,
                         check=False)
    assert job.returncode == 0, job.stderr
    assert (root / "ran").read_text().splitlines() == [
        str(root / "work"), "/opt/ming/collections", "sensingcam.ming.firmware_audit", "-i", str(root / "inventory"),
        "-e", f"sensingcam_report_dir={root / 'work' / 'reports'}", "--vault-password-file", "/etc/ming/vault pass"]

    removed = schedule(firmware_audit_schedule_state="absent")
    assert removed.returncode == 0, removed.stdout
    cron_file = root / "cron.d" / "ming-firmware-audit"
    assert not cron_file.exists() or "ming-firmware-audit" not in cron_file.read_text()
    assert not (root / "sbin" / "ming-firmware-audit").exists()


def test_systemd_path_renders_valid_units(schedule):
    """systemd forced, timer not started (no systemd here): the service and timer are rendered (check mode shows them,
    writes nothing), then written; the real systemd-analyze verify accepts them."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("needs systemd-analyze: run scripts/install-test-deps.sh runtime (make test does)")
    root = schedule.root
    forced = {"firmware_audit_schedule_scheduler": "systemd", "firmware_audit_schedule_systemd_enable": False}
    checked = schedule(check=True, **forced)
    assert checked.returncode == 0, checked.stdout
    assert "OnCalendar=*-*-* 03:05:00" in checked.stdout and not list((root / "systemd").iterdir())
    applied = schedule(**forced)
    assert applied.returncode == 0, applied.stdout
    timer = (root / "systemd" / "ming-firmware-audit.timer").read_text()
    service = (root / "systemd" / "ming-firmware-audit.service").read_text()
    assert "OnCalendar=*-*-* 03:05:00" in timer and "Persistent=true" in timer and "WantedBy=timers.target" in timer
    assert f"ExecStart={root}/sbin/ming-firmware-audit" in service and "Type=oneshot" in service
    assert not (root / "cron.d" / "ming-firmware-audit").exists()
    assert recap(schedule(**forced).stdout)["localhost"]["changed"] == 0
    units = ["ming-firmware-audit.timer", "ming-firmware-audit.service"]
    verify = subprocess.run(["systemd-analyze", "verify", *units],
                            cwd=root / "systemd", capture_output=True, text=True, timeout=60, check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_forced_systemd_timer_is_refused_without_systemd(schedule):
    """Preflight: a timer that cannot start here fails early with a message that says what to do instead."""
    result = schedule(firmware_audit_schedule_scheduler="systemd")
    assert result.returncode != 0
    assert "systemd is not this host's service manager" in result.stdout
    assert not (schedule.root / "sbin" / "ming-firmware-audit").exists()
