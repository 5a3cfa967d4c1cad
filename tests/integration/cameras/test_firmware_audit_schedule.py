"""Role sensingcam.ming.firmware_audit_schedule on this machine, through real ``ansible-playbook``.

Real: the role, ansible.builtin.group/user creating a system user and group on this machine (a name unique to the
test, removed afterwards), the files and their owners and modes, ansible.builtin.cron writing a cron file under a
temporary root, the installed wrapper script run the way cron runs a job (as the cron entry's user through
``setpriv``, cron's minimal environment, ``/bin/sh -c`` on the entry's command), and ``systemd-analyze verify`` on
the rendered units. This machine has no systemd as PID 1: the timer is rendered, never started.

A stub, not the real ansible-playbook: the job's ``ansible-playbook`` is a shell script that records the uid, gid,
working directory, arguments and environment it was started with, and which of its file arguments it could read.
These tests prove who runs the job and how; the audit itself is tested against the camera simulator in
test_camera_playbooks.py.
"""

import grp
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from .conftest import recap, run_playbook

PLAY = [{"name": "Schedule the firmware audit", "hosts": "localhost", "gather_facts": False,
         "roles": [{"role": "sensingcam.ming.firmware_audit_schedule"}]}]
STUB = """#!/bin/sh
# A stub of ansible-playbook (not the real one): records who started it, where, with what; runs no playbook.
{
  echo "uid=$(id -u)"
  echo "gid=$(id -g)"
  echo "pwd=$PWD"
  for arg in "$@"; do
    echo "arg=$arg"
    file=${arg#@}
    if [ -f "$file" ] && [ -r "$file" ]; then echo "readable=$file"; fi
  done
} > ran
env > ran.env
"""


def settings(root, user, **extra):
    values = {
        "firmware_audit_schedule_user": user,
        "firmware_audit_schedule_group": user,
        "firmware_audit_schedule_script_path": str(root / "sbin" / "ming-firmware-audit"),
        "firmware_audit_schedule_working_dir": str(root / "work"),
        "firmware_audit_schedule_report_dir": str(root / "work" / "reports"),
        "firmware_audit_schedule_config_dir": str(root / "etc"),
        "firmware_audit_schedule_cron_file": str(root / "cron.d" / "ming-firmware-audit"),
        "firmware_audit_schedule_log_file": str(root / "log" / "firmware-audit.log"),
        "firmware_audit_schedule_systemd_unit_dir": str(root / "systemd"),
        "firmware_audit_schedule_ansible_playbook": str(root / "bin" / "ansible-playbook"),
        "firmware_audit_schedule_inventory": str(root / "inventory"),
        "firmware_audit_schedule_hour": 3,
        "firmware_audit_schedule_minute": 5,
        "firmware_audit_schedule_environment": {"ANSIBLE_COLLECTIONS_PATH": "/opt/ming/collections"},
        "firmware_audit_schedule_extra_args": ["--limit", "cams of line 1"],
    }
    values.update(extra)
    return values


@pytest.fixture
def schedule(tmp_path):
    """run(check=False, **variables) runs the role; run.root is the temporary root (world-traversable, so the job's
    user reaches its files), run.user the test's own audit user, run.secrets the secret values."""
    if os.geteuid() != 0:
        pytest.fail("needs root: the role creates a system user and sets file owners (make test runs as root)")
    for tool in ("setpriv", "useradd", "crontab", "flock"):
        if shutil.which(tool) is None:
            pytest.fail(f"needs {tool}: run scripts/install-test-deps.sh runtime (make test does)")
    root = Path(tempfile.mkdtemp(prefix="ming-audit-schedule-", dir="/tmp"))
    root.chmod(0o755)
    user = f"mingaudit{os.getpid() % 100000}{secrets.token_hex(2)}"
    for folder in ("sbin", "cron.d", "systemd", "bin"):
        (root / folder).mkdir(mode=0o755)
    fake = root / "bin" / "ansible-playbook"
    fake.write_text(STUB)
    fake.chmod(0o755)
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(PLAY))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    camera_password, vault_password = secrets.token_urlsafe(18), secrets.token_urlsafe(18)

    def run(check=False, **extra):
        values = settings(root, user, firmware_audit_schedule_secret_vars={"sensingcam_password": camera_password},
                          firmware_audit_schedule_vault_password=vault_password)
        values.update(extra)
        (tmp_path / "vars.yml").write_text(yaml.safe_dump(values))
        return run_playbook(playbook, inventory, "-e", f"@{tmp_path / 'vars.yml'}", "--diff", check=check)

    run.root, run.user, run.secrets = root, user, (camera_password, vault_password)
    try:
        yield run
    finally:
        subprocess.run(["userdel", user], capture_output=True, check=False)
        subprocess.run(["groupdel", user], capture_output=True, check=False)
        shutil.rmtree(root, ignore_errors=True)


