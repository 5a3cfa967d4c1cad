"""The live-stream proxy for real: Debian's nginx 1.22 of the lab image (ming/stream-proxy:lab, images/stream-proxy)
running the nginx.conf that roles/frigate/templates/stream_proxy.conf.j2 renders, in a container started with the
frigate role's own service definition (roles/frigate/tasks/stream_proxy.yml: user, read-only root, tmpfs, no
capabilities). Against a go2rtc double, not a real go2rtc: a tiny Python HTTP server in a container on the same
Docker network, answering /api/stream.mjpeg with an endless multipart MJPEG stream, /api/frame.jpeg with a JPEG,
/api/config with a fake camera password and anything else with 200, and logging every request it gets to a file.
That log proves what reached "go2rtc" and what did not.

Mutations tried (each made the named test fail, then was restored):
- template: the map entry without the trailing $ (``src=<stream>&src=other`` passes) ->
  test_refused_requests_never_reach_go2rtc[double-src] and [extra-parameter].
- template: the map entry without the leading ^ -> test_refused_requests_never_reach_go2rtc[leading-parameter].
- template: every src admitted (``default $arg_src``) -> test_refused_requests_never_reach_go2rtc[unknown-src].
- template: the method check removed -> test_refused_requests_never_reach_go2rtc[POST] (and PUT, DELETE).
- template: ``location /api/ { proxy_pass http://upstream; }`` added ->
  test_refused_requests_never_reach_go2rtc[api-config] (and exit, restart, streams).
- template: proxy_buffering on -> test_allowed_stream_is_served_over_tls_as_multipart_mjpeg (the first frame only
  arrives after go2rtc has sent the second).
- template: proxy_pass_request_headers off removed -> test_allowed_stream_is_served_over_tls_as_multipart_mjpeg
  (the double sees the client's headers, Authorization and Cookie included).
- template: error_page line removed -> test_go2rtc_error_bodies_are_not_passed_on.
- template: limit_conn removed -> test_per_client_connection_limit.
- tasks: ``read_only: true`` removed from the service definition ->
  test_container_runs_non_root_read_only_without_capabilities.
- tasks: the validate command's ``nginx -t`` replaced by ``nginx -v`` ->
  test_nginx_t_refuses_a_broken_config_before_the_live_file_changes.
"""

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from mosquitto_broker import docker
from plant_pki import PlantPki

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "roles" / "frigate" / "templates" / "stream_proxy.conf.j2"
TASKS = REPO / "roles" / "frigate" / "tasks" / "stream_proxy.yml"
IMAGE = "ming/stream-proxy:lab"
DOUBLE_IMAGE = "ming/debian-base:bookworm"
HINT = "run scripts/docker-engine.sh (starts the engine), then scripts/build-lab-images.sh stream-proxy"
STREAMS = ["cam-line1-st10_dashboard", "cam-line2-st20_dashboard", "cam-broken_dashboard"]
SECRET = "FAKE-CAMERA-SECRET-42"
MAX_CONNECTIONS = 3

GO2RTC_DOUBLE = r'''
import json, sys, time, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
LOG = open("/log/requests.jsonl", "a", buffering=1)
SECRET = sys.argv[1]
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200 + b"\xff\xd9"

class Go2rtcDouble(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def note(self, **extra):
        entry = {"method": self.command, "path": self.path, "headers": dict(self.headers)}
        LOG.write(json.dumps(dict(entry, **extra)) + "\n")
    def answer(self, status, body, content_type="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
    def handle_any(self):
        self.note()
        url = urllib.parse.urlsplit(self.path)
        src = urllib.parse.parse_qs(url.query).get("src", [""])[0]
        if url.path == "/api/config":
            return self.answer(200, ("streams:\n  cam: rtsp://admin:%s@10.0.0.1/live/0\n" % SECRET).encode())
        if src == "cam-broken_dashboard":
            return self.answer(500, ("streams: rtsp://admin:%s@10.0.0.9/live/0: i/o timeout" % SECRET).encode())
        if url.path == "/api/frame.jpeg":
            return self.answer(200, JPEG, "image/jpeg")
        if url.path != "/api/stream.mjpeg":
            return self.answer(200, b"reached go2rtc\n")
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            for number in range(1, 600):
                part = b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(JPEG) + JPEG + b"\r\n"
                self.wfile.write(part)
                self.wfile.flush()
                self.note(frame=number)
                # A pause after the first frame: a buffering proxy would hold it back until the second.
                time.sleep(2 if number == 1 else 0.2)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = handle_any

ThreadingHTTPServer(("0.0.0.0", 1984), Go2rtcDouble).serve_forever()
'''


