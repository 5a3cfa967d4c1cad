"""An in-memory InfluxDB OSS 2.x API double (see README.md: what it covers, what it infers, the OpenAPI commit).

Bodies, status codes and error bodies follow InfluxData's OpenAPI document for OSS 2.x; every choice the document
leaves open is marked ``inferred`` here and listed in the README.
"""

import base64
import datetime
import gzip
import hashlib
import json
import re
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from . import replication
from .replication import Forwarder, ReplicationApi, ReplicationState

DEFAULT_VERSION = "2.9.1"
# Permission.resource.type enum of the OpenAPI document (schemas Resource / Permission)
RESOURCE_TYPES = (
    "authorizations", "buckets", "dashboards", "orgs", "tasks", "telegrafs", "users", "variables", "secrets",
    "labels", "views", "documents", "notificationRules", "notificationEndpoints", "checks", "dbrp", "annotations",
    "sources", "scrapers", "notebooks", "remotes", "replications", "instance", "flows", "functions", "subscriptions",
)
ONE_HOUR = 3600
SYSTEM_BUCKETS = (("_monitoring", 7 * 86400, "System bucket for monitoring logs"),
                  ("_tasks", 3 * 86400, "System bucket for task logs"))
ID_RE = re.compile(r"^[0-9a-f]{16}$")
FLUX_DURATION_RE = re.compile(r"^(?:\d+(?:ns|us|µs|ms|mo|s|m|h|d|w|y))+$")
TASK_OPTION_RE = re.compile(r"option\s+task\s*=\s*\{(?P<body>(?:\"(?:[^\"\\]|\\.)*\"|[^}\"])*)\}", re.S)
TASK_OPTION_ITEM_RE = re.compile(r"\s*(?P<key>[A-Za-z_]\w*)\s*:\s*(?P<value>\"(?:[^\"\\]|\\.)*\"|[^,\s}]+)\s*(?:,|$)")
FLUX_BUCKET_RE = re.compile(r"\b(?P<fn>from|to)\s*\([^)]*?\bbucket\s*:\s*\"(?P<name>(?:[^\"\\]|\\.)*)\"", re.S)
LINE_RE = re.compile(r"^(?P<measurement>(?:[^,\s\\]|\\.)+)(?P<tags>(?:,(?:[^,=\s\\]|\\.)+=(?:[^,\s\\]|\\.)+)*)"
                     r" (?P<fields>(?:[^,=\s\\]|\\.)+=(?:\"(?:[^\"\\]|\\.)*\"|[^,\s]+)"
                     r"(?:,(?:[^,=\s\\]|\\.)+=(?:\"(?:[^\"\\]|\\.)*\"|[^,\s]+))*)(?: (?P<time>-?\d+))?$")


class ApiFailure(Exception):
    """An error answer: HTTP status and the OpenAPI ``Error`` body (``code`` from the documented enum, ``message``)."""

    def __init__(self, status, code, message, **extra):
        super().__init__(message)
        self.status = status
        self.body = {"code": code, "message": message, **extra}


def not_found(message):
    return ApiFailure(404, "not found", message)


def invalid(message):
    return ApiFailure(400, "invalid", message)


def unauthorized(message="unauthorized access"):
    return ApiFailure(401, "unauthorized", message)


def now_rfc3339():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_shard_group(every_seconds):
    """Shard group duration InfluxDB picks from the retention (docs: reference/internals/shards)."""
    if every_seconds == 0 or every_seconds > 180 * 86400:
        return 7 * 86400
    if every_seconds >= 2 * 86400:
        return 86400
    return ONE_HOUR


def version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def parse_task_options(flux):
    """The ``option task = {...}`` keys of a Flux script -> dict, or ApiFailure 400 (inferred message)."""
    match = TASK_OPTION_RE.search(flux)
    if match is None:
        raise invalid("invalid options: no task options defined")
    options = {}
    for item in TASK_OPTION_ITEM_RE.finditer(match.group("body")):
        value = item.group("value")
        options[item.group("key")] = flux_string_value(value) if value.startswith('"') else value
    if not options.get("name"):
        raise invalid("invalid options: missing required option: 'name'")
    if "every" in options and "cron" in options:
        raise invalid("invalid options: cannot use both cron and every in task options")
    if "every" not in options and "cron" not in options:
        raise invalid("invalid options: must specify exactly one of either cron or every")
    for key in ("every", "offset"):
        if key in options and not FLUX_DURATION_RE.match(str(options[key])):
            raise invalid(f"invalid options: option {key!r}: {options[key]!r} is not a duration literal")
    if "cron" in options and len(str(options["cron"]).split()) not in (5, 6):
        raise invalid(f"invalid options: cron expression {options['cron']!r} is invalid")
    return options


FLUX_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$"}


def flux_string_value(literal):
    """The text of a Flux string literal (Flux spec "String literals": \\n \\r \\t \\\\ \\" \\$ and \\xNN bytes)."""
    body, out, index = literal[1:-1], bytearray(), 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            follow = body[index + 1]
            if follow == "x" and re.match(r"[0-9a-fA-F]{2}", body[index + 2:index + 4]):
                out.append(int(body[index + 2:index + 4], 16))
                index += 4
                continue
            out.extend(FLUX_ESCAPES.get(follow, "\\" + follow).encode())
            index += 2
            continue
        out.extend(char.encode())
        index += 1
    return out.decode("utf-8", "replace")


