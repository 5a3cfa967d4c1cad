"""Contract tests of the InfluxDB OSS 2.x API double (tools/influxdb2_double).

Every test here runs against the double, not a real InfluxDB: InfluxDB 2.x cannot run on this machine. Each test
names the OpenAPI operation (operationId of api-docs/influxdb/v2/influxdb-oss-v2-openapi.yaml, influxdata/docs-v2
commit 7933200627) whose documented request, response body, status and error body it checks; behaviour the
document leaves open is marked "inferred" (tools/influxdb2_double/README.md lists it).

Mutations tried (each made the named test fail, then was restored):
- Api.check_retention without the one-hour minimum -> test_post_bucket_retention_below_one_hour_is_422
- State.onboard without the "already onboarded" refusal -> test_setup_onboards_once
- State.add_authorization keeping the plaintext on 2.9 -> test_token_plaintext_only_in_create_response_on_2_9
- State.permits ignoring resource.id -> test_scoped_tokens_write_and_read_only_their_bucket
- State.authenticate accepting an inactive authorization -> test_inactive_and_deleted_tokens_are_refused
- parse_task_options accepting a script without every/cron -> test_post_task_refuses_bad_task_options
- Api.patch_task not cancelling scheduled runs -> test_patch_task_rewrites_option_line_and_cancels_runs
- State.run_task ignoring a deleted authorization -> test_task_run_fails_once_its_authorization_is_deleted
- Api.post_authorization letting a token grant more than it holds -> test_token_cannot_grant_more_than_it_holds
- Api.set_default_dbrp leaving the old default -> test_dbrp_create_default_filters_patch_delete
- State.can_read_bucket without its system-bucket branch -> test_system_buckets_need_read_orgs
- Api.find_dbrp letting a virtual mapping be written -> test_virtual_dbrps_are_listed_and_read_only
- the line-protocol check, the 405 answer, permissions minItems, the write permission check -> test_write_statuses,
  test_unknown_path_is_404_and_wrong_method_405, test_post_authorization_bad_bodies_are_400,
  test_scoped_tokens_write_and_read_only_their_bucket
- each guard of BAD_INPUT removed in turn (reserved `_` names, system bucket rename/delete, shard group >= 0, JSON
  object body, cron check, unknown userID, task status enum) -> test_bad_input_is_refused_without_a_change
- the WritePrecision check -> test_write_statuses; the short-password check -> test_setup_refuses_a_short_password
- GetOrgs / GetTasks without their permission filter -> test_scoped_tokens_see_only_their_orgs_and_tasks
- State.run_task running an inactive task or with an inactive authorization
  -> test_task_runs_need_an_active_task_and_authorization
"""

import datetime
import gzip
import ipaddress
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

TOOLS = Path(__file__).resolve().parents[3] / "tools"
OPERATOR_TOKEN = "operator-token-for-the-double-0123456789"
TASK_FLUX = 'option task = {name: "downsample", every: 1h, offset: 5m}\n\nfrom(bucket: "machine_events")\n' \
            '    |> range(start: -task.every)\n    |> to(bucket: "machine_events_1h")\n'


def call(double, method, path, body=None, token=None, query=None, raw=None, headers=None):
    """One request -> (status, decoded JSON or None, response headers)."""
    url = double.url + path + (("?" + urlencode(query)) if query else "")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if token:
        request.add_header("Authorization", f"Token {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, payload, answer_headers = response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        status, payload, answer_headers = error.code, error.read(), error.headers
    return status, (json.loads(payload) if payload else None), answer_headers


@pytest.fixture
def onboarded(influxdb2_double):
    """The 2.9.1 double, onboarded: org ming, bucket machine_events, the operator token OPERATOR_TOKEN."""
    influxdb2_double.onboard(token=OPERATOR_TOKEN)
    return influxdb2_double


def org_id(double):
    return next(org["id"] for org in double.state.orgs.values() if org["name"] == "ming")


def bucket_id(double, name):
    return next(bucket["id"] for bucket in double.state.buckets.values() if bucket["name"] == name)


def create_bucket(double, name, every=30 * 86400):
    status, body, _headers = call(double, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": org_id(double), "name": name,
                                        "retentionRules": [{"type": "expire", "everySeconds": every}]})
    assert status == 201, body
    return body


def create_token(double, permissions, token=OPERATOR_TOKEN, description="scoped"):
    status, body, _headers = call(double, "POST", "/api/v2/authorizations", token=token,
                                  body={"orgID": org_id(double), "description": description,
                                        "permissions": permissions})
    assert status == 201, body
    return body


def bucket_permission(double, action, name):
    return {"action": action, "resource": {"type": "buckets", "id": bucket_id(double, name), "orgID": org_id(double)}}


def type_permission(double, action, kind):
    return {"action": action, "resource": {"type": kind, "orgID": org_id(double)}}


# -- GetHealth, GetPing, GetReady ----------------------------------------------------------------------------------
def test_health_ping_ready(influxdb2_double):
    """GetHealth: 200 HealthCheck (name, status required); GetPing: 204 no body (GET and HEAD); GetReady: 200."""
    status, body, _headers = call(influxdb2_double, "GET", "/health")
    assert status == 200
    assert body["name"] == "influxdb" and body["status"] == "pass" and body["version"] == "v2.9.1"
    for method in ("GET", "HEAD"):
        status, body, headers = call(influxdb2_double, method, "/ping")
        assert (status, body, headers["X-Influxdb-Build"]) == (204, None, "OSS")
    status, body, _headers = call(influxdb2_double, "GET", "/ready")
    assert status == 200 and body["status"] == "ready"


# -- GetSetup, PostSetup ---------------------------------------------------------------------------------------------
def test_setup_onboards_once(influxdb2_double):
    """GetSetup: allowed true before, false after; PostSetup: 201 OnboardingResponse {user, org, bucket, auth} with
    auth.token the token given; a second PostSetup is refused (inferred: 422 conflict)."""
    assert call(influxdb2_double, "GET", "/api/v2/setup")[:2] == (200, {"allowed": True})
    request = {"username": "admin", "password": "a-long-password", "org": "ming", "bucket": "machine_events",
               "retentionPeriodSeconds": 30 * 86400, "token": OPERATOR_TOKEN}
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup", body=request)
    assert status == 201
    assert set(body) == {"user", "org", "bucket", "auth"}
    assert body["user"]["name"] == "admin" and body["user"]["status"] == "active" and "password" not in body["user"]
    assert body["org"]["name"] == "ming" and body["org"]["links"]["self"] == f"/api/v2/orgs/{body['org']['id']}"
    assert body["bucket"]["retentionRules"][0]["everySeconds"] == 30 * 86400
    assert body["bucket"]["orgID"] == body["org"]["id"]
    assert body["auth"]["token"] == OPERATOR_TOKEN and body["auth"]["orgID"] == body["org"]["id"]
    kinds = {(p["action"], p["resource"]["type"]) for p in body["auth"]["permissions"]}
    assert ("write", "authorizations") in kinds and ("write", "buckets") in kinds and ("read", "orgs") in kinds
    assert call(influxdb2_double, "GET", "/api/v2/setup")[:2] == (200, {"allowed": False})
    again = call(influxdb2_double, "POST", "/api/v2/setup", body={**request, "org": "other"})
    assert again[:2] == (422, {"code": "conflict", "message": "onboarding has already been completed"})
    assert [org["name"] for org in influxdb2_double.state.orgs.values()] == ["ming"]