def owner(path):
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, grp.getgrgid(info.st_gid).gr_name, oct(stat.S_IMODE(info.st_mode))


def assert_no_secret(schedule, *texts):
    for text in texts:
        for secret in schedule.secrets:
            assert secret not in text, "a secret of the job appears in a rendered file or the output"


def run_like_cron(schedule, cron_line):
    """Run a /etc/cron.d line's command the way cron does: as the line's user (uid, gid, supplementary groups),
    with cron's minimal environment, through /bin/sh -c."""
    fields = cron_line.split(None, 6)
    user, command = fields[5], fields[6]
    account = pwd.getpwnam(user)
    environment = ["HOME=" + account.pw_dir, "LOGNAME=" + user, "USER=" + user, "SHELL=/bin/sh",
                   "PATH=/usr/bin:/bin"]
    return subprocess.run(["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--init-groups",
                           "env", "-i", *environment, "/bin/sh", "-c", command], cwd="/", capture_output=True,
                          text=True, timeout=60, check=False)


def test_cron_path_runs_the_job_as_its_own_user(schedule):
    """No systemd here: auto picks cron. Check mode writes nothing; the run creates the system user, the wrapper
    (root:<group> 0750), the secret files (0600, the user's) and a cron entry of that user; a re-run changes nothing.
    The cron entry's command, run as cron would, runs the (stub) ansible-playbook as that user: uid and gid are the
    user's, the command line and environment name the secret files but hold no secret, and the user can read them.
    No secret appears in the wrapper, the cron file or the --diff output; state absent removes them all.

    Mutations tried: the cron entry's user set to root -> the entry and the run as the audit user fail; the
    wrapper's mode back to 0755 -> the mode check fails; no_log removed from the secret-variables task -> the
    camera password shows in the --diff output."""
    root, user = schedule.root, schedule.user
    checked = schedule(check=True)
    assert checked.returncode == 0, checked.stdout
    assert f"5 3 * * * {user}" in checked.stdout
    assert not (root / "cron.d" / "ming-firmware-audit").exists()
    assert not (root / "sbin" / "ming-firmware-audit").exists()

    applied = schedule()
    assert applied.returncode == 0, applied.stdout
    account = pwd.getpwnam(user)
    assert account.pw_uid != 0 and account.pw_shell == "/usr/sbin/nologin" and account.pw_dir == str(root / "work")
    assert owner(root / "sbin" / "ming-firmware-audit") == ("root", user, "0o750")
    assert owner(root / "etc") == ("root", user, "0o750")
    assert owner(root / "etc" / "secrets.yml") == (user, user, "0o600")
    assert owner(root / "etc" / "vault-password") == (user, user, "0o600")
    assert owner(root / "work") == (user, user, "0o750") and owner(root / "work" / "reports") == (user, user, "0o750")
    assert owner(root / "log") == (user, user, "0o750")
    camera_password, vault_password = schedule.secrets
    assert yaml.safe_load((root / "etc" / "secrets.yml").read_text()) == {"sensingcam_password": camera_password}
    assert (root / "etc" / "vault-password").read_text() == vault_password + "\n"
    cron = (root / "cron.d" / "ming-firmware-audit").read_text()
    line = next(entry for entry in cron.splitlines() if entry.startswith("5 3 "))
    assert line == f"5 3 * * * {user} {root}/sbin/ming-firmware-audit >> {root}/log/firmware-audit.log 2>&1"
    assert not list((root / "systemd").iterdir())
    again = schedule()
    assert recap(again.stdout)["localhost"]["changed"] == 0, again.stdout
    wrapper = (root / "sbin" / "ming-firmware-audit").read_text()
    assert_no_secret(schedule, wrapper, cron, checked.stdout, applied.stdout, again.stdout)

    job = run_like_cron(schedule, line)
    assert job.returncode == 0, job.stdout + job.stderr
    ran = (root / "work" / "ran").read_text().splitlines()
    assert ran[:3] == [f"uid={account.pw_uid}", f"gid={account.pw_gid}", f"pwd={root / 'work'}"]
    assert [entry[4:] for entry in ran if entry.startswith("arg=")] == [
        "sensingcam.ming.firmware_audit", "-i", str(root / "inventory"), "-e", f"@{root / 'etc' / 'secrets.yml'}",
        "--vault-password-file", str(root / "etc" / "vault-password"),
        "-e", f"sensingcam_report_dir={root / 'work' / 'reports'}", "--limit", "cams of line 1"]
    assert {entry for entry in ran if entry.startswith("readable=")} == {
        f"readable={root / 'etc' / 'secrets.yml'}", f"readable={root / 'etc' / 'vault-password'}"}
    environment = (root / "work" / "ran.env").read_text()
    assert "ANSIBLE_COLLECTIONS_PATH=/opt/ming/collections" in environment.splitlines()
    assert_no_secret(schedule, environment, "\n".join(ran))
    assert owner(root / "log" / "firmware-audit.log")[0] == user

    removed = schedule(firmware_audit_schedule_state="absent")
    assert removed.returncode == 0, removed.stdout
    cron_file = root / "cron.d" / "ming-firmware-audit"
    assert not cron_file.exists() or "ming-firmware-audit" not in cron_file.read_text()
    assert not (root / "sbin" / "ming-firmware-audit").exists()
    assert not (root / "etc" / "secrets.yml").exists() and not (root / "etc" / "vault-password").exists()


