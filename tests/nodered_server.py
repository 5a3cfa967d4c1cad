"""Run the real Node-RED 4.1.15 of the lab image (ming/nodered:lab, images/nodered) for tests.

``nodered_container(tmp_path, settings_js, files={...})`` writes the settings and files into ``<tmp>/config`` (mounted
read-only at /config, as the nodered role mounts its config dir), starts the image with the container baseline the
role uses (read-only root, tmpfs /tmp, every capability dropped, no-new-privileges, uid 1000) and a ``<tmp>/data``
bind mount as /data, waits (bounded) until ``/auth/login`` answers, and yields a ``NodeRed`` handle. The container
is removed when the ``with`` block ends, whether the test passed or not.

By default the container shares the host's network (``--network host``) so that Node-RED reaches the servers a test
runs on loopback (Mosquitto, influxd, the camera simulator, the Frigate API double); its port is ``uiPort`` from the
settings, so pick it with ``free_port()`` from tests/mosquitto_broker.py.

``minimal_settings_js(port, token_sha256)`` is a settings.js for tests: adminAuth whose ``tokens`` function accepts
the one service token whose SHA-256 is given (``Authorization: Bearer <token>``), no palette installs, a memory
default context store plus a ``file`` store (localfilesystem, cache off: every write reaches /data at once).
"""

import contextlib
import fcntl
import hashlib
import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from mosquitto_broker import docker

IMAGE = "ming/nodered:lab"
NODE_RED_VERSION = "4.1.15"
RUN_AS = "1000:1000"
REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "scripts" / "build-lab-images.sh"
# One build check per test process; the lock file serialises concurrent pytest-xdist workers.
_image_checked = False
_BUILD_LOCK = Path(os.environ.get("TMPDIR", "/tmp")) / "ming-nodered-image-build.lock"


def service_token():
    """A fresh random service token and its SHA-256 hex (what settings.js holds instead of the token)."""
    token = secrets.token_urlsafe(32)
    return token, hashlib.sha256(token.encode()).hexdigest()


def admin_password_hash(password):
    """A bcrypt hash of ``password`` for ``minimal_settings_js(admin_hash=...)``, made by the bcryptjs that Node-RED
    itself uses (in the image, so no Python bcrypt is needed); the password goes in on stdin, never in argv."""
    ensure_image()
    script = ('const bcrypt = require("/opt/node-red/node_modules/bcryptjs"); let text = "";'
              'process.stdin.on("data", (chunk) => { text += chunk; })'
              '.on("end", () => { process.stdout.write(bcrypt.hashSync(text, 8)); });')
    done = subprocess.run(["docker", "run", "--rm", "-i", "--network", "none", "--read-only", "--cap-drop", "ALL",
                           IMAGE, "node", "-e", script], input=password, capture_output=True, text=True, check=False,
                          timeout=60)
    if done.returncode != 0 or not done.stdout.startswith("$2"):
        raise RuntimeError(f"could not hash the admin password in {IMAGE}: {done.stderr.strip()}")
    return done.stdout


# A settings preamble that exposes /config/secrets.json (the role's secrets file) as MING_SECRET_<KEY> environment
# variables, the way the role's settings.js does, for tests that run the pipeline with minimal_settings_js.
SECRETS_PREAMBLE = """const mingSecrets = JSON.parse(require("fs").readFileSync("/config/secrets.json", "utf8"));
for (const [key, value] of Object.entries(mingSecrets)) {
    process.env["MING_SECRET_" + key.toUpperCase().replace(/[^A-Z0-9]/g, "_")] = value;
}"""


