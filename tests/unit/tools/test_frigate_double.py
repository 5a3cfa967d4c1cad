"""Contract tests of the Frigate API double (tools/frigate_double).

Every test here runs against the Frigate API double, not a real Frigate: Frigate cannot run on this machine. Each
test names the part of Frigate's contract it checks, read in blakeblackshear/frigate at v0.16.4 (4131252a), v0.17.2
(3d4dd3ac) and the 0.18 source e3fa701 (frigate/api/auth.py, event.py, media.py, defs/request/events_body.py,
review/maintainer.py, comms/mqtt.py, the nginx auth_request set-up); behaviour the sources leave open is marked
"inferred" in tools/frigate_double/README.md. The MQTT tests run the real Mosquitto 2 broker.

Mutations tried (each made the named test fail, then was restored):
- clip complete before end + clip_delay_s (recorded_until ignoring clip_delay_s) -> test_clip_is_complete_only_after_
  end_plus_delay
- create accepted without a token (PUBLIC holding create_event) -> test_requests_without_a_valid_token_get_nginx_401
- FrigateApi.require_admin not called on create -> test_viewer_may_read_but_not_create_or_end
- a manual event also published on frigate/events -> test_mqtt_available_and_reviews_on_a_real_broker
- the unknown-camera 404 body as {"detail": ...} -> test_create_unknown_camera_is_404_with_frigates_body
- lax_int accepting a fractional float -> test_create_body_validation_matches_pydantic
- pre_capture honoured on 0.17 -> test_version_differences_of_the_create_body
- login_refused fault ignored -> test_faults_login_refused_camera_removed_and_clip_never_ready
- the CLI accepting a world-readable password file -> test_cli_refuses_a_world_readable_password_file
- the control API without its token check -> test_cli_serves_and_writes_the_password_file_0600
- State.decode_jwt without the signature check -> test_requests_without_a_valid_token_get_nginx_401
- end_event without the end-before-start 400 -> test_end_event_statuses_by_version
- the review ticker never publishing the first-frame "update" -> test_review_items_of_manual_events
- Max-Age on every version -> test_login_sets_the_frigate_token_cookie_with_an_hs256_jwt
- 0.16's empty 200 clip replaced by the 400 -> test_clip_without_recordings_on_0_16_is_an_empty_200
- snapshot-clean.webp on 0.16 -> test_snapshots
"""

import base64
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mosquitto_broker import MOSQUITTO_PASSWD, Broker, Session, requires_mosquitto

TOOLS = Path(__file__).resolve().parents[3] / "tools"


def call(double, method, path, body=None, token=None, cookie=None, headers=None, raw=None, timeout=10):
    """One request -> (status, body bytes, headers)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(double.url + path, data=data, method=method, headers=dict(headers or {}))
    if data is not None and raw is None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    if cookie:
        request.add_header("Cookie", cookie)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def login(double, user=None, password=None):
    """POST /api/login -> the JWT lifted from Set-Cookie (Frigate returns it nowhere else)."""
    status, body, headers = call(double, "POST", "/api/login",
                                 {"user": user or double.user, "password": password or double.password})
    assert status == 200 and body == b"", (status, body)
    name, _sep, rest = headers["Set-Cookie"].partition("=")
    assert name == "frigate_token"
    return rest.split(";")[0]


def create(double, token, camera=None, label="plc_event", **body):
    camera = camera or next(iter(double.state.cameras))
    status, payload, _headers = call(double, "POST", f"/api/events/{camera}/{label}/create", body, token=token)
    return status, json.loads(payload)


def poll(predicate, timeout=10.0, step=0.05):
    """Bounded poll: the predicate's first truthy value, or None after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return None


def jwt_parts(token):
    header, claims, signature = token.split(".")
    return b64json(header), b64json(claims), signature


def b64json(text):
    return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


@pytest.mark.parametrize("version", ["0.17.2", "0.18.0"])
def test_login_sets_the_frigate_token_cookie_with_an_hs256_jwt(frigate_double_factory, version):
    """Against the Frigate API double: POST /api/login answers 200 with an empty body and Set-Cookie
    frigate_token=<HS256 JWT>; HttpOnly; Path=/; SameSite=lax (Starlette's set_cookie defaults); 0.18 sets
    Max-Age=86400 (session_length), 0.17 an expires date; the JWT carries sub, role, exp, iat."""
    double = frigate_double_factory(version=version)
    status, body, headers = call(double, "POST", "/api/login", {"user": double.user, "password": double.password})
    assert status == 200 and body == b""
    cookie = headers["Set-Cookie"]
    assert cookie.startswith("frigate_token=") and "; HttpOnly" in cookie and "; Path=/" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie
    assert ("Max-Age=86400" in cookie) == (version == "0.18.0")
    assert ("expires=" in cookie) == (version != "0.18.0")
    header, claims, signature = jwt_parts(cookie.split(";")[0].split("=", 1)[1])
    assert header == {"alg": "HS256", "typ": "JWT"} and len(signature) == 43
    assert claims["sub"] == double.user and claims["role"] == "admin"
    assert 86390 <= claims["exp"] - claims["iat"] <= 86410