def test_setup_generates_a_token_and_checks_the_request(influxdb2_double):
    """PostSetup: without `token` the server generates one; OnboardingRequest requires username, org, bucket (400);
    retention below one hour is refused as for buckets (inferred 422)."""
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup",
                                  body={"username": "admin", "org": "ming", "bucket": "b",
                                        "retentionPeriodSeconds": 60})
    assert (status, body["code"]) == (422, "unprocessable entity")
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup", body={"org": "ming", "bucket": "b"})
    assert (status, body["code"]) == (400, "invalid") and "username" in body["message"]
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup",
                                  body={"username": "admin", "password": "a-long-password", "org": "ming",
                                        "bucket": "b"})
    assert status == 201 and len(body["auth"]["token"]) == 88
    assert call(influxdb2_double, "GET", "/api/v2/buckets", token=body["auth"]["token"])[0] == 200


# -- AuthorizationError (401) -----------------------------------------------------------------------------------
def test_requests_without_a_valid_token_are_401(onboarded):
    """AuthorizationError: missing header, wrong scheme, unknown token -> 401 {code: unauthorized, message}."""
    expected = (401, {"code": "unauthorized", "message": "unauthorized access"})
    assert call(onboarded, "GET", "/api/v2/buckets")[:2] == expected
    basic = {"Authorization": f"Basic {OPERATOR_TOKEN}"}
    assert call(onboarded, "GET", "/api/v2/buckets", headers=basic)[:2] == expected
    assert call(onboarded, "GET", "/api/v2/buckets", token="not-a-token")[:2] == expected
    status, _body, headers = call(onboarded, "GET", "/api/v2/buckets",
                                  headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    assert status == 200
    assert call(onboarded, "GET", "/api/v2/buckets")[2]["X-Platform-Error-Code"] == "unauthorized"
    assert headers["Content-Type"].startswith("application/json")


# -- GetOrgs, GetOrgsID ----------------------------------------------------------------------------------------------
def test_orgs_list_filter_and_get(onboarded):
    """GetOrgs: {links, orgs}, `org` filter, 404 `organization name "x" not found`; GetOrgsID: 200, 404, 400."""
    status, body, _headers = call(onboarded, "GET", "/api/v2/orgs", token=OPERATOR_TOKEN, query={"org": "ming"})
    assert status == 200 and body["links"]["self"] == "/api/v2/orgs"
    assert [org["name"] for org in body["orgs"]] == ["ming"]
    assert body["orgs"][0]["links"]["buckets"] == "/api/v2/buckets?org=ming"
    assert call(onboarded, "GET", "/api/v2/orgs", token=OPERATOR_TOKEN, query={"org": "nope"})[:2] == (
        404, {"code": "not found", "message": 'organization name "nope" not found'})
    status, body, _headers = call(onboarded, "GET", f"/api/v2/orgs/{org_id(onboarded)}", token=OPERATOR_TOKEN)
    assert status == 200 and body["name"] == "ming"
    assert call(onboarded, "GET", "/api/v2/orgs/ffffffffffffffff", token=OPERATOR_TOKEN)[:2] == (
        404, {"code": "not found", "message": "organization not found"})
    assert call(onboarded, "GET", "/api/v2/orgs/42", token=OPERATOR_TOKEN)[:2] == (
        400, {"code": "invalid", "message": "id must have a length of 16 bytes"})


# -- PostBuckets, GetBuckets, GetBucketsID, PatchBucketsID, DeleteBucketsID --------------------------------------
def test_post_bucket_returns_the_bucket_schema(onboarded):
    """PostBuckets: 201 Bucket with id, orgID, name, type user, retentionRules, schemaType, links (self, write, ...);
    without retentionRules the documented default of 30 days."""
    status, body, _headers = call(onboarded, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": org_id(onboarded), "name": "machine_events_1h",
                                        "description": "hourly counts"})
    assert status == 201
    bid = body["id"]
    assert len(bid) == 16 and body["type"] == "user" and body["schemaType"] == "implicit"
    assert body["retentionRules"] == [{"type": "expire", "everySeconds": 2592000, "shardGroupDurationSeconds": 86400}]
    assert body["description"] == "hourly counts" and body["orgID"] == org_id(onboarded)
    assert body["links"]["self"] == f"/api/v2/buckets/{bid}"
    assert body["links"]["write"] == f"/api/v2/write?org={org_id(onboarded)}&bucket={bid}"
    assert {"createdAt", "updatedAt", "labels"} <= set(body)


def test_post_bucket_retention_below_one_hour_is_422(onboarded):
    """PostBuckets 422 (request body failed validation): minimum retention one hour, 0 = infinite is allowed."""
    status, body, _headers = call(onboarded, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": org_id(onboarded), "name": "short",
                                        "retentionRules": [{"type": "expire", "everySeconds": 3599}]})
    assert (status, body["code"]) == (422, "unprocessable entity")
    assert create_bucket(onboarded, "forever", every=0)["retentionRules"][0]["everySeconds"] == 0
    assert create_bucket(onboarded, "hour", every=3600)["retentionRules"][0]["shardGroupDurationSeconds"] == 3600
    assert "short" not in [b["name"] for b in onboarded.state.buckets.values()]


