"""The grafana role's check of a rendered grafana.ini (roles/grafana/files/grafana_ini_check.py), run by the role's
``validate:`` before the file replaces the live one, and the role's secret options. Pure Python on real files; no
Grafana.

Mutations tried (each made a test here fail, then was undone):
- the secret-reference check removed (``if False and ...``) -> test_a_literal_secret_is_refused
- ``strict=True`` dropped from the parser -> test_a_duplicate_key_is_refused
- the sanitizer entry removed from REQUIRED -> test_each_required_setting_is_enforced[panels-...]
- ``no_log: true`` removed from grafana_smtp_password in meta/argument_specs.yml
  -> test_every_secret_option_is_no_log
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "grafana"
SCRIPT = ROLE / "files" / "grafana_ini_check.py"
SECRET_KEYS = ["security.admin_password", "security.secret_key", "auth.generic_oauth.client_secret", "smtp.password"]
GOOD = """; rendered
[server]
protocol = https
[auth.anonymous]
enabled = false
[panels]
disable_sanitize_html = false
[security]
cookie_secure = true
admin_password = $__file{/etc/grafana/secrets/admin_password}
secret_key = $__file{/etc/grafana/secrets/secret_key}
[auth.generic_oauth]
client_secret = $__file{/etc/grafana/secrets/oidc_client_secret}
role_attribute_path = \"\"\"contains(groups[*], 'a') && 'Admin' || 'Viewer'\"\"\"
"""


def load_check():
    spec = importlib.util.spec_from_file_location("grafana_ini_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CHECK = load_check()


def problems(tmp_path, text):
    path = tmp_path / "grafana.ini"
    path.write_text(text)
    return CHECK.problems(str(path), SECRET_KEYS)


def test_a_good_file_has_no_problem(tmp_path):
    assert problems(tmp_path, GOOD) == []


def test_a_literal_secret_is_refused(tmp_path):
    text = GOOD.replace("$__file{/etc/grafana/secrets/admin_password}", "hunter2-hunter2")
    found = problems(tmp_path, text)
    assert found == ["[security] admin_password is no $__file{/etc/grafana/secrets/...} reference (a literal secret?)"]
    assert "hunter2" not in " ".join(found)
    # a reference outside the secrets directory is refused too
    text = GOOD.replace("/etc/grafana/secrets/secret_key", "/tmp/secret_key")
    assert len(problems(tmp_path, text)) == 1


def test_a_duplicate_key_is_refused(tmp_path):
    found = problems(tmp_path, GOOD + "[server]\nprotocol = http\n")
    assert len(found) == 1 and found[0].startswith("not a valid INI file")


@pytest.mark.parametrize("section, key, good, bad", [
    ("server", "protocol", "https", "http"),
    ("auth.anonymous", "enabled", "false", "true"),
    ("panels", "disable_sanitize_html", "false", "true"),
    ("security", "cookie_secure", "true", "false"),
], ids=lambda value: value if value in ("server", "auth.anonymous", "panels", "security") else None)
def test_each_required_setting_is_enforced(tmp_path, section, key, good, bad):
    found = problems(tmp_path, GOOD.replace(f"{key} = {good}", f"{key} = {bad}"))
    assert found == [f"[{section}] {key} must be {good}, is {bad}"]


def test_the_command_line_exits_non_zero_and_names_the_problem(tmp_path):
    """As the role's validate: runs it (python3 <script> %s <keys>): exit 1 with the problem on stderr."""
    path = tmp_path / "candidate.ini"
    path.write_text(GOOD.replace("protocol = https", "protocol = http"))
    done = subprocess.run([sys.executable, str(SCRIPT), str(path), *SECRET_KEYS], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 1 and "[server] protocol must be https, is http" in done.stderr
    path.write_text(GOOD)
    assert subprocess.run([sys.executable, str(SCRIPT), str(path), *SECRET_KEYS], check=False).returncode == 0


def test_the_role_checks_every_secret_key_it_writes():
    """Each grafana.ini key that holds a secret (vars/main.yml) is in the list the validate command passes."""
    variables = yaml.safe_load((ROLE / "vars" / "main.yml").read_text())
    assert set(variables["__grafana_ini_secret_keys"]) == set(SECRET_KEYS)


def test_every_secret_option_is_no_log():
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    # grafana_oidc holds client_secret, grafana_contact_points the webhooks' bearer_token
    secret = [name for name in options if any(word in name for word in ("password", "passphrase", "token", "secret"))]
    secret += ["grafana_oidc", "grafana_contact_points"]
    assert secret, "the scan found no secret option"
    assert [name for name in secret if not options[name].get("no_log")] == []