def test_login_failures_are_401_login_failed_and_422_for_a_bad_body(frigate_double):
    """Against the Frigate API double: a wrong password or unknown user is 401 {"message": "Login failed"} (no
    cookie); a body without "password" is FastAPI's 422 detail list; the request log masks the password."""
    for user, password in ((frigate_double.user, "wrong-password"), ("nobody", frigate_double.password)):
        status, body, headers = call(frigate_double, "POST", "/api/login", {"user": user, "password": password})
        assert (status, json.loads(body)) == (401, {"message": "Login failed"}) and "Set-Cookie" not in headers
    status, body, _headers = call(frigate_double, "POST", "/api/login", {"user": frigate_double.user})
    assert status == 422
    assert json.loads(body)["detail"][0] | {"input": None} == {"type": "missing", "loc": ["body", "password"],
                                                               "msg": "Field required", "input": None}
    assert frigate_double.password not in json.dumps(frigate_double.requests)
    assert frigate_double.requests[0]["body"]["password"] == "********"


def test_requests_without_a_valid_token_get_nginx_401(frigate_double):
    """Against the Frigate API double: behind nginx's auth_request every /api/ path but login/logout needs the JWT
    (cookie or Authorization: Bearer); without one, or with a forged or tampered one, nginx answers its 401 page and
    no event is created. With the cookie or the bearer token the same requests succeed."""
    camera = "cam-line1-st10"
    token = login(frigate_double)
    header, claims, signature = token.split(".")
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(
        {"sub": "x", "role": "admin", "exp": 4102444800}).encode()).decode().rstrip("="), signature])
    for bad in (None, forged, token[:-2] + ("AA" if not token.endswith("AA") else "BB"), "not-a-jwt"):
        for method, path in (("POST", f"/api/events/{camera}/plc_event/create"), ("GET", "/api/version"),
                             ("GET", "/api/events"), ("GET", "/api/nothing-here")):
            status, body, headers = call(frigate_double, method, path, {} if method == "POST" else None, token=bad)
            assert status == 401 and b"<title>401 Authorization Required</title>" in body
            assert headers["Content-Type"] == "text/html"
    assert frigate_double.events == {}
    assert call(frigate_double, "GET", "/api/version", cookie=f"frigate_token={token}")[0] == 200
    assert create(frigate_double, token)[0] == 200


def test_viewer_may_read_but_not_create_or_end(frigate_double_factory):
    """Against the Frigate API double: create and end are admin-only since 0.16 (require_role(["admin"])): a viewer
    gets 403 {"detail": "Role viewer not authorized. Required: admin"}, but may read events and the version."""
    double = frigate_double_factory(viewer=("operator", "viewer-password-1"))
    admin, viewer = login(double), login(double, "operator", "viewer-password-1")
    assert jwt_parts(viewer)[1]["role"] == "viewer"
    status, payload = create(double, viewer)
    assert (status, payload) == (403, {"detail": "Role viewer not authorized. Required: admin"})
    event_id = create(double, admin)[1]["event_id"]
    status, body, _headers = call(double, "PUT", f"/api/events/{event_id}/end", {"end_time": None}, token=viewer)
    assert status == 403 and double.events[event_id]["end_time"] is not None  # still the duration's end
    assert call(double, "GET", f"/api/events/{event_id}", token=viewer)[0] == 200
    assert call(double, "GET", "/api/version", token=viewer)[0] == 200