def test_post_bucket_bad_requests(onboarded):
    """PostBuckets: duplicate name in the org (inferred 422 conflict); missing orgID / unknown org -> 400
    BadRequestError example; missing name -> 400."""
    create_bucket(onboarded, "dup")
    status, body, _headers = call(onboarded, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": org_id(onboarded), "name": "dup"})
    assert (status, body) == (422, {"code": "conflict", "message": "bucket with name dup already exists"})
    status, body, _headers = call(onboarded, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": "ffffffffffffffff", "name": "x"})
    assert (status, body) == (400, {"code": "invalid",
                                    "message": "failed to decode request body: organization not found"})
    status, body, _headers = call(onboarded, "POST", "/api/v2/buckets", token=OPERATOR_TOKEN,
                                  body={"orgID": org_id(onboarded)})
    assert (status, body["code"]) == (400, "invalid")


def test_get_buckets_filters(onboarded):
    """GetBuckets: {buckets, links}; filters name, id, orgID, org; a name with no bucket is 404 `bucket "x" not
    found` (inferred from the ResourceNotFoundError example); system buckets listed for the operator."""
    create_bucket(onboarded, "machine_events_1h")
    status, body, _headers = call(onboarded, "GET", "/api/v2/buckets", token=OPERATOR_TOKEN, query={"org": "ming"})
    assert status == 200 and "self" in body["links"]
    assert sorted(b["name"] for b in body["buckets"]) == ["_monitoring", "_tasks", "machine_events",
                                                          "machine_events_1h"]
    assert {b["type"] for b in body["buckets"] if b["name"].startswith("_")} == {"system"}
    for query in ({"name": "machine_events_1h"}, {"id": bucket_id(onboarded, "machine_events_1h")},
                  {"orgID": org_id(onboarded), "name": "machine_events_1h"}):
        status, body, _headers = call(onboarded, "GET", "/api/v2/buckets", token=OPERATOR_TOKEN, query=query)
        assert status == 200 and [b["name"] for b in body["buckets"]] == ["machine_events_1h"], query
    assert call(onboarded, "GET", "/api/v2/buckets", token=OPERATOR_TOKEN, query={"name": "nope"})[:2] == (
        404, {"code": "not found", "message": 'bucket "nope" not found'})
    assert call(onboarded, "GET", "/api/v2/buckets", token=OPERATOR_TOKEN, query={"limit": "101"})[0] == 400


def test_bucket_get_patch_delete(onboarded):
    """GetBucketsID 200/404/400; PatchBucketsID (PatchBucketRequest: name, description, retentionRules) 200, 422 for
    a retention below one hour; DeleteBucketsID 204 then 404 {code: not found, message: bucket not found}."""
    bid = create_bucket(onboarded, "b1")["id"]
    path = f"/api/v2/buckets/{bid}"
    assert call(onboarded, "GET", path, token=OPERATOR_TOKEN)[1]["name"] == "b1"
    status, body, _headers = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN,
                                  body={"description": "d", "retentionRules": [{"type": "expire",
                                                                                "everySeconds": 730 * 86400,
                                                                                "shardGroupDurationSeconds": 604800}]})
    assert status == 200 and body["description"] == "d"
    assert body["retentionRules"][0] == {"type": "expire", "everySeconds": 730 * 86400,
                                         "shardGroupDurationSeconds": 604800}
    status, body, _headers = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN,
                                  body={"retentionRules": [{"type": "expire", "everySeconds": 60}]})
    assert (status, body["code"]) == (422, "unprocessable entity")
    assert call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"name": "machine_events"})[0] == 422
    assert call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"name": "b2"})[1]["name"] == "b2"
    assert call(onboarded, "DELETE", path, token=OPERATOR_TOKEN)[:2] == (204, None)
    not_found = (404, {"code": "not found", "message": "bucket not found"})
    assert call(onboarded, "GET", path, token=OPERATOR_TOKEN)[:2] == not_found
    assert call(onboarded, "DELETE", path, token=OPERATOR_TOKEN)[:2] == not_found
    assert call(onboarded, "GET", "/api/v2/buckets/xyz", token=OPERATOR_TOKEN)[0] == 400


# -- PostAuthorizations, GetAuthorizations, GetAuthorizationsID, PatchAuthorizationsID, DeleteAuthorizationsID ----
def test_token_plaintext_only_in_create_response_on_2_9(onboarded):
    """PostAuthorizations 201 Authorization with the token; 2.9 hashes tokens (docs admin/tokens#token-hashing):
    GetAuthorizationsID and GetAuthorizations never return the plaintext again (inferred: `token` is empty), the
    double keeps only a hash, and the token still authenticates."""
    created = create_token(onboarded, [bucket_permission(onboarded, "write", "machine_events")], description="nodered")
    token = created["token"]
    assert len(token) == 88 and created["status"] == "active" and created["description"] == "nodered"
    assert created["org"] == "ming" and created["user"] == "admin"
    assert created["permissions"][0]["resource"]["name"] == "machine_events"
    assert created["links"]["self"] == f"/api/v2/authorizations/{created['id']}"
    status, body, _headers = call(onboarded, "GET", f"/api/v2/authorizations/{created['id']}", token=OPERATOR_TOKEN)
    assert status == 200 and body["token"] == "" and body["description"] == "nodered"
    status, body, _headers = call(onboarded, "GET", "/api/v2/authorizations", token=OPERATOR_TOKEN)
    assert status == 200 and "self" in body["links"]
    assert token not in json.dumps(body) and OPERATOR_TOKEN not in json.dumps(body)
    assert token not in repr(onboarded.state.authorizations)
    write = call(onboarded, "POST", "/api/v2/write", token=token, query={"org": "ming", "bucket": "machine_events"},
                 raw=b"event,line=L1 count=1i")
    assert write[0] == 204


def test_token_readable_on_2_7(influxdb2_double_factory):
    """GetAuthorizations on 2.7.12 (no token hashing): the response contains the token values in clear text."""
    double = influxdb2_double_factory(version="2.7.12")
    double.onboard(token=OPERATOR_TOKEN)
    created = create_token(double, [bucket_permission(double, "read", "machine_events")])
    status, body, _headers = call(double, "GET", f"/api/v2/authorizations/{created['id']}", token=OPERATOR_TOKEN)
    assert status == 200 and body["token"] == created["token"]
    listed = call(double, "GET", "/api/v2/authorizations", token=OPERATOR_TOKEN)[1]["authorizations"]
    assert {a["token"] for a in listed} == {OPERATOR_TOKEN, created["token"]}
    assert call(double, "GET", "/health")[1]["version"] == "v2.7.12"


def test_post_authorization_bad_bodies_are_400(onboarded):
    """PostAuthorizations 400: permissions minItems 1, action enum read|write, resource.type enum, orgID required;
    inferred: a bucket permission by name only is 400, a missing bucket ID is 404."""
    oid = org_id(onboarded)
    bad = [
        {"orgID": oid, "permissions": []},
        {"orgID": oid, "permissions": [{"action": "delete", "resource": {"type": "buckets"}}]},
        {"orgID": oid, "permissions": [{"action": "read", "resource": {"type": "bucket"}}]},
        {"permissions": [{"action": "read", "resource": {"type": "buckets"}}]},
        {"orgID": oid, "permissions": [{"action": "read", "resource": {"type": "buckets", "name": "machine_events"}}]},
        {"orgID": oid, "status": "paused", "permissions": [{"action": "read", "resource": {"type": "buckets"}}]},
    ]
    for body in bad:
        status, answer, _headers = call(onboarded, "POST", "/api/v2/authorizations", token=OPERATOR_TOKEN, body=body)
        assert (status, answer["code"]) == (400, "invalid"), body
    status, answer, _headers = call(onboarded, "POST", "/api/v2/authorizations", token=OPERATOR_TOKEN,
                                    body={"orgID": oid, "permissions": [
                                        {"action": "read", "resource": {"type": "buckets", "id": "ffffffffffffffff"}}]})
    assert (status, answer["code"]) == (404, "not found")
    assert call(onboarded, "POST", "/api/v2/authorizations", token=OPERATOR_TOKEN, raw=b"{not json")[0] == 400
    assert len(onboarded.state.authorizations) == 1


