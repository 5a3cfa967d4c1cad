"""Benchmark: firmware audit of 5,000 simulated cameras, beside the natural alternative measured in the same run.

    .venv/bin/python tests/bench/bench_firmware_audit.py        (also run by scripts/run-tests.sh bench)

Runs against the camera simulator (tools/camera_simulator, a separate process), not a real camera: each camera on
its own loopback address (127.1.0.1, 127.1.0.2, ...) at port 80 as in a plant, 20 ms per request. Needs root (port
80) and Linux (all of 127.0.0.0/8 is local). Measured, in this order:
  1. fleet audit: ``ansible-playbook playbooks/firmware_audit.yml`` over the 5,000-camera inventory, end to end
     including Ansible start-up, inventory parsing and both reports; the fleet task alone from profile_tasks;
  2. the natural alternative: a playbook of ``ansible.builtin.uri`` reads of FirmwareVersion, one per inventory
     host, ``--forks 50``, plus a verdict per host and one report; measured on the first URI_SUBSET cameras and
     extrapolated linearly to 5,000 (all 5,000 would take about half an hour).
Prints wall times, cameras/s and the ratio; the target (< 60 s for 5,000 cameras on 2 cores) is reported, never
asserted. Exits non-zero only when a run gives wrong results (not every camera audited, wrong verdicts).
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from ipaddress import IPv4Address
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
CAMERAS = int(os.environ.get("MING_BENCH_CAMERAS", "5000"))
URI_SUBSET = int(os.environ.get("MING_BENCH_URI_CAMERAS", "200"))
URI_FORKS = 50
PARALLEL = 64
LATENCY_MS = 20
FIRST_ADDRESS = IPv4Address("127.1.0.1")
VENV_BIN = Path(sys.executable).parent
PROFILE = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"
URI_PLAYBOOK = """\
# The natural alternative: one uri read per camera host, a verdict per host, one report.
- name: Firmware audit with ansible.builtin.uri
  hosts: sensingcams
  gather_facts: false
  connection: local
  tasks:
    - name: Read FirmwareVersion
      ansible.builtin.uri:
        url: "http://{{ sensingcam_host }}/api/FirmwareVersion"
        return_content: true
        timeout: 10
      register: firmware

    - name: Verdict
      ansible.builtin.set_fact:
        verdict: "{{ 'approved' if firmware.json.data.FirmwareVersion is version('2.6.0', '>=') else 'below_minimum' }}"
        version: "{{ firmware.json.data.FirmwareVersion }}"

    - name: Report
      ansible.builtin.copy:
        content: "{{ dict(ansible_play_hosts | zip(ansible_play_hosts | map('extract', hostvars)
                   | map(attribute='verdict'))) | to_nice_json }}"
        dest: "{{ report }}"
        mode: "0600"
      run_once: true
"""


def address(index):
    """Loopback address of camera ``index`` (1-based)."""
    return str(FIRST_ADDRESS + index - 1)


def name(index):
    return f"cam{index:04d}"


def expected(index):
    return ("2.6.2", "approved") if index % 2 else ("2.5.1", "below_minimum")


def environment(workdir):
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
               ANSIBLE_NOCOLOR="1", PWD=str(workdir), ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks")
    return env


def start_simulator(workdir):
    (workdir / "camera-password").write_text("bench-camera-password\n")
    command = [sys.executable, "-m", "sensingcam_simulator", "--cameras", str(CAMERAS), "--base-port", "80",
               "--address-per-camera", str(FIRST_ADDRESS), "--password-file", str(workdir / "camera-password"),
               "--firmware-versions", "2.6.2,2.5.1", "--latency-ms", str(LATENCY_MS), "--control-port", "-1",
               "--profile", str(PROFILE), "--log-level", "WARNING"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env=environment(workdir))
    started = time.monotonic()
    output = []
    line = process.stdout.readline()
    while line and "ready" not in line:
        output.append(line)
        line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        raise SystemExit("the camera simulator did not start:\n" + "".join(output[-20:]))
    return process, time.monotonic() - started


def write_inventory(workdir):
    hosts = {name(i): {"sensingcam_host": address(i), "sensingcam_line": f"line{(i - 1) // 50 + 1}",
                       "sensingcam_station": f"st{i:04d}"}
             for i in range(1, CAMERAS + 1)}
    variables = {"ansible_python_interpreter": sys.executable, "sensingcam_minimum_firmware": "2.6.0",
                 "sensingcam_password": "bench-camera-password", "sensingcam_timeout": 10, "sensingcam_retries": 0}
    path = workdir / "hosts.yml"
    path.write_text(yaml.safe_dump({"all": {"children": {"sensingcams": {"hosts": hosts, "vars": variables}}}}))
    return path


def timed(command, workdir):
    started = time.monotonic()
    run = subprocess.run(command, capture_output=True, text=True, cwd=workdir, env=environment(workdir),
                         timeout=1200, check=False, stdin=subprocess.DEVNULL)
    return time.monotonic() - started, run


def task_seconds(stdout, prefix):
    """Duration of one task from the profile_tasks callback's summary (NaN when it is not there)."""
    for line in stdout.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(None, 1)[-1].rstrip("s"))
    return float("nan")