def test_create_returns_frigates_success_body_and_event_fields(frigate_double):
    """Against the Frigate API double (0.18): 200 {"success": true, "message": "Successfully created event.",
    "event_id": "<epoch>.<frac>-<6 [a-z0-9]>"}; the event (GET /api/events/{id}, model_to_dict of the Event table)
    has every column; start_time = creation - record.event_pre_capture (5 s) or - pre_capture; end_time = creation +
    duration, null when duration is null; has_clip = record.enabled and include_recording."""
    token = login(frigate_double)
    before = time.time()
    status, payload = create(frigate_double, token, duration=20, sub_label="line1/st10/stop")
    after = time.time()
    assert status == 200 and set(payload) == {"success", "message", "event_id"}
    assert payload["success"] is True and payload["message"] == "Successfully created event."
    created, _dash, suffix = payload["event_id"].partition("-")
    assert before <= float(created) <= after and len(suffix) == 6 and suffix.isalnum() and suffix.islower() | \
        suffix.isdigit()
    status, body, _headers = call(frigate_double, "GET", f"/api/events/{payload['event_id']}", token=token)
    event = json.loads(body)
    assert set(event) == {"id", "label", "sub_label", "camera", "start_time", "end_time", "top_score", "score",
                          "false_positive", "zones", "thumbnail", "has_clip", "has_snapshot", "region", "box", "area",
                          "retain_indefinitely", "ratio", "plus_id", "model_hash", "detector_type", "model_type",
                          "data"}
    assert event["camera"] == "cam-line1-st10" and event["label"] == "plc_event"
    assert event["sub_label"] == "line1/st10/stop" and event["has_clip"] is True and event["has_snapshot"] is True
    assert event["start_time"] == pytest.approx(float(created) - 5) and event["end_time"] == pytest.approx(
        float(created) + 20)
    assert event["data"] == {"type": "api", "score": 0, "top_score": 0, "snapshot_clean": True, "draw": {}}
    open_id = create(frigate_double, token, duration=None, pre_capture=2, include_recording=False)[1]["event_id"]
    opened = json.loads(call(frigate_double, "GET", f"/api/events/{open_id}", token=token)[1])
    assert opened["end_time"] is None and opened["has_clip"] is False
    assert opened["start_time"] == pytest.approx(float(open_id.split("-")[0]) - 2)


def test_create_unknown_camera_is_404_with_frigates_body(frigate_double):
    """Against the Frigate API double: an unknown camera is 404 {"success": false, "message": "<cam> is not a valid
    camera."}; no event is made. An unknown event id is 404 with the JSON string "Event not found"."""
    token = login(frigate_double)
    assert create(frigate_double, token, camera="cam-nope") == (
        404, {"success": False, "message": "cam-nope is not a valid camera."})
    assert frigate_double.events == {}
    status, body, _headers = call(frigate_double, "GET", "/api/events/1.0-abcdef", token=token)
    assert (status, json.loads(body)) == (404, "Event not found")


CREATE_CASES = [
    {"duration": "abc"}, {"duration": 20.5}, {"duration": 20.0}, {"duration": "20"}, {"duration": True},
    {"duration": [1]}, {"duration": None}, {"score": "x"}, {"score": "0.5"}, {"include_recording": "yes"},
    {"include_recording": 2}, {"include_recording": "maybe"}, {"include_recording": 0}, {"sub_label": 5},
    {"sub_label": True}, {"draw": []}, {"pre_capture": 2.5}, {"pre_capture": "3"}, {"duration": 1e30},
    {"source_type": 7}, {"unknown_key": 1},
]


@pytest.mark.parametrize("version", ["0.16.4", "0.17.2", "0.18.0"])
def test_create_body_validation_matches_pydantic(frigate_double_factory, version):
    """Against the Frigate API double, with pydantic 2 (the venv's, a dependency of antsibull-changelog) as the
    oracle: the EventsCreateBody of each version (0.16: source_type; 0.18: pre_capture; extra keys ignored) gives
    422 with FastAPI's {"detail": [{type, loc: ["body", field], msg, input}]} exactly where pydantic refuses the
    value, with the same type and message."""
    from pydantic import BaseModel

    fields = {"sub_label": (str | None, None), "score": (float | None, 0), "duration": (int | None, 30),
              "include_recording": (bool | None, True), "draw": (dict | None, {})}
    if version.startswith("0.16"):
        fields = {"source_type": (str | None, "api"), **fields}
    if version.startswith("0.18"):
        fields["pre_capture"] = (int | None, None)
    model = type("EventsCreateBody", (BaseModel,), {"__annotations__": {k: v[0] for k, v in fields.items()},
                                                    **{k: v[1] for k, v in fields.items()}})
    double = frigate_double_factory(version=version)
    token = login(double)
    for case in CREATE_CASES:
        try:
            model.model_validate(case)
            expected = None
        except Exception as error:  # noqa: BLE001 - pydantic.ValidationError
            expected = [{"type": item["type"], "loc": ["body", *item["loc"]], "msg": item["msg"],
                         "input": item["input"]} for item in error.errors(include_url=False)]
        status, payload = create(double, token, **case)
        if expected is None:
            assert status == 200, (case, payload)
        else:
            assert (status, payload) == (422, {"detail": expected}), case