def test_get_authorizations_filters(onboarded):
    """GetAuthorizations: filters orgID, org, user, userID; OSS ignores `token=` (documented)."""
    create_token(onboarded, [bucket_permission(onboarded, "read", "machine_events")])
    user_id = next(iter(onboarded.state.users))
    for query in ({"orgID": org_id(onboarded)}, {"org": "ming"}, {"user": "admin"}, {"userID": user_id},
                  {"token": "ignored"}):
        status, body, _headers = call(onboarded, "GET", "/api/v2/authorizations", token=OPERATOR_TOKEN, query=query)
        assert status == 200 and len(body["authorizations"]) == 2, query
    status, body, _headers = call(onboarded, "GET", "/api/v2/authorizations", token=OPERATOR_TOKEN,
                                  query={"user": "nobody"})
    assert status == 200 and body["authorizations"] == []


def test_inactive_and_deleted_tokens_are_refused(onboarded):
    """PatchAuthorizationsID: description and status only ("InfluxDB rejects requests that use inactive API tokens");
    DeleteAuthorizationsID 204, then GetAuthorizationsID 404 {code: not found, message: authorization not found}."""
    created = create_token(onboarded, [type_permission(onboarded, "read", "buckets")])
    path = f"/api/v2/authorizations/{created['id']}"
    assert call(onboarded, "GET", "/api/v2/buckets", token=created["token"])[0] == 200
    status, body, _headers = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN,
                                  body={"status": "inactive", "description": "off"})
    assert status == 200 and (body["status"], body["description"]) == ("inactive", "off")
    assert call(onboarded, "GET", "/api/v2/buckets", token=created["token"])[0] == 401
    assert call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"permissions": []})[0] == 400
    assert call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"status": "active"})[0] == 200
    assert call(onboarded, "GET", "/api/v2/buckets", token=created["token"])[0] == 200
    assert call(onboarded, "DELETE", path, token=OPERATOR_TOKEN)[:2] == (204, None)
    assert call(onboarded, "GET", path, token=OPERATOR_TOKEN)[:2] == (
        404, {"code": "not found", "message": "authorization not found"})
    assert call(onboarded, "GET", "/api/v2/buckets", token=created["token"])[0] == 401


def test_scoped_tokens_write_and_read_only_their_bucket(onboarded):
    """Permission model (inferred from the AuthorizationError description: insufficient permission is 401):
    a write-only token writes its bucket and nothing else; a read-only token lists only the buckets it may read."""
    create_bucket(onboarded, "machine_events_1h")
    writer = create_token(onboarded, [bucket_permission(onboarded, "write", "machine_events")])["token"]
    reader = create_token(onboarded, [bucket_permission(onboarded, "read", "machine_events_1h")])["token"]
    line = b"event,line=L1 count=1i 1700000000000000000"
    query = {"org": "ming", "bucket": "machine_events"}
    assert call(onboarded, "POST", "/api/v2/write", token=writer, query=query, raw=line)[0] == 204
    status, body, _headers = call(onboarded, "POST", "/api/v2/write", token=writer,
                                  query={"org": "ming", "bucket": "machine_events_1h"}, raw=line)
    assert (status, body["code"]) == (401, "unauthorized")
    assert call(onboarded, "POST", "/api/v2/write", token=reader, query=query, raw=line)[0] == 401
    assert call(onboarded, "GET", f"/api/v2/buckets/{bucket_id(onboarded, 'machine_events')}", token=writer)[0] == 401
    status, body, _headers = call(onboarded, "GET", "/api/v2/buckets", token=reader)
    assert status == 200 and [b["name"] for b in body["buckets"]] == ["machine_events_1h"]
    assert onboarded.state.points[bucket_id(onboarded, "machine_events")] == [line.decode()]
    assert onboarded.state.points[bucket_id(onboarded, "machine_events_1h")] == []


def test_system_buckets_need_read_orgs(onboarded):
    """GetBuckets required permissions (documented table): user buckets need read-buckets, system buckets read-orgs."""
    org_reader = create_token(onboarded, [{"action": "read", "resource": {"type": "orgs", "id": org_id(onboarded)}}])
    status, body, _headers = call(onboarded, "GET", "/api/v2/buckets", token=org_reader["token"])
    assert status == 200 and sorted(b["name"] for b in body["buckets"]) == ["_monitoring", "_tasks"]
    bucket_reader = create_token(onboarded, [type_permission(onboarded, "read", "buckets")])
    status, body, _headers = call(onboarded, "GET", "/api/v2/buckets", token=bucket_reader["token"])
    assert status == 200 and [b["name"] for b in body["buckets"]] == ["machine_events"]


def test_token_cannot_grant_more_than_it_holds(onboarded):
    """PostAuthorizations requires write-authorizations, and (inferred) every permission granted must be held by the
    creating token: 401 otherwise."""
    manager = create_token(onboarded, [type_permission(onboarded, "write", "authorizations"),
                                       bucket_permission(onboarded, "read", "machine_events")])["token"]
    create_token(onboarded, [bucket_permission(onboarded, "read", "machine_events")], token=manager)
    status, body, _headers = call(onboarded, "POST", "/api/v2/authorizations", token=manager,
                                  body={"orgID": org_id(onboarded),
                                        "permissions": [bucket_permission(onboarded, "write", "machine_events")]})
    assert (status, body["code"]) == (401, "unauthorized")
    plain = create_token(onboarded, [bucket_permission(onboarded, "read", "machine_events")])["token"]
    status, body, _headers = call(onboarded, "POST", "/api/v2/authorizations", token=plain,
                                  body={"orgID": org_id(onboarded),
                                        "permissions": [bucket_permission(onboarded, "read", "machine_events")]})
    assert (status, body["code"]) == (401, "unauthorized")


# -- PostTasks, GetTasks, GetTasksID, PatchTasksID, DeleteTasksID ------------------------------------------------
def post_task(double, flux=TASK_FLUX, token=OPERATOR_TOKEN, **extra):
    return call(double, "POST", "/api/v2/tasks", token=token, body={"orgID": org_id(double), "flux": flux, **extra})