def require_image():
    engine = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False)
    if not engine or engine.returncode != 0:
        pytest.fail(f"no Docker engine answers: {HINT}")
    build = subprocess.run(["bash", str(REPO / "scripts" / "build-lab-images.sh"), "stream-proxy"],
                           capture_output=True, text=True, timeout=900, check=False)
    if build.returncode != 0:
        pytest.fail(f"could not build {IMAGE} ({HINT}):\n{build.stdout}{build.stderr}")


def block_vars():
    tasks = yaml.safe_load(TASKS.read_text())
    return next(task for task in tasks if task.get("name") == "Stream proxy")


def trusted(value):
    """``value`` with every string marked as a template, as Ansible treats a role's own YAML."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {name: trusted(item) for name, item in value.items()}
    if isinstance(value, list):
        return [trusted(item) for item in value]
    return value


def template_value(value, **variables):
    context = trusted(block_vars()["vars"])
    context.update(variables)
    return Templar(loader=DataLoader(), variables=context).template(trusted(value))


def render_config(upstream, streams=tuple(STREAMS)):
    variables = {"ansible_managed": "test", "frigate_stream_proxy_image": IMAGE,
                 "frigate_stream_proxy_worker_connections": 512, "frigate_stream_proxy_resolver": "127.0.0.11",
                 "frigate_stream_proxy_max_connections": MAX_CONNECTIONS,
                 "__frigate_stream_proxy_streams": list(streams), "__frigate_stream_proxy_upstream": upstream}
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(TEMPLATE.read_text()))


def make_pki(tls_dir):
    """A test CA and a server certificate for localhost/127.0.0.1 (the plant PKI stand-in), laid out as
    compose_project's certificate entry point lays them out (server.key, server.crt, ca.crt)."""
    tls_dir.mkdir(mode=0o750)
    PlantPki(tls_dir).issue_server()
    for name in ("ca.crt", "server.crt"):
        (tls_dir / name).chmod(0o644)
    key_file = tls_dir / "server.key"
    # As the role installs them: the key 0600 owned by the proxy's uid, the directory readable by its group. A run
    # without root cannot hand files to uid 8443: the throwaway key is then readable by all instead.
    if os.geteuid() == 0:
        os.chmod(key_file, 0o600)
        os.chown(key_file, 8443, 8443)
        os.chown(tls_dir, 0, 8443)
    else:
        os.chmod(key_file, 0o644)
        os.chmod(tls_dir, 0o755)
    os.chmod(tls_dir.parent, 0o755)


class Proxy:
    def __init__(self, port, ca_file, log_file, container, config_dir):
        self.port, self.ca_file, self.log_file = port, ca_file, log_file
        self.container, self.config_dir = container, config_dir

    def context(self):
        context = ssl.create_default_context(cafile=str(self.ca_file))
        return context

    def connection(self, timeout=10):
        return http.client.HTTPSConnection("localhost", self.port, context=self.context(), timeout=timeout)

    def request(self, method, path, headers=None):
        connection = self.connection()
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read(2000)
        finally:
            connection.close()

    def seen(self):
        if not self.log_file.exists():
            return []
        return [json.loads(line) for line in self.log_file.read_text().splitlines() if line.strip()]

    def requests_seen(self):
        return [entry for entry in self.seen() if "frame" not in entry]