def test_version_differences_of_the_create_body(frigate_double_factory):
    """Against the Frigate API double: pre_capture moves start_time only from 0.18 (ignored as an extra key before);
    source_type exists only until 0.16 and becomes data.type there (a non-"api" type makes no review item);
    0.16/0.17 events have no data.snapshot_clean."""
    results = {}
    for version in ("0.16.4", "0.17.2", "0.18.0"):
        double = frigate_double_factory(version=version)
        token = login(double)
        event_id = create(double, token, pre_capture=1, source_type="plc")[1]["event_id"]
        event = double.events[event_id]
        results[version] = (round(float(event_id.split("-")[0]) - event["start_time"]), event["data"]["type"],
                            "snapshot_clean" in event["data"])
    assert results == {"0.16.4": (5, "plc", False), "0.17.2": (5, "api", False), "0.18.0": (1, "api", True)}


@pytest.mark.parametrize("version", ["0.16.4", "0.17.2", "0.18.0"])
def test_end_event_statuses_by_version(frigate_double_factory, version):
    """Against the Frigate API double: PUT /api/events/{id}/end {"end_time": float|null} answers 200 {"success":
    true, "message": "Event successfully ended."} and sets end_time (null = now); a missing body is 422; from 0.17 an
    unknown id is 404 "Event <id> not found." and an end before the start is 400; 0.16 answers 200 for any id."""
    double = frigate_double_factory(version=version)
    token = login(double)
    event_id = create(double, token, duration=None)[1]["event_id"]
    start = double.events[event_id]["start_time"]
    status, body, _headers = call(double, "PUT", f"/api/events/{event_id}/end", token=token)
    assert status == 422 and json.loads(body)["detail"][0]["loc"] == ["body"]
    status, body, _headers = call(double, "PUT", "/api/events/1.0-zzzzzz/end", {"end_time": None}, token=token)
    if version == "0.16.4":
        assert (status, json.loads(body)) == (200, {"success": True, "message": "Event successfully ended."})
    else:
        assert (status, json.loads(body)) == (404, {"success": False, "message": "Event 1.0-zzzzzz not found."})
        status, body, _headers = call(double, "PUT", f"/api/events/{event_id}/end", {"end_time": start - 10},
                                      token=token)
        assert status == 400 and json.loads(body) == {
            "success": False, "message": f"end_time ({start - 10}) cannot be before start_time ({start})."}
    assert double.events[event_id]["end_time"] is None
    status, body, _headers = call(double, "PUT", f"/api/events/{event_id}/end", {"end_time": start + 3}, token=token)
    assert (status, json.loads(body)) == (200, {"success": True, "message": "Event successfully ended."})
    assert double.events[event_id]["end_time"] == start + 3


def test_list_events_filters(frigate_double_factory):
    """Against the Frigate API double: GET /api/events with camera (or cameras), label, after (start_time > after),
    in_progress and limit; newest first; the list items carry the columns events() selects."""
    double = frigate_double_factory(cameras=["cam-a", "cam-b"])
    token = login(double)
    first = create(double, token, camera="cam-a")[1]["event_id"]
    second = create(double, token, camera="cam-b", duration=None)[1]["event_id"]
    third = create(double, token, camera="cam-a", label="other")[1]["event_id"]

    def ids(query):
        status, body, _headers = call(double, "GET", f"/api/events?{query}", token=token)
        assert status == 200
        return [item["id"] for item in json.loads(body)]

    assert ids("") == [third, second, first]
    assert ids("camera=cam-a") == [third, first] and ids("cameras=cam-b") == [second]
    assert ids("label=plc_event&camera=cam-a") == [first] and ids("in_progress=1") == [second]
    assert ids(f"after={double.events[first]['start_time']}") == [third, second] and ids("limit=1") == [third]
    assert "thumbnail" not in json.loads(call(double, "GET", "/api/events", token=token)[1])[0]


