"""A Frigate NVR HTTP API double (see README.md: what it covers, what it infers, the Frigate sources read).

Frigate cannot run on the machines that test this collection, so the anomaly-to-clip pipeline is tested against this
stand-in: a threaded, in-memory HTTP server (standard library only) that answers the few operations the pipeline
uses the way Frigate 0.16, 0.17 and 0.18 answer them behind their nginx (port 8971): login cookie, manual events,
clip and snapshot media, version, config. Optional MQTT (paho-mqtt): ``frigate/available`` and ``frigate/reviews``.
Choices the sources leave open are marked ``inferred`` here and listed in the README.
"""

import base64
import datetime
import hashlib
import hmac
import http.cookies
import json
import math
import re
import secrets
import string
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_VERSION = "0.18.0"
SUPPORTED_MINORS = ((0, 16), (0, 17), (0, 18))
# The build suffix of /api/version ("<version>-<short commit>", Makefile: VERSION-COMMIT_HASH): the tag commits read
BUILD_COMMITS = {"0.16.4": "4131252", "0.17.2": "3d4dd3a", "0.18.0": "e3fa701"}
COOKIE_NAME = "frigate_token"  # frigate/config/auth.py: auth.cookie_name default
SESSION_LENGTH = 86400  # auth.session_length default
PRE_CAPTURE_S = 5  # record.alerts/detections.pre_capture default; record.event_pre_capture is their maximum
CLIPS_DIR = "/media/frigate/clips"
MAX_INT_FROM_FLOAT = 2 ** 63
# Tiny media made once with ffmpeg (8x8 grey): enough for a client that checks the type and magic bytes
JPEG_BYTES = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgEBAQEBAUFBQUFBQYGBgYGBgYGBgYGBgYHBwcICAgHBwcGBgcH"
    "CAgICAkJCQgICAgJCQoKCgwMCwsODg4RERT/xABKAAEAAAAAAAAAAAAAAAAAAAAAAQEAAAAAAAAAAAAAAAAAAAAAEAEAAAAAAAAAAAAAAAAA"
    "AAAAEQEAAAAAAAAAAAAAAAAAAAAA/8AAEQgACAAIAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AAA//2Q==")
PNG_BYTES = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAD0lEQVR4nGNowAEYhpYEAILzYAGc7g8kAAAA"
    "AElFTkSuQmCC")
