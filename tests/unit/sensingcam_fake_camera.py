"""A tiny in-process stand-in for a SICK sensingCam SEC100, for the unit tests of the sensingcam client and modules.

It is a test double, not a real SEC100 and not the camera simulator (tools/camera_simulator): no sockets, no
threads of its own. It stands in for ``open_url``, the function the transport of module_utils/_api.py calls, and
answers like a camera under the device profile format 2 (profiles/sensingcam/sec100-fw2.yml, read here with plain
YAML, not with the loader under test). It hands back what the real open_url would: a response object, urllib's
HTTPError for a status >= 400, URLError for a refused connection, TimeoutError, RemoteDisconnected. It checks the
challenge/response login with its own hashlib code written from ../shared/reference/sec100.md section 3.2, not
from the client, so a wrong client hash fails the tests.

What it serves (every path from the profile):

- ``GET /api/<Name>``: ``{"header": {"status": 0, "message": "Ok"}, "data": {"<Name>": value}}`` for every
  variable of the profile (initial values in ``INITIAL_VALUES``, keyed by device name; secret variables read back
  as ''); HTTP 404 for names it does not know.
- ``POST /api/getChallenge`` ``{"data": {"user": U}}`` -> ``{"challenge": {realm, nonce, opaque[, salt]}}``. A
  nonce stays valid until a test calls ``expire_nonces()``; ``challenge_calls()`` counts the challenges.
- Authenticated ``POST /api/<Name>``: a failed login is HTTP 200 with header.status 10 (unknown or expired nonce)
  or 4 (wrong user, password or response). A write of a read-only or invalid value answers status 3 with a message
  naming the variable. Accepted writes go to ``writes()`` as ``(name, value)``.
- Methods (``methods:``, ``firmware.start_method``, ``backup.*_method``, ``persistence.save_method``): reply
  ``data.result`` 0, or ``camera.method_results[name]`` when a test sets it. ``method_calls`` records
  ``(name, data)``. Effects: EventTriggerEvent/SnapshotTriggerSnapshot count in ``events``; RebootDevice counts in
  ``reboots``; LoadFactoryDefaults restores ``INITIAL_VALUES``; DeleteFile removes ``files[fileName]``.
- Files: ``POST /file/download/<name>`` (login, HA2 ``POST:<name>``) answers ``files[name]`` bytes (HTTP 404 when
  absent); ``POST /file/upload/<name>?append=..&finish=..``: the JSON login header followed by raw bytes. Every
  chunk is recorded in ``uploads`` as a dict (file, append, finish, size, nonce); append=false starts the file
  anew; finish=true stores it in ``files[name]``.
- ``GET <api_description_path>``: ``camera.api_description`` bytes, HTTP 404 when None.
- Faults: ``busy_next = N`` answers the next N requests with HTTP 400; ``inject_status(status, count=1,
  message=...)`` answers the next requests to /api/ (not getChallenge) HTTP 200 with that header.status;
  ``unreachable``, ``timeout``, ``fail_next_gets`` (refused GETs), ``upload_breaks`` (connection dropped on an
  upload chunk); ``salt`` (None: no key; []; or byte values) and ``empty_salt`` ('separator' or 'no_salt': which
  HA1 form the camera accepts for ``salt: []``).

Firmware flow (family, as the profile's ``firmware:`` says): upload ``firmware.spk`` (its first line
``SICK-SEC100-FW <version>`` names the version it installs), then call ``RunFirmwareUpdate``: ``UpdateState``
becomes 1 (started) and the camera is away (GETs refused) for ``reboot_polls`` GETs; then UpdateState is 2
(finished) and FirmwareVersion the uploaded version, or with ``firmware_outcome = 'fails'`` UpdateState 3 (error)
and the version unchanged, or with ``'unchanged'`` UpdateState 2 and the version unchanged. Starting without an
uploaded image answers result 3.

Parameter backup flow (family, in the camera simulator's shapes): ``CreateParameterBackup {Passphrase}`` records
the passphrase in ``passphrases`` and snapshots the writable variables (``writable()``) into ``backup``;
``POST <backup.path>`` with the login header (HA2 ``POST:parameterbackup``) answers ``data.parameterbackup`` =
that object (status 3 before a backup was created); ``PUT <backup.path>`` with the login header and
``data.parameterbackup`` = {name: value} stages it as ``pending_backup`` (counted in ``puts``; status 3 for an empty
or non-object document); ``RestoreParameterBackup`` applies the staged writable variables (counted in
``restores``; result 3 when nothing is staged). A GET of the path answers status 4 (it needs a login).

Importable from every test under tests/unit (pytest puts tests/unit on sys.path for its conftest.py).
"""