def test_post_task_takes_options_from_the_flux(onboarded):
    """PostTasks: 201 Task (id, orgID, org, name, status, flux, every, offset, authorizationID, createdAt,
    updatedAt, latestCompleted, links) with name/every/offset read from the `option task` line."""
    create_bucket(onboarded, "machine_events_1h")
    status, body, _headers = post_task(onboarded, description="hourly", status="inactive")
    assert status == 201
    assert (body["name"], body["every"], body["offset"], body["status"]) == ("downsample", "1h", "5m", "inactive")
    assert "cron" not in body and body["flux"] == TASK_FLUX and body["description"] == "hourly"
    assert body["org"] == "ming" and body["orgID"] == org_id(onboarded)
    operator_auth = next(iter(onboarded.state.authorizations))
    assert body["authorizationID"] == operator_auth
    assert {"createdAt", "updatedAt", "latestCompleted", "ownerID"} <= set(body)
    assert body["links"]["self"] == f"/api/v2/tasks/{body['id']}" and "runs" in body["links"]
    status, body, _headers = post_task(onboarded, flux=TASK_FLUX.replace("every: 1h", 'cron: "0 * * * *"'))
    assert status == 201 and body["cron"] == "0 * * * *" and "every" not in body


def test_post_task_refuses_bad_task_options(onboarded):
    """PostTasks 400: missing flux is the documented {code: invalid, message: "failed to decode request: missing
    flux"}; inferred: no option line, no name, neither or both of every/cron, a bad duration -> 400 invalid."""
    missing = {"code": "invalid", "message": "failed to decode request: missing flux"}
    assert post_task(onboarded, flux="")[:2] == (400, missing)
    bad = ['from(bucket: "machine_events") |> range(start: -1h)',
           'option task = {every: 1h}\nfrom(bucket: "machine_events")',
           'option task = {name: "t"}\nfrom(bucket: "machine_events")',
           'option task = {name: "t", every: 1h, cron: "0 * * * *"}\nfrom(bucket: "machine_events")',
           'option task = {name: "t", every: hourly}\nfrom(bucket: "machine_events")']
    for flux in bad:
        status, body, _headers = post_task(onboarded, flux=flux)
        assert (status, body["code"]) == (400, "invalid") and body["message"].startswith("invalid options"), flux
    assert onboarded.state.tasks == {}


def test_get_tasks_filters(onboarded):
    """GetTasks: {links, tasks}; filters name, status, org, orgID, limit (1..500, else 400); type=basic omits
    createdAt/updatedAt and empties flux and org (documented example)."""
    post_task(onboarded)
    post_task(onboarded, flux=TASK_FLUX.replace("downsample", "other"), status="inactive")
    for query, names in (({"name": "other"}, ["other"]), ({"status": "active"}, ["downsample"]),
                         ({"org": "ming"}, ["downsample", "other"]), ({"orgID": org_id(onboarded)},
                                                                      ["downsample", "other"]),
                         ({"limit": "1"}, ["downsample"])):
        status, body, _headers = call(onboarded, "GET", "/api/v2/tasks", token=OPERATOR_TOKEN, query=query)
        assert status == 200 and [t["name"] for t in body["tasks"]] == names, query
    assert call(onboarded, "GET", "/api/v2/tasks", token=OPERATOR_TOKEN, query={"limit": "0"})[0] == 400
    basic = call(onboarded, "GET", "/api/v2/tasks", token=OPERATOR_TOKEN, query={"type": "basic"})[1]["tasks"][0]
    assert basic["flux"] == "" and basic["org"] == "" and "createdAt" not in basic


def test_patch_task_rewrites_option_line_and_cancels_runs(onboarded):
    """PatchTasksID (TaskUpdateRequest): every/offset/name rewrite the `option task` line of the flux; cron replaces
    every; every update cancels scheduled runs (counted); GetTasksID 404 and DeleteTasksID 204 after."""
    task = post_task(onboarded)[1]
    path = f"/api/v2/tasks/{task['id']}"
    status, body, _headers = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN,
                                  body={"every": "2h", "offset": "10m", "name": "renamed"})
    assert status == 200
    assert (body["name"], body["every"], body["offset"]) == ("renamed", "2h", "10m")
    assert body["flux"].startswith('option task = {name: "renamed", every: 2h, offset: 10m}')
    assert body["flux"].endswith(TASK_FLUX.split("\n", 1)[1])
    assert onboarded.state.scheduled_run_cancellations[task["id"]] == 1
    body = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"cron": "0 */2 * * *"})[1]
    assert body["cron"] == "0 */2 * * *" and "every" not in body and "every:" not in body["flux"]
    body = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"status": "inactive"})[1]
    assert body["status"] == "inactive" and onboarded.state.scheduled_run_cancellations[task["id"]] == 3
    assert call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, body={"flux": "from(bucket: \"x\")"})[0] == 400
    assert call(onboarded, "GET", path, token=OPERATOR_TOKEN)[1]["name"] == "renamed"
    assert call(onboarded, "DELETE", path, token=OPERATOR_TOKEN)[:2] == (204, None)
    status, body, _headers = call(onboarded, "GET", path, token=OPERATOR_TOKEN)
    assert (status, body["code"]) == (404, "not found")


def test_task_names_keep_utf8_and_flux_escapes_through_a_patch(onboarded):
    """A task name with non-ASCII letters, a quote, a brace and an escaped ``${`` reads back unchanged after a PATCH
    rewrites the option line (UTF-8 stays as written; Flux string escapes, not JSON ones). Mutations tried: the
    option line rendered with json.dumps (``\\u00fc``) and the option record cut at the first ``}``: both fail."""
    name = 'Linie 1 stündlich "A" } ${x}'
    flux = 'option task = {name: "Linie 1 stündlich \\"A\\" } \\${x}", every: 1h}\nfrom(bucket: "machine_events")'
    task = post_task(onboarded, flux=flux)[1]
    assert task["name"] == name
    body = call(onboarded, "PATCH", f"/api/v2/tasks/{task['id']}", token=OPERATOR_TOKEN, body={"every": "2h"})[1]
    assert body["name"] == name and "stündlich" in body["flux"] and body["every"] == "2h"


def test_task_run_fails_once_its_authorization_is_deleted(onboarded):
    """A task runs with the authorization of the token that created it (issue 11; Task.authorizationID): deleting
    that authorization, or creating the task with a token that may not write the `to()` bucket, fails the run."""
    create_bucket(onboarded, "machine_events_1h")
    task_token = create_token(onboarded, [type_permission(onboarded, "read", "tasks"),
                                          type_permission(onboarded, "write", "tasks"),
                                          bucket_permission(onboarded, "read", "machine_events"),
                                          bucket_permission(onboarded, "write", "machine_events_1h")])
    task = post_task(onboarded, token=task_token["token"])[1]
    assert task["authorizationID"] == task_token["id"]
    assert onboarded.state.run_task(task["id"])["lastRunStatus"] == "success"
    assert call(onboarded, "DELETE", f"/api/v2/authorizations/{task_token['id']}", token=OPERATOR_TOKEN)[0] == 204
    ran = onboarded.state.run_task(task["id"])
    assert ran["lastRunStatus"] == "failed" and task_token["id"] in ran["lastRunError"]
    reader = create_token(onboarded, [type_permission(onboarded, "write", "tasks"),
                                      type_permission(onboarded, "read", "buckets")])["token"]
    read_only_task = post_task(onboarded, token=reader)[1]
    ran = onboarded.state.run_task(read_only_task["id"])
    assert ran["lastRunStatus"] == "failed" and "write:" in ran["lastRunError"]


