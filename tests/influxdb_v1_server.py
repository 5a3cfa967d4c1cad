"""Start the real InfluxDB 1.x server (Debian's ``influxdb`` package, 1.6.7, binary /usr/bin/influxd) for tests.

The Debian package's service needs systemd, which these machines lack, so ``influxd -config <conf>`` is started
directly: HTTP and the RPC bind address (``bind-address``, 8088 by default) on free loopback ports, meta/data/wal
directories in the test's temporary directory, ``[http] auth-enabled = true``, optionally HTTPS with a certificate
made here with ``openssl`` (signed by a CA made here, so ``ca_path`` checks it). Continuous queries are not run by the
server (``[continuous_queries] enabled = false``): the tests run a continuous query's SELECT ... INTO themselves
over a fixed past range (a backfill), so what they count does not depend on the clock. The ``_internal`` monitor
database is off.

A missing binary fails the test with the install hint (never a skip). Start-up is a bounded poll on ``/ping``.
"""

import base64
import contextlib
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from mosquitto_broker import free_port

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
# The admin user the module-scoped server of tests/integration/data is created with; quotes and a backslash in the
# password exercise the InfluxQL quoting.
ADMIN = "admin"
ADMIN_PASSWORD = "adm-" + secrets.token_hex(8) + "'\"\\x"
ADMIN_AUTH = (ADMIN, ADMIN_PASSWORD)
INSTALL_HINT = "InfluxDB 1.x (influxd): run scripts/install-test-deps.sh runtime (Debian package influxdb)"


def require_influxd():
    """Fails (never skips) a test that needs influxd when it is missing."""
    if not os.access(INFLUXD, os.X_OK):
        pytest.fail(f"missing prerequisite: {INSTALL_HINT}")


def make_tls_files(directory):
    """(ca.pem, server.pem with certificate and key) for 127.0.0.1/localhost, made with openssl."""
    directory = Path(directory)
    ca_key, ca_pem = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n")

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_pem),
            "-days", "2", "-subj", "/CN=ming test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=localhost")
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "2", "-extfile", str(ext))
    bundle = directory / "server.pem"
    bundle.write_text(cert.read_text() + key.read_text())
    return ca_pem, bundle


class InfluxDBServer:
    """A running ``influxd`` (1.x) with authentication on; ``tls`` serves HTTPS with a certificate from ``ca_pem``."""

    def __init__(self, directory, tls=False):
        self.directory = Path(directory)
        self.tls = tls
        self.port = None
        self.process = None
        self.ca_pem = None
        self.log_path = self.directory / "influxd.log"
        self._log = None

    @property
    def url(self):
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def config(self, http_port, rpc_port, tls_lines):
        return "\n".join([
            "reporting-enabled = false",
            f'bind-address = "127.0.0.1:{rpc_port}"',
            "[meta]",
            f'  dir = "{self.directory / "meta"}"',
            "[data]",
            f'  dir = "{self.directory / "data"}"',
            f'  wal-dir = "{self.directory / "wal"}"',
            "  query-log-enabled = false",
            "[monitor]",
            "  store-enabled = false",
            "[continuous_queries]",
            "  enabled = false",
            "[http]",
            f'  bind-address = "127.0.0.1:{http_port}"',
            "  auth-enabled = true",
            "  log-enabled = true",
            *tls_lines,
            "",
        ])

    def start(self, attempts=3):
        require_influxd()
        tls_lines = []
        if self.tls:
            self.ca_pem, bundle = make_tls_files(self.directory)
            tls_lines = ["  https-enabled = true", f'  https-certificate = "{bundle}"']
        for _attempt in range(attempts):
            self.port = free_port()
            config = self.directory / "influxdb.conf"
            config.write_text(self.config(self.port, free_port(), tls_lines))
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen([INFLUXD, "-config", str(config)], stdout=self._log,
                                            stderr=subprocess.STDOUT)
            if self._wait_ping():
                return self
            self.stop()
            if "address already in use" not in self.log():
                break
        raise RuntimeError(f"influxd did not start:\n{self.log()[-4000:]}")

    def _wait_ping(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                status, _body = self.request("GET", "/ping")
                if status == 204:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    def log(self):
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")
        return ""

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    # -- talking to it, for assertions ------------------------------------------------------------------------
    def request(self, method, path, data=None, auth=None, query=None):
        """(status, decoded body or text) of one request; ``auth`` is (user, password) for the Basic header."""
        import ssl

        url = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        if isinstance(data, dict):
            data = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif isinstance(data, str):
            data = data.encode()
        context = ssl.create_default_context(cafile=str(self.ca_pem)) if self.tls else None
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310 (test)
                status, content = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, content = exc.code, exc.read()
        text = content.decode(errors="replace")
        try:
            return status, json.loads(text) if text.strip() else None
        except ValueError:
            return status, text

    def query(self, statement, auth, database=None):
        """(status, body) of a POST /query."""
        form = {"q": statement}
        if database:
            form["db"] = database
        return self.request("POST", "/query", data=form, auth=auth)

    def rows(self, statement, auth, database=None):
        """Rows (dicts) of a query that must succeed, with ``_series`` and ``_tags``."""
        status, body = self.query(statement, auth, database)
        assert status == 200, (statement, status, body)
        found = []
        for result in body["results"]:
            assert "error" not in result, (statement, result)
            for series in result.get("series") or []:
                for values in series.get("values") or []:
                    row = dict(zip(series["columns"], values, strict=True))
                    row["_series"] = series.get("name")
                    row["_tags"] = series.get("tags") or {}
                    found.append(row)
        return found

    def write(self, lines, auth, database, rp=None, precision="s"):
        """(status, body) of a POST /write of line-protocol ``lines``."""
        query = {"db": database, "precision": precision}
        if rp:
            query["rp"] = rp
        return self.request("POST", "/write", data="\n".join(lines) + "\n", auth=auth, query=query)


@contextlib.contextmanager
def running_influxdb(directory, tls=False):
    server = InfluxDBServer(directory, tls=tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def connection(server, **extra):
    """The connection options of the 1.x modules for ``server``, logged in as ADMIN."""
    args = dict(host="127.0.0.1", port=server.port, login_user=ADMIN, login_password=ADMIN_PASSWORD, retries=0)
    args.update(extra)
    return args