import atexit
import copy
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import tempfile
import threading
from email.message import Message
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit

import yaml

PROFILE_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "profiles", "sensingcam", "sec100-fw2.yml")
PROFILE_PATH = os.path.normpath(PROFILE_PATH)

PASSWORD = "S3cret-Pa55word!"  # distinctive, so a test can prove it never shows up in output

INITIAL_VALUES = {
    "FirmwareVersion": "2.6.2",
    "ExtendedFirmwareVersion": "2.6.2+build.17",
    "DeviceIdent": {"Name": "SEC100", "Version": "2.6.2.0R"},
    "OrderNumber": "1144993",
    "TypeCode": "SEC110-5C9D1SFZZZZ",
    "Vendor": "SICK AG",
    "DeviceName": "sensingCam SEC100",
    "LocationName": "factory-default",
    "SerialNumber": "23450017",
    "Video0Resolution": 5,
    "Video0FrameRate": 25,
    "Video0CompressionType": 0,
    "Video0CompressionRate": 4095,
    "Video0EncoderGop": 50,
    "Video0EnableRtsp": 1,
    "Video0RtspPath": "/live/0",
    "DeviceStatusRTSP0": 0,
    "Video1Resolution": 3,
    "Video1FrameRate": 10,
    "Video1CompressionType": 0,
    "Video1CompressionRate": 1023,
    "Video1EncoderGop": 10,
    "Video1EnableRtsp": 0,
    "Video1RtspPath": "/live/1",
    "DeviceStatusRTSP1": 0,
    "RtspPort": 554,
    "RtspAuthenticationEnabled": 1,
    "EventEnableRecording": 1,
    "EventTimeBeforeTrigger": 5,
    "EventTimeAfterTrigger": 10,
    "EventNaming": "event",
    "EventList": [],
    "EventEnableHardwareTrigger": 0,
    "HardwareTriggerActiveLevel": 1,
    "HardwareTriggerTonDelay": 0,
    "SetTcpIpTriggerEnabled": 0,
    "TcpIpTriggerPort": 2114,
    "TSCRole": 0,
    "TSCTCSrvAddr": [0, 0, 0, 0],
    "TSCTCupdatetime": 60,
    "TSCTCtimezone": 36,
    "LSPdatetime": {"Year": 2026, "Month": 12, "Day": 4, "Hour": 10, "Minute": 15, "Second": 0},
    "FtpProtocol": 0,
    "FtpServerAddress": [0, 0, 0, 0],
    "FtpPort": 21,
    "FtpServerDirectory": "/",
    "FtpUserName": "",
    "FtpPassword": "",
    "FtpEnablePassiveMode": 1,
    "FtpEnableFallbackMode": 0,
    "SetSambaEnabled": 0,
    "SetAuthenticationFreeApiEnabled": 0,
    "httpsStatus": {"enabled": False},
    "SnapshotMode": 0,
    "DeviceStatus": 0,
    "DeviceStatusFTP": 0,
    "DeviceStatusNTP": 0,
    "DeviceStatusStorageUsage": 12,
    "CurrentTemperature": 41,
    "OpHours": 12345,
    "PowerOnCnt": 17,
    "EnableSoftwareDowngrade": 0,
    "UpdateState": 0,
}

STATUS_TEXT = {0: "Ok", 3: "Invalid value", 4: "Access Denied", 5: "Not Found", 10: "Invalid Challenge",
               11: "Out Of Connections"}


_PARSED = {}


def load_profile_yaml(path=PROFILE_PATH):
    """The parsed profile (parsed once per path and test process; each caller gets its own copy)."""
    if path not in _PARSED:
        with open(path, "rb") as handle:
            _PARSED[path] = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506
    return copy.deepcopy(_PARSED[path])


def _setting(node):
    return node.get("value") if isinstance(node, dict) and "value" in node else node


