"""Benchmark: firmware audit of 500 simulated cameras, beside one-camera-at-a-time baselines from the same run.

    .venv/bin/python tests/bench/bench_firmware_audit.py        (also run by scripts/run-tests.sh bench)

Runs against the camera simulator (tools/camera_simulator, a separate process, 20 ms latency per request like a
camera on a plant network), not a real camera. Measured, in this order:
  1. fleet audit: ``ansible-playbook playbooks/firmware_audit.yml`` over a 500-host inventory (one fleet task,
     sensingcam_audit_parallel cameras at a time), end to end including Ansible start-up and both reports;
  2. baseline A, one camera at a time the usual Ansible way: one sensingcam_firmware_info run per host with
     ``--forks 1``, measured on the first BASELINE_SUBSET cameras and extrapolated linearly to 500;
  3. baseline B, the same playbook with sensingcam_audit_parallel=1 on all 500 cameras (no extrapolation).
Prints wall times, cameras/s and ratios; the targets (>= 10x baseline A, < 60 s) are reported, never asserted.
Exits non-zero only when an audit reports wrong results (not all 500 audited, wrong verdicts).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CAMERAS = 500
PARALLEL = 64
BASELINE_SUBSET = 25
LATENCY_MS = 20
VENV_BIN = Path(sys.executable).parent
PROFILE = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"


def free_port_range(count):
    """A base port with ``count`` consecutive free loopback ports."""
    for base in range(30000, 60000 - count, count + 17):
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket()
                sock.bind(("127.0.0.1", port))
                sockets.append(sock)
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise SystemExit("no range of free loopback ports")


def environment(workdir):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_NOCOLOR="1", PWD=str(workdir),
               ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
    return env


def start_simulator(workdir, base_port):
    command = [sys.executable, "-m", "sensingcam_simulator", "--cameras", str(CAMERAS), "--base-port", str(base_port),
               "--password-file", str(workdir / "camera-password"), "--firmware-versions", "2.6.2,2.5.1",
               "--latency-ms", str(LATENCY_MS), "--control-port", "-1", "--profile", str(PROFILE),
               "--log-level", "WARNING"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=environment(workdir))
    started = time.monotonic()
    line = process.stdout.readline()
    while line and "ready" not in line:
        line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise SystemExit("the camera simulator did not start")
    return process, time.monotonic() - started


def write_inventory(workdir, base_port):
    hosts = {f"cam{i:03d}": {"sensingcam_host": "127.0.0.1", "sensingcam_port": base_port + i - 1,
                             "sensingcam_line": f"line{(i - 1) // 50 + 1}", "sensingcam_station": f"st{i:03d}",
                             "sensingcam_ingest": "websocket"}
             for i in range(1, CAMERAS + 1)}
    password = (workdir / "camera-password").read_text().strip()
    variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                 "sensingcam_password": password, "sensingcam_minimum_firmware": "2.6.0",
                 "sensingcam_timeout": 10, "sensingcam_retries": 0}
    path = workdir / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"sensingcams": {"hosts": hosts, "vars": variables}}}}))
    return path


def timed(command, workdir):
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=environment(workdir), timeout=600,
                         check=False)
    return time.monotonic() - started, run


def fleet_task_seconds(stdout):
    """Duration of the fleet audit task alone, from the profile_tasks callback's summary."""
    for line in stdout.splitlines():
        if line.startswith("Audit the firmware of every camera in one fleet task"):
            return float(line.rsplit(None, 1)[-1].rstrip("s"))
    return float("nan")


def audit_playbook(workdir, inventory, parallel, report_dir):
    seconds, run = timed([str(VENV_BIN / "ansible-playbook"), str(REPO / "playbooks" / "firmware_audit.yml"),
                          "-i", str(inventory), "-e", f"sensingcam_audit_parallel={parallel}",
                          "-e", f"sensingcam_report_dir={report_dir}"], workdir)
    problems = []
    seconds = (seconds, fleet_task_seconds(run.stdout))
    if run.returncode != 0:
        problems.append(f"ansible-playbook exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}")
        return seconds, problems
    report = json.loads((workdir / report_dir / "firmware-audit-latest.json").read_text())
    cameras = report["cameras"]
    if len(cameras) != CAMERAS or report["summary"]["total"] != CAMERAS:
        problems.append(f"{len(cameras)} cameras in the report, expected {CAMERAS}")
    expected = {f"cam{i:03d}": ("2.6.2", "approved") if i % 2 else ("2.5.1", "below_minimum")
                for i in range(1, CAMERAS + 1)}
    wrong = [c["name"] for c in cameras if expected.get(c["name"]) != (c["version"], c["verdict"])]
    if wrong:
        problems.append(f"{len(wrong)} cameras with a wrong version or verdict, e.g. {wrong[:5]}")
    return seconds, problems