def test_clip_is_complete_only_after_end_plus_delay(frigate_double_factory):
    """Against the Frigate API double (0.18): GET /api/events/{id}/clip.mp4 is 400 {"success": false, "message":
    "No recordings found for the specified time range"} while no recording covers the event's start; while the
    event runs, or before its end's recordings have landed (end + clip_delay_s), Frigate streams what exists (200,
    partial: clip_downloads marks it incomplete); once end + clip_delay_s has passed the clip is complete. Unknown
    event: 404 "Event not found"; include_recording false: 404 "Clip not available"."""
    double = frigate_double_factory(clip_delay_s=1.0)
    token = login(double)
    event_id = create(double, token, duration=None, pre_capture=0)[1]["event_id"]
    status, body, _headers = call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)
    assert (status, json.loads(body)) == (400, {"success": False,
                                                "message": "No recordings found for the specified time range"})
    partial = poll(lambda: call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)[0] == 200)
    assert partial and double.clip_downloads[-1]["complete"] is False
    status, _body, _headers = call(double, "PUT", f"/api/events/{event_id}/end", {"end_time": None}, token=token)
    assert status == 200
    status, body, headers = call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)
    assert status == 200 and headers["Content-Type"] == "video/mp4" and double.clip_downloads[-1]["complete"] is False
    assert body[4:12] == b"ftypisom" and b"complete=false" in body

    def complete():
        answer = call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)
        return answer if b"complete=true" in answer[1] else None

    status, body, _headers = poll(complete)
    assert status == 200 and double.clip_downloads[-1]["complete"] is True
    # The served clip covers the event to its end (the recordings reached it), not the wall clock since the end.
    assert double.clip_downloads[-1]["end"] == double.events[event_id]["end_time"]
    assert json.loads(call(double, "GET", "/api/events/1.0-abcdef/clip.mp4", token=token)[1]) == {
        "success": False, "message": "Event not found"}
    no_clip = create(double, token, include_recording=False)[1]["event_id"]
    status, body, _headers = call(double, "GET", f"/api/events/{no_clip}/clip.mp4", token=token)
    assert (status, json.loads(body)) == (404, {"success": False, "message": "Clip not available"})


def test_clip_without_recordings_on_0_16_is_an_empty_200(frigate_double_factory):
    """Against the Frigate API double (0.16.4): recording_clip had no "No recordings found" check yet; ffmpeg gets
    an empty playlist and Frigate streams 200 video/mp4 with no bytes."""
    double = frigate_double_factory(version="0.16.4", clip_delay_s=30)
    token = login(double)
    event_id = create(double, token, duration=1)[1]["event_id"]
    double.events[event_id]["start_time"] = time.time()  # no pre-capture: nothing recorded yet
    status, body, headers = call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)
    assert (status, body, headers["Content-Type"]) == (200, b"", "video/mp4")


@pytest.mark.parametrize(("version", "clean"), [("0.16.4", "png"), ("0.17.2", "webp"), ("0.18.0", "webp")])
def test_snapshots(frigate_double_factory, version, clean):
    """Against the Frigate API double: snapshot.jpg of an ended event is image/jpeg (a tiny JPEG); of an event that
    has not ended, 404 "Live frame not available"; the clean snapshot is snapshot-clean.png until 0.16 and
    snapshot-clean.webp from 0.17 (the other name: FastAPI's 404 {"detail": "Not Found"})."""
    double = frigate_double_factory(version=version)
    token = login(double)
    ended = create(double, token, duration=0)[1]["event_id"]
    running = create(double, token, duration=None)[1]["event_id"]
    status, body, headers = call(double, "GET", f"/api/events/{ended}/snapshot.jpg", token=token)
    assert status == 200 and headers["Content-Type"] == "image/jpeg" and body[:2] == b"\xff\xd8"
    status, body, _headers = call(double, "GET", f"/api/events/{running}/snapshot.jpg", token=token)
    assert (status, json.loads(body)) == (404, {"success": False, "message": "Live frame not available"})
    status, body, headers = call(double, "GET", f"/api/events/{ended}/snapshot-clean.{clean}", token=token)
    assert status == 200 and headers["Content-Type"] == f"image/{clean}"
    assert body[:4] == (b"\x89PNG" if clean == "png" else b"RIFF")
    other = "webp" if clean == "png" else "png"
    status, body, _headers = call(double, "GET", f"/api/events/{ended}/snapshot-clean.{other}", token=token)
    assert (status, json.loads(body)) == (404, {"detail": "Not Found"})