def profile_variables(data):
    """{device name: {"access", "codec" (resolved spec), "secret"}} of every variable, firmware.state included."""
    codecs = data.get("codecs") or {}
    found = {}

    def add(entry):
        codec = entry.get("codec")
        found[entry["name"]] = {"access": entry.get("access", "read"), "secret": entry.get("secret") is True,
                                "codec": codecs.get(codec) if isinstance(codec, str) else codec}

    def walk(node):
        if isinstance(node, dict) and "name" in node:
            add(node)
        elif isinstance(node, dict):
            for child in node.values():
                walk(child)
    walk(data["variables"])
    if isinstance((data.get("firmware") or {}).get("state"), dict):
        add(data["firmware"]["state"])
    return found


def sha256_text(data):
    if isinstance(data, str):
        data = data.encode("ascii")
    return hashlib.sha256(data).hexdigest()


def expected_response(user, realm, password, nonce, name, salt=None, empty_salt="separator"):
    """The SICK challenge/response (sec100.md 3.2), computed independently of the client under test.

    HA1 = sha256(U:realm:P) without salt; with a salt, sha256 over the bytes of U:realm:P: followed by the raw
    salt bytes. A present but empty salt list is hashed with the trailing ':' (``separator``, the SEC100
    clients) or without (``no_salt``, the sibling-device SDK). HA2 = sha256(POST:name); response =
    sha256(HA1:nonce:HA2), lower-case hex.
    """
    secret = (user + ":" + realm + ":" + password).encode("ascii")
    if salt is not None and (len(salt) > 0 or empty_salt == "separator"):
        secret = secret + b":" + bytes(salt)
    first = hashlib.sha256(secret).hexdigest()
    second = sha256_text("POST:" + name)
    return sha256_text(first + ":" + nonce + ":" + second)


def value_problem(codec, value):
    """Why the camera would refuse ``value`` for a variable with the codec spec ``codec`` (None: accepted)."""
    kind = (codec or {}).get("type")
    if kind == "bool":
        return None if value in (0, 1) and not isinstance(value, float) else "allowed: 0 or 1"
    if kind == "enum":
        keys = sorted(codec["values"])
        return None if isinstance(value, int) and value in keys else f"allowed: {keys}"
    if kind in ("int", "scaled"):
        if not isinstance(value, int) or isinstance(value, bool):
            return "not an integer"
        if "choices" in codec and value not in codec["choices"]:
            return f"allowed: {codec['choices']}"
        if "min" in codec and value < codec["min"] or "max" in codec and value > codec["max"]:
            return f"allowed: {codec.get('min')}..{codec.get('max')}"
        return None
    if kind == "ipv4":
        ok = isinstance(value, list) and len(value) == 4 and all(isinstance(p, int) and 0 <= p <= 255 for p in value)
        return None if ok else "allowed: [a, b, c, d] with 0..255"
    if kind == "string":
        if not isinstance(value, str):
            return "not text"
        return None if len(value) <= codec.get("max_length", 10 ** 6) else "too long"
    if kind == "object":
        return None if isinstance(value, dict) else "not an object"
    return None


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


def envelope(data=None, status=0, message=None):
    body = {"header": {"status": status, "message": message or STATUS_TEXT.get(status, "Error")}}
    if data is not None:
        body["data"] = data
    return FakeResponse(200, json.dumps(body).encode("utf-8"))


def split_upload_body(body):
    """(header dict, raw bytes) of an upload chunk: a JSON object immediately followed by the raw chunk."""
    text = body.decode("latin-1")  # one character per byte, so the JSON end index is a byte offset
    header, end = json.JSONDecoder().raw_decode(text)
    return header, body[end:]