def wait_for(predicate, what, attempts=100, pause=0.1):
    for _attempt in range(attempts):
        if predicate():
            return
        time.sleep(pause)
    raise AssertionError(f"gave up waiting: {what}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    require_image()
    suffix = secrets.token_hex(4)
    network = f"streamproxy-net-{suffix}"
    double = f"streamproxy-go2rtc-{suffix}"
    nginx = f"streamproxy-nginx-{suffix}"
    root = tmp_path_factory.mktemp("stream-proxy")
    config_dir, log_dir = root / "config", root / "log"
    config_dir.mkdir()
    log_dir.mkdir()
    (root / "go2rtc_double.py").write_text(GO2RTC_DOUBLE)
    make_pki(config_dir / "tls")
    (config_dir / "nginx.conf").write_text(render_config(f"{double}:1984"))
    os.chmod(config_dir, 0o755)
    definition = template_value(block_vars()["vars"]["__frigate_stream_proxy_definition"],
                                frigate_stream_proxy_image=IMAGE,
                                compose_project_services={"frigate-stream-proxy": {"config_dir": str(config_dir)}},
                                frigate_stream_proxy_port=8443, frigate_stream_proxy_listen_addresses=[],
                                frigate_stream_proxy_allowed_sources=[])
    docker("network", "create", network)
    try:
        docker("run", "-d", "--name", double, "--network", network, "--volume", f"{root}:/double:ro",
               "--volume", f"{log_dir}:/log", DOUBLE_IMAGE, "python3", "/double/go2rtc_double.py", SECRET)
        # The role's service definition, as compose_project would run it (ports: loopback, a free port).
        run = ["run", "-d", "--name", nginx, "--network", network, "--user", definition["user"],
               "--publish", "127.0.0.1::8443"]
        run += ["--read-only"] if definition.get("read_only") else []
        run += [f"--cap-drop={cap}" for cap in definition["cap_drop"]]
        run += [f"--security-opt={option}" for option in definition["security_opt"]]
        run += [f"--tmpfs={mount}" for mount in definition["tmpfs"]]
        run += [f"--volume={volume}" for volume in definition["volumes"]]
        docker(*run, IMAGE)
        port = int(docker("port", nginx, "8443/tcp").stdout.split(":")[-1])
        server = Proxy(port, config_dir / "tls" / "ca.crt", log_dir / "requests.jsonl", nginx, config_dir)
        server.definition = definition

        def answers():
            if docker("inspect", "--format", "{{.State.Running}}", nginx).stdout.strip() != "true":
                raise AssertionError(f"nginx exited:\n{docker('logs', nginx, check=False).stderr}")
            try:
                return server.request("GET", "/")[0] == 404
            except OSError:
                return False
        wait_for(answers, "nginx answers over TLS")
        yield server
    finally:
        docker("rm", "-f", nginx, double, check=False)
        docker("network", "rm", network, check=False)


def read_first_part(response):
    data = b""
    while b"\xff\xd9" not in data:
        chunk = response.read1(4096)
        assert chunk, f"stream ended after {data!r}"
        data += chunk
    return data


def test_allowed_stream_is_served_over_tls_as_multipart_mjpeg(proxy):
    connection = proxy.connection(timeout=20)
    try:
        connection.request("GET", "/api/stream.mjpeg?src=cam-line1-st10_dashboard",
                           headers={"Authorization": "Basic dXNlcjpwYXNz", "Cookie": "grafana_session=abc"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Type").startswith("multipart/x-mixed-replace")
        first = read_first_part(response)
        assert first.startswith(b"--frame") and b"\xff\xd8" in first
        # Unbuffered: the first frame reached us while go2rtc still holds back the second.
        frames = [entry["frame"] for entry in proxy.seen() if "frame" in entry
                  and entry["path"] == "/api/stream.mjpeg?src=cam-line1-st10_dashboard"]
        assert 2 not in frames, frames  # (the double may not have logged frame 1 yet either)
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Access-Control-Allow-Origin") is None
        assert response.getheader("Server") == "nginx"
    finally:
        connection.close()
    upstream = [entry for entry in proxy.requests_seen() if entry["path"].startswith("/api/stream.mjpeg")][0]
    assert upstream["method"] == "GET"
    assert {name.lower() for name in upstream["headers"]} <= {"host", "connection"}
    assert "dXNlcjpwYXNz" not in json.dumps(upstream) and "grafana_session" not in json.dumps(upstream)


def test_a_frame_and_head_are_served(proxy):
    status, headers, body = proxy.request("GET", "/api/frame.jpeg?src=cam-line2-st20_dashboard")
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body.startswith(b"\xff\xd8")
    status, _headers, body = proxy.request("HEAD", "/api/frame.jpeg?src=cam-line2-st20_dashboard")
    assert status == 200 and body == b""
    methods = [entry["method"] for entry in proxy.requests_seen()
               if entry["path"] == "/api/frame.jpeg?src=cam-line2-st20_dashboard"]
    assert methods == ["GET", "HEAD"]


def test_the_certificate_is_checked_against_the_ca(proxy):
    context = ssl.create_default_context()  # the system CAs only: the test CA is unknown
    connection = http.client.HTTPSConnection("localhost", proxy.port, context=context, timeout=10)
    with pytest.raises(ssl.SSLCertVerificationError):
        connection.request("GET", "/")
    connection.close()
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(str(proxy.ca_file))
    old.maximum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=10) as raw, \
            old.wrap_socket(raw, server_hostname="localhost") as tls:
        assert tls.version() == "TLSv1.2"


REFUSED = [
    ("api-config", "GET", "/api/config", 404),
    ("api-exit", "GET", "/api/exit", 404),
    ("api-exit-post", "POST", "/api/exit", 404),
    ("api-restart", "POST", "/api/restart", 404),
    ("api-streams", "GET", "/api/streams", 404),
    ("stream-html", "GET", "/stream.html?src=cam-line1-st10_dashboard", 404),
    ("stream-mp4", "GET", "/api/stream.mp4?src=cam-line1-st10_dashboard", 404),
    ("webrtc", "POST", "/api/webrtc?src=cam-line1-st10_dashboard", 404),
    ("unknown-src", "GET", "/api/stream.mjpeg?src=cam-line9-st90_dashboard", 404),
    ("record-stream", "GET", "/api/stream.mjpeg?src=cam-line1-st10", 404),
    ("no-src", "GET", "/api/stream.mjpeg", 404),
    ("upper-case-src", "GET", "/api/stream.mjpeg?src=CAM-LINE1-ST10_DASHBOARD", 404),
    ("encoded-src", "GET", "/api/stream.mjpeg?src=cam%2Dline1%2Dst10_dashboard", 404),
    ("url-src", "GET", "/api/stream.mjpeg?src=rtsp://10.0.0.1/live/0", 404),
    ("leading-parameter", "GET", "/api/stream.mjpeg?x=1&src=cam-line1-st10_dashboard", 404),
    ("double-src", "GET", "/api/stream.mjpeg?src=cam-line1-st10_dashboard&src=other", 404),
    ("extra-parameter", "GET", "/api/frame.jpeg?src=cam-line1-st10_dashboard&width=8000", 404),
    ("dot-dot", "GET", "/api/stream.mjpeg/../config", 404),
    ("encoded-dot-dot", "GET", "/api/stream.mjpeg/%2e%2e/config", 404),
    ("double-slash", "GET", "//api/config", 404),
    ("absolute-form", "GET", "http://frigate:1984/api/config", 404),
    ("POST", "POST", "/api/stream.mjpeg?src=cam-line1-st10_dashboard", 405),
    ("PUT", "PUT", "/api/stream.mjpeg?src=cam-line1-st10_dashboard", 405),
    ("DELETE", "DELETE", "/api/frame.jpeg?src=cam-line1-st10_dashboard", 405),
    ("OPTIONS", "OPTIONS", "/api/stream.mjpeg?src=cam-line1-st10_dashboard", 405),
]


@pytest.mark.parametrize(("case", "method", "path", "status"), REFUSED, ids=[case[0] for case in REFUSED])
def test_refused_requests_never_reach_go2rtc(proxy, case, method, path, status):
    before = len(proxy.requests_seen())
    got, headers, body = proxy.request(method, path, headers={"Content-Length": "0"} if method != "GET" else None)
    assert got == status, (case, got, body)
    assert SECRET.encode() not in body and b"reached go2rtc" not in body
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert proxy.requests_seen()[before:] == []


def test_plain_http_is_refused(proxy):
    before = len(proxy.requests_seen())
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=10)
    try:
        connection.request("GET", "/api/stream.mjpeg?src=cam-line1-st10_dashboard")
        response = connection.getresponse()
        assert response.status == 400
        response.read()
    finally:
        connection.close()
    assert proxy.requests_seen()[before:] == []


def test_go2rtc_error_bodies_are_not_passed_on(proxy):
    status, _headers, body = proxy.request("GET", "/api/stream.mjpeg?src=cam-broken_dashboard")
    assert status == 502
    assert SECRET.encode() not in body
    assert [entry["path"] for entry in proxy.requests_seen()][-1] == "/api/stream.mjpeg?src=cam-broken_dashboard"


def test_per_client_connection_limit(proxy):
    open_streams = []

    def one_stream():
        connection = proxy.connection(timeout=20)
        open_streams.append(connection)
        connection.request("GET", "/api/stream.mjpeg?src=cam-line2-st20_dashboard")
        return connection.getresponse().status

    def close_all():
        for connection in open_streams:
            connection.close()
        open_streams.clear()

    try:
        # Earlier tests' streams count until nginx notices their clients went (its next write fails): retry a while.
        statuses = []
        for _round in range(20):
            statuses = [one_stream() for _stream in range(MAX_CONNECTIONS)]
            if statuses == [200] * MAX_CONNECTIONS:
                break
            close_all()
            time.sleep(0.5)
        assert statuses == [200] * MAX_CONNECTIONS
        assert one_stream() == 429
    finally:
        close_all()


def test_container_runs_non_root_read_only_without_capabilities(proxy):
    assert docker("exec", proxy.container, "id", "-u").stdout.strip() == "8443"
    status = docker("exec", proxy.container, "cat", "/proc/1/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert int(fields["Uid"].split()[0]) == 8443
    assert int(fields["CapEff"].strip(), 16) == 0 and int(fields["CapPrm"].strip(), 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    write = docker("exec", proxy.container, "touch", "/etc/nginx/x", check=False)
    assert write.returncode != 0 and "Read-only file system" in write.stderr
    # The image's health probe, as the definition's healthcheck runs it.
    probe = docker("exec", proxy.container, *proxy.definition["healthcheck"]["test"][1:], check=False)
    assert probe.returncode == 0, probe.stderr


def test_a_changed_config_is_taken_on_the_reload_signal(proxy):
    path = "/api/frame.jpeg?src=cam-line3-st30_dashboard"
    assert proxy.request("GET", path)[0] == 404
    live = proxy.config_dir / "nginx.conf"
    original = live.read_text()
    upstream = original.split("proxy_pass http://", 1)[1].split("/", 1)[0]
    try:
        live.write_text(render_config(upstream, STREAMS + ["cam-line3-st30_dashboard"]))
        run = next(task for task in block_vars()["block"] if task["name"] == "Run the stream proxy")
        signal = run["vars"]["compose_project_service_reload_signal"]
        docker("kill", "--signal", signal, proxy.container)
        wait_for(lambda: proxy.request("GET", path)[0] == 200, "the new stream is served after the reload")
    finally:
        live.write_text(original)
        docker("kill", "--signal", "HUP", proxy.container)
    wait_for(lambda: proxy.request("GET", path)[0] == 404, "the old configuration is back")


def test_nginx_t_refuses_a_broken_config_before_the_live_file_changes(proxy, tmp_path):
    """The role's validate command (nginx -t in the image), run by Ansible's own copy module as the template task
    runs it: a broken candidate leaves the live file as it was; a good one replaces it."""
    command = template_value(block_vars()["vars"]["__frigate_stream_proxy_validate_command"],
                             frigate_stream_proxy_image=IMAGE,
                             compose_project_services={"frigate-stream-proxy": {"config_dir": str(proxy.config_dir)}})
    command = " ".join(command.split())
    live = tmp_path / "nginx.conf"
    live.write_text("# the live file\n")
    good = render_config("frigate:1984")
    broken = good.replace("proxy_buffering off;", "proxy_buffering of;", 1)
    ansible = str(REPO / ".venv" / "bin" / "ansible")

    def copy(content):
        source = tmp_path / "candidate.conf"
        source.write_text(content)
        return subprocess.run([ansible, "localhost", "-c", "local", "-i", "localhost,", "-m", "ansible.builtin.copy",
                               "-e", f"ansible_python_interpreter={sys.executable}",
                               "-a", json.dumps({"src": str(source), "dest": str(live), "validate": command})],
                              capture_output=True, text=True, timeout=120, env={**os.environ, "ANSIBLE_NOCOLOR": "1"},
                              check=False)

    refused = copy(broken)
    assert refused.returncode != 0
    assert "failed to validate" in refused.stdout and "proxy_buffering" in refused.stdout
    assert live.read_text() == "# the live file\n"
    accepted = copy(good)
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert live.read_text() == good
