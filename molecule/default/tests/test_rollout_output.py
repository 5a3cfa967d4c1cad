"""The whole output of the scenario's playbooks, as Ansible logged it (molecule.yml: every playbook with --diff and
-vvv, ANSIBLE_INJECT_INVOCATION=1 so results carry their module arguments, ANSIBLE_LOG_PATH): it holds no secret of
the scenario, and the idempotence run covered the broker host and every camera. What ran is real: site.yml against
Mosquitto in the lab image on the local Docker engine and against the camera simulator (not real cameras) that
prepare.yml started. No double: the log is the one Ansible wrote."""

import importlib.util
import sys

from scenario import (BASE_DIR, CAMERAS, REPO, SECRETS, converge_runs, log_runs, log_text, scenario_hostvars)

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "integration" / "broker"))
from broker_rollout import pem_body_lines  # noqa: E402


def camera_test_helpers():
    """tests/integration/cameras/conftest.py, for its secret_forms (a conftest cannot be imported by name)."""
    spec = importlib.util.spec_from_file_location(
        "camera_test_helpers", REPO / "tests" / "integration" / "cameras" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


secret_forms = camera_test_helpers().secret_forms


def private_key_lines(directory):
    """{file: body lines} of every PEM private key under ``directory``."""
    keys = {}
    for path in sorted(directory.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size < 1_000_000:
            text = path.read_bytes().decode("utf-8", errors="replace")
            if "PRIVATE KEY-----" in text:
                keys[path] = pem_body_lines(text)
    return keys


def scenario_secrets():
    """{what: value} for every secret of the scenario: each file of its secrets dir (broker client and health
    passwords, the camera password) in every form that gives it away (secret_forms: plain, base64, URL-encoded,
    JSON-escaped, the camera login's HA1), the managed CA's passphrase if the inventory sets one, and the body lines
    of every private key: the CA's (in the secrets dir) and those the roll-out wrote under its base directory."""
    hostvars = scenario_hostvars()
    camera_user = hostvars[CAMERAS[0]]["sensingcam_username"]
    secrets = {}
    for path in sorted(SECRETS.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text()
        if "-----BEGIN" in text:
            continue  # PEM: private keys below, certificates are public
        assert len(text.strip()) >= 16, f"{path} holds a value too short to scan for without false alarms"
        for form, value in secret_forms(text.strip(), camera_user).items():
            secrets[f"{path.relative_to(SECRETS)} ({form})"] = value
    passphrase = hostvars["localhost"].get("mosquitto_tls_managed_ca_passphrase") or ""
    if "{{" in passphrase:
        # A lookup in the secrets dir is scanned above as its file; anything else this test cannot resolve.
        assert "ming_lab_secrets_dir" in passphrase, "the CA passphrase comes from elsewhere: scan it here"
    elif passphrase:
        secrets["mosquitto_tls_managed_ca_passphrase"] = passphrase
    for directory in (SECRETS, BASE_DIR):
        for path, lines in private_key_lines(directory).items():
            for line in lines:
                secrets[f"{path} private key line {line[:8]}..."] = line
    return secrets


def test_every_converge_run_was_logged_with_diff_and_module_arguments():
    """The log holds the four runs of converge.yml (fresh-host check, converge, idempotence, converged-host check)
    and prepare.yml, at the verbosity that shows module arguments, and the first converge shows its diffs: a log
    without them would make the secret scan below pass on nothing."""
    runs = log_runs(log_text())
    assert "prepare.yml" in [run.playbook for run in runs]
    for name, run in converge_runs(runs).items():
        assert '"module_args"' in run.text or "module_args:" in run.text, (
            f"the {name} run shows no module arguments (-vvv and ANSIBLE_INJECT_INVOCATION=1)")
    assert "--- before" in converge_runs(runs)["converge"].text, "the converge run shows no diff (--diff)"


def test_no_secret_of_the_scenario_appears_in_the_log():
    """Every secret of the scenario (scenario_secrets) is looked for in the whole log of every playbook the run made;
    the failure names the secret and where it showed, never the value."""
    text = log_text()
    runs = log_runs(text)
    # The log must hold what is scanned: prepare and the four converge.yml runs.
    assert "prepare.yml" in [run.playbook for run in runs]
    converge_runs(runs)
    secrets = scenario_secrets()
    names = "\n".join(secrets)
    assert "sensingcam-service (plain)" in names and "sensingcam-service (ha1)" in names, names
    assert "mosquitto-health (plain)" in names and "mosquitto-nodered (plain)" in names, names
    assert "ca.key private key line" in names and "server.key private key line" in names, names
    leaks = []
    for what, value in secrets.items():
        position = text.find(value)
        if position >= 0:
            run = [run for run in runs if run.start <= position][-1]
            leaks.append(f"{what}: log line {text.count(chr(10), 0, position) + 1} ({run.playbook or 'no playbook'}"
                         f"{', check' if run.dry_run else ''})")
    assert not leaks, "secrets in the Ansible log:\n" + "\n".join(leaks)


def test_idempotence_run_covered_the_broker_and_every_camera():
    """molecule's idempotence step fails on any changed task; this proves it ran the tasks of every host: the
    broker host and the three cameras (camera simulator) are in its recap with tasks run and nothing changed, after
    a converge that did change each of them and a fresh-host check that predicted it."""
    runs = converge_runs(log_runs(log_text()))
    hosts = {"localhost", *CAMERAS}
    recaps = {name: run.recap() for name, run in runs.items()}
    for name, recap in recaps.items():
        assert set(recap) == hosts, f"{name}: the recap lists {sorted(recap)}"
        assert all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values()), recap
    for host in hosts:
        assert recaps["check (fresh host)"][host]["changed"] > 0, (host, recaps["check (fresh host)"])
        assert recaps["converge"][host]["changed"] > 0, (host, recaps["converge"])
        assert recaps["idempotence"][host]["ok"] > 0, (host, recaps["idempotence"])
        assert recaps["idempotence"][host]["changed"] == 0, (host, recaps["idempotence"])
        assert recaps["check (converged host)"][host]["changed"] == 0, (host, recaps["check (converged host)"])