class FakeCamera:
    """One camera (see the module docstring for what it serves and the hooks tests use)."""

    def __init__(self, users=None, salt=None, empty_salt="separator", realm="SICK Sensor", profile_path=PROFILE_PATH,
                 reads_require_login=False):
        self.profile = load_profile_yaml(profile_path)
        self.specs = profile_variables(self.profile)
        missing = sorted(set(self.specs) - set(INITIAL_VALUES))
        assert not missing, "give the fake camera initial values for: " + ", ".join(missing)
        self.variables = {name: copy.deepcopy(INITIAL_VALUES[name]) for name in self.specs}
        self.users = users if users is not None else {"Service": PASSWORD}
        self.salt = salt
        self.empty_salt = empty_salt
        self.realm = realm
        self.reads_require_login = reads_require_login
        transport = self.profile["transport"]
        self.api_prefix = "/" + str(_setting(transport["api_prefix"])).strip("/")
        self.download_prefix = "/" + str(_setting(transport["file_download_prefix"])).strip("/")
        self.upload_prefix = "/" + str(_setting(transport["file_upload_prefix"])).strip("/")
        self.api_description_path = _setting(transport["api_description_path"])
        self.challenge_name = _setting(self.profile["auth"]["challenge_method"])
        self.method_names = {entry["name"] for entry in self.profile.get("methods", {}).values()}
        firmware = self.profile.get("firmware") or {}
        backup = self.profile.get("backup") or {}
        self.firmware_file = _setting(firmware.get("upload_file"))
        self.firmware_start = _setting(firmware.get("start_method"))
        self.backup_create = _setting(backup.get("create_method"))
        self.backup_restore = _setting(backup.get("restore_method"))
        self.backup_path = _setting(backup.get("path"))
        self.save_method = _setting((self.profile.get("persistence") or {}).get("save_method"))
        self.method_names.update(n for n in (self.firmware_start, self.backup_create, self.backup_restore,
                                             self.save_method) if n)
        self.nonces = {}
        self.counter = 0
        self.requests = []
        self.accepted_writes = []
        self.method_calls = []
        self.method_results = {}
        self.events = 0
        self.reboots = 0
        self.files = {"latestSnapshot": b"\xff\xd8fake-jpeg\xff\xd9", "latestEventRecording": b"fake-mp4"}
        self.partial = {}
        self.uploads = []
        self.api_description = b"openapi: 3.0.0\ninfo: {title: fake SEC100}\n"
        self.busy_next = 0
        self.status_queue = []
        self.unreachable = False
        self.timeout = False
        self.fail_next_gets = 0
        self.upload_breaks = False
        self.firmware_outcome = "applies"  # applies | fails | unchanged
        self.reboot_polls = 2
        self.away_polls = 0
        self.backup = None
        self.pending_backup = None
        self.passphrases = []
        self.puts = 0
        self.restores = 0
        self.lock = threading.Lock()

    # -- helpers for the tests --------------------------------------------------------------------------------
    def calls(self, method=None, path=None):
        return [r for r in self.requests if (method is None or r[0] == method) and (path is None or r[1] == path)]

    def challenge_calls(self):
        return len(self.calls("POST", self.api_prefix + "/" + self.challenge_name))

    def writes(self):
        """(name, value) of every accepted variable write, in order."""
        return list(self.accepted_writes)

    def expire_nonces(self):
        self.nonces.clear()

    def inject_status(self, status, count=1, message=None):
        self.status_queue.extend([(status, message)] * count)

    def value(self, name):
        return self.variables[name]

    # -- login --------------------------------------------------------------------------------------------------
    def _login_status(self, header, name):
        """0 when ``header`` is a valid login for ``name``; else the header.status the camera answers."""
        if not isinstance(header, dict):
            return 4
        nonce = header.get("nonce")
        if nonce not in self.nonces:
            return 10
        user = header.get("user")
        password = self.users.get(user)
        if password is None or self.nonces[nonce] != user or header.get("realm") != self.realm:
            return 4
        if header.get("opaque") != "opaque-" + nonce:
            return 10
        want = expected_response(user, self.realm, password, nonce, name, self.salt, self.empty_salt)
        return 0 if header.get("response") == want else 4

    # -- protocol -----------------------------------------------------------------------------------------------
    def handle(self, method, path, query, body, raw):
        self.requests.append((method, path, body, query))
        if self.busy_next > 0:
            self.busy_next -= 1
            return FakeResponse(400, b"", "Bad Request")
        if path == self.api_prefix + "/" + self.challenge_name:
            self.counter += 1
            nonce = f"nonce{self.counter:04d}"
            self.nonces[nonce] = body["data"]["user"]
            challenge = {"realm": self.realm, "nonce": nonce, "opaque": "opaque-" + nonce}
            if self.salt is not None:
                challenge["salt"] = list(self.salt)
            return FakeResponse(200, json.dumps({"challenge": challenge}).encode())
        if path.startswith(self.api_prefix + "/") and self.status_queue:
            status, message = self.status_queue.pop(0)
            return envelope(status=status, message=message)
        if method == "GET" and path == self.api_description_path:
            if self.api_description is None:
                return FakeResponse(404, b"", "Not Found")
            return FakeResponse(200, self.api_description)
        if self.backup_path and path == self.backup_path:
            return self._backup_transfer(method, raw)
        if path.startswith(self.api_prefix + "/"):
            return self._api(method, path[len(self.api_prefix) + 1:], body)
        if path.startswith(self.download_prefix + "/") and method == "POST":
            name = path[len(self.download_prefix) + 1:]
            status = self._login_status((body or {}).get("header"), name)
            if status:
                return envelope(status=status)
            if name not in self.files:
                return FakeResponse(404, b"", "Not Found")
            return FakeResponse(200, self.files[name])
        if path.startswith(self.upload_prefix + "/") and method == "POST":
            return self._upload(path[len(self.upload_prefix) + 1:], query, raw)
        return FakeResponse(404, b"", "Not Found")

    def _api(self, method, name, body):
        if method == "GET":
            if name not in self.specs:
                return FakeResponse(404, b"", "Not Found")
            if self.reads_require_login:
                return envelope(status=4)
            return self._read(name)
        body = body or {}
        status = self._login_status(body.get("header"), name)
        if status:
            return envelope(status=status)
        if name in self.method_names:
            return self._method(name, body.get("data"))
        if name not in self.specs:
            return FakeResponse(404, b"", "Not Found")
        if "data" not in body:
            return self._read(name)
        spec = self.specs[name]
        value = (body.get("data") or {}).get(name)
        if spec["access"] != "read_write":
            return envelope(status=3, message=f"'{name}' is read-only")
        problem = value_problem(spec["codec"], value)
        if problem:
            return envelope(status=3, message=f"Invalid value {value!r} for '{name}': {problem}")
        self.variables[name] = value
        self.accepted_writes.append((name, value))
        return envelope({})

    def _read(self, name):
        value = "" if self.specs[name]["secret"] else copy.deepcopy(self.variables[name])
        return envelope({name: value})

    def _method(self, name, data):
        self.method_calls.append((name, copy.deepcopy(data)))
        result = self.method_results.get(name, 0)
        if result == 0:
            result = self._method_effect(name, data or {})
        return envelope({"result": result})

    def _method_effect(self, name, data):
        if name in ("EventTriggerEvent", "SnapshotTriggerSnapshot"):
            self.events += 1
        elif name == "RebootDevice":
            self.reboots += 1
        elif name == "LoadFactoryDefaults":
            self.variables = {n: copy.deepcopy(INITIAL_VALUES[n]) for n in self.specs}
        elif name == "DeleteFile":
            if self.files.pop(data.get("fileName"), None) is None:
                return 3
        elif name == self.firmware_start:
            return self._start_firmware()
        elif name == self.backup_create:
            self.passphrases.append(data.get("Passphrase"))
            self.backup = self.writable()
        elif name == self.backup_restore:
            if not isinstance(self.pending_backup, dict):
                return 3
            for key, value in self.pending_backup.items():
                if key in self.specs and self.specs[key]["access"] == "read_write":
                    self.variables[key] = value
            self.pending_backup = None
            self.restores += 1
        return 0

    def writable(self):
        """{name: value} of every read_write variable (what a parameter backup holds)."""
        return {n: copy.deepcopy(self.variables[n]) for n, s in self.specs.items() if s["access"] == "read_write"}

    def _backup_transfer(self, method, raw):
        if method not in ("POST", "PUT"):
            return envelope(status=4, message=f"the parameter backup needs a login: POST {self.backup_path}")
        name = self.backup_path.rsplit("/", 1)[-1]
        body = json.loads(raw) if raw else {}
        status = self._login_status(body.get("header"), name)
        if status:
            return envelope(status=status)
        if method == "POST":
            if self.backup is None:
                return envelope(status=3, message="no parameter backup: call CreateParameterBackup first")
            return envelope({name: copy.deepcopy(self.backup)})
        document = (body.get("data") or {}).get(name)
        if not isinstance(document, dict) or not document:
            return envelope(status=3, message="a parameter backup is a non-empty JSON object")
        self.pending_backup = document
        self.puts += 1
        return envelope({name: {"staged": len(document)}})

    def _upload(self, name, query, raw):
        if self.upload_breaks:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        header, chunk = split_upload_body(raw)
        header = header.get("header")
        status = self._login_status(header, name)
        if status:
            return envelope(status=status)
        append = query.get("append") == ["true"]
        finish = query.get("finish") == ["true"]
        self.uploads.append({"file": name, "append": append, "finish": finish, "size": len(chunk),
                             "nonce": header.get("nonce")})
        if not append:
            self.partial[name] = b""
        elif name not in self.partial:
            return envelope(status=3, message=f"append=true without a started upload of '{name}'")
        self.partial[name] += chunk
        if finish:
            self.files[name] = self.partial.pop(name)
        return envelope({})

    def _start_firmware(self):
        image = self.files.get(self.firmware_file)
        if image is None:
            return 3
        match = re.match(rb"SICK-SEC100-FW (\S+)", image)
        self.uploaded_version = match.group(1).decode() if match else None
        self.variables["UpdateState"] = 1
        self.away_polls = self.reboot_polls
        if self.away_polls == 0:
            self._finish_firmware()
        return 0

    def _finish_firmware(self):
        if self.firmware_outcome == "fails":
            self.variables["UpdateState"] = 3
            return
        self.variables["UpdateState"] = 2
        if self.firmware_outcome == "applies" and self.uploaded_version:
            self.variables["FirmwareVersion"] = self.uploaded_version

    def before_get(self):
        """Reboot emulation: after a firmware start the next ``reboot_polls`` GETs find nobody answering."""
        if self.away_polls > 0:
            self.away_polls -= 1
            if self.away_polls == 0:
                self._finish_firmware()
            raise refused()
        if self.fail_next_gets > 0:
            self.fail_next_gets -= 1
            raise refused()


