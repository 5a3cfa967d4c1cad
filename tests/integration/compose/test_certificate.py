"""compose_project's ``certificate`` entry point alone, in a small playbook run by the real ansible-playbook on
localhost (a temporary base directory; no container): the real community.crypto modules make the plant CA, the
server's key and its certificate, and the test reads them with the real ``cryptography`` library.

Every run is ``-vvv`` with ``ANSIBLE_INJECT_INVOCATION=1`` and the JSON callback, so a task that showed the CA
passphrase or a private key line would show it here; each test scans every output for both.

Mutations tried (each made a test here fail, then was restored):
- the passphrase check removed -> test_an_empty_passphrase_is_refused_before_any_change (the CA was made);
- the SAN check removed -> test_bad_settings_are_refused_naming_the_variables[san] (no message);
- the renew_days < valid_days check removed -> test_bad_settings_are_refused_naming_the_variables[renew];
- the encrypted-key check removed -> test_an_encrypted_ca_key_without_its_passphrase_fails_naming_the_variable
  (community.crypto's own message names no variable);
- ``force`` (renewal within renew_days) removed -> test_a_certificate_within_renew_days_is_reissued;
- ``ignore_timestamps: true`` removed -> test_issues_key_certificate_and_ca_and_a_second_run_changes_nothing;
- the check-mode guard of the CA key (``__compose_project_ca_dir is not changed``) removed ->
  test_check_mode_on_a_fresh_controller_changes_nothing_and_does_not_fail;
- the key's mode 0600 -> 0640 -> test_issues_key_certificate_and_ca_and_a_second_run_changes_nothing.
"""

import datetime
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mosquitto_broker import venv_tool
from playbook_report import PlaybookResult, json_report, short_name

REPO = Path(__file__).resolve().parents[3]
OWNER = 4321  # no such user needed: the key is chowned to the number
GROUP = 4322
PASSPHRASE = "ca-passphrase-7f3a9c2e1b"

PLAYBOOK = """
- name: Issue one certificate through compose_project
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Issue the server certificate from the plant CA
      ansible.builtin.include_role:
        name: sensingcam.ming.compose_project
        tasks_from: certificate
      vars:
        compose_project_certificate_name: demo
        compose_project_certificate_ca_dir: "{{ ca_dir }}"
        compose_project_certificate_ca_common_name: test plant CA
        compose_project_certificate_ca_passphrase: "{{ passphrase }}"
        compose_project_certificate_ca_allow_unencrypted_key: "{{ allow_unencrypted }}"
        compose_project_certificate_valid_days: "{{ valid_days }}"
        compose_project_certificate_renew_days: "{{ renew_days }}"
        compose_project_certificate_san: "{{ san }}"
        compose_project_certificate_dir: "{{ certificate_dir }}"
        compose_project_certificate_owner: "{{ owner }}"
        compose_project_certificate_group: "{{ group }}"
        compose_project_certificate_variable_prefix: demo_tls

    - name: Hand the result to the test
      ansible.builtin.debug:
        var: compose_project_certificates
"""


class Runner:
    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.ca_dir = tmp_path / "controller" / "ca"
        self.base_dir = tmp_path / "host"
        self.certificate_dir = self.base_dir / "demo" / "config" / "tls"
        self.playbook = tmp_path / "certificate.yml"
        self.playbook.write_text(PLAYBOOK)
        self.outputs = []

    def run(self, check=False, expect_failure=False, **overrides):
        variables = {"ca_dir": str(self.ca_dir), "certificate_dir": str(self.certificate_dir),
                     "passphrase": PASSPHRASE, "allow_unencrypted": False, "valid_days": 825, "renew_days": 30,
                     "san": ["demo.plant.example", "10.20.0.11"], "owner": str(OWNER), "group": str(GROUP),
                     "ansible_python_interpreter": sys.executable}
        variables.update(overrides)
        extra_vars = self.tmp_path / "extra-vars.json"
        extra_vars.write_text(json.dumps(variables))
        command = [str(venv_tool("ansible-playbook")), "-i", "localhost,", "-c", "local", "-e", f"@{extra_vars}",
                   str(self.playbook), "--diff", "-vvv"] + (["--check"] if check else [])
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_INJECT_INVOCATION="1")
        done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
        output = done.stdout + done.stderr
        self.outputs.append(output)
        if expect_failure:
            assert done.returncode != 0, output[-4000:]
            return Report(output)
        assert done.returncode == 0, output[-6000:]
        return Report(output)

    def leaked(self):
        """The passphrase or any private key body line now on disk, if any output showed it."""
        everything = "\n".join(self.outputs)
        lines = set()
        for key in (self.ca_dir / "ca.key", self.certificate_dir / "demo.key"):
            if key.exists():
                lines |= {line for line in key.read_text().splitlines()
                          if len(line) >= 24 and re.fullmatch(r"[A-Za-z0-9+/=]+", line)}
        found = [line[:12] for line in lines if line in everything]
        return (["the CA passphrase"] if PASSPHRASE in everything else []) + found