def test_version_config_profile_stats_and_unknown_paths(frigate_double_factory):
    """Against the Frigate API double: /api/version is text "<version>-<commit>"; /api/config lists the cameras;
    /api/profile names the user and role; /api/stats has service.version; an unknown /api/ path is FastAPI's 404
    {"detail": "Not Found"}; a method a route lacks (HEAD on clip.mp4 too) is 405; a non-GET request with an Origin
    but no X-CSRF-TOKEN is 401 "Missing CSRF header"."""
    double = frigate_double_factory(version="0.17.2", cameras=["cam-a", "cam-b"])
    token = login(double)
    status, body, headers = call(double, "GET", "/api/version", token=token)
    assert (status, body) == (200, b"0.17.2-3d4dd3a") and headers["Content-Type"].startswith("text/plain")
    config = json.loads(call(double, "GET", "/api/config", token=token)[1])
    assert sorted(config["cameras"]) == ["cam-a", "cam-b"] and config["cameras"]["cam-a"]["record"]["enabled"]
    assert json.loads(call(double, "GET", "/api/profile", token=token)[1]) == {
        "username": double.user, "role": "admin", "allowed_cameras": ["cam-a", "cam-b"]}
    assert json.loads(call(double, "GET", "/api/stats", token=token)[1])["service"]["version"] == "0.17.2-3d4dd3a"
    status, body, _headers = call(double, "GET", "/api/nothing", token=token)
    assert (status, json.loads(body)) == (404, {"detail": "Not Found"})
    assert call(double, "DELETE", "/api/version", token=token)[0] == 405
    assert call(double, "HEAD", "/api/events/1.0-abcdef/clip.mp4", token=token)[0] == 405
    status, body, _headers = call(double, "POST", "/api/events/cam-a/plc_event/create", {}, token=token,
                                  headers={"Origin": "https://evil.example"})
    assert (status, json.loads(body)) == (401, {"success": False, "message": "Missing CSRF header"})
    assert call(double, "POST", "/api/events/cam-a/plc_event/create", {}, token=token,
                headers={"Origin": "https://nvr.example", "X-CSRF-TOKEN": "1"})[0] == 200


def test_faults_http_status_and_timeout_count_down(frigate_double):
    """Against the Frigate API double (faults): http_status answers the next N requests with nginx's error page
    (e.g. 503), timeout leaves the next N unanswered until delay_s; then the double answers normally again."""
    token = login(frigate_double)
    frigate_double.set_fault("http_status", status=503, count=2)
    for _attempt in range(2):
        status, body, _headers = call(frigate_double, "GET", "/api/version", token=token)
        assert status == 503 and b"503 Service Temporarily Unavailable" in body
    assert call(frigate_double, "GET", "/api/version", token=token)[0] == 200
    frigate_double.set_fault("timeout", count=1, delay_s=2)
    with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
        call(frigate_double, "GET", "/api/version", token=token, timeout=0.3)
    assert call(frigate_double, "GET", "/api/version", token=token)[0] == 200
    with pytest.raises(ValueError, match="unknown fault 'nope'"):
        frigate_double.set_fault("nope")


def test_faults_login_refused_camera_removed_and_clip_never_ready(frigate_double_factory):
    """Against the Frigate API double (faults): login_refused makes a right password 401 "Login failed";
    camera_removed makes create 404 "<cam> is not a valid camera."; clip_never_ready keeps clip.mp4 at 400 "No
    recordings found..." after the end and the delay; clear_faults restores all three."""
    double = frigate_double_factory(clip_delay_s=0.1)
    token = login(double)
    double.set_fault("login_refused")
    status, body, _headers = call(double, "POST", "/api/login", {"user": double.user, "password": double.password})
    assert (status, json.loads(body)) == (401, {"message": "Login failed"})
    double.set_fault("clip_never_ready")
    event_id = create(double, token, duration=0)[1]["event_id"]
    time.sleep(0.3)  # past end + clip_delay_s: without the fault the clip would be complete
    assert call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)[0] == 400
    double.set_fault("camera_removed", camera="cam-line1-st10")
    assert create(double, token, camera="cam-line1-st10")[0] == 404
    double.clear_faults()
    assert create(double, token, camera="cam-line1-st10")[0] == 200
    assert call(double, "GET", f"/api/events/{event_id}/clip.mp4", token=token)[0] == 200
    assert login(double)


def test_slow_insert_hides_a_new_event_for_a_while(frigate_double):
    """Against the Frigate API double (fault slow_insert): Frigate writes a manual event to its database
    asynchronously, so GET /api/events/{id} right after create may be 404 "Event not found" until it lands."""
    token = login(frigate_double)
    frigate_double.set_fault("slow_insert", delay_s=0.5)
    event_id = create(frigate_double, token)[1]["event_id"]
    assert call(frigate_double, "GET", f"/api/events/{event_id}", token=token)[0] == 404
    assert poll(lambda: call(frigate_double, "GET", f"/api/events/{event_id}", token=token)[0] == 200)