def flux_string(text):
    """``text`` as a Flux string literal, UTF-8 kept as it is (as InfluxDB writes the option line back)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "\\${")
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'


def render_task_options(options):
    parts = [f"name: {flux_string(options['name'])}"]
    for key in ("every", "cron", "offset"):
        if options.get(key):
            parts.append(f"{key}: {flux_string(options[key]) if key == 'cron' else options[key]}")
    return "option task = {" + ", ".join(parts) + "}"


class State(ReplicationState):
    """Every object of the double; one lock serialises requests (ThreadingHTTPServer runs one thread each)."""

    def __init__(self, version=DEFAULT_VERSION):
        self.version = version
        self.lock = threading.RLock()
        self.next_id = 0x0A3CBB5DD5260000
        self.orgs = {}
        self.users = {}
        self.buckets = {}
        self.authorizations = {}
        self.tasks = {}
        self.dbrps = {}
        self.points = {}  # bucket id -> list of line-protocol lines written
        self.token_index = {}  # stored token (plaintext, or its hash when hashed) -> authorization id
        self.scheduled_run_cancellations = {}  # task id -> times a PATCH/DELETE/inactive cancelled its runs
        self.requests = []
        self.init_replication()  # remotes, replications, their queues (replication.py)

    # -- helpers -----------------------------------------------------------------------------------------------
    @property
    def hashes_tokens(self):
        """2.9.0 and later hash API tokens by default (docs admin/tokens#token-hashing); 2.8 off; 2.7 unsupported."""
        return version_tuple(self.version) >= (2, 9, 0)

    def new_id(self):
        self.next_id += 1
        return f"{self.next_id:016x}"

    @staticmethod
    def token_key(token):
        return hashlib.sha256(token.encode()).hexdigest()

    def find_org(self, org_id=None, org_name=None):
        for org in self.orgs.values():
            if (org_id is not None and org["id"] == org_id) or (org_name is not None and org["name"] == org_name):
                return org
        return None

    def resolve_org(self, query, body=None, required=False):
        """orgID / org from the query (or body) -> org, 400 (BadRequestError example) when it names none."""
        body = body or {}
        org_id = query.get("orgID") or body.get("orgID")
        org_name = query.get("org") or body.get("org")
        if org_id is None and org_name is None:
            if required:
                raise invalid("Please provide either orgID or org")
            return None
        org = self.find_org(org_id, None) if org_id is not None else self.find_org(None, org_name)
        if org is None:
            raise invalid("failed to decode request body: organization not found")
        return org

    # -- objects -----------------------------------------------------------------------------------------------
    def add_org(self, name, description=""):
        stamp = now_rfc3339()
        org = {"id": self.new_id(), "name": name, "description": description, "createdAt": stamp,
               "updatedAt": stamp}
        self.orgs[org["id"]] = org
        for bucket_name, every, description_text in SYSTEM_BUCKETS:
            self.add_bucket(org["id"], bucket_name, every, description=description_text, bucket_type="system")
        return org

    def add_bucket(self, org_id, name, every, shard=None, description=None, bucket_type="user"):
        stamp = now_rfc3339()
        bucket = {"id": self.new_id(), "orgID": org_id, "name": name, "type": bucket_type,
                  "everySeconds": every, "shardGroupDurationSeconds": shard or default_shard_group(every),
                  "createdAt": stamp, "updatedAt": stamp}
        if description is not None:
            bucket["description"] = description
        self.buckets[bucket["id"]] = bucket
        self.points[bucket["id"]] = []
        return bucket

    def add_authorization(self, org_id, user_id, permissions, description="", status="active", token=None):
        token = token or base64.urlsafe_b64encode(secrets.token_bytes(64)).decode()
        stamp = now_rfc3339()
        auth = {"id": self.new_id(), "orgID": org_id, "userID": user_id, "permissions": permissions,
                "description": description, "status": status, "createdAt": stamp, "updatedAt": stamp}
        key = self.token_key(token) if self.hashes_tokens else token
        if not self.hashes_tokens:
            auth["token"] = token
        auth["_key"] = key
        self.token_index[key] = auth["id"]
        self.authorizations[auth["id"]] = auth
        return auth, token

    def delete_authorization(self, auth_id):
        auth = self.authorizations.pop(auth_id)
        self.token_index.pop(auth["_key"], None)

    def onboard(self, username="admin", password=None, org="ming", bucket="machine_events",
                retention_seconds=0, token=None):
        """What POST /api/v2/setup does: user, org, bucket and the operator token; returns (response, token)."""
        with self.lock:
            if self.users:
                raise ApiFailure(422, "conflict", "onboarding has already been completed")
            user = {"id": self.new_id(), "name": username, "status": "active",
                    "password": password or secrets.token_urlsafe(12)}
            self.users[user["id"]] = user
            org_obj = self.add_org(org)
            bucket_obj = self.add_bucket(org_obj["id"], bucket, retention_seconds)
            operator = [{"action": action, "resource": {"type": kind}}
                        for kind in RESOURCE_TYPES for action in ("read", "write")]
            auth, token = self.add_authorization(org_obj["id"], user["id"], operator, description=f"{username}'s Token",
                                                 token=token)
            response = {"user": self.user_json(user), "org": self.org_json(org_obj),
                        "bucket": self.bucket_json(bucket_obj), "auth": self.auth_json(auth, token)}
            return response, token

    # -- JSON views (field for field with the OpenAPI schemas) ------------------------------------------------
    @staticmethod
    def user_json(user):
        return {"id": user["id"], "name": user["name"], "status": user["status"],
                "links": {"self": f"/api/v2/users/{user['id']}"}}

    @staticmethod
    def org_json(org):
        oid, name = org["id"], org["name"]
        return {**org, "links": {
            "buckets": f"/api/v2/buckets?org={name}", "dashboards": f"/api/v2/dashboards?org={name}",
            "labels": f"/api/v2/orgs/{oid}/labels", "logs": f"/api/v2/orgs/{oid}/logs",
            "members": f"/api/v2/orgs/{oid}/members", "owners": f"/api/v2/orgs/{oid}/owners",
            "secrets": f"/api/v2/orgs/{oid}/secrets", "self": f"/api/v2/orgs/{oid}",
            "tasks": f"/api/v2/tasks?org={name}"}}

    @staticmethod
    def bucket_json(bucket):
        bid, oid = bucket["id"], bucket["orgID"]
        view = {"id": bid, "orgID": oid, "type": bucket["type"], "name": bucket["name"],
                "retentionRules": [{"type": "expire", "everySeconds": bucket["everySeconds"],
                                    "shardGroupDurationSeconds": bucket["shardGroupDurationSeconds"]}],
                "schemaType": "implicit", "labels": [], "createdAt": bucket["createdAt"],
                "updatedAt": bucket["updatedAt"],
                "links": {"labels": f"/api/v2/buckets/{bid}/labels", "members": f"/api/v2/buckets/{bid}/members",
                          "org": f"/api/v2/orgs/{oid}", "owners": f"/api/v2/buckets/{bid}/owners",
                          "self": f"/api/v2/buckets/{bid}", "write": f"/api/v2/write?org={oid}&bucket={bid}"}}
        if "description" in bucket:
            view["description"] = bucket["description"]
        return view

    def auth_json(self, auth, plaintext=None):
        org = self.orgs.get(auth["orgID"]) if auth["orgID"] else None
        user = self.users.get(auth["userID"])
        permissions = []
        for permission in auth["permissions"]:
            resource = dict(permission["resource"])
            if resource.get("orgID") in self.orgs:
                resource["org"] = self.orgs[resource["orgID"]]["name"]
            if resource["type"] == "buckets" and resource.get("id") in self.buckets:
                resource["name"] = self.buckets[resource["id"]]["name"]
            permissions.append({"action": permission["action"], "resource": resource})
        # inferred: with hashing (2.9+) the stored plaintext is gone, so reads answer an empty `token`
        token = plaintext if plaintext is not None else auth.get("token", "")
        view = {"id": auth["id"], "token": token, "status": auth["status"], "description": auth["description"],
                "orgID": auth["orgID"], "org": org["name"] if org else "", "userID": auth["userID"],
                "user": user["name"] if user else "", "permissions": permissions, "createdAt": auth["createdAt"],
                "updatedAt": auth["updatedAt"],
                "links": {"self": f"/api/v2/authorizations/{auth['id']}", "user": f"/api/v2/users/{auth['userID']}"}}
        return view

    def task_json(self, task, basic=False):
        tid = task["id"]
        view = {key: value for key, value in task.items() if not key.startswith("_") and value is not None}
        view["org"] = self.orgs[task["orgID"]]["name"] if task["orgID"] in self.orgs else ""
        view["labels"] = []
        view["links"] = {link: f"/api/v2/tasks/{tid}/{link}"
                         for link in ("labels", "logs", "members", "owners", "runs")}
        view["links"]["self"] = f"/api/v2/tasks/{tid}"
        if basic:
            view.pop("createdAt", None)
            view.pop("updatedAt", None)
            view["flux"] = ""
            view["org"] = ""
        return view

    @staticmethod
    def dbrp_json(dbrp):
        return {**dbrp, "links": {"self": f"/api/v2/dbrps/{dbrp['id']}"}}

    # -- authorization model -----------------------------------------------------------------------------------
    def authenticate(self, header):
        """`Authorization: Token <t>` (or Bearer) -> active authorization, else 401 (AuthorizationError body)."""
        if not header:
            raise unauthorized()
        scheme, _sep, value = header.partition(" ")
        if scheme not in ("Token", "Bearer") or not value.strip():
            raise unauthorized()
        token = value.strip()
        key = self.token_key(token) if self.hashes_tokens else token
        auth = self.authorizations.get(self.token_index.get(key, ""))
        if auth is None or auth["status"] != "active":
            raise unauthorized()
        return auth

    @staticmethod
    def permits(auth, action, kind, org_id=None, resource_id=None, name=None):
        """True when one permission matches: action + type, and orgID / id / name when the permission names them."""
        for permission in auth["permissions"]:
            resource = permission["resource"]
            if permission["action"] != action or resource["type"] != kind:
                continue
            if resource.get("orgID") and resource["orgID"] != org_id:
                continue
            if resource.get("id") and resource["id"] != resource_id:
                continue
            if resource.get("name") and not resource.get("id") and resource["name"] != name:
                continue
            return True
        return False

    def require(self, auth, action, kind, org_id=None, resource_id=None, name=None):
        """Insufficient permission -> 401 (inferred from the AuthorizationError description, see README)."""
        if not self.permits(auth, action, kind, org_id, resource_id, name):
            target = f"orgs/{org_id}/{kind}" if org_id else kind
            if resource_id:
                target += f"/{resource_id}"
            raise unauthorized(f"{action}:{target} is unauthorized")

    def can_read_bucket(self, auth, bucket):
        """GetBuckets' permission table: user buckets need read-buckets, system buckets read-orgs."""
        if bucket["type"] == "system":
            return self.permits(auth, "read", "orgs", bucket["orgID"], bucket["orgID"])
        return self.permits(auth, "read", "buckets", bucket["orgID"], bucket["id"], bucket["name"])

    # -- tasks ---------------------------------------------------------------------------------------------------
    def cancel_scheduled_runs(self, task_id):
        self.scheduled_run_cancellations[task_id] = self.scheduled_run_cancellations.get(task_id, 0) + 1

    def run_task(self, task_id):
        """Run a task once as the scheduler would: with its authorization. Returns the task's JSON view.

        A missing or inactive authorization, or one that may not read a `from()` bucket or write a `to()`
        bucket, fails the run (lastRunStatus failed, lastRunError says why), as issue 11 describes.
        """
        with self.lock:
            task = self.tasks[task_id]
            if task["status"] != "active":  # documented: inactive prevents scheduled and manual runs
                return self.task_json(task)
            auth = self.authorizations.get(task["authorizationID"])
            error = None
            if auth is None:
                error = f"could not find authorization with ID {task['authorizationID']}"
            elif auth["status"] != "active":
                error = f"authorization {auth['id']} is inactive"
            else:
                for match in FLUX_BUCKET_RE.finditer(task["flux"]):
                    action = "read" if match.group("fn") == "from" else "write"
                    bucket = next((b for b in self.buckets.values()
                                   if b["name"] == match.group("name") and b["orgID"] == task["orgID"]), None)
                    if bucket is None:
                        error = f'bucket "{match.group("name")}" not found'
                        break
                    if not self.permits(auth, action, "buckets", bucket["orgID"], bucket["id"], bucket["name"]):
                        error = f"{action}:orgs/{bucket['orgID']}/buckets/{bucket['id']} is unauthorized"
                        break
            task["_runs"] = task.get("_runs", 0) + 1
            task["latestCompleted"] = now_rfc3339()
            task["lastRunStatus"] = "failed" if error else "success"
            task["lastRunError"] = error
            return self.task_json(task)


class Api(ReplicationApi):
    """The operations; each method gets (state, auth, match, query, body) and returns (status, json or None)."""

    # -- health ----------------------------------------------------------------------------------------------
    @staticmethod
    def health(state, *args):
        return 200, {"name": "influxdb", "message": "ready for queries and writes", "status": "pass",
                     "checks": [], "version": f"v{state.version}", "commit": "0000000000"}

    @staticmethod
    def ready(state, *args):
        return 200, {"status": "ready", "started": "2026-01-01T00:00:00Z", "up": "1h0m0s"}

    @staticmethod
    def ping(state, *args):
        return 204, None

    # -- setup ---------------------------------------------------------------------------------------------------
    @staticmethod
    def get_setup(state, *args):
        return 200, {"allowed": not state.users}

    @staticmethod
    def post_setup(state, auth, match, query, body):
        for key in ("username", "org", "bucket"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise invalid(f"onboarding request: {key} is required")
        password = body.get("password")
        if password is not None and len(password) < 8:
            raise invalid("passwords must be at least 8 characters long")  # inferred
        if "retentionPeriodSeconds" in body:
            every = body["retentionPeriodSeconds"]
        else:  # deprecated key, nanoseconds despite its name (OnboardingRequest.retentionPeriodHrs)
            every = int(body.get("retentionPeriodHrs") or 0) // 1_000_000_000
        Api.check_retention(every)
        response = state.onboard(body["username"], password, body["org"], body["bucket"], every, body.get("token"))[0]
        return 201, response

    # -- orgs ----------------------------------------------------------------------------------------------------
    @staticmethod
    def get_orgs(state, auth, match, query, body):
        orgs = [o for o in state.orgs.values() if state.permits(auth, "read", "orgs", o["id"], o["id"])]
        if "org" in query:
            orgs = [o for o in orgs if o["name"] == query["org"]]
            if not orgs:
                raise not_found(f'organization name "{query["org"]}" not found')
        if "orgID" in query:
            orgs = [o for o in orgs if o["id"] == query["orgID"]]
            if not orgs:
                raise not_found("organization not found")
        return 200, {"links": {"self": "/api/v2/orgs"}, "orgs": [state.org_json(o) for o in orgs]}

    @staticmethod
    def get_org(state, auth, match, query, body):
        org = state.orgs.get(Api.path_id(match))
        if org is None:
            raise not_found("organization not found")
        state.require(auth, "read", "orgs", org["id"], org["id"])
        return 200, state.org_json(org)

    # -- buckets -------------------------------------------------------------------------------------------------
    @staticmethod
    def check_retention(every, shard=None):
        """0 (infinite) or >= 1 h (docs: the minimum retention period is one hour) -> else 422 (PostBuckets)."""
        if not isinstance(every, int) or isinstance(every, bool) or every < 0:
            raise ApiFailure(422, "unprocessable entity", f"everySeconds must be an integer >= 0, got {every!r}")
        if 0 < every < ONE_HOUR:
            raise ApiFailure(422, "unprocessable entity",
                             "expiration seconds must be greater than or equal to one hour")
        if shard is not None and (not isinstance(shard, int) or isinstance(shard, bool) or shard < 0):
            raise ApiFailure(422, "unprocessable entity", f"shardGroupDurationSeconds must be >= 0, got {shard!r}")

    @staticmethod
    def retention_from_rules(rules):
        if not isinstance(rules, list):
            raise invalid("retentionRules must be a list")
        if not rules:
            return 0, None
        rule = rules[0]
        if not isinstance(rule, dict) or "everySeconds" not in rule or rule.get("type", "expire") != "expire":
            raise invalid("retentionRules: each rule needs everySeconds and type expire")
        Api.check_retention(rule["everySeconds"], rule.get("shardGroupDurationSeconds"))
        return rule["everySeconds"], rule.get("shardGroupDurationSeconds") or None

    @staticmethod
    def check_unique_bucket(state, org_id, name, own_id=None):
        if any(b["orgID"] == org_id and b["name"] == name and b["id"] != own_id for b in state.buckets.values()):
            # inferred: the 2.x service code for a duplicate is `conflict`, answered 422 (see README)
            raise ApiFailure(422, "conflict", f"bucket with name {name} already exists")

    @staticmethod
    def get_buckets(state, auth, match, query, body):
        org = state.resolve_org(query)
        buckets = [b for b in state.buckets.values() if state.can_read_bucket(auth, b)]
        if org is not None:
            buckets = [b for b in buckets if b["orgID"] == org["id"]]
        for key, field in (("name", "name"), ("id", "id")):
            if key in query:
                buckets = [b for b in buckets if b[field] == query[key]]
        if "name" in query and not buckets:
            raise not_found(f'bucket "{query["name"]}" not found')
        limit = Api.limit(query, default=20, maximum=100)
        offset = int(query.get("offset", 0))
        page = buckets[offset:offset + limit]
        self_link = "/api/v2/buckets?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        return 200, {"buckets": [state.bucket_json(b) for b in page], "links": {"self": self_link}}

    @staticmethod
    def post_bucket(state, auth, match, query, body):
        if not body.get("orgID"):
            raise invalid("failed to decode request body: organization not found")  # orgID required
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise invalid("bucket name is required")
        if body["name"].startswith("_"):
            raise invalid(f"bucket name {body['name']} is invalid. Buckets may not start with underscore")
        org = state.resolve_org({"orgID": body["orgID"]})
        state.require(auth, "write", "buckets", org["id"])
        every, shard = Api.retention_from_rules(body.get("retentionRules", [{"everySeconds": 30 * 86400}]))
        Api.check_unique_bucket(state, org["id"], body["name"])
        bucket = state.add_bucket(org["id"], body["name"], every, shard, body.get("description"))
        return 201, state.bucket_json(bucket)

    @staticmethod
    def find_bucket(state, auth, match, action):
        bucket_id = Api.path_id(match)
        bucket = state.buckets.get(bucket_id)
        if bucket is None:
            raise not_found("bucket not found")
        if action == "read" and not state.can_read_bucket(auth, bucket):
            state.require(auth, "read", "buckets", bucket["orgID"], bucket_id, bucket["name"])
        if action == "write":
            state.require(auth, "write", "buckets", bucket["orgID"], bucket_id, bucket["name"])
        return bucket

    @staticmethod
    def get_bucket(state, auth, match, query, body):
        return 200, state.bucket_json(Api.find_bucket(state, auth, match, "read"))

    @staticmethod
    def patch_bucket(state, auth, match, query, body):
        bucket = Api.find_bucket(state, auth, match, "write")
        if "name" in body:
            if bucket["type"] == "system" and body["name"] != bucket["name"]:
                raise invalid("system buckets cannot be renamed")
            Api.check_unique_bucket(state, bucket["orgID"], body["name"], bucket["id"])
        if "retentionRules" in body:
            every, shard = Api.retention_from_rules(body["retentionRules"])
            bucket["everySeconds"] = every
            bucket["shardGroupDurationSeconds"] = shard or bucket["shardGroupDurationSeconds"]
        if "name" in body:
            bucket["name"] = body["name"]
        if "description" in body:
            bucket["description"] = body["description"]
        bucket["updatedAt"] = now_rfc3339()
        return 200, state.bucket_json(bucket)

    @staticmethod
    def delete_bucket(state, auth, match, query, body):
        bucket = Api.find_bucket(state, auth, match, "write")
        if bucket["type"] == "system":
            raise invalid("system buckets cannot be deleted")
        del state.buckets[bucket["id"]]
        state.points.pop(bucket["id"], None)
        for dbrp_id in [d["id"] for d in state.dbrps.values() if d["bucketID"] == bucket["id"]]:
            del state.dbrps[dbrp_id]
        return 204, None

    # -- authorizations --------------------------------------------------------------------------------------
    @staticmethod
    def check_permissions(state, permissions, org_id):
        if not isinstance(permissions, list) or not permissions:
            raise invalid("authorization must have at least one permission")  # Permission minItems: 1
        checked = []
        for permission in permissions:
            if not isinstance(permission, dict):
                raise invalid(f"a permission must be an object, got {permission!r}")
            if permission.get("action") not in ("read", "write"):
                raise invalid(f"unknown action {permission.get('action')!r}: read or write")
            resource = permission.get("resource")
            if not isinstance(resource, dict) or resource.get("type") not in RESOURCE_TYPES:
                raise invalid(f"invalid resource type for permission: {resource!r}")
            resource = {k: v for k, v in resource.items() if k in ("type", "id", "orgID", "name") and v}
            if "id" in resource and not ID_RE.match(resource["id"]):
                raise invalid("id must have a length of 16 bytes")
            if resource["type"] == "buckets" and "name" in resource and "id" not in resource:
                # inferred: the document does not say how a name alone scopes a permission; refuse, do not guess
                raise invalid(f"permission on bucket {resource['name']!r} needs resource.id (the bucket ID)")
            if resource["type"] == "buckets" and "id" in resource and resource["id"] not in state.buckets:
                raise not_found("bucket not found")  # inferred: a permission on a missing bucket is refused
            resource.setdefault("orgID", org_id)
            checked.append({"action": permission["action"], "resource": resource})
        return checked

    @staticmethod
    def get_authorizations(state, auth, match, query, body):
        org = state.resolve_org(query)
        found = [a for a in state.authorizations.values()
                 if state.permits(auth, "read", "authorizations", a["orgID"], a["id"])]
        if org is not None:
            found = [a for a in found if a["orgID"] == org["id"]]
        if "userID" in query:
            found = [a for a in found if a["userID"] == query["userID"]]
        if "user" in query:
            found = [a for a in found if state.users.get(a["userID"], {}).get("name") == query["user"]]
        # OSS ignores `token=` (documented)
        return 200, {"authorizations": [state.auth_json(a) for a in found], "links": {"self": "/api/v2/authorizations"}}

    @staticmethod
    def post_authorization(state, auth, match, query, body):
        if not body.get("orgID"):
            raise invalid("failed to decode request body: orgID is required")
        org = state.resolve_org({"orgID": body["orgID"]})
        state.require(auth, "write", "authorizations", org["id"])
        permissions = Api.check_permissions(state, body.get("permissions"), org["id"])
        for permission in permissions:  # inferred: no token can grant more than its creator holds
            resource = permission["resource"]
            state.require(auth, permission["action"], resource["type"], resource.get("orgID"), resource.get("id"),
                          resource.get("name"))
        status = body.get("status", "active")
        if status not in ("active", "inactive"):
            raise invalid(f"status {status!r} must be active or inactive")
        user_id = body.get("userID") or auth["userID"]
        if user_id not in state.users:
            raise not_found("user not found")
        created, token = state.add_authorization(org["id"], user_id, permissions, body.get("description", ""), status)
        return 201, state.auth_json(created, token)

    @staticmethod
    def find_authorization(state, auth, match, action):
        auth_id = Api.path_id(match)
        found = state.authorizations.get(auth_id)
        if found is None:
            raise not_found("authorization not found")
        state.require(auth, action, "authorizations", found["orgID"], auth_id)
        return found

    @staticmethod
    def get_authorization(state, auth, match, query, body):
        return 200, state.auth_json(Api.find_authorization(state, auth, match, "read"))

    @staticmethod
    def patch_authorization(state, auth, match, query, body):
        found = Api.find_authorization(state, auth, match, "write")
        unknown = sorted(set(body) - {"description", "status"})
        if unknown:  # AuthorizationUpdateRequest has description and status only
            raise invalid(f"only description and status can be updated, not {', '.join(unknown)}")
        if "status" in body and body["status"] not in ("active", "inactive"):
            raise invalid(f"status {body['status']!r} must be active or inactive")
        found.update({k: body[k] for k in ("description", "status") if k in body})
        found["updatedAt"] = now_rfc3339()
        return 200, state.auth_json(found)

    @staticmethod
    def delete_authorization(state, auth, match, query, body):
        found = Api.find_authorization(state, auth, match, "write")
        state.delete_authorization(found["id"])
        return 204, None

    # -- tasks -----------------------------------------------------------------------------------------------------
    @staticmethod
    def get_tasks(state, auth, match, query, body):
        org = state.resolve_org(query)
        found = [t for t in state.tasks.values() if state.permits(auth, "read", "tasks", t["orgID"], t["id"])]
        if org is not None:
            found = [t for t in found if t["orgID"] == org["id"]]
        for key, field in (("name", "name"), ("status", "status"), ("user", "ownerID")):
            if key in query:
                found = [t for t in found if t[field] == query[key]]
        if "after" in query:
            found = [t for t in found if t["id"] > query["after"]]
        found = found[:Api.limit(query, default=100, maximum=500)]
        basic = query.get("type") == "basic"
        return 200, {"links": {"self": "/api/v2/tasks"}, "tasks": [state.task_json(t, basic) for t in found]}

    @staticmethod
    def post_task(state, auth, match, query, body):
        if not isinstance(body.get("flux"), str) or not body["flux"].strip():
            raise invalid("failed to decode request: missing flux")  # documented example
        org = state.resolve_org({}, body)
        if org is None:
            if not auth["orgID"]:
                raise invalid("failed to decode request body: organization not found")
            org = state.orgs[auth["orgID"]]
        state.require(auth, "write", "tasks", org["id"])
        status = body.get("status", "active")
        if status not in ("active", "inactive"):
            raise invalid(f"invalid task status: {status!r}")
        options = parse_task_options(body["flux"])
        stamp = now_rfc3339()
        task = {"id": state.new_id(), "orgID": org["id"], "ownerID": auth["userID"], "name": options["name"],
                "description": body.get("description"), "status": status, "flux": body["flux"],
                "every": options.get("every"), "cron": options.get("cron"), "offset": options.get("offset"),
                "authorizationID": auth["id"], "createdAt": stamp, "updatedAt": stamp, "latestCompleted": stamp,
                "lastRunStatus": None, "lastRunError": None}
        state.tasks[task["id"]] = task
        return 201, state.task_json(task)

    @staticmethod
    def find_task(state, auth, match, action):
        task = state.tasks.get(Api.path_id(match))
        if task is None:
            raise not_found("failed to find task: task not found")
        state.require(auth, action, "tasks", task["orgID"], task["id"])
        return task

    @staticmethod
    def get_task(state, auth, match, query, body):
        return 200, state.task_json(Api.find_task(state, auth, match, "read"))

    @staticmethod
    def patch_task(state, auth, match, query, body):
        task = Api.find_task(state, auth, match, "write")
        if "status" in body and body["status"] not in ("active", "inactive"):
            raise invalid(f"invalid task status: {body['status']!r}")
        flux = body.get("flux", task["flux"])
        options = parse_task_options(flux)
        for key in ("name", "every", "cron", "offset"):
            if key in body:
                options[key] = body[key]
                if key == "every" and body[key]:
                    options.pop("cron", None)
                if key == "cron" and body[key]:
                    options.pop("every", None)
        # the server writes name/every/cron/offset back into the option line, then checks the result
        flux = TASK_OPTION_RE.sub(lambda m: render_task_options(options), flux, count=1)
        options = parse_task_options(flux)
        task.update({"flux": flux, "name": options["name"], "every": options.get("every"),
                     "cron": options.get("cron"), "offset": options.get("offset")})
        for key in ("description", "status"):
            if key in body:
                task[key] = body[key]
        task["updatedAt"] = now_rfc3339()
        state.cancel_scheduled_runs(task["id"])  # documented: an update cancels all scheduled runs
        return 200, state.task_json(task)

    @staticmethod
    def delete_task(state, auth, match, query, body):
        task = Api.find_task(state, auth, match, "write")
        del state.tasks[task["id"]]
        state.cancel_scheduled_runs(task["id"])
        return 204, None

    # -- dbrps -----------------------------------------------------------------------------------------------------
    @staticmethod
    def get_dbrps(state, auth, match, query, body):
        org = state.resolve_org(query, required=True)  # orgID required: docs query-data/influxql/dbrp.md
        state.require(auth, "read", "dbrp", org["id"])
        found = [d for d in state.dbrps.values() if d["orgID"] == org["id"]] + Api.virtual_dbrps(state, org["id"])
        for key in ("id", "bucketID", "db", "rp"):
            field = {"db": "database", "rp": "retention_policy"}.get(key, key)
            if key in query:
                found = [d for d in found if d[field] == query[key]]
        if "default" in query:
            found = [d for d in found if d["default"] == (query["default"] == "true")]
        return 200, {"content": [state.dbrp_json(d) for d in found]}

    @staticmethod
    def virtual_dbrps(state, org_id):
        """The read-only mappings OSS provides for every bucket without an explicit one (docs: virtual DBRP
        mappings): database/rp from `db/rp` names, else the bucket name and `autogen`. Inferred: id = bucket ID."""
        mapped = {d["bucketID"] for d in state.dbrps.values()}
        defaults = {d["database"] for d in state.dbrps.values() if d["orgID"] == org_id and d["default"]}
        virtual = []
        for bucket in state.buckets.values():
            if bucket["orgID"] != org_id or bucket["id"] in mapped:
                continue
            database, slash, policy = bucket["name"].partition("/")
            virtual.append({"id": bucket["id"], "orgID": org_id, "bucketID": bucket["id"], "database": database,
                            "retention_policy": policy if slash else "autogen",
                            "default": database not in defaults, "virtual": True})
        return virtual

    @staticmethod
    def set_default_dbrp(state, dbrp):
        for other in state.dbrps.values():
            if other["orgID"] == dbrp["orgID"] and other["database"] == dbrp["database"] and other is not dbrp:
                other["default"] = False
        dbrp["default"] = True

    @staticmethod
    def post_dbrp(state, auth, match, query, body):
        for key in ("bucketID", "database", "retention_policy"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise invalid(f"{key} is required")
        if not ID_RE.match(body["bucketID"]):
            raise invalid("invalid ID")
        org = state.resolve_org({}, body, required=True)
        state.require(auth, "write", "dbrp", org["id"])
        bucket = state.buckets.get(body["bucketID"])
        if bucket is None or bucket["orgID"] != org["id"]:
            raise not_found("bucket not found")
        if any(d["orgID"] == org["id"] and d["database"] == body["database"]
               and d["retention_policy"] == body["retention_policy"] for d in state.dbrps.values()):
            raise ApiFailure(422, "conflict", "dbrp already exists for this particular ID")  # inferred
        dbrp = {"id": state.new_id(), "orgID": org["id"], "bucketID": bucket["id"], "database": body["database"],
                "retention_policy": body["retention_policy"], "default": False, "virtual": False}
        first = not any(d["orgID"] == org["id"] and d["database"] == body["database"] for d in state.dbrps.values())
        state.dbrps[dbrp["id"]] = dbrp
        if body.get("default") or first:  # the first mapping of a database becomes its default
            Api.set_default_dbrp(state, dbrp)
        return 201, state.dbrp_json(dbrp)

    @staticmethod
    def find_dbrp(state, auth, match, query, action):
        org = state.resolve_org(query, required=True)
        state.require(auth, action, "dbrp", org["id"])
        dbrp_id = Api.path_id(match, "invalid ID")
        dbrp = state.dbrps.get(dbrp_id)
        if dbrp is None:
            dbrp = next((d for d in Api.virtual_dbrps(state, org["id"]) if d["id"] == dbrp_id), None)
            if dbrp is not None and action == "write":  # docs: virtual mappings cannot be updated or deleted
                raise invalid("cannot update or delete a virtual DBRP mapping; create an explicit one")  # inferred
        if dbrp is None or dbrp["orgID"] != org["id"]:
            raise not_found("unable to find DBRP")
        return dbrp

    @staticmethod
    def get_dbrp(state, auth, match, query, body):
        return 200, {"content": state.dbrp_json(Api.find_dbrp(state, auth, match, query, "read"))}

    @staticmethod
    def patch_dbrp(state, auth, match, query, body):
        dbrp = Api.find_dbrp(state, auth, match, query, "write")
        if "retention_policy" in body:
            if not isinstance(body["retention_policy"], str) or not body["retention_policy"]:
                raise invalid("retention_policy must be a non-empty string")
            dbrp["retention_policy"] = body["retention_policy"]
        if body.get("default") is True:
            Api.set_default_dbrp(state, dbrp)
        elif body.get("default") is False:
            dbrp["default"] = False
        return 200, {"content": state.dbrp_json(dbrp)}

    @staticmethod
    def delete_dbrp(state, auth, match, query, body):
        dbrp = Api.find_dbrp(state, auth, match, query, "write")
        del state.dbrps[dbrp["id"]]
        return 204, None

    # -- write -------------------------------------------------------------------------------------------------
    @staticmethod
    def post_write(state, auth, match, query, body):
        if not query.get("org") and not query.get("orgID"):
            raise invalid("failed to decode request body: organization not found")
        org = state.find_org(query["orgID"], None) if query.get("orgID") else None
        if org is None and query.get("org"):  # `org` is an organization name or ID
            org = state.find_org(None, query["org"]) or state.find_org(query["org"], None)
        if org is None:
            raise invalid("failed to decode request body: organization not found")  # documented OSS example
        if query.get("precision", "ns") not in ("ms", "s", "us", "ns"):  # WritePrecision enum
            raise invalid(f"invalid precision {query['precision']!r}: ms, s, us or ns")
        name = query.get("bucket")
        if not name:
            raise not_found('bucket "" not found')
        bucket = next((b for b in state.buckets.values() if b["orgID"] == org["id"] and name in (b["name"], b["id"])),
                      None)
        if bucket is None:
            raise not_found(f'bucket "{name}" not found')  # ResourceNotFoundError example
        state.require(auth, "write", "buckets", org["id"], bucket["id"], bucket["name"])
        lines = []
        for number, line in enumerate(body.splitlines(), start=1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if not LINE_RE.match(line):
                raise ApiFailure(400, "invalid", f"unable to parse '{line}': invalid line protocol", line=number)
            lines.append(line)
        state.points[bucket["id"]].extend(lines)
        state.enqueue(bucket["id"], lines)  # replications reading this bucket (replication.py)
        return 204, None

    # -- shared ----------------------------------------------------------------------------------------------------
    @staticmethod
    def path_id(match, message="id must have a length of 16 bytes"):
        value = match.group("id")
        if not ID_RE.match(value):
            raise invalid(message)  # documented example of the 400 for an invalid ID
        return value

    @staticmethod
    def limit(query, default, maximum):
        try:
            limit = int(query.get("limit", default))
        except ValueError:
            raise invalid(f"limit must be an integer, got {query['limit']!r}") from None
        if not 1 <= limit <= maximum:
            raise invalid(f"limit must be between 1 and {maximum}, got {limit}")
        return limit


PUBLIC = {"health", "ready", "ping", "get_setup", "post_setup"}  # answered without a token
ROUTES = [
    (r"/health", {"GET": "health"}),
    (r"/ready", {"GET": "ready"}),
    (r"/ping", {"GET": "ping", "HEAD": "ping"}),
    (r"/api/v2/setup", {"GET": "get_setup", "POST": "post_setup"}),
    (r"/api/v2/orgs", {"GET": "get_orgs"}),
    (r"/api/v2/orgs/(?P<id>[^/]+)", {"GET": "get_org"}),
    (r"/api/v2/buckets", {"GET": "get_buckets", "POST": "post_bucket"}),
    (r"/api/v2/buckets/(?P<id>[^/]+)", {"GET": "get_bucket", "PATCH": "patch_bucket", "DELETE": "delete_bucket"}),
    (r"/api/v2/authorizations", {"GET": "get_authorizations", "POST": "post_authorization"}),
    (r"/api/v2/authorizations/(?P<id>[^/]+)",
     {"GET": "get_authorization", "PATCH": "patch_authorization", "DELETE": "delete_authorization"}),
    (r"/api/v2/tasks", {"GET": "get_tasks", "POST": "post_task"}),
    (r"/api/v2/tasks/(?P<id>[^/]+)", {"GET": "get_task", "PATCH": "patch_task", "DELETE": "delete_task"}),
    (r"/api/v2/dbrps", {"GET": "get_dbrps", "POST": "post_dbrp"}),
    (r"/api/v2/dbrps/(?P<id>[^/]+)", {"GET": "get_dbrp", "PATCH": "patch_dbrp", "DELETE": "delete_dbrp"}),
    (r"/api/v2/write", {"POST": "post_write"}),
] + replication.ROUTES
COMPILED_ROUTES = [(re.compile(f"^{pattern}/?$"), methods) for pattern, methods in ROUTES]


class Handler(BaseHTTPRequestHandler):
    server_version = "influxdb2-double"
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        """Quiet: the double's record of requests is ``state.requests``."""

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "gzip":
            try:
                raw = gzip.decompress(raw)
            except OSError:
                raise invalid("failed to decode request body: invalid gzip data") from None
        return raw

    def dispatch(self, method):
        state = self.server.state
        split = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(split.query, keep_blank_values=True).items()}
        body = None
        recorded = False
        try:
            raw = self.read_body()
            if split.path == "/api/v2/write":
                try:
                    body = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise invalid("unable to parse points: line protocol is not UTF-8") from None
            elif raw:
                try:
                    body = json.loads(raw)
                except ValueError:
                    raise invalid("failed to decode request body: malformed JSON") from None
                if not isinstance(body, dict):
                    raise invalid("failed to decode request body: a JSON object is expected")
            with state.lock:
                state.requests.append((method, split.path, query, body))
                recorded = True
                status, payload = self.route(state, method, split.path, query, body)
        except ApiFailure as failure:
            status, payload = failure.status, failure.body
        except Exception as error:  # noqa: BLE001 - a body the double did not expect: InternalServerError (500)
            status, payload = 500, {"code": "internal error", "message": f"{type(error).__name__}: {error}"}
        if not recorded:  # an unreadable body is still a request received
            with state.lock:
                state.requests.append((method, split.path, query, None))
        self.answer(method, status, payload, state.version)

    def route(self, state, method, path, query, body):
        for pattern, methods in COMPILED_ROUTES:
            match = pattern.match(path)
            if match is None:
                continue
            if method not in methods:
                raise ApiFailure(405, "method not allowed", f"allow: {', '.join(sorted(methods))}")
            name = methods[method]
            auth = None if name in PUBLIC else state.authenticate(self.headers.get("Authorization"))
            if body is None and method in ("POST", "PATCH") and name not in ("post_write", "validate_replication"):
                raise invalid("failed to decode request body: request body is required")
            return getattr(Api, name)(state, auth, match, query, body if body is not None else {})
        raise not_found("path not found")

    def answer(self, method, status, payload, version):
        data = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("X-Influxdb-Version", f"v{version}")
        self.send_header("X-Influxdb-Build", "OSS")
        if payload is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
            if status >= 400:
                self.send_header("X-Platform-Error-Code", payload.get("code", ""))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)


class InfluxDB2Double:
    """A running double of the published InfluxDB OSS 2.x API, not InfluxDB: ``host``, ``port``, ``url``, ``version``,
    ``state``, ``requests``, ``writes()``, ``onboard()``; ``forwarder`` drains replication queues (replication.py)."""

    def __init__(self, host="127.0.0.1", port=0, version=DEFAULT_VERSION, ssl_context=None, state=None,
                 forward_interval=0.05):
        """``ssl_context``: an ``ssl.SSLContext`` (server side) to serve HTTPS, as the role's TLS set-up does.
        ``state``: the ``State`` of a stopped double, to bring "the same server" back on the same port after an
        outage. ``forward_interval``: seconds between passes of the replication forwarder (replication.py)."""
        self.state = state if state is not None else State(version)
        self.forwarder = Forwarder(self.state, forward_interval)
        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.state = self.state
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
        self.host, self.port = self.httpd.server_address[:2]
        self.url = f"{'https' if ssl_context else 'http'}://{self.host}:{self.port}"
        self.thread = None

    @property
    def version(self):
        return self.state.version

    @property
    def requests(self):
        return self.state.requests

    def writes(self):
        """The requests received that may change state (not GET/HEAD)."""
        return [request for request in self.state.requests if request[0] not in ("GET", "HEAD")]

    def onboard(self, username="admin", password=None, org="ming", bucket="machine_events",
                token=None, retention_seconds=0):
        """A test shortcut doing what POST /api/v2/setup does (not recorded as a request); returns the token."""
        return self.state.onboard(username, password, org, bucket, retention_seconds, token)[1]

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                       name=f"influxdb2-double-{self.port}",
                                       daemon=True)
        self.thread.start()
        self.forwarder.start()
        return self

    def stop(self):
        self.forwarder.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self.thread is not None:
            self.thread.join(timeout=10)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
