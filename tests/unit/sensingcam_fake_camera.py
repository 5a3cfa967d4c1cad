"""A tiny in-process stand-in for a SICK sensingCam, for the unit tests of the sensingcam client and modules.

It is not the camera simulator (tools/camera_simulator): no sockets, no threads of its own. It stands in for
``ansible.module_utils.urls.open_url``, the function the transport of module_utils/_api.py calls: it decodes the
request body (JSON, or multipart/form-data parsed here on its own), answers like a camera, and hands back what the
real open_url would: a response object, or urllib's HTTPError for a status >= 400, URLError for a refused
connection, socket.timeout, http.client.RemoteDisconnected for a dropped upload. So the client's error mapping
takes the same paths as against a real network. It checks the challenge/response login with its own hashlib
code, written from the protocol description, not from the client, so a wrong client hash fails the tests.

Importable from every test under tests/unit (pytest puts tests/unit on sys.path for its conftest.py).
"""

import copy
import hashlib
import http.client
import io
import json
import os
import threading
from email.message import Message
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

PROFILE_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "profiles", "sensingcam", "sec100-fw2.yml")
PROFILE_PATH = os.path.normpath(PROFILE_PATH)

PASSWORD = "S3cret-Pa55word!"  # distinctive, so a test can prove it never shows up in output


def by_hand_sha256(text):
    if isinstance(text, str):
        text = text.encode("utf-8")
    return hashlib.sha256(text).hexdigest()


def expected_response(user, realm, password, nonce, name, salt=None):
    """The SICK challenge/response, computed independently of the client under test."""
    secret = (user + ":" + realm + ":" + password).encode("utf-8")
    if salt:
        secret = secret + b":" + bytes(salt)
    first = hashlib.sha256(secret).hexdigest()
    second = hashlib.sha256(("POST:" + name).encode("utf-8")).hexdigest()
    return hashlib.sha256((first + ":" + nonce + ":" + second).encode("utf-8")).hexdigest()


def default_variables():
    return {
        "FirmwareVersion": "2.6.1",
        "SerialNumber": "23450017",
        "OrderNumber": "1133333",
        "DeviceType": "SEC100",
        "LocationName": "factory-default",
        "DeviceTime": "2025-11-27T10:15:00Z",
        "NtpEnabled": False,
        "NtpServers": [],
        "TimeZone": "UTC",
        "StreamProfilePrimary": {"Codec": "h264", "Width": 1920, "Height": 1080, "FrameRate": 25,
                                 "Bitrate": 4096, "GopLength": 50, "Vendor": "kept-as-is"},
        "StreamProfileSecondary": {"Codec": "mjpeg", "Width": 640, "Height": 480, "FrameRate": 10,
                                   "Bitrate": 1024, "GopLength": 10},
        "EventRecording": {"PreTrigger": 5, "PostTrigger": 10, "Duration": 30, "TriggerSource": "software"},
        "EventBufferUsage": 12,
        "FirmwareUpdateState": "idle",
    }


READ_ONLY = {"FirmwareVersion", "SerialNumber", "OrderNumber", "DeviceType", "DeviceTime", "EventBufferUsage",
             "FirmwareUpdateState"}


class FakeResponse:
    """What FakeCamera.handle answers; FakeNetwork turns it into what open_url returns or raises."""

    def __init__(self, status_code, content=b"", reason=""):
        self.status_code = status_code
        self.content = content
        self.reason = reason


class OpenUrlResponse:
    """The part of http.client.HTTPResponse that open_url's callers use."""

    def __init__(self, status, reason, content, headers):
        self.status = status
        self.reason = reason
        self.headers = headers
        self._body = io.BytesIO(content)
        self.closed = False

    def getcode(self):
        return self.status

    def read(self, amount=None):
        return self._body.read(amount)

    def close(self):
        self.closed = True


def refused():
    """What urlopen raises when nobody listens on the port."""
    return URLError(ConnectionRefusedError(111, "Connection refused"))