def minimal_settings_js(port, token_sha256, admin_hash=None, extra="", host="127.0.0.1", preamble=""):
    """A settings.js for ming/nodered:lab in tests, plain HTTP on ``host:port``.

    - adminAuth: the ``tokens`` function hashes the presented bearer token with SHA-256 and compares it with
      ``token_sha256`` in constant time (crypto.timingSafeEqual); a match is the user ``ming-automation`` with
      permissions ``*``, anything else is refused (401). ``admin_hash`` (a bcrypt hash) adds the editor user
      ``admin`` (``admin_password_hash(password)`` makes one); without it there is no password login at all.
    - palette and module installs are off (``externalModules``), projects and diagnostics off.
    - contextStorage: ``default`` is memory; ``file`` is localfilesystem with ``cache: false`` under /data/context.
    - ``extra`` (JavaScript object members, e.g. ``'functionGlobalContext: {ming: require("/config/x.js")},'``) is
      inserted last inside module.exports, so a key it repeats replaces the default above it.
    - ``preamble``: JavaScript statements run before module.exports (e.g. reading /config/secrets.json into
      process.env as the nodered role's settings.js does).
    """
    if not re.fullmatch(r"[0-9a-f]{64}", token_sha256 or ""):
        raise ValueError(f"token_sha256 must be 64 lower-case hex digits (a SHA-256), got {token_sha256!r}")
    users = []
    if admin_hash:
        users.append({"username": "admin", "password": admin_hash, "permissions": "*"})
    return f"""// settings.js for ming/nodered:lab written by tests/nodered_server.py (a test's, not the nodered role's)
const crypto = require("crypto");
const serviceTokenSha256 = Buffer.from("{token_sha256}", "hex");
{preamble}

module.exports = {{
    uiHost: {json.dumps(host)},
    uiPort: {int(port)},
    flowFile: "flows.json",
    flowFilePretty: true,
    credentialSecret: "ming-test-credential-secret",
    adminAuth: {{
        type: "credentials",
        users: {json.dumps(users)},
        tokens: function (token) {{
            const presented = crypto.createHash("sha256").update(String(token), "utf8").digest();
            const valid = presented.length === serviceTokenSha256.length
                && crypto.timingSafeEqual(presented, serviceTokenSha256);
            const user = {{user: "ming-automation", username: "ming-automation", permissions: "*"}};
            return Promise.resolve(valid ? user : null);
        }},
    }},
    externalModules: {{
        autoInstall: false,
        palette: {{allowInstall: false, allowUpload: false}},
        modules: {{allowInstall: false}},
    }},
    editorTheme: {{projects: {{enabled: false}}}},
    diagnostics: {{enabled: false, ui: false}},
    telemetry: {{enabled: false, updateNotification: false}},
    contextStorage: {{
        default: {{module: "memory"}},
        file: {{module: "localfilesystem", config: {{cache: false}}}},
    }},
    functionGlobalContext: {{}},
    logging: {{console: {{level: "info", metrics: false, audit: false}}}},
{extra}
}};
"""


def require_docker():
    """Fail (never skip) when there is no docker CLI or no engine answers."""
    hint = "run scripts/docker-engine.sh (starts the engine), then scripts/build-lab-images.sh nodered"
    if shutil.which("docker") is None:
        pytest.fail(f"the docker CLI is missing: {hint}")
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"no Docker engine answers ({done.stderr.strip()[-300:]}): {hint}")