# -- GetDBRPs, PostDBRP, GetDBRPsID, PatchDBRPID, DeleteDBRPID -------------------------------------------------
def test_dbrp_create_default_filters_patch_delete(onboarded):
    """PostDBRP 201 DBRP (id, orgID, bucketID, database, retention_policy, default); the first mapping of a database
    is its default; GetDBRPs {content} filters db, rp, default, bucketID; GetDBRPsID / PatchDBRPID {content};
    DeleteDBRPID 204 then 404."""
    bid = bucket_id(onboarded, "machine_events")
    oid = org_id(onboarded)
    status, first, _headers = call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
                                   body={"orgID": oid, "bucketID": bid, "database": "ming",
                                         "retention_policy": "autogen"})
    assert status == 201
    assert {k: first[k] for k in ("orgID", "bucketID", "database", "retention_policy", "default")} == {
        "orgID": oid, "bucketID": bid, "database": "ming", "retention_policy": "autogen", "default": True}
    status, second, _headers = call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
                                    body={"org": "ming", "bucketID": bid, "database": "ming",
                                          "retention_policy": "raw", "default": True})
    assert status == 201 and second["default"] is True
    status, body, _headers = call(onboarded, "GET", "/api/v2/dbrps", token=OPERATOR_TOKEN,
                                  query={"orgID": oid, "db": "ming", "default": "true"})
    assert status == 200 and [d["retention_policy"] for d in body["content"]] == ["raw"]
    for query, count in (({"rp": "autogen", "db": "ming"}, 1), ({"bucketID": bid}, 2), ({"db": "other"}, 0)):
        body = call(onboarded, "GET", "/api/v2/dbrps", token=OPERATOR_TOKEN, query={"org": "ming", **query})[1]
        assert len(body["content"]) == count, query
    path = f"/api/v2/dbrps/{first['id']}"
    body = call(onboarded, "GET", path, token=OPERATOR_TOKEN, query={"orgID": oid})[1]
    assert body["content"]["id"] == first["id"] and body["content"]["default"] is False
    body = call(onboarded, "PATCH", path, token=OPERATOR_TOKEN, query={"orgID": oid},
                body={"retention_policy": "autogen2", "default": True})[1]
    assert body["content"]["retention_policy"] == "autogen2" and body["content"]["default"] is True
    assert onboarded.state.dbrps[second["id"]]["default"] is False
    assert call(onboarded, "DELETE", path, token=OPERATOR_TOKEN, query={"orgID": oid})[:2] == (204, None)
    status, body, _headers = call(onboarded, "GET", path, token=OPERATOR_TOKEN, query={"orgID": oid})
    assert (status, body["code"]) == (404, "not found")


def test_virtual_dbrps_are_listed_and_read_only(onboarded):
    """GetDBRPs lists the virtual mappings OSS provides for buckets without an explicit one (DBRP.virtual; docs
    query-data/influxql/dbrp.md: bucket name + autogen, or `db/rp` names split); they cannot be patched or deleted
    (inferred 400); an explicit mapping replaces the bucket's virtual one."""
    create_bucket(onboarded, "plant/hourly")
    oid = org_id(onboarded)
    body = call(onboarded, "GET", "/api/v2/dbrps", token=OPERATOR_TOKEN, query={"orgID": oid})[1]
    virtual = {(d["database"], d["retention_policy"], d["default"]) for d in body["content"] if d["virtual"]}
    assert {("machine_events", "autogen", True), ("plant", "hourly", True)} <= virtual
    bid = bucket_id(onboarded, "machine_events")
    path = f"/api/v2/dbrps/{bid}"
    assert call(onboarded, "GET", path, token=OPERATOR_TOKEN, query={"orgID": oid})[1]["content"]["virtual"] is True
    for method in ("PATCH", "DELETE"):
        status, answer, _headers = call(onboarded, method, path, token=OPERATOR_TOKEN, query={"orgID": oid},
                                        body={"retention_policy": "x"} if method == "PATCH" else None)
        assert (status, answer["code"]) == (400, "invalid"), method
    call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
         body={"orgID": oid, "bucketID": bid, "database": "ming", "retention_policy": "raw"})
    body = call(onboarded, "GET", "/api/v2/dbrps", token=OPERATOR_TOKEN, query={"orgID": oid, "bucketID": bid})[1]
    assert [(d["database"], d["virtual"]) for d in body["content"]] == [("ming", False)]


def test_dbrp_bad_requests(onboarded):
    """PostDBRP 400 (missing field, invalid ID), 404 (bucket not found); inferred: duplicate db/rp 422 conflict,
    GetDBRPs without org/orgID 400."""
    oid = org_id(onboarded)
    good = {"orgID": oid, "bucketID": bucket_id(onboarded, "machine_events"), "database": "ming",
            "retention_policy": "autogen"}
    assert call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN, body=good)[0] == 201
    assert call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN, body=good)[1]["code"] == "conflict"
    status, body, _headers = call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
                                  body={**good, "bucketID": "nope"})
    assert (status, body) == (400, {"code": "invalid", "message": "invalid ID"})
    status, body, _headers = call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
                                  body={**good, "bucketID": "ffffffffffffffff", "retention_policy": "x"})
    assert (status, body["code"]) == (404, "not found")
    good_without_rp = {k: v for k, v in good.items() if k != "retention_policy"}
    assert call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN, body=good_without_rp)[0] == 400
    assert call(onboarded, "GET", "/api/v2/dbrps", token=OPERATOR_TOKEN)[0] == 400


def test_deleting_a_bucket_deletes_its_dbrps(onboarded):
    """DeleteBucketsID: the bucket's DBRP mappings go with it (inferred)."""
    bid = create_bucket(onboarded, "gone")["id"]
    call(onboarded, "POST", "/api/v2/dbrps", token=OPERATOR_TOKEN,
         body={"orgID": org_id(onboarded), "bucketID": bid, "database": "gone", "retention_policy": "autogen"})
    assert len(onboarded.state.dbrps) == 1
    assert call(onboarded, "DELETE", f"/api/v2/buckets/{bid}", token=OPERATOR_TOKEN)[0] == 204
    assert onboarded.state.dbrps == {}