def parse_multipart(content_type, body):
    """{part name: (filename, content bytes, content type)} of a multipart/form-data body, in order."""
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    parts = {}
    for chunk in body.split(b"--" + boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        head, content = chunk[2:].split(b"\r\n\r\n", 1)
        assert content.endswith(b"\r\n"), "every part ends with CRLF before the next boundary"
        headers = {}
        for line in head.decode().split("\r\n"):
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
        params = dict(item.strip().split("=", 1) for item in headers["content-disposition"].split(";")[1:])
        name = params["name"].strip('"')
        filename = params["filename"].strip('"') if "filename" in params else None
        parts[name] = (filename, content[:-2], headers.get("content-type"))
    return parts


def envelope(data, status=0, message="Ok"):
    return json.dumps({"header": {"status": status, "message": message}, "data": data}).encode("utf-8")


class FakeCamera:
    """One camera: variables, users, single-use nonces, files, and a firmware update that reboots."""

    def __init__(self, users=None, salt=None, realm="SICK Sensor", reads_require_login=False):
        self.variables = default_variables()
        self.users = users if users is not None else {"Service": PASSWORD, "Viewer": "viewer-pass"}
        self.write_users = {"Service"}
        self.salt = salt
        self.realm = realm
        self.reads_require_login = reads_require_login
        self.nonces = {}
        self.counter = 0
        self.requests = []
        self.config = json.dumps({"LocationName": "factory-default", "Ntp": {"Enabled": False}}).encode()
        self.unreachable = False
        self.timeout = False
        self.status_override = {}  # path -> HTTP status to answer instead
        self.fail_next_gets = 0  # connection errors before GETs answer again
        self.upload_breaks = False
        self.firmware_outcome = "applies"  # applies | fails | unchanged
        self.reboot_polls = 2  # polls the camera stays away after a firmware upload
        self.away_polls = 0
        self.lock = threading.Lock()

    # -- helpers for the tests --------------------------------------------------------------------------------
    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]

    def writes(self):
        return [r for r in self.requests if r[0] == "POST" and r[1] != "/api/getChallenge"]

    # -- protocol ---------------------------------------------------------------------------------------------
    def _check_login(self, header, name):
        if not isinstance(header, dict):
            return FakeResponse(401, b"", "Unauthorized")
        nonce = header.get("nonce")
        user = self.nonces.pop(nonce, None)  # single use
        if user is None or user != header.get("user") or header.get("realm") != self.realm:
            return FakeResponse(401, b"", "Unauthorized")
        password = self.users.get(user)
        if password is None:
            return FakeResponse(401, b"", "Unauthorized")
        if header.get("response") != expected_response(user, self.realm, password, nonce, name, self.salt):
            return FakeResponse(401, b"", "Unauthorized")
        if header.get("opaque") != "opaque-" + nonce:
            return FakeResponse(401, b"", "Unauthorized")
        return None

    def handle(self, method, path, body=None, files=None):
        self.requests.append((method, path, body, files))
        if path in self.status_override:
            return FakeResponse(self.status_override[path], b"", "Override")
        if path == "/api/getChallenge":
            self.counter += 1
            nonce = f"nonce{self.counter:04d}"
            self.nonces[nonce] = body["data"]["user"]
            challenge = {"realm": self.realm, "nonce": nonce, "opaque": "opaque-" + nonce}
            if self.salt is not None:
                challenge["salt"] = list(self.salt)
            return FakeResponse(200, json.dumps({"challenge": challenge}).encode())
        if path.startswith("/api/"):
            name = path[len("/api/"):]
            if method == "GET":
                if self.reads_require_login:
                    return FakeResponse(401, b"", "Unauthorized")
                if name not in self.variables:
                    return FakeResponse(404, b"", "Not Found")
                return FakeResponse(200, envelope({name: copy.deepcopy(self.variables[name])}))
            denied = self._check_login(body.get("header"), name)
            if denied:
                return denied
            if name not in self.variables:
                return FakeResponse(404, b"", "Not Found")
            if "data" not in body:  # authenticated read
                return FakeResponse(200, envelope({name: copy.deepcopy(self.variables[name])}))
            if body["header"]["user"] not in self.write_users:
                return FakeResponse(403, b"", "Forbidden")
            if name in READ_ONLY:
                return FakeResponse(403, b"", "Forbidden")
            self.variables[name] = body["data"][name]
            return FakeResponse(200, envelope({}))
        if path == "/file/download/configuration":
            denied = self._check_login(body.get("header"), "configuration")
            return denied or FakeResponse(200, self.config)
        if path in ("/file/upload/configuration", "/file/upload/firmware"):
            auth_name = path.rsplit("/", 1)[1]
            part = files["header"]
            header = json.loads(part[1])
            denied = self._check_login(header, auth_name)
            if denied:
                return denied
            content = files["file"][1]
            if hasattr(content, "read"):
                content = content.read()
            if auth_name == "configuration":
                self.config = content
                return FakeResponse(200, envelope({}))
            return self._firmware(content)
        return FakeResponse(404, b"", "Not Found")

    def _firmware(self, content):
        if self.upload_breaks:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        first_line = content.split(b"\n", 1)[0].decode("ascii")
        marker, version = first_line.split(" ", 1)
        assert marker == "SICK-SEC100-FW"
        self.uploaded_version = version
        if self.firmware_outcome == "fails":
            self.variables["FirmwareUpdateState"] = "failed"
            return FakeResponse(200, envelope({}))
        self.variables["FirmwareUpdateState"] = "rebooting"
        self.away_polls = self.reboot_polls
        return FakeResponse(200, envelope({}))

    def before_get(self, path):
        """Reboot emulation: after a firmware upload the next ``reboot_polls`` GETs find nobody answering."""
        if self.away_polls > 0:
            self.away_polls -= 1
            if self.away_polls == 0:
                if self.firmware_outcome == "applies":
                    self.variables["FirmwareVersion"] = self.uploaded_version
                self.variables["FirmwareUpdateState"] = "idle"
            raise refused()
        if self.fail_next_gets > 0:
            self.fail_next_gets -= 1
            raise refused()