class FakeNetwork:
    """Stands in for open_url: routes each request to the FakeCamera at its host:port.

    Callable with open_url's signature; ``calls`` records the keyword arguments of every request (TLS settings,
    timeouts, the URL and method).
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
        body = None
        if data is not None and headers.get("content-type", "").startswith("application/json"):
            body = json.loads(data)
        query = parse_qs(parts.query)
        with camera.lock:
            if method == "GET":
                try:
                    camera.before_get()
                except URLError:
                    camera.requests.append((method, parts.path, body, query))
                    raise
            answer = camera.handle(method, parts.path, query, body, data)
        reply_headers = Message()
        reply_headers["Content-Type"] = "application/json"
        if answer.status_code >= 400:
            raise HTTPError(url, answer.status_code, answer.reason, reply_headers, io.BytesIO(answer.content))
        return OpenUrlResponse(answer.status_code, answer.reason or "OK", answer.content, reply_headers)


def install_network(monkeypatch):
    """Route every request of module_utils/_api.py to a fresh FakeNetwork (its open_url); no real sleeps; secret
    state files in ``network.state_dir`` (a fresh temporary directory), hashed with 1000 PBKDF2 rounds."""
    from ansible_collections.sensingcam.ming.plugins.module_utils import _api, sensingcam_module

    network = FakeNetwork()
    monkeypatch.setattr(_api, "open_url", network)
    monkeypatch.setattr(_api.ApiClient, "sleep", staticmethod(lambda seconds: None))
    # The secret-state files of FieldSettingsModule go to a fresh directory, never to ~/.cache of the test user.
    network.state_dir = tempfile.mkdtemp(prefix="sensingcam-secret-state-")
    atexit.register(shutil.rmtree, network.state_dir, True)
    monkeypatch.setattr(sensingcam_module, "SECRET_STATE_DIR", network.state_dir)
    # PBKDF2 with the production rounds costs about 0.5 s on a loaded CI machine; hashes written here are throwaway.
    monkeypatch.setattr(sensingcam_module, "SECRET_HASH_ITERATIONS", 1000)
    return network


def module_args(**kwargs):
    """Connection arguments of a module run against the fake camera at cam1:80."""
    args = {"host": "cam1", "password": PASSWORD, "profile": PROFILE_PATH, "retries": 0}
    args.update(kwargs)
    return args


class FakeClock:
    """A clock for modules that poll (firmware update, reboot): ``sleep`` moves ``now`` on instead of waiting, and
    refuses a zero pause, since a poll loop without one would spin (and never time out on this clock). Install it
    with ``install_clock(monkeypatch, ModuleClass)``."""

    def __init__(self, now=1000.0):
        self.now = now
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        assert seconds > 0, "a poll loop without a pause would spin (and never time out on this clock)"
        self.sleeps.append(seconds)
        self.now += seconds


def install_clock(monkeypatch, module_class):
    """A FakeClock in place of ``module_class.clock`` and ``module_class.sleep``."""
    fake = FakeClock()
    monkeypatch.setattr(module_class, "clock", staticmethod(fake.clock))
    monkeypatch.setattr(module_class, "sleep", staticmethod(fake.sleep))
    return fake