# -- PostWrite ---------------------------------------------------------------------------------------------------
def test_write_statuses(onboarded):
    """PostWrite: 204 (bucket by name or ID, gzip); 404 `bucket "x" not found`; 400 without org or with an unknown
    org (the documented OSS example); 400 LineProtocolError with `line` for a malformed line; `precision` from the
    WritePrecision enum (400 otherwise); 401 without token."""
    query = {"org": "ming", "bucket": "machine_events"}
    lines = b"event,line=L1,station=S1 count=1i,clip=true 1700000000000000000\nevent,line=L2 count=2i\n"
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query=query, raw=lines)[0] == 204
    by_id = {"orgID": org_id(onboarded), "bucket": bucket_id(onboarded, "machine_events")}
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query=by_id, raw=gzip.compress(lines),
                headers={"Content-Encoding": "gzip"})[0] == 204
    assert len(onboarded.state.points[bucket_id(onboarded, "machine_events")]) == 4
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query={**query, "bucket": "nope"},
                raw=lines)[:2] == (404, {"code": "not found", "message": 'bucket "nope" not found'})
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query={"bucket": "machine_events"},
                raw=lines)[1]["code"] == "invalid"
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query={**query, "org": "nope"},
                raw=lines)[:2] == (400, {"code": "invalid",
                                         "message": "failed to decode request body: organization not found"})
    status, body, _headers = call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query=query,
                                  raw=b"event,line=L1 count=1i\nevent-without-fields\n")
    assert (status, body["code"], body["line"]) == (400, "invalid", 2)
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query={**query, "precision": "s"},
                raw=b"event count=1i 1700000000")[0] == 204
    assert call(onboarded, "POST", "/api/v2/write", token=OPERATOR_TOKEN, query={**query, "precision": "h"},
                raw=lines)[1]["code"] == "invalid"
    assert call(onboarded, "POST", "/api/v2/write", query=query, raw=lines)[0] == 401
    assert len(onboarded.state.points[bucket_id(onboarded, "machine_events")]) == 5


# -- bad input, operation by operation -------------------------------------------------------------------------------
BAD_INPUT = [
    # (operation, method, path, query, body or raw bytes, status, Error code)
    ("PostBuckets", "POST", "/api/v2/buckets", {}, {"orgID": "{org}", "name": "_private"}, 400, "invalid"),
    ("PostBuckets", "POST", "/api/v2/buckets", {}, {"orgID": "{org}", "name": "b", "retentionRules": {}}, 400,
     "invalid"),
    ("PostBuckets", "POST", "/api/v2/buckets", {}, {"orgID": "{org}", "name": "b", "retentionRules": [{"type": "x"}]},
     400, "invalid"),
    ("PostBuckets", "POST", "/api/v2/buckets", {},
     {"orgID": "{org}", "name": "b", "retentionRules": [{"everySeconds": 3600, "shardGroupDurationSeconds": -1}]},
     422, "unprocessable entity"),
    ("PostBuckets", "POST", "/api/v2/buckets", {}, b"[1, 2]", 400, "invalid"),
    ("PostBuckets", "POST", "/api/v2/buckets", {}, None, 400, "invalid"),
    ("PatchBucketsID", "PATCH", "/api/v2/buckets/{_monitoring}", {}, {"name": "monitoring"}, 400, "invalid"),
    ("DeleteBucketsID", "DELETE", "/api/v2/buckets/{_tasks}", {}, None, 400, "invalid"),
    ("GetBuckets", "GET", "/api/v2/buckets", {"limit": "many"}, None, 400, "invalid"),
    ("PostAuthorizations", "POST", "/api/v2/authorizations", {},
     {"orgID": "{org}", "userID": "ffffffffffffffff",
      "permissions": [{"action": "read", "resource": {"type": "buckets"}}]}, 404, "not found"),
    ("PostTasks", "POST", "/api/v2/tasks", {}, {"orgID": "{org}", "flux": "{flux}", "status": "paused"}, 400,
     "invalid"),
    ("PostTasks", "POST", "/api/v2/tasks", {},
     {"orgID": "{org}", "flux": 'option task = {name: "t", cron: "every hour"}\nfrom(bucket: "b")'}, 400, "invalid"),
    ("PostTasks", "POST", "/api/v2/tasks", {},
     {"orgID": "{org}", "flux": 'option task = {name: "t", every: 1h, offset: soon}\nfrom(bucket: "b")'}, 400,
     "invalid"),
    ("PostTasks", "POST", "/api/v2/tasks", {}, {"org": "nope", "flux": "{flux}"}, 400, "invalid"),
    ("GetTasks", "GET", "/api/v2/tasks", {"limit": "501"}, None, 400, "invalid"),
    ("PostWrite", "POST", "/api/v2/write", {"org": "ming"}, b"m f=1", 404, "not found"),
    ("PostWrite", "POST", "/api/v2/write", {"org": "ming", "bucket": "machine_events"}, b"m f=\xff", 400, "invalid"),
    ("PostDBRP", "POST", "/api/v2/dbrps", {}, {"orgID": "{org}", "bucketID": "{machine_events}", "database": "d"},
     400, "invalid"),
]


@pytest.mark.parametrize(("operation", "method", "path", "query", "body", "status", "code"), BAD_INPUT,
                         ids=[f"{row[0]}-{index}" for index, row in enumerate(BAD_INPUT)])
def test_bad_input_is_refused_without_a_change(onboarded, operation, method, path, query, body, status, code):
    """Each operation refuses what its schema (or, marked in the README, our inference) does not allow, with the
    Error body, and changes nothing: system buckets cannot be renamed or deleted, bucket names starting with `_`
    are reserved, retentionRules must be a list of expire rules, shard group durations >= 0, a JSON object body
    is required, limits are integers in range, unknown users are 404, task status is active|inactive, cron and
    duration literals are checked, writes need a bucket and UTF-8 line protocol, a DBRP needs retention_policy."""
    names = {"{org}": org_id(onboarded), "{flux}": TASK_FLUX}
    names.update({f"{{{b['name']}}}": b["id"] for b in onboarded.state.buckets.values()})

    def fill(value):
        if isinstance(value, dict):
            return {key: fill(item) for key, item in value.items()}
        if isinstance(value, list):
            return [fill(item) for item in value]
        return names.get(value, value) if isinstance(value, str) else value

    for placeholder, value in names.items():
        path = path.replace(placeholder, value)
    before = json.dumps([onboarded.state.buckets, onboarded.state.tasks, onboarded.state.dbrps,
                         {k: v["permissions"] for k, v in onboarded.state.authorizations.items()},
                         onboarded.state.points], sort_keys=True)
    raw = body if isinstance(body, bytes) else None
    answer = call(onboarded, method, path, body=None if raw is not None else fill(body), token=OPERATOR_TOKEN,
                  query=query, raw=raw)
    assert (answer[0], answer[1]["code"]) == (status, code), (operation, answer[1])
    assert json.dumps([onboarded.state.buckets, onboarded.state.tasks, onboarded.state.dbrps,
                       {k: v["permissions"] for k, v in onboarded.state.authorizations.items()},
                       onboarded.state.points], sort_keys=True) == before