def test_the_wrapper_refuses_to_run_as_another_user(schedule):
    """Run by hand as root (or any user but the job's), the wrapper stops with exit 77 and a hint before the (stub)
    ansible-playbook starts, so no root-owned file lands in the job's directories.

    Mutation tried: the user check removed from the wrapper: the stub ran as root, this test failed."""
    assert schedule().returncode == 0
    job = subprocess.run([str(schedule.root / "sbin" / "ming-firmware-audit")], capture_output=True, text=True,
                         timeout=30, check=False)
    assert job.returncode == 77 and f"sudo -u {schedule.user}" in job.stderr, job.stderr
    assert not (schedule.root / "work" / "ran").exists()


def test_systemd_path_renders_a_sandboxed_unit(schedule):
    """systemd forced, timer not started (no systemd here): the service runs as the job's user and group in a
    sandbox (read-only system, only the working and report directories writable, no new privileges, no
    capabilities, private /tmp, no /home); check mode shows the units and writes nothing; the real
    systemd-analyze verify accepts them; no secret in either unit.

    Mutations tried: User= removed from the service -> this test fails; ProtectSystem=strict removed -> it fails."""
    if shutil.which("systemd-analyze") is None:
        pytest.fail("needs systemd-analyze: run scripts/install-test-deps.sh runtime (make test does)")
    root, user = schedule.root, schedule.user
    forced = {"firmware_audit_schedule_scheduler": "systemd", "firmware_audit_schedule_systemd_enable": False}
    checked = schedule(check=True, **forced)
    assert checked.returncode == 0, checked.stdout
    assert "OnCalendar=*-*-* 03:05:00" in checked.stdout and not list((root / "systemd").iterdir())
    applied = schedule(**forced)
    assert applied.returncode == 0, applied.stdout
    timer = (root / "systemd" / "ming-firmware-audit.timer").read_text()
    service = (root / "systemd" / "ming-firmware-audit.service").read_text()
    assert "OnCalendar=*-*-* 03:05:00" in timer and "Persistent=true" in timer and "WantedBy=timers.target" in timer
    directives = [line for line in service.splitlines() if "=" in line and not line.startswith("#")]
    for wanted in (f"ExecStart={root}/sbin/ming-firmware-audit", "Type=oneshot", f"User={user}", f"Group={user}",
                   "NoNewPrivileges=yes", "CapabilityBoundingSet=", "AmbientCapabilities=", "ProtectSystem=strict",
                   f"ReadWritePaths={root / 'work'} {root / 'work' / 'reports'}", "ProtectHome=yes",
                   "PrivateTmp=yes", "PrivateDevices=yes", "RestrictSUIDSGID=yes"):
        assert wanted in directives, f"{wanted} missing from the service unit:\n{service}"
    assert not any(line.startswith("Environment") for line in directives)
    assert_no_secret(schedule, timer, service, checked.stdout, applied.stdout)
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


@pytest.mark.parametrize(("variables", "message", "fix"), [
    ({"firmware_audit_schedule_user": "root"}, "never root", "firmware_audit_schedule_create_user"),
    ({"firmware_audit_schedule_group": "root"}, "never root", "firmware_audit_schedule_create_user"),
    ({"firmware_audit_schedule_environment": {"CAMERA_PASSWORD": "x"}}, "must not carry secrets",
     "firmware_audit_schedule_secret_vars"),
    ({"firmware_audit_schedule_extra_args": ["-e", "sensingcam_password=x"]}, "must not carry secrets",
     "firmware_audit_schedule_secret_vars"),
], ids=["root-user", "root-group", "secret-env", "secret-arg"])
def test_preflight_refuses_root_and_secrets_in_the_command(schedule, variables, message, fix):
    """Preflight, before the host is changed: root as the job's user or group, a secret-looking environment variable
    or extra argument fail naming the variables and the fix; no user, script or secret file is created.

    Mutation tried: each assert of the two preflight tasks set to true: its cases pass the preflight and fail."""
    result = schedule(**variables)
    assert result.returncode != 0, result.stdout
    assert message in result.stdout and next(iter(variables)) in result.stdout and fix in result.stdout
    assert not (schedule.root / "sbin" / "ming-firmware-audit").exists()
    assert not (schedule.root / "etc").exists()
    with pytest.raises(KeyError):
        pwd.getpwnam(schedule.user)