class Report(PlaybookResult):
    """A run's report (also of a failed run, whose output is kept in ``output``); task names without the role."""

    def __init__(self, output):
        self.output = output
        super().__init__(json_report(output))

    def changed_tasks(self):
        return [short_name(name) for name, host in self.tasks() if host.get("changed") and not host.get("skipped")]

    def failure(self):
        return self.failures()

    def certificates(self):
        (result,) = [host["compose_project_certificates"] for name, host in self.tasks()
                     if short_name(name) == "Hand the result to the test"]
        return result["demo"]


@pytest.fixture
def runner(tmp_path):
    subject = Runner(tmp_path)
    yield subject
    assert subject.leaked() == [], "the CA passphrase or a private key line appeared in an output"


def certificate_of(path):
    return x509.load_pem_x509_certificate(path.read_bytes())


def validity(certificate):
    """How long a certificate is valid, from its own dates (no clock involved): valid_days plus the hour the entry
    point backdates it by (ownca_not_before -1h, for hosts whose clocks run a little behind)."""
    return certificate.not_valid_after_utc - certificate.not_valid_before_utc


def test_issues_key_certificate_and_ca_and_a_second_run_changes_nothing(runner):
    first = runner.run()
    tls = runner.certificate_dir
    facts = first.certificates()
    assert facts == {"ca_file": str(tls / "ca.crt"), "cert_file": str(tls / "demo.crt"),
                     "key_file": str(tls / "demo.key"), "key_changed": True, "cert_changed": True,
                     "ca_changed": True}

    key = (tls / "demo.key").stat()
    assert (key.st_uid, key.st_gid, key.st_mode & 0o777) == (OWNER, GROUP, 0o600)
    for name in ("demo.crt", "ca.crt"):
        stat = (tls / name).stat()
        assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (0, GROUP, 0o644), name
    assert (tls.stat().st_uid, tls.stat().st_gid, tls.stat().st_mode & 0o777) == (0, GROUP, 0o750)
    assert (runner.ca_dir / "ca.key").stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED" in (runner.ca_dir / "ca.key").read_bytes()
    assert (runner.ca_dir / ".gitignore").read_text().splitlines()[-1] == "*"

    # The certificate is the CA's, for the key on the host, with every name and address as a SAN.
    certificate = certificate_of(tls / "demo.crt")
    ca = certificate_of(tls / "ca.crt")
    assert ca.public_bytes(serialization.Encoding.PEM) == (runner.ca_dir / "ca.crt").read_bytes()
    certificate.verify_directly_issued_by(ca)
    key = serialization.load_pem_private_key((tls / "demo.key").read_bytes(), password=None)
    assert key.public_key().public_numbers() == certificate.public_key().public_numbers()
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["demo.plant.example"]
    assert [str(address) for address in san.get_values_for_type(x509.IPAddress)] == ["10.20.0.11"]
    common_name = certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert common_name == "demo.plant.example"
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca

    files = {path: path.read_bytes() for path in (tls / "demo.key", tls / "demo.crt", tls / "ca.crt")}
    second = runner.run()
    assert second.changed == 0, second.changed_tasks()
    assert second.certificates() | {"key_changed": False} == facts | {"key_changed": False, "cert_changed": False,
                                                                      "ca_changed": False}
    assert {path: path.read_bytes() for path in files} == files
    checked = runner.run(check=True)
    assert checked.changed == 0, checked.changed_tasks()


