"""Fixtures for the InfluxDB 1.x tests: the real InfluxDB 1.6.7 server (tests/influxdb_v1_server.py) and an
in-process module runner that records every InfluxQL statement the modules send.

Every test here runs against the real ``influxd`` 1.6.7 of Debian's ``influxdb`` package, never a double.
"""

import json
import urllib.parse

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from influxdb_v1_server import ADMIN, ADMIN_PASSWORD, running_influxdb

from ansible_collections.sensingcam.ming.plugins.module_utils import _api

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None

WRITE_WORDS = ("CREATE", "ALTER", "DROP", "GRANT", "REVOKE", "SET", "DELETE", "KILL")


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


class Recorder:
    """Every request the modules send, through the real ``_api.open_url``: (method, path, statements, auth)."""

    def __init__(self):
        self.requests = []

    def statements(self):
        return [statement for _method, _path, statements, _auth in self.requests for statement in statements]

    def writes(self):
        """Statements that change something (CREATE, ALTER, DROP, GRANT, REVOKE, SET ...)."""
        return [s for s in self.statements() if s.split(None, 1)[0].upper() in WRITE_WORDS]

    def clear(self):
        self.requests.clear()


@pytest.fixture
def recorder(monkeypatch):
    recorded = Recorder()
    real_open_url = _api.open_url

    def recording_open_url(url, data=None, headers=None, method="GET", **kwargs):
        parsed = urllib.parse.urlsplit(url)
        assert "u=" not in (parsed.query or "") and "p=" not in (parsed.query or ""), url
        form = urllib.parse.parse_qs(data.decode()) if data else {}
        form.update(urllib.parse.parse_qs(parsed.query))
        text = "; ".join(form.get("q", []))
        statements = [s.strip() for s in text.split(";") if s.strip()] if text else []
        recorded.requests.append((method, parsed.path, statements, (headers or {}).get("Authorization")))
        return real_open_url(url, data=data, headers=headers, method=method, **kwargs)

    monkeypatch.setattr(_api, "open_url", recording_open_url)
    return recorded


def module_runner(monkeypatch):
    """A function running a module's main() in-process with the given arguments; it returns (failed, result)."""
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        kwargs["warnings"] = list(warnings)
        raise ModuleExit(dict(kwargs, failed=False))

    def fail_json(self, **kwargs):
        kwargs["warnings"] = list(warnings)
        raise ModuleExit(dict(kwargs, failed=True))

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, check_mode=False, diff=False):
        warnings.clear()
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        try:
            if patch_module_args is not None:
                with patch_module_args(args):
                    module.main()
            else:
                monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
                module.main()
        except ModuleExit as done:
            return done.result["failed"], done.result
        raise AssertionError("module returned without exit_json or fail_json")

    return run


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's main() in-process with the given arguments; returns (failed, result)."""
    return module_runner(monkeypatch)


@pytest.fixture(scope="module")
def run_module_in_module_fixture():
    """``run_module`` for module-scoped fixtures."""
    with pytest.MonkeyPatch.context() as patch:
        yield module_runner(patch)


@pytest.fixture(scope="module")
def influxdb(tmp_path_factory):
    """One real InfluxDB 1.6.7 (HTTP, auth enabled) per test module, with the admin user ADMIN already created.
    Tests share it: each uses its own database and user names."""
    with running_influxdb(tmp_path_factory.mktemp("influxdb1")) as server:
        quoted = ADMIN_PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
        status, body = server.query(f"CREATE USER {ADMIN} WITH PASSWORD '{quoted}' WITH ALL PRIVILEGES", auth=None)
        assert status == 200 and "error" not in body["results"][0], body
        yield server


@pytest.fixture
def fresh_tls_influxdb(tmp_path):
    """A fresh InfluxDB 1.6.7 serving HTTPS (certificate signed by ``server.ca_pem``), auth enabled, no user yet."""
    with running_influxdb(tmp_path, tls=True) as server:
        yield server