def per_host_baseline(workdir, inventory):
    args = json.dumps({"host": "{{ sensingcam_host }}", "port": "{{ sensingcam_port }}", "profile": str(PROFILE),
                       "minimum_version": "2.6.0", "timeout": 10, "retries": 0})
    seconds, run = timed([str(VENV_BIN / "ansible"), "sensingcams", "-i", str(inventory), "--forks", "1",
                          "--limit", f"sensingcams[0:{BASELINE_SUBSET - 1}]",
                          "-m", "sensingcam.ming.sensingcam_firmware_info",
                          "-a", args], workdir)
    problems = []
    audited = sum(1 for line in run.stdout.splitlines() if line.strip().startswith(("verdict:", '"verdict":')))
    if run.returncode != 0 or audited != BASELINE_SUBSET:
        problems.append(f"per-host baseline audited {audited} of {BASELINE_SUBSET} (exit {run.returncode}):\n"
                        f"{run.stdout[-2000:]}")
    return seconds, problems


def main():
    problems = []
    with tempfile.TemporaryDirectory(prefix="bench-firmware-audit-") as temporary:
        workdir = Path(temporary)
        base_port = free_port_range(CAMERAS)
        simulator, startup = start_simulator(workdir, base_port)
        try:
            inventory = write_inventory(workdir, base_port)
            print(f"camera simulator: {CAMERAS} cameras on 127.0.0.1:{base_port}-{base_port + CAMERAS - 1}, "
                  f"{LATENCY_MS} ms per request, started in {startup:.1f} s")
            fleet, found = audit_playbook(workdir, inventory, PARALLEL, "reports-fleet")
            problems += found
            subset, found = per_host_baseline(workdir, inventory)
            problems += found
            serial, found = audit_playbook(workdir, inventory, 1, "reports-serial")
            problems += found
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)

    (fleet, fleet_task), (serial, serial_task) = fleet, serial
    per_host = subset / BASELINE_SUBSET * CAMERAS
    rows = [
        (f"fleet audit playbook, parallel {PARALLEL} (end to end, both reports)", fleet),
        (f"  its fleet task alone (sensingcam_firmware_info, {CAMERAS} cameras)", fleet_task),
        (f"baseline A: one module run per host, forks 1 ({BASELINE_SUBSET} measured, x{CAMERAS // BASELINE_SUBSET})",
         per_host),
        (f"baseline B: fleet audit playbook, parallel 1 (all {CAMERAS} measured)", serial),
        ("  its fleet task alone", serial_task),
    ]
    print()
    print(f"{'run':<66} {'wall s':>8} {'cameras/s':>10}")
    for label, seconds in rows:
        print(f"{label:<66} {seconds:8.1f} {CAMERAS / seconds:10.1f}")
    ratio_a, ratio_b, ratio_task = per_host / fleet, serial / fleet, serial_task / fleet_task
    print()
    print(f"speed-up vs baseline A (one camera at a time, one module run per host): {ratio_a:.1f}x")
    print(f"speed-up vs baseline B (same playbook, parallel 1), end to end:        {ratio_b:.1f}x")
    print(f"speed-up vs baseline B, fleet task alone (without Ansible overhead):   {ratio_task:.1f}x")
    print(f"target >= 10x the one-camera-at-a-time baseline (A): {'met' if ratio_a >= 10 else 'NOT met'}; "
          f"target < 60 s for {CAMERAS} cameras: {'met' if fleet < 60 else 'NOT met'} ({fleet:.1f} s end to end)")
    if problems:
        print("\nWRONG RESULTS:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