WEBP_BYTES = base64.b64decode("UklGRh4AAABXRUJQVlA4TBEAAAAvB8ABAAdQwAIWsP+BiOh/AAA=")
NGINX_REASONS = {401: "401 Authorization Required", 403: "403 Forbidden", 500: "500 Internal Server Error",
                 502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable", 504: "504 Gateway Time-out"}
FAULT_KINDS = ("clip_never_ready", "http_status", "timeout", "camera_removed", "login_refused", "slow_insert")


def version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def random_suffix():
    """The 6 characters [a-z0-9] after an event or review id's timestamp (Frigate uses random.choices)."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _index in range(6))


def nginx_page(status):
    """nginx's built-in error page (what the client sees when nginx, not Frigate's API, answers)."""
    reason = NGINX_REASONS.get(status, f"{status} Error")
    return (f"<html>\r\n<head><title>{reason}</title></head>\r\n<body>\r\n<center><h1>{reason}</h1></center>\r\n"
            "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n").encode()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mp4_bytes(note):
    """An ``ftyp`` box (isom) and a ``free`` box carrying ``note``: the start of an MP4 file, not a playable video."""
    ftyp = struct.pack(">I4s4sI", 32, b"ftyp", b"isom", 0x200) + b"isomiso2avc1mp41"
    text = note.encode()
    return ftyp + struct.pack(">I4s", 8 + len(text), b"free") + text


# -- request-body validation in the manner of FastAPI 0.116 / pydantic 2 (lax mode) ---------------------------------
class Invalid(Exception):
    def __init__(self, kind, msg, value):
        super().__init__(msg)
        self.error = {"type": kind, "msg": msg, "input": value}


BOOL_TRUE = {"1", "on", "t", "true", "y", "yes"}
BOOL_FALSE = {"0", "off", "f", "false", "n", "no"}


def lax_str(value):
    if isinstance(value, str):
        return value
    raise Invalid("string_type", "Input should be a valid string", value)


def lax_float(value):
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            raise Invalid("float_parsing", "Input should be a valid number, unable to parse string as a number",
                          value) from None
    raise Invalid("float_type", "Input should be a valid number", value)


def lax_int(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Invalid("finite_number", "Input should be a finite number", value)
        if abs(value) >= MAX_INT_FROM_FLOAT:
            raise Invalid("int_parsing_size", "Unable to parse input string as an integer, exceeded maximum size",
                          value)
        if value != int(value):
            raise Invalid("int_from_float", "Input should be a valid integer, got a number with a fractional part",
                          value)
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[+-]?\d+(?:\.0*)?", text):
            return int(text.split(".")[0])
        raise Invalid("int_parsing", "Input should be a valid integer, unable to parse string as an integer", value)
    raise Invalid("int_type", "Input should be a valid integer", value)


def lax_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in BOOL_TRUE | BOOL_FALSE:
        return value.strip().lower() in BOOL_TRUE
    if isinstance(value, (int, float, str)):
        raise Invalid("bool_parsing", "Input should be a valid boolean, unable to interpret input", value)
    raise Invalid("bool_type", "Input should be a valid boolean", value)


def lax_dict(value):
    if isinstance(value, dict):
        return value
    raise Invalid("dict_type", "Input should be a valid dictionary", value)


def create_body_fields(version):
    """EventsCreateBody (frigate/api/defs/request/events_body.py) of a version: name -> (parser, default)."""
    fields = {}
    if version < (0, 17):
        fields["source_type"] = (lax_str, "api")
    fields.update({"sub_label": (lax_str, None), "score": (lax_float, 0), "duration": (lax_int, 30),
                   "include_recording": (lax_bool, True), "draw": (lax_dict, {})})
    if version >= (0, 18):
        fields["pre_capture"] = (lax_int, None)
    return fields


END_BODY_FIELDS = {"end_time": (lax_float, None)}
LOGIN_BODY_FIELDS = {"user": (lax_str, ...), "password": (lax_str, ...)}


def validate_body(fields, body, required):
    """The body -> a dict of parsed fields (extra keys ignored, as pydantic's default), or a 422 FastAPI detail."""
    if body is None:
        if required:
            return None, [{"type": "missing", "loc": ["body"], "msg": "Field required", "input": None}]
        body = {}
    if not isinstance(body, dict):
        return None, [{"type": "model_attributes_type", "loc": ["body"],
                       "msg": "Input should be a valid dictionary or object to extract fields from", "input": body}]
    parsed, errors = {}, []
    for name, (parser, default) in fields.items():
        if name not in body:
            if default is ...:
                errors.append({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": body})
            else:
                parsed[name] = json.loads(json.dumps(default))
            continue
        value = body[name]
        if value is None and default is not ...:
            parsed[name] = None
            continue
        try:
            parsed[name] = parser(value)
        except Invalid as failure:
            errors.append({"type": failure.error["type"], "loc": ["body", name], "msg": failure.error["msg"],
                           "input": value})
    return parsed, errors


class Answer(Exception):
    """A complete HTTP answer: status, body (dict/list/str -> JSON, bytes as is) and headers."""

    def __init__(self, status, body=None, content_type="application/json", headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = list(headers or [])


def json_answer(status, body, headers=None):
    return Answer(status, body, "application/json", headers)


def nginx_answer(status):
    return Answer(status, nginx_page(status), "text/html")


class ReviewSegment:
    """A pending review item of one camera (frigate/review/maintainer.py PendingReviewSegment, alert severity)."""

    def __init__(self, camera, frame_time):
        rand_id = random_suffix()
        self.id = f"{frame_time}-{rand_id}"
        self.camera = camera
        self.start_time = frame_time
        self.detections = {}
        self.last_alert_time = frame_time
        self.has_frame = False
        self.indefinite = set()

    def data(self, ended, version):
        review_data = {"detections": list(self.detections), "objects": sorted(set(self.detections.values())),
                       "sub_labels": [], "zones": [], "audio": []}
        if version >= (0, 17):
            review_data = {"detections": review_data["detections"], "objects": review_data["objects"],
                           "verified_objects": [], "sub_labels": [], "zones": [], "audio": [], "thumb_time": None,
                           "metadata": None}
        return {"id": self.id, "camera": self.camera, "start_time": self.start_time,
                "end_time": self.last_alert_time if ended else None, "severity": "alert",
                "thumb_path": f"{CLIPS_DIR}/review/thumb-{self.camera}-{self.id}.webp", "data": review_data}


class State:
    """Everything the double holds; one lock serialises requests and the review ticker."""

    def __init__(self, version, cameras, users, clip_delay_s, review_cutoff_s, pre_capture_s, cookie_secure):
        self.version_text = version
        self.version = version_tuple(version)
        if self.version[:2] not in SUPPORTED_MINORS:
            raise ValueError(f"version {version!r}: the double imitates Frigate 0.16, 0.17 and 0.18 only")
        self.build = f"{version}-{BUILD_COMMITS.get(version, '0000000')}"
        self.lock = threading.RLock()
        self.cameras = {}
        for camera in cameras:
            entry = {"name": camera} if isinstance(camera, str) else dict(camera)
            unknown = set(entry) - {"name", "record", "snapshots", "review_alerts"}
            if unknown or not entry.get("name"):
                raise ValueError(f"camera {camera!r}: keys are name, record, snapshots, review_alerts")
            self.cameras[entry["name"]] = {"record": bool(entry.get("record", True)),
                                           "snapshots": bool(entry.get("snapshots", True)),
                                           "review_alerts": bool(entry.get("review_alerts", True))}
        self.users = dict(users)  # name -> (password, role)
        self.clip_delay_s = float(clip_delay_s)
        self.review_cutoff_s = float(review_cutoff_s if review_cutoff_s is not None
                                     else (120 if self.version < (0, 17) else 40))
        self.pre_capture_s = int(pre_capture_s)
        self.cookie_secure = bool(cookie_secure)
        self.jwt_secret = secrets.token_bytes(32)
        self.events = {}
        self.visible_at = {}
        self.ongoing_manual = {}  # event id -> camera (manual events of source type "api")
        self.segments = {}  # camera -> ReviewSegment
        self.reviews = []  # every review message {"type", "before", "after"}, MQTT or not
        self.requests = []
        self.clip_downloads = []
        self.faults = {}
        self.publish = None  # set by the MQTT side: publish(topic_suffix, payload, retain)

    # -- faults --------------------------------------------------------------------------------------------------
    def set_fault(self, kind, **params):
        with self.lock:
            if kind == "clip_never_ready":
                cameras = self.faults.setdefault("clip_never_ready", set())
                cameras.add(params.get("camera") or "*")
            elif kind == "http_status":
                status = int(params.get("status", 503))
                if not 400 <= status <= 599:
                    raise ValueError(f"http_status: status {status} is not an HTTP error status (400-599)")
                self.faults["http_status"] = {"status": status, "count": int(params.get("count", 1))}
            elif kind == "timeout":
                self.faults["timeout"] = {"count": int(params.get("count", 1)),
                                          "delay_s": float(params.get("delay_s", 30.0))}
            elif kind == "camera_removed":
                camera = params.get("camera")
                if camera not in self.cameras:
                    raise ValueError(f"camera_removed: camera {camera!r} is not configured ({sorted(self.cameras)})")
                self.faults.setdefault("camera_removed", {})[camera] = self.cameras.pop(camera)
            elif kind == "login_refused":
                self.faults["login_refused"] = True
            elif kind == "slow_insert":
                self.faults["slow_insert"] = float(params.get("delay_s", 1.0))
            else:
                raise ValueError(f"unknown fault {kind!r}: one of {', '.join(FAULT_KINDS)}")

    def clear_faults(self):
        with self.lock:
            self.cameras.update(self.faults.get("camera_removed", {}))
            self.faults = {}

    def describe_faults(self):
        with self.lock:
            out = {}
            for kind, value in self.faults.items():
                out[kind] = sorted(value) if isinstance(value, (set, dict)) else value
            return out

    def take_fault(self, kind):
        """Consume one request's worth of a counted fault; the fault's parameters or None."""
        fault = self.faults.get(kind)
        if not fault or fault["count"] <= 0:
            return None
        fault["count"] -= 1
        if fault["count"] == 0:
            del self.faults[kind]
        return fault

    # -- authentication (frigate/api/auth.py: login, create_encoded_jwt, set_jwt_cookie, auth) -------------------
    def encode_jwt(self, user, role, expiration):
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        claims = {"sub": user, "role": role, "exp": expiration, "iat": int(time.time())}
        payload = b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self.jwt_secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64url(signature)}"

    def decode_jwt(self, token):
        """The claims of a JWT this double signed and that has not expired, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            expected = hmac.new(self.jwt_secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(expected, b64url_decode(parts[2])):
                return None
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
        except (ValueError, TypeError):
            return None
        if header.get("alg") != "HS256" or not isinstance(claims, dict):
            return None
        if any(key not in claims for key in ("sub", "role", "exp")) or int(claims["exp"]) <= int(time.time()):
            return None
        return claims

    def login_cookie(self, user, role):
        """The Set-Cookie value Starlette writes for Frigate's set_jwt_cookie of this version."""
        expiration = int(time.time()) + SESSION_LENGTH
        cookie = http.cookies.SimpleCookie()
        cookie[COOKIE_NAME] = self.encode_jwt(user, role, expiration)
        morsel = cookie[COOKIE_NAME]
        if self.version >= (0, 18):
            morsel["max-age"] = SESSION_LENGTH
        else:
            # 0.16/0.17 pass the expiry epoch as ``expires=``; an int there is an offset from now to http.cookies
            morsel["expires"] = expiration
        morsel["path"] = "/"
        if self.cookie_secure:
            morsel["secure"] = True
        morsel["httponly"] = True
        morsel["samesite"] = "lax"
        return morsel.OutputString()

    # -- events --------------------------------------------------------------------------------------------------
    def visible_event(self, event_id):
        event = self.events.get(event_id)
        if event is None or self.visible_at.get(event_id, 0) > time.time():
            return None
        return event

    def create_event(self, camera, label, body):
        now = datetime.datetime.now().timestamp()
        rand_id = random_suffix()
        event_id = f"{now}-{rand_id}"
        config = self.cameras[camera]
        duration = body["duration"]
        pre_capture = body.get("pre_capture")
        end_time = now + duration if duration is not None else None
        start_time = now - (self.pre_capture_s if pre_capture is None else pre_capture)
        source_type = body.get("source_type", "api")
        data = {"type": source_type, "score": body["score"], "top_score": body["score"]}
        if self.version >= (0, 18):
            data["snapshot_clean"] = True
            if body["draw"] is not None:
                data["draw"] = body["draw"]
        self.events[event_id] = {
            "id": event_id, "label": label, "sub_label": body["sub_label"], "camera": camera,
            "start_time": start_time, "end_time": end_time, "top_score": None, "score": None,
            "false_positive": None, "zones": [], "thumbnail": None,
            "has_clip": bool(config["record"] and body["include_recording"]), "has_snapshot": True,
            "region": None, "box": None, "area": None, "retain_indefinitely": False, "ratio": 1.0,
            "plus_id": None, "model_hash": None, "detector_type": None, "model_type": None, "data": data}
        self.visible_at[event_id] = now + float(self.faults.get("slow_insert", 0.0))
        if source_type == "api":
            self.ongoing_manual[event_id] = camera
            self.review_manual_event(camera, now, event_id, f"{label}: {body['sub_label']}" if body["sub_label"]
                                     else label, end_time)
        return event_id

    def end_event(self, event_id, end_time):
        event = self.events[event_id]
        event["end_time"] = end_time
        camera = self.ongoing_manual.get(event_id)
        segment = self.segments.get(camera) if camera else None
        if segment is not None and event_id in segment.indefinite:
            segment.indefinite.discard(event_id)
            if not segment.indefinite:
                segment.last_alert_time = end_time

    # -- review items and MQTT (frigate/review/maintainer.py) --------------------------------------------------
    def review_manual_event(self, camera, frame_time, event_id, label, end_time):
        config = self.cameras[camera]
        if not config["record"] or not config["review_alerts"]:
            return  # Frigate logs "...alerts are disabled. This manual event will not appear as an alert."
        segment = self.segments.get(camera)
        if segment is None:
            segment = self.segments[camera] = ReviewSegment(camera, frame_time)
        segment.detections[event_id] = label
        if end_time is None:
            segment.indefinite.add(event_id)
            segment.last_alert_time = sys.maxsize
        else:
            segment.last_alert_time = end_time

    def tick(self, now=None):
        """One camera frame: a new segment gets its thumbnail ("update"); an idle one ends after the cutoff."""
        now = time.time() if now is None else now
        with self.lock:
            for camera, segment in list(self.segments.items()):
                if not segment.has_frame:
                    before = segment.data(False, self.version)
                    segment.has_frame = True
                    self.send_review("update", before, segment.data(False, self.version), camera, "ALERT")
                if now > segment.last_alert_time + self.review_cutoff_s:
                    before = segment.data(False, self.version)
                    self.send_review("end", before, segment.data(True, self.version), camera, "NONE")
                    del self.segments[camera]

    def send_review(self, kind, before, after, camera, status):
        message = {"type": kind, "before": before, "after": after}
        self.reviews.append(message)
        if self.publish is not None:
            self.publish("reviews", json.dumps(message), False)
            self.publish(f"{camera}/review_status", status, False)

    # -- recordings and clips (frigate/api/media.py: event_clip, recording_clip) ------------------------------
    def recorded_until(self, camera, now):
        """Recordings of ``camera`` are in the database up to this time (segments land ``clip_delay_s`` late)."""
        never = self.faults.get("clip_never_ready", set())
        if "*" in never or camera in never:
            return -math.inf
        return now - self.clip_delay_s


class FrigateApi:
    """Route handlers: each takes (state, request) and raises Answer."""

    @staticmethod
    def login(state, request):
        parsed, errors = validate_body(LOGIN_BODY_FIELDS, request.body, required=True)
        if errors:
            raise json_answer(422, {"detail": errors})
        known = state.users.get(parsed["user"])
        if state.faults.get("login_refused") or known is None or not hmac.compare_digest(
                known[0].encode(), parsed["password"].encode()):
            raise json_answer(401, {"message": "Login failed"})
        raise Answer(200, b"", "text/plain; charset=utf-8",
                     [("Set-Cookie", state.login_cookie(parsed["user"], known[1]))])

    @staticmethod
    def logout(state, request):
        cookie = f'{COOKIE_NAME}=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=lax'
        raise Answer(303, b"", "text/plain", [("Location", "/login"), ("Set-Cookie", cookie)])

    @staticmethod
    def version(state, request):
        raise Answer(200, state.build.encode(), "text/plain; charset=utf-8")

    @staticmethod
    def profile(state, request):
        raise json_answer(200, {"username": request.user, "role": request.role,
                                "allowed_cameras": sorted(state.cameras)})

    @staticmethod
    def config(state, request):
        cameras = {}
        for name, camera in state.cameras.items():
            cameras[name] = {
                "name": name, "enabled": True,
                "record": {"enabled": camera["record"], "alerts": {"pre_capture": state.pre_capture_s,
                                                                   "post_capture": 5},
                           "detections": {"pre_capture": state.pre_capture_s, "post_capture": 5}},
                "snapshots": {"enabled": camera["snapshots"]},
                "review": {"alerts": {"enabled": camera["review_alerts"], "labels": ["person", "car"]}}}
            if state.version >= (0, 17):
                cameras[name]["review"]["alerts"]["cutoff_time"] = int(state.review_cutoff_s)
        raise json_answer(200, {"version": f"{state.version[0]}.{state.version[1]}-0",
                                "auth": {"enabled": True, "cookie_name": COOKIE_NAME,
                                         "session_length": SESSION_LENGTH},
                                "mqtt": {"enabled": state.publish is not None, "topic_prefix": "frigate"},
                                "cameras": cameras})

    @staticmethod
    def stats(state, request):
        raise json_answer(200, {"cameras": {name: {"camera_fps": 5.0, "process_fps": 5.0, "detection_fps": 0.0,
                                                   "skipped_fps": 0.0, "pid": 0} for name in state.cameras},
                                "service": {"version": state.build, "latest_version": state.version_text,
                                            "uptime": int(time.time() - request.server_started)}})

    @staticmethod
    def create_event(state, request, camera, label):
        FrigateApi.require_admin(request)
        parsed, errors = validate_body(create_body_fields(state.version), request.body, required=False)
        if errors:
            raise json_answer(422, {"detail": errors})
        if not camera or camera not in state.cameras:
            raise json_answer(404, {"success": False, "message": f"{camera} is not a valid camera."})
        if not label:
            raise json_answer(404, {"success": False, "message": f"{label} must be set."})
        event_id = state.create_event(camera, label, parsed)
        raise json_answer(200, {"success": True, "message": "Successfully created event.", "event_id": event_id})

    @staticmethod
    def end_event(state, request, event_id):
        FrigateApi.require_admin(request)
        parsed, errors = validate_body(END_BODY_FIELDS, request.body, required=True)
        if errors:
            raise json_answer(422, {"detail": errors})
        event = state.visible_event(event_id)
        if state.version >= (0, 17):
            if event is None:
                raise json_answer(404, {"success": False, "message": f"Event {event_id} not found."})
            if parsed["end_time"] is not None and parsed["end_time"] < event["start_time"]:
                message = f"end_time ({parsed['end_time']}) cannot be before start_time ({event['start_time']})."
                raise json_answer(400, {"success": False, "message": message})
        end_time = parsed["end_time"] or datetime.datetime.now().timestamp()
        if event is not None:  # 0.16 publishes the end without looking the event up: 200 for any id
            state.end_event(event_id, end_time)
        raise json_answer(200, {"success": True, "message": "Event successfully ended."})

    @staticmethod
    def get_event(state, request, event_id):
        event = state.visible_event(event_id)
        if event is None:
            raise json_answer(404, "Event not found")
        raise json_answer(200, event)

    @staticmethod
    def list_events(state, request):
        query = request.query
        try:
            limit = int(query.get("limit", 100))
            after = float(query["after"]) if query.get("after") else None
            before = float(query["before"]) if query.get("before") else None
            in_progress = int(query["in_progress"]) if query.get("in_progress") else None
            has_clip = int(query["has_clip"]) if query.get("has_clip") else None
        except ValueError as error:
            raise json_answer(422, {"detail": [{"type": "parsing", "loc": ["query"], "msg": str(error),
                                                "input": query}]}) from None
        cameras = query.get("cameras", "all")
        if cameras == "all" and query.get("camera", "all") != "all":
            cameras = query["camera"]
        labels = query.get("labels", "all")
        if labels == "all" and query.get("label", "all") != "all":
            labels = unquote(query["label"])
        selected = []
        for event in state.events.values():
            if state.visible_event(event["id"]) is None:
                continue
            if cameras != "all" and event["camera"] not in cameras.split(","):
                continue
            if labels != "all" and event["label"] not in labels.split(","):
                continue
            if after is not None and not event["start_time"] > after:
                continue
            if before is not None and not event["start_time"] < before:
                continue
            if in_progress is not None and (event["end_time"] is None) != bool(in_progress):
                continue
            if has_clip is not None and event["has_clip"] != bool(has_clip):
                continue
            selected.append(event)
        selected.sort(key=lambda item: item["start_time"], reverse=query.get("sort") != "date_asc")
        keys = ("id", "camera", "label", "zones", "start_time", "end_time", "has_clip", "has_snapshot", "plus_id",
                "retain_indefinitely", "sub_label", "top_score", "false_positive", "box", "data")
        raise json_answer(200, [{key: event[key] for key in keys} for event in selected[:max(limit, 0)]])

    @staticmethod
    def clip(state, request, event_id):
        event = state.visible_event(event_id)
        if event is None:
            raise json_answer(404, {"success": False, "message": "Event not found"})
        if not event["has_clip"]:
            raise json_answer(404, {"success": False, "message": "Clip not available"})
        try:
            padding = int(request.query.get("padding", 0))
        except ValueError:
            raise json_answer(422, {"detail": [{"type": "int_parsing", "loc": ["query", "padding"],
                                                "msg": "Input should be a valid integer, unable to parse string as "
                                                       "an integer", "input": request.query["padding"]}]}) from None
        now = time.time()
        start = event["start_time"] - padding
        end = now if event["end_time"] is None else event["end_time"] + padding
        recorded = state.recorded_until(event["camera"], now)
        if recorded < start:
            state.clip_downloads.append({"event_id": event_id, "status": "no_recordings", "complete": False})
            if state.version < (0, 17):
                # 0.16 runs ffmpeg on an empty playlist and streams nothing: 200 video/mp4 with no bytes
                raise Answer(200, b"", "video/mp4")
            raise json_answer(400, {"success": False, "message": "No recordings found for the specified time range"})
        complete = event["end_time"] is not None and recorded >= end
        covered_end = min(end, recorded)
        state.clip_downloads.append({"event_id": event_id, "status": "served", "complete": complete,
                                     "start": start, "end": covered_end})
        note = (f"frigate-double clip event={event_id} camera={event['camera']} start={start:.3f} "
                f"end={covered_end:.3f} complete={str(complete).lower()}")
        raise Answer(200, mp4_bytes(note), "video/mp4")

    @staticmethod
    def snapshot(state, request, event_id):
        event = state.visible_event(event_id)
        if event is None or event["end_time"] is None:
            # Frigate looks the id up among ended events, then among objects being tracked (a manual event is
            # not one): nothing found is this answer
            raise json_answer(404, {"success": False, "message": "Live frame not available"})
        raise Answer(200, JPEG_BYTES, "image/jpeg", [("Cache-Control", "private, max-age=31536000"),
                                                     ("X-Frame-Time", str(event["start_time"]))])

    @staticmethod
    def snapshot_clean(state, request, event_id, extension):
        wanted = "png" if state.version < (0, 17) else "webp"
        if extension != wanted:
            raise json_answer(404, {"detail": "Not Found"})
        event = state.visible_event(event_id)
        if event is None:
            raise json_answer(404, {"success": False, "message": "Event not found"})
        if not state.cameras.get(event["camera"], {}).get("snapshots", False):
            raise json_answer(404, {"success": False, "message": "Snapshots must be enabled in the config"})
        raise Answer(200, PNG_BYTES if wanted == "png" else WEBP_BYTES, f"image/{wanted}",
                     [("Cache-Control", "private, max-age=31536000" if event["end_time"] is not None
                       else "no-cache")])

    @staticmethod
    def require_admin(request):
        if request.role != "admin":
            raise json_answer(403, {"detail": f"Role {request.role} not authorized. Required: admin"})


# (pattern, {method: handler name}); paths are Frigate's FastAPI paths behind nginx's /api/ prefix
ROUTES = [
    (r"/api/login", {"POST": "login"}),
    (r"/api/logout", {"GET": "logout"}),
    (r"/api/version", {"GET": "version"}),
    (r"/api/profile", {"GET": "profile"}),
    (r"/api/config", {"GET": "config"}),
    (r"/api/stats", {"GET": "stats"}),
    (r"/api/events", {"GET": "list_events"}),
    (r"/api/events/(?P<camera>[^/]+)/(?P<label>[^/]+)/create", {"POST": "create_event"}),
    (r"/api/events/(?P<event_id>[^/]+)/end", {"PUT": "end_event"}),
    (r"/api/events/(?P<event_id>[^/]+)/clip\.mp4", {"GET": "clip"}),
    (r"/api/events/(?P<event_id>[^/]+)/snapshot\.jpg", {"GET": "snapshot"}),
    (r"/api/events/(?P<event_id>[^/]+)/snapshot-clean\.(?P<extension>png|webp)", {"GET": "snapshot_clean"}),
    (r"/api/events/(?P<event_id>[^/]+)", {"GET": "get_event"}),
]
COMPILED_ROUTES = [(re.compile(f"^{pattern}$"), methods) for pattern, methods in ROUTES]
PUBLIC = {"login", "logout"}  # nginx: auth_request off for /api/login and /api/logout


class Request:
    def __init__(self, method, path, query, body, headers, server_started):
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.headers = headers
        self.server_started = server_started
        self.user = None
        self.role = None


class Handler(BaseHTTPRequestHandler):
    server_version = "nginx"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        """Quiet: the double's record of requests is ``requests``."""

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def dispatch(self, method):
        double = self.server.double
        state = double.state
        split = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = None
        body_error = None
        content_type = self.headers.get("Content-Type", "")
        json_content = not content_type or re.match(r"^\s*application/([\w.+-]*\+)?json\s*(;|$)", content_type, re.I)
        if raw and not json_content:
            # FastAPI hands a body of another content type to the model as bytes: not an object
            body_error = [{"type": "model_attributes_type", "loc": ["body"],
                           "msg": "Input should be a valid dictionary or object to extract fields from",
                           "input": raw.decode("utf-8", "replace")}]
        elif raw:
            try:
                body = json.loads(raw)
            except ValueError as error:
                body_error = [{"type": "json_invalid", "loc": ["body", getattr(error, "pos", 0)],
                               "msg": "JSON decode error", "input": {}, "ctx": {"error": getattr(error, "msg", "")}}]
        request = Request(method, split.path, query, body, self.headers, double.started)
        with state.lock:
            state.requests.append(self.record(request, raw))
            timeout = state.take_fault("timeout")
            failure = None if timeout else state.take_fault("http_status")
        if timeout:
            double.stopping.wait(timeout["delay_s"])
            self.close_connection = True
            return
        try:
            if failure:
                raise nginx_answer(failure["status"])
            if body_error and split.path.startswith("/api/"):
                raise json_answer(422, {"detail": body_error})
            with state.lock:
                self.route(state, request)
            raise json_answer(500, {"detail": "the double has no answer"})
        except Answer as answer:
            self.answer(method, answer)

    @staticmethod
    def record(request, raw):
        body = request.body
        if isinstance(body, dict) and "password" in body:
            body = {**body, "password": "********"}
        elif body is None and raw:
            body = raw.decode("utf-8", "replace")
        return {"method": request.method, "path": request.path, "query": dict(request.query), "body": body}

    def authenticate(self, state, request):
        """nginx auth_request -> Frigate /auth: a Bearer token, else the cookie; a bad one is nginx's 401 page."""
        authorization = request.headers.get("Authorization", "")
        token = None
        if authorization.startswith("Bearer "):
            token = authorization[len("Bearer "):]
        else:
            cookies = http.cookies.SimpleCookie()
            try:
                cookies.load(request.headers.get("Cookie", ""))
            except http.cookies.CookieError:
                cookies = {}
            if COOKIE_NAME in cookies:
                token = cookies[COOKIE_NAME].value
        claims = state.decode_jwt(token) if token else None
        if claims is None:
            raise nginx_answer(401)
        request.user, request.role = claims["sub"], claims["role"]

    def route(self, state, request):
        if not request.path.startswith("/api/"):
            raise Answer(404, nginx_page(404), "text/html")
        for pattern, methods in COMPILED_ROUTES:
            match = pattern.match(request.path)
            if match is None:
                continue
            name = methods.get(request.method)
            if name not in PUBLIC:
                self.authenticate(state, request)
            if name is None:
                raise json_answer(405, {"detail": "Method Not Allowed"},
                                  [("Allow", ", ".join(sorted(methods)))])
            if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and "Origin" in request.headers \
                    and "X-CSRF-TOKEN" not in request.headers:
                raise json_answer(401, {"success": False, "message": "Missing CSRF header"})
            arguments = {key: unquote(value) for key, value in match.groupdict().items()}
            getattr(FrigateApi, name)(state, request, **arguments)
        self.authenticate(state, request)
        raise json_answer(404, {"detail": "Not Found"})

    def answer(self, method, answer):
        body = answer.body
        data = bytes(body) if isinstance(body, (bytes, bytearray)) else json.dumps(
            body, ensure_ascii=False, separators=(",", ":")).encode()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)


class DoubleHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    ssl_context = None

    def finish_request(self, request, client_address):
        """TLS handshake in the request's own thread, so one slow client cannot hold up the others."""
        if self.ssl_context is not None:
            try:
                request = self.ssl_context.wrap_socket(request, server_side=True)
            except OSError:
                return
        super().finish_request(request, client_address)


class MqttSide:
    """Frigate's MQTT client (frigate/comms/mqtt.py): last will ``frigate/available`` = ``offline`` (qos 1, retained),
    ``online`` (retained) once connected, ``stopped`` (retained) on a clean stop; publishes are dropped while
    disconnected (Frigate keeps no buffer). ``messages`` holds what was handed to the broker, ``dropped`` the rest."""

    def __init__(self, host, port=1883, user=None, password=None, ca_file=None, tls=None, client_id="frigate",
                 topic_prefix="frigate", qos=0, tls_insecure=None):
        import paho.mqtt.client as mqtt

        self.prefix = topic_prefix
        self.qos = int(qos)
        self.messages = []
        self.dropped = []
        self.connected = threading.Event()
        self.lock = threading.Lock()
        self.client = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.will_set(f"{topic_prefix}/available", payload="offline", qos=1, retain=True)
        if ca_file or tls:
            self.client.tls_set(ca_certs=ca_file)
            if tls_insecure is not None:
                self.client.tls_insecure_set(tls_insecure)
        if user is not None:
            self.client.username_pw_set(user, password=password)
        self.host, self.port = host, int(port)

    def start(self):
        self.client.connect_async(self.host, self.port, 60)
        self.client.loop_start()
        return self

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            return
        self.connected.set()
        client.subscribe(f"{self.prefix}/#", qos=self.qos)
        self.publish("available", "online", True)

    def _on_disconnect(self, *_args):
        self.connected.clear()

    def publish(self, topic, payload, retain):
        full = f"{self.prefix}/{topic}"
        with self.lock:
            if not self.connected.is_set():
                self.dropped.append((full, payload))
                return None
            self.messages.append((full, payload, self.qos, retain))
        return self.client.publish(full, payload, qos=self.qos, retain=retain)

    def stop(self):
        if self.connected.is_set():
            info = self.publish("available", "stopped", True)
            if info is not None:
                info.wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


class ControlHandler(BaseHTTPRequestHandler):
    """The control API (loopback, token): faults and state for a lab script. Not part of Frigate's API."""

    server_version = "frigate-double-control"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        """Quiet."""

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        double = self.server.double
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        status, payload = self.handle_control(double, method, urlsplit(self.path).path, raw)
        data = json.dumps(payload).encode()
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="frigate-double control"')
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_control(self, double, method, path, raw):
        host = (self.headers.get("Host") or "").lower()
        if host not in double.control_hosts:
            return 403, {"error": f"the control API answers only for {', '.join(sorted(double.control_hosts))}"}
        given = self.headers.get("Authorization", "")
        expected = f"Bearer {double.control_token}"
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return 401, {"error": "a control request needs Authorization: Bearer <control token>"}
        if path == "/faults" and method == "POST":
            try:
                params = json.loads(raw or b"{}")
                if not isinstance(params, dict):
                    raise ValueError("the body must be a JSON object {\"kind\": ..., ...}")
                double.set_fault(params.pop("kind", None), **params)
            except (ValueError, TypeError) as error:
                return 400, {"error": str(error)}
            return 200, {"faults": double.state.describe_faults()}
        if path == "/faults" and method == "DELETE":
            double.clear_faults()
            return 200, {"faults": {}}
        if path == "/state" and method == "GET":
            with double.state.lock:
                return 200, {"version": double.state.build, "cameras": sorted(double.state.cameras),
                             "events": list(double.state.events.values()), "faults": double.state.describe_faults(),
                             "requests": len(double.state.requests), "reviews": list(double.state.reviews)}
        return 404, {"error": f"no control operation {method} {path}: GET /state, POST /faults, DELETE /faults"}


class FrigateDouble:
    """A running Frigate API double: ``url``, ``host``, ``port``, ``user``, ``password``, ``version``, ``events``,
    ``requests``, ``reviews``, ``clip_downloads``, ``mqtt_messages``, ``set_fault()``, ``clear_faults()``,
    ``stop()``."""

    def __init__(self, host="127.0.0.1", port=0, version=DEFAULT_VERSION, cameras=("cam1",), clip_delay_s=0.2,
                 user="ming-nodered", password=None, viewer=None, mqtt=None, ssl_context=None, review_cutoff_s=None,
                 pre_capture_s=PRE_CAPTURE_S, cookie_secure=False, control_port=None, control_token=None,
                 tick_s=0.05):
        """``viewer``: (user, password) of a second user with the viewer role. ``mqtt``: a dict of MqttSide's
        options (host, port, user, password, ca_file, tls, client_id, topic_prefix, qos). ``control_port`` with
        ``control_token`` (16 characters or more) also serves the control API on 127.0.0.1."""
        if not password:
            raise ValueError("password: the double has no default credential; pass one (or use the fixture)")
        users = {user: (password, "admin")}
        if viewer:
            users[viewer[0]] = (viewer[1], "viewer")
        self.state = State(version, cameras, users, clip_delay_s, review_cutoff_s, pre_capture_s, cookie_secure)
        self.user, self.password = user, password
        self.started = time.time()
        self.stopping = threading.Event()
        self.tick_s = tick_s
        self.httpd = DoubleHTTPServer((host, port), Handler)
        self.httpd.double = self
        self.httpd.ssl_context = ssl_context
        self.host, self.port = self.httpd.server_address[:2]
        self.url = f"{'https' if ssl_context else 'http'}://{self.host}:{self.port}"
        self.mqtt = MqttSide(**mqtt) if mqtt else None
        if self.mqtt is not None:
            self.state.publish = self.mqtt.publish
        self.control = None
        self.control_token = control_token
        self.control_hosts = set()
        if control_port is not None:
            if not control_token or len(control_token) < 16:
                raise ValueError("control_token: the control API needs a token of 16 characters or more")
            self.control = ThreadingHTTPServer(("127.0.0.1", control_port), ControlHandler)
            self.control.daemon_threads = True
            self.control.double = self
            self.control_port = self.control.server_address[1]
            self.control_hosts = {f"127.0.0.1:{self.control_port}", f"localhost:{self.control_port}"}
        self.threads = []

    @property
    def version(self):
        return self.state.version_text

    @property
    def events(self):
        return self.state.events

    @property
    def requests(self):
        return self.state.requests

    @property
    def reviews(self):
        return self.state.reviews

    @property
    def clip_downloads(self):
        return self.state.clip_downloads

    @property
    def mqtt_messages(self):
        return self.mqtt.messages if self.mqtt is not None else []

    def set_fault(self, kind, **params):
        """One of: ``clip_never_ready`` (camera=None: all), ``http_status`` (status=503, count=1: the next requests
        get nginx's error page), ``timeout`` (count=1, delay_s=30: no answer, then the connection closes),
        ``camera_removed`` (camera), ``login_refused``, ``slow_insert`` (delay_s: new events are not found that
        long, as Frigate writes them asynchronously)."""
        self.state.set_fault(kind, **params)

    def clear_faults(self):
        self.state.clear_faults()

    def _ticker(self):
        while not self.stopping.wait(self.tick_s):
            self.state.tick()

    def start(self):
        if self.mqtt is not None:
            self.mqtt.start()
        servers = [(self.httpd, "http")] + ([(self.control, "control")] if self.control else [])
        for server, name in servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"frigate-double-{name}-{self.port}", daemon=True)
            thread.start()
            self.threads.append(thread)
        ticker = threading.Thread(target=self._ticker, name=f"frigate-double-review-{self.port}", daemon=True)
        ticker.start()
        self.threads.append(ticker)
        return self

    def wait_mqtt_connected(self, timeout=10.0):
        return self.mqtt is not None and self.mqtt.connected.wait(timeout)

    def stop(self):
        if self.stopping.is_set():
            return
        self.stopping.set()
        for server in (self.httpd, self.control):
            if server is not None:
                server.shutdown()
                server.server_close()
        if self.mqtt is not None:
            self.mqtt.stop()
        for thread in self.threads:
            thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