def ensure_image():
    """Build ming/nodered:lab when it is missing or out of date (the script checks a content hash: seconds when
    nothing changed, about 75 s for a fresh build)."""
    global _image_checked
    require_docker()
    if _image_checked:
        return
    with open(_BUILD_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = subprocess.run(["bash", str(BUILD_SCRIPT), "nodered"], capture_output=True, text=True, check=False,
                              timeout=900)
    if done.returncode != 0:
        pytest.fail(f"could not build {IMAGE} with scripts/build-lab-images.sh nodered:\n"
                    f"{done.stdout[-2000:]}{done.stderr[-3000:]}")
    _image_checked = True


class NodeRed:
    """A running ming/nodered:lab container (see module docstring)."""

    def __init__(self, container, port, config_dir, data_dir, scheme="http"):
        self.container = container
        self.port = port
        self.config_dir = config_dir
        self.data_dir = data_dir
        self.scheme = scheme
        self.url = f"{scheme}://127.0.0.1:{port}"

    def logs(self, tail=200):
        done = docker("logs", "--tail", str(tail), self.container, check=False)
        return (done.stdout + done.stderr).strip()

    def state(self):
        done = docker("inspect", "--format", "{{json .State}}", self.container, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else {}

    def request(self, method, path, token=None, body=None, headers=None, timeout=10):
        """One HTTP request to the admin API -> (status, parsed JSON body or text). ``token`` becomes
        ``Authorization: Bearer``; a dict/list ``body`` is sent as JSON."""
        all_headers = dict(headers or {})
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        payload = None
        if body is not None:
            payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
            all_headers.setdefault("Content-Type", "application/json")
        if self.scheme == "https":
            context = ssl._create_unverified_context()  # a test probe of a test server; certificates are tested apart
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=payload, headers=all_headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, text

    def wait_ready(self, timeout=60.0):
        """Bounded poll of GET /auth/login; fails with the container's log tail when it never answers."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            state = self.state()
            if state and not state.get("Running", False):
                raise RuntimeError(f"Node-RED container {self.container} exited ({state.get('ExitCode')}) during "
                                   f"start-up; log tail:\n{self.logs()}")
            try:
                status, _body = self.request("GET", "/auth/login", timeout=2)
                if status == 200:
                    return self
                last = f"HTTP {status}"
            except (OSError, http.client.HTTPException) as error:
                last = str(error) or type(error).__name__
            time.sleep(0.2)
        raise RuntimeError(f"Node-RED in {self.container} did not answer {self.url}/auth/login within {timeout:.0f} s "
                           f"(last: {last}); log tail:\n{self.logs()}")

    def kill(self):
        """SIGKILL the container: no shutdown hook of Node-RED runs."""
        docker("kill", "--signal", "KILL", self.container)
        deadline = time.monotonic() + 30
        while self.state().get("Running", False) and time.monotonic() < deadline:
            time.sleep(0.1)

    def start(self):
        """Start the stopped or killed container again (same /config, same /data) and wait until it answers."""
        docker("start", self.container)
        return self.wait_ready()

    def stop(self):
        docker("stop", "--time", "10", self.container)

    def remove(self):
        docker("rm", "--force", "--volumes", self.container, check=False)


def _write_files(config_dir, settings_js, files):
    config_dir.mkdir(parents=True, exist_ok=True)
    written = {"settings.js": settings_js, **(files or {})}
    for relative, content in written.items():
        target = (config_dir / relative).resolve()
        if config_dir.resolve() not in target.parents:
            raise ValueError(f"files: {relative!r} is not a relative path under config/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            target.write_text(content)
        else:
            target.write_bytes(content)
        target.chmod(0o644)


def _give_to_container_user(path):
    """/data must be writable by uid 1000 (the image's user); as root chown it, otherwise open it up."""
    try:
        os.chown(path, 1000, 1000)
    except PermissionError:
        path.chmod(0o777)


@contextlib.contextmanager
def nodered_container(tmp_path, settings_js, files=None, network_host=True, name_hint="t", port=None, https=False,
                      startup_timeout=60.0):
    """Run ming/nodered:lab with ``settings_js`` and ``files`` under /config; yield a ready ``NodeRed``.

    ``port`` defaults to ``uiPort`` in settings_js. ``network_host=False`` runs on the default bridge and publishes
    127.0.0.1:port (settings must then listen on 0.0.0.0). ``https=True`` when the settings serve HTTPS.
    """
    ensure_image()
    if port is None:
        found = re.search(r"\buiPort\s*:\s*(\d+)", settings_js)
        if not found:
            raise ValueError("settings_js has no numeric uiPort: pass port=")
        port = int(found.group(1))
    base = Path(tmp_path) / f"nodered-{name_hint}"
    config_dir, data_dir = base / "config", base / "data"
    _write_files(config_dir, settings_js, files)
    data_dir.mkdir(parents=True, exist_ok=True)
    _give_to_container_user(data_dir)
    safe_hint = re.sub(r"[^a-zA-Z0-9_.-]", "-", name_hint)[:30]
    name = f"ming-nodered-test-{safe_hint}-{uuid.uuid4().hex[:8]}"
    network = ["--network", "host"] if network_host else ["--publish", f"127.0.0.1:{port}:{port}"]
    node_red = NodeRed(name, port, config_dir, data_dir, scheme="https" if https else "http")
    try:
        docker("run", "--detach", "--name", name, *network,
               "--read-only", "--tmpfs", "/tmp:rw,nosuid,nodev,size=64m",
               "--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--user", RUN_AS,
               "--memory", "512m", "--pids-limit", "256",
               "--volume", f"{config_dir}:/config:ro", "--volume", f"{data_dir}:/data",
               "--label", "ming.test=nodered", IMAGE)
        node_red.wait_ready(startup_timeout)
        yield node_red
    finally:
        node_red.remove()