def fleet_audit(workdir, inventory):
    seconds, run = timed([str(VENV_BIN / "ansible-playbook"), str(REPO / "playbooks" / "firmware_audit.yml"),
                          "-i", str(inventory), "-e", f"sensingcam_audit_parallel={PARALLEL}",
                          "-e", "sensingcam_report_dir=reports-fleet"], workdir)
    task = task_seconds(run.stdout, "Audit the firmware of every camera in one fleet task")
    slowest = [line for line in run.stdout.splitlines() if "----" in line and line.rstrip().endswith("s")][:6]
    print("fleet audit, slowest tasks (profile_tasks):\n  " + "\n  ".join(slowest), flush=True)
    if run.returncode != 0:
        return seconds, task, [f"fleet audit exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"]
    report = json.loads((workdir / "reports-fleet" / "firmware-audit-latest.json").read_text())
    cameras, problems = report["cameras"], []
    if len(cameras) != CAMERAS or report["summary"]["total"] != CAMERAS:
        problems.append(f"{len(cameras)} cameras in the fleet report, expected {CAMERAS}")
    wanted = {name(i): expected(i) for i in range(1, CAMERAS + 1)}
    wrong = [c["name"] for c in cameras if wanted.get(c["name"]) != (c["version"], c["verdict"])]
    if wrong:
        problems.append(f"{len(wrong)} cameras with a wrong version or verdict in the fleet report, e.g. {wrong[:5]}")
    return seconds, task, problems


def uri_audit(workdir, inventory):
    playbook = workdir / "uri_audit.yml"
    playbook.write_text(URI_PLAYBOOK)
    report = workdir / "uri-report.json"
    seconds, run = timed([str(VENV_BIN / "ansible-playbook"), str(playbook), "-i", str(inventory),
                          "--forks", str(URI_FORKS), "--limit", f"sensingcams[0:{URI_SUBSET - 1}]",
                          "-e", f"report={report}"], workdir)
    if run.returncode != 0:
        return seconds, [f"uri playbook exited {run.returncode}:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"]
    verdicts = json.loads(report.read_text())
    wanted = {name(i): expected(i)[1] for i in range(1, URI_SUBSET + 1)}
    differing = sorted(k for k in wanted if verdicts.get(k) != wanted[k])
    return seconds, ([f"uri playbook verdicts differ for {differing[:5]}"] if differing else [])


def main():
    if os.geteuid() != 0:
        print("bench_firmware_audit needs root: the simulated cameras listen on port 80 like real ones",
              file=sys.stderr)
        return 1
    problems = []
    with tempfile.TemporaryDirectory(prefix="bench-firmware-audit-") as temporary:
        workdir = Path(temporary)
        simulator, startup = start_simulator(workdir)
        try:
            inventory = write_inventory(workdir)
            print(f"camera simulator: {CAMERAS} cameras on {address(1)}-{address(CAMERAS)} port 80, {LATENCY_MS} ms "
                  f"per request, started in {startup:.1f} s", flush=True)
            fleet, fleet_task, found = fleet_audit(workdir, inventory)
            problems += found
            uri_measured, found = uri_audit(workdir, inventory)
            problems += found
        finally:
            simulator.terminate()
            simulator.wait(timeout=60)

    uri = uri_measured / URI_SUBSET * CAMERAS
    rows = [
        (f"fleet audit playbook, parallel {PARALLEL} (end to end, both reports)", fleet, CAMERAS),
        (f"  its fleet task alone (sensingcam_firmware_info, {CAMERAS} cameras)", fleet_task, CAMERAS),
        (f"ansible.builtin.uri playbook, forks {URI_FORKS}, measured on {URI_SUBSET} cameras", uri_measured,
         URI_SUBSET),
        (f"  the same extrapolated to {CAMERAS} cameras", uri, CAMERAS),
    ]
    print()
    print(f"{'run':<70} {'wall s':>8} {'cameras/s':>10}")
    for label, seconds, count in rows:
        print(f"{label:<70} {seconds:8.1f} {count / seconds:10.1f}")
    print()
    print(f"fleet audit vs the uri playbook (extrapolated to {CAMERAS}): {uri / fleet:.1f}x faster; "
          f"per camera {fleet / CAMERAS * 1000:.1f} ms vs {uri_measured / URI_SUBSET * 1000:.1f} ms")
    print(f"target < 60 s for {CAMERAS} cameras end to end on this machine ({os.cpu_count()} CPUs): "
          f"{'met' if fleet < 60 else 'NOT met'} ({fleet:.1f} s)")
    if problems:
        print("\nWRONG RESULTS:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