class FakeNetwork:
    """Stands in for open_url: routes each request to the FakeCamera at its host:port.

    Callable with open_url's signature; tests may replace ``open_url`` on an instance to inject a fault.
    ``calls`` records the keyword arguments of every request (TLS settings, timeouts).
    """

    def __init__(self, cameras=None):
        self.cameras = cameras or {}
        self.calls = []

    def add(self, host, camera=None, port=80):
        camera = camera or FakeCamera()
        self.cameras[f"{host}:{port}"] = camera
        return camera

    def __call__(self, url, data=None, headers=None, method=None, **kwargs):
        return self.open_url(url, data=data, headers=headers, method=method, **kwargs)

    def open_url(self, url, data=None, headers=None, method=None, **kwargs):
        self.calls.append(dict(kwargs, url=url, method=method))
        method = method or ("POST" if data else "GET")
        parts = urlsplit(url)
        camera = self.cameras.get(f"{parts.hostname}:{parts.port}")
        if camera is None or camera.unreachable:
            raise refused()
        if camera.timeout:
            raise TimeoutError("timed out")  # socket.timeout, as a read that waited too long raises
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        body, files = None, None
        if data is not None:
            content_type = headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                files = parse_multipart(content_type, data)
            else:
                assert content_type == "application/json", content_type
                body = json.loads(data)
        with camera.lock:
            if method == "GET":
                try:
                    camera.before_get(parts.path)
                except URLError:
                    camera.requests.append((method, parts.path, body, files))
                    raise
            answer = camera.handle(method, parts.path, body, files)
        reply_headers = Message()
        reply_headers["Content-Type"] = "application/json"
        if answer.status_code >= 400:
            raise HTTPError(url, answer.status_code, answer.reason, reply_headers, io.BytesIO(answer.content))
        return OpenUrlResponse(answer.status_code, answer.reason or "OK", answer.content, reply_headers)


def install_network(monkeypatch):
    """Route every request of module_utils/_api.py to a fresh FakeNetwork (its open_url); no real sleeps."""
    from ansible_collections.sensingcam.ming.plugins.module_utils import _api

    network = FakeNetwork()
    monkeypatch.setattr(_api, "open_url", network)
    monkeypatch.setattr(_api.ApiClient, "sleep", staticmethod(lambda seconds: None))
    return network


def module_args(**kwargs):
    """Connection arguments of a module run against the fake camera at cam1:80."""
    args = {"host": "cam1", "password": PASSWORD, "profile": PROFILE_PATH, "retries": 0}
    args.update(kwargs)
    return args