def test_review_items_of_manual_events(frigate_double_factory):
    """Against the Frigate API double (review/maintainer.py, 0.17+): a manual event opens an alert review item whose
    first message is "update" (the segment is made without a "new"; its first frame publishes an update), a second
    event on the same camera inside the window joins it, and one "end" follows once the last event's end +
    review cutoff has passed, with end_time = the end of the event that joined last (Frigate overwrites
    last_alert_time, even with an earlier end). With review alerts off there is no review item."""
    double = frigate_double_factory(cameras=["cam-a", {"name": "cam-quiet", "review_alerts": False}],
                                    review_cutoff_s=0.3)
    token = login(double)
    first = create(double, token, camera="cam-a", duration=1)[1]["event_id"]  # the window stays open >= 1.3 s
    assert poll(lambda: double.reviews)
    second = create(double, token, camera="cam-a", duration=0, sub_label="st10")[1]["event_id"]
    create(double, token, camera="cam-quiet", duration=0)
    end = poll(lambda: [message for message in double.reviews if message["type"] == "end"])
    assert [message["type"] for message in double.reviews] == ["update", "end"]
    after = end[0]["after"]
    assert after["camera"] == "cam-a" and after["severity"] == "alert"
    assert sorted(after["data"]["detections"]) == sorted([first, second])
    assert sorted(after["data"]["objects"]) == ["plc_event", "plc_event: st10"]
    assert after["end_time"] == pytest.approx(double.events[second]["end_time"])
    assert set(after["data"]) == {"detections", "objects", "verified_objects", "sub_labels", "zones", "audio",
                                  "thumb_time", "metadata"}
    assert double.reviews[0]["before"]["end_time"] is None


@pytest.fixture
def broker(tmp_path, mosquitto_binaries):
    """Real Mosquitto 2 broker on loopback with users frigate and watcher."""
    passwd = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(passwd), "frigate", "frigate-password"], check=True, timeout=30)
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), "watcher", "watcher-password"], check=True, timeout=30)
    with Broker(tmp_path, passwd) as running:
        yield running


@requires_mosquitto
def test_mqtt_available_and_reviews_on_a_real_broker(frigate_double_factory, broker):
    """Against the Frigate API double and the real Mosquitto broker (frigate/comms/mqtt.py): frigate/available is
    "online" (retained) once connected, the review item of a manual event arrives on frigate/reviews (update, end)
    with frigate/<cam>/review_status ALERT then NONE, nothing is published on frigate/events for a manual event,
    and an abrupt loss of the connection leaves the last will "offline" retained."""
    double = frigate_double_factory(review_cutoff_s=0.2, mqtt={
        "host": "127.0.0.1", "port": broker.port, "user": "frigate", "password": "frigate-password", "qos": 1})
    assert double.wait_mqtt_connected(10), broker.log()
    watcher = Session(broker.port, "watcher", "watcher-password", topics=("frigate/#",))
    try:
        retained = watcher.wait_for("frigate/available", "online")
        assert retained is not None
        token = login(double)
        event_id = create(double, token, duration=0)[1]["event_id"]
        assert poll(lambda: any(m[0] == "frigate/reviews" and json.loads(m[1])["type"] == "end"
                                for m in watcher.messages))
        reviews = [json.loads(m[1]) for m in watcher.messages if m[0] == "frigate/reviews"]
        assert [review["type"] for review in reviews] == ["update", "end"]
        assert reviews[1]["after"]["data"]["detections"] == [event_id]
        assert watcher.wait_for("frigate/cam-line1-st10/review_status", "ALERT")
        assert watcher.wait_for("frigate/cam-line1-st10/review_status", "NONE")
        assert not [m for m in watcher.messages if m[0].startswith("frigate/events")]
        assert ("frigate/available", "online", 1, True) in double.mqtt_messages
        double.mqtt.client.socket().close()  # the connection drops without DISCONNECT: the broker sends the will
        assert watcher.wait_for("frigate/available", "offline"), broker.log()
    finally:
        watcher.close()
    late = Session(broker.port, "watcher", "watcher-password", topics=("frigate/available",))
    try:
        assert poll(lambda: late.messages)[-1][:2] in (("frigate/available", "offline"),
                                                       ("frigate/available", "online"))
    finally:
        late.close()