def test_setup_refuses_a_short_password(influxdb2_double):
    """PostSetup: a password shorter than 8 characters is 400 invalid (inferred) and the server stays allowed."""
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup",
                                  body={"username": "admin", "password": "short", "org": "ming", "bucket": "b"})
    assert (status, body["code"]) == (400, "invalid")
    assert call(influxdb2_double, "GET", "/api/v2/setup")[:2] == (200, {"allowed": True})


def test_scoped_tokens_see_only_their_orgs_and_tasks(onboarded):
    """GetOrgs and GetTasks leave out what the token may not read (inferred, as for buckets); PostTasks without
    org/orgID uses the token's organization."""
    bucket_only = create_token(onboarded, [bucket_permission(onboarded, "read", "machine_events")])["token"]
    post_task(onboarded)
    assert call(onboarded, "GET", "/api/v2/orgs", token=bucket_only)[1]["orgs"] == []
    assert call(onboarded, "GET", "/api/v2/tasks", token=bucket_only)[1]["tasks"] == []
    tasks_only = create_token(onboarded, [type_permission(onboarded, "read", "tasks"),
                                          type_permission(onboarded, "write", "tasks")])["token"]
    status, body, _headers = call(onboarded, "POST", "/api/v2/tasks", token=tasks_only, body={"flux": TASK_FLUX})
    assert status == 201 and body["orgID"] == org_id(onboarded)
    assert len(call(onboarded, "GET", "/api/v2/tasks", token=tasks_only)[1]["tasks"]) == 2


def test_task_runs_need_an_active_task_and_authorization(onboarded):
    """State.run_task: an inactive task does not run (TaskStatusType: inactive prevents manual runs); an inactive
    authorization or a `from()` bucket that does not exist fails the run."""
    auth = create_token(onboarded, [type_permission(onboarded, "write", "tasks"),
                                    type_permission(onboarded, "read", "buckets"),
                                    type_permission(onboarded, "write", "buckets")])
    task = post_task(onboarded, token=auth["token"], status="inactive")[1]
    assert "lastRunStatus" not in onboarded.state.run_task(task["id"])
    call(onboarded, "PATCH", f"/api/v2/tasks/{task['id']}", token=OPERATOR_TOKEN, body={"status": "active"})
    ran = onboarded.state.run_task(task["id"])
    assert ran["lastRunStatus"] == "failed" and 'bucket "machine_events_1h" not found' in ran["lastRunError"]
    create_bucket(onboarded, "machine_events_1h")
    assert onboarded.state.run_task(task["id"])["lastRunStatus"] == "success"
    call(onboarded, "PATCH", f"/api/v2/authorizations/{auth['id']}", token=OPERATOR_TOKEN, body={"status": "inactive"})
    ran = onboarded.state.run_task(task["id"])
    assert ran["lastRunStatus"] == "failed" and "inactive" in ran["lastRunError"]


# -- routing, request record, stand-alone ---------------------------------------------------------------------------
def test_unknown_path_is_404_and_wrong_method_405(onboarded):
    """Any path the API does not have: 404 Error {code: not found}; a method a path does not have: 405 Error
    {code: method not allowed} (both codes from the Error code enum)."""
    assert call(onboarded, "GET", "/api/v2/nothing", token=OPERATOR_TOKEN)[:2] == (
        404, {"code": "not found", "message": "path not found"})
    assert call(onboarded, "GET", "/api/v2/buckets/0a3cbb5dd5260005/labels/x", token=OPERATOR_TOKEN)[0] == 404
    status, body, _headers = call(onboarded, "PUT", "/api/v2/buckets", token=OPERATOR_TOKEN, body={})
    assert (status, body["code"]) == (405, "method not allowed")
    assert call(onboarded, "DELETE", "/api/v2/setup")[0] == 405


def test_unexpected_body_is_a_500_not_a_dead_connection(influxdb2_double):
    """InternalServerError (500, Error code `internal error`) for a body the double cannot handle, here a deprecated
    retentionPeriodHrs that is not a number; the server keeps answering."""
    status, body, _headers = call(influxdb2_double, "POST", "/api/v2/setup",
                                  body={"username": "admin", "org": "ming", "bucket": "b", "retentionPeriodHrs": "x"})
    assert (status, body["code"]) == (500, "internal error")
    assert call(influxdb2_double, "GET", "/api/v2/setup")[:2] == (200, {"allowed": True})


def test_requests_and_writes_are_recorded(onboarded):
    """The double's record: `requests` holds (method, path, query, body) of every request, `writes()` the ones that
    are not GET/HEAD (what a module's idempotence test asserts on); onboard() is not a request."""
    assert onboarded.requests == []
    call(onboarded, "GET", "/api/v2/buckets", token=OPERATOR_TOKEN, query={"name": "machine_events"})
    assert onboarded.requests == [("GET", "/api/v2/buckets", {"name": "machine_events"}, None)]
    assert onboarded.writes() == []
    create_bucket(onboarded, "recorded", every=3600)
    assert onboarded.writes() == [("POST", "/api/v2/buckets", {}, {"orgID": org_id(onboarded), "name": "recorded",
                                                                   "retentionRules": [{"type": "expire",
                                                                                       "everySeconds": 3600}]})]


def test_stand_alone_server(tmp_path):
    """`python -m influxdb2_double --port 0 --version 2.7.12` serves GetHealth and GetSetup (a double)."""
    process = subprocess.Popen([sys.executable, "-m", "influxdb2_double", "--port", "0", "--version", "2.7.12"],
                               cwd=TOOLS, stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        url = banner.split(" listening on ")[1].split()[0]
        with urllib.request.urlopen(url + "/health", timeout=10) as response:
            assert json.loads(response.read())["version"] == "v2.7.12"
        with urllib.request.urlopen(url + "/api/v2/setup", timeout=10) as response:
            assert json.loads(response.read()) == {"allowed": True}
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_https_with_a_server_ssl_context(influxdb2_double_factory, tmp_path):
    """GetHealth over HTTPS when the double gets a server-side SSLContext (a self-signed certificate for
    127.0.0.1); a client that does not trust the certificate is refused."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    double = influxdb2_double_factory(ssl_context=server_context)
    assert double.url.startswith("https://127.0.0.1:")
    trusting = ssl.create_default_context(cafile=str(cert_path))
    with urllib.request.urlopen(double.url + "/health", timeout=10, context=trusting) as response:
        assert json.loads(response.read())["status"] == "pass"
    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(double.url + "/health", timeout=10, context=ssl.create_default_context())