def test_a_certificate_within_renew_days_is_reissued(runner):
    # A certificate valid for one day; renew_days 0 keeps it (valid beyond "now").
    runner.run(valid_days=1, renew_days=0)
    tls = runner.certificate_dir
    key_before = (tls / "demo.key").read_bytes()
    short = certificate_of(tls / "demo.crt")
    assert validity(short) == datetime.timedelta(days=1, hours=1)
    assert runner.run(valid_days=1, renew_days=0).changed == 0

    # It expires within renew_days 30: re-issued for 825 days, for the same key, and the fact says so.
    renewed = runner.run(valid_days=825, renew_days=30)
    assert "Install the server certificate | demo" in renewed.changed_tasks()
    facts = renewed.certificates()
    assert (facts["cert_changed"], facts["key_changed"], facts["ca_changed"]) == (True, False, False)
    fresh = certificate_of(tls / "demo.crt")
    assert fresh.serial_number != short.serial_number
    assert validity(fresh) == datetime.timedelta(days=825, hours=1)
    assert (tls / "demo.key").read_bytes() == key_before
    assert runner.run(valid_days=825, renew_days=30).changed == 0, "a fresh certificate was re-issued again"


def test_check_mode_on_a_fresh_controller_changes_nothing_and_does_not_fail(runner):
    predicted = runner.run(check=True)
    assert "Create the plant CA directory (controller)" in predicted.changed_tasks()
    assert not runner.ca_dir.exists()
    assert not runner.base_dir.exists()
    facts = predicted.certificates()
    assert facts["key_file"] == str(runner.certificate_dir / "demo.key")


def test_an_encrypted_ca_key_without_its_passphrase_fails_naming_the_variable(runner):
    runner.run()
    key = (runner.ca_dir / "ca.key").read_bytes()
    certificate = (runner.certificate_dir / "demo.crt").read_bytes()
    failed = runner.run(expect_failure=True, passphrase="", allow_unencrypted=True)
    ((task, message),) = failed.failure()
    assert task == "Check that the encrypted plant CA key has its passphrase"
    assert "ca.key is encrypted" in message
    assert "compose_project_certificate_ca_passphrase (set through demo_tls_ca_passphrase)" in message
    assert (runner.ca_dir / "ca.key").read_bytes() == key
    assert (runner.certificate_dir / "demo.crt").read_bytes() == certificate


def test_an_empty_passphrase_is_refused_before_any_change(runner):
    failed = runner.run(expect_failure=True, passphrase="")
    ((task, message),) = failed.failure()
    assert task == "Check that the plant CA key is encrypted | demo"
    assert "compose_project_certificate_ca_passphrase (set through demo_tls_ca_passphrase) is empty" in message
    assert "compose_project_certificate_ca_allow_unencrypted_key (set through demo_tls_ca_allow_unencrypted_key)" \
        in message
    assert not runner.ca_dir.exists(), "the CA was made before the check stopped the run"
    assert not runner.base_dir.exists()


@pytest.mark.parametrize("overrides, needles", [
    ({"san": []}, ["compose_project_certificate_san (set through demo_tls_san)", "at least one"]),
    ({"san": ["", ""]}, ["compose_project_certificate_san (set through demo_tls_san)"]),
    ({"renew_days": 825}, ["compose_project_certificate_renew_days (set through demo_tls_renew_days) (825)",
                           "below compose_project_certificate_valid_days"]),
    ({"ca_dir": "relative/ca"}, ["compose_project_certificate_ca_dir (set through demo_tls_ca_dir) ('relative/ca')"]),
], ids=["san", "san-blank", "renew", "ca-dir"])
def test_bad_settings_are_refused_naming_the_variables(runner, overrides, needles):
    failed = runner.run(expect_failure=True, **overrides)
    ((task, message),) = failed.failure()
    assert task.startswith("Check the "), task
    message = " ".join(message.split())
    for needle in needles:
        assert needle in message, message
    assert not runner.ca_dir.exists()
    assert not runner.base_dir.exists()
    assert not (REPO / "relative").exists()