def run_cli(*args, timeout=15):
    env = {**os.environ, "PYTHONPATH": str(TOOLS)}
    return subprocess.Popen([sys.executable, "-m", "frigate_double", *args], cwd=TOOLS, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cli_serves_and_writes_the_password_file_0600(tmp_path):
    """The CLI (python -m frigate_double): generates the admin password into --password-file with mode 0600, prints
    that it is a stand-in, serves Frigate's login with that password, and runs the control API only with its
    token (401 without it; POST /faults sets a fault the API then shows)."""
    from mosquitto_broker import free_port

    password_file, token_file = tmp_path / "secrets" / "frigate.pw", tmp_path / "control.token"
    port, control = free_port(), free_port()
    process = run_cli("--port", str(port), "--camera", "cam1", "--password-file", str(password_file),
                      "--control-port", str(control), "--control-token-file", str(token_file), "--clip-delay", "0")
    try:
        line = process.stdout.readline()
        assert "a stand-in, not Frigate" in line, line + process.stderr.read() if process.poll() is not None else line
        assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        password = password_file.read_text().strip()

        class Target:
            url = f"http://127.0.0.1:{port}"
            user = "ming-nodered"

        assert login(Target, password=password)
        control_url = f"http://127.0.0.1:{control}"
        request = urllib.request.Request(control_url + "/faults", data=b'{"kind": "login_refused"}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code == 401
        request.add_header("Authorization", f"Bearer {token_file.read_text().strip()}")
        with urllib.request.urlopen(request, timeout=5) as response:
            assert json.loads(response.read())["faults"] == {"login_refused": True}
        status, _body, _headers = call(Target, "POST", "/api/login", {"user": "ming-nodered", "password": password})
        assert status == 401
        assert password not in line
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_cli_refuses_a_world_readable_password_file(tmp_path):
    """The CLI refuses a --password-file others may read (exit 2, naming the file and the fix) and needs a camera."""
    password_file = tmp_path / "frigate.pw"
    password_file.write_text("a-password-others-can-read\n")
    password_file.chmod(0o644)
    process = run_cli("--port", "0", "--camera", "cam1", "--password-file", str(password_file))
    _out, err = process.communicate(timeout=15)
    assert process.returncode == 2 and "mode 0644" in err and "chmod 600" in err
    assert "a-password-others-can-read" not in err
    process = run_cli("--port", "0", "--password-file", str(tmp_path / "new.pw"))
    _out, err = process.communicate(timeout=15)
    assert process.returncode == 2 and "--camera NAME" in err


def make_ca_and_server(directory):
    """A throw-away EC CA and a localhost/127.0.0.1 server certificate it signed -> (ca.pem, cert.pem, key.pem)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "frigate-double test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    paths[2].chmod(0o600)
    return paths


def test_https_with_a_server_ssl_context(frigate_double_factory, tmp_path):
    """Against the Frigate API double over HTTPS (as Frigate's port 8971): a client validating against the CA logs
    in and creates an event; a client without that CA fails the handshake."""
    import ssl

    ca, cert, key = make_ca_and_server(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    double = frigate_double_factory(ssl_context=server_context)
    assert double.url.startswith("https://127.0.0.1:")
    client = ssl.create_default_context(cafile=str(ca))
    credentials = json.dumps({"user": double.user, "password": double.password}).encode()
    request = urllib.request.Request(double.url + "/api/login", method="POST", data=credentials,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10, context=client) as response:
        assert response.status == 200 and response.headers["Set-Cookie"].startswith("frigate_token=")
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(request, timeout=10, context=ssl.create_default_context())


@requires_mosquitto
def test_mqtt_over_tls_and_stopped_on_a_clean_stop(frigate_double_factory, tmp_path, mosquitto_binaries):
    """Against the Frigate API double and the real Mosquitto broker on a TLS listener: the double connects with the
    CA file (certificate validated), publishes frigate/available "online", and on a clean stop "stopped" (retained),
    as Frigate's MqttClient.stop does."""
    ca, cert, key = make_ca_and_server(tmp_path)
    passwd = tmp_path / "passwd"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(passwd), "frigate", "frigate-password"], check=True, timeout=30)
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), "watcher", "watcher-password"], check=True, timeout=30)
    with Broker(tmp_path, passwd, listener_lines=[f"cafile {ca}", f"certfile {cert}", f"keyfile {key}"]) as broker:
        double = frigate_double_factory(mqtt={"host": "localhost", "port": broker.port, "user": "frigate",
                                              "password": "frigate-password", "ca_file": str(ca), "tls": True})
        assert double.wait_mqtt_connected(10), broker.log()
        watcher = Session(broker.port, "watcher", "watcher-password", cafile=ca, topics=("frigate/available",),
                          host="localhost")
        try:
            assert watcher.wait_for("frigate/available", "online")
            double.stop()
            assert watcher.wait_for("frigate/available", "stopped")
        finally:
            watcher.close()
