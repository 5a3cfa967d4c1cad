"""Remote connections and replications of the InfluxDB OSS 2.x API double ("Edge Data Replication").

This is a double of the published API, not InfluxDB. Request and response bodies, required fields, defaults and
statuses follow the influxdata/openapi repository (``src/oss/paths/remotes*.yml``, ``replications*.yml`` and
``src/oss/schemas/RemoteConnection*.yml``, ``Replication*.yml`` at commit ad26a17809307a9b190d5ca0ef6d0a0f094993ff);
every choice that document leaves open is marked ``inferred`` here and listed in README.md.

The forwarding queue gives an outage test real semantics: a point written to a local bucket that a replication
reads is queued for it (its line-protocol bytes count against ``maxQueueSizeBytes``) and a forwarder thread sends
the queue to the remote's ``/api/v2/write`` with the remote's token. While the remote does not answer, the queue is
held; when it answers again the queue drains in order. Points older than ``maxAgeSeconds`` (when > 0) are dropped
before they are sent; a point that would overflow the queue is not queued (counted in ``state.replication_dropped``).
"""

import threading
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode, urlsplit

MIN_QUEUE_BYTES = 33554430  # ReplicationCreationRequest.maxQueueSizeBytes minimum (32 MiB)
DEFAULT_QUEUE_BYTES = 67108860  # its default (64 MiB)
DEFAULT_MAX_AGE = 604800  # ReplicationCreationRequest.maxAgeSeconds default (1 week)
REMOTE_FIELDS = ("name", "description", "remoteURL", "remoteAPIToken", "remoteOrgID", "allowInsecureTLS")
REPLICATION_FIELDS = ("name", "description", "remoteID", "remoteBucketID", "remoteBucketName", "maxQueueSizeBytes",
                      "dropNonRetryableData", "maxAgeSeconds")


def _failure(status, code, message):
    from .server import ApiFailure  # server imports this module; late import avoids the cycle

    return ApiFailure(status, code, message)


def _invalid(message):
    return _failure(400, "invalid", message)


def _not_found(message):
    return _failure(404, "not found", message)


def _check_types(body, fields):
    """The documented types: strings, booleans, integers (int64)."""
    for key in fields:
        if key not in body or body[key] is None:
            continue
        value = body[key]
        if key in ("allowInsecureTLS", "dropNonRetryableData"):
            if not isinstance(value, bool):
                raise _invalid(f"failed to decode request body: {key} must be a boolean")
        elif key in ("maxQueueSizeBytes", "maxAgeSeconds"):
            if isinstance(value, bool) or not isinstance(value, int):
                raise _invalid(f"failed to decode request body: {key} must be an integer")
        elif not isinstance(value, str):
            raise _invalid(f"failed to decode request body: {key} must be a string")


def _check_url(url):
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.netloc:
        raise _invalid(f"remoteURL {url!r} is not a valid URL")  # inferred message (format: uri)


def _check_limits(body):
    if "maxQueueSizeBytes" in body and body["maxQueueSizeBytes"] < MIN_QUEUE_BYTES:
        # documented minimum; the message is inferred
        raise _invalid(f"maxQueueSizeBytes must be at least {MIN_QUEUE_BYTES} bytes, got {body['maxQueueSizeBytes']}")
    if "maxAgeSeconds" in body and body["maxAgeSeconds"] < 0:
        raise _invalid(f"maxAgeSeconds must be 0 or more, got {body['maxAgeSeconds']}")


class ReplicationState:
    """The remotes, replications and queues of one double of the published API, not InfluxDB (mixed into ``State``;
    same lock)."""

    def init_replication(self):
        self.remotes = {}
        self.replications = {}
        self.queues = {}  # replication id -> list of [enqueued monotonic time, bytes, text]
        self.replication_dropped = {}  # replication id -> points not queued (queue full) or too old
        self.replication_sent = {}  # replication id -> write requests the remote accepted

    def remote_json(self, remote):
        """RemoteConnection: never the token (write-only)."""
        view = {key: remote[key] for key in ("id", "name", "orgID", "remoteURL", "allowInsecureTLS")}
        for key in ("description", "remoteOrgID"):
            if remote.get(key) is not None:
                view[key] = remote[key]
        return view

    def replication_json(self, replication):
        view = {key: value for key, value in replication.items() if not key.startswith("_") and value is not None}
        queued = sum(entry[1] for entry in self.queues.get(replication["id"], []))
        view["currentQueueSizeBytes"] = queued
        view["remainingBytesToBeSynced"] = queued
        return view

    def enqueue(self, bucket_id, lines):
        """Queue ``lines`` written to ``bucket_id`` for every replication reading that bucket."""
        if not lines:
            return
        text = "\n".join(lines)
        size = len(text.encode())
        for replication in self.replications.values():
            if replication["localBucketID"] != bucket_id:
                continue
            queue = self.queues.setdefault(replication["id"], [])
            if sum(entry[1] for entry in queue) + size > replication["maxQueueSizeBytes"]:
                # inferred: a full queue keeps what it holds and does not take the new points
                self.replication_dropped[replication["id"]] = self.replication_dropped.get(replication["id"], 0) \
                    + len(lines)
                continue
            queue.append([time.monotonic(), size, text])

    def pending(self):
        """(replication id, url, token, entry) of the oldest entry of each non-empty queue; drops entries older
        than maxAgeSeconds first."""
        batches = []
        now = time.monotonic()
        for replication_id, queue in self.queues.items():
            replication = self.replications.get(replication_id)
            if replication is None:
                continue
            max_age = replication.get("maxAgeSeconds") or 0
            while queue and max_age > 0 and now - queue[0][0] > max_age:
                dropped = queue.pop(0)
                self.replication_dropped[replication_id] = self.replication_dropped.get(replication_id, 0) \
                    + dropped[2].count("\n") + 1
            if not queue:
                continue
            remote = self.remotes.get(replication["remoteID"])
            if remote is None:
                continue
            query = {"bucket": replication.get("remoteBucketName") or replication.get("remoteBucketID")}
            if remote.get("remoteOrgID"):
                query["orgID"] = remote["remoteOrgID"]
            url = remote["remoteURL"].rstrip("/") + "/api/v2/write?" + urlencode(query)
            batches.append((replication_id, url, remote["_token"], queue[0]))
        return batches

    def settle(self, replication_id, entry, status, message):
        """Record a send: 2xx pops the entry; a non-retryable 4xx drops it when dropNonRetryableData."""
        replication = self.replications.get(replication_id)
        queue = self.queues.get(replication_id, [])
        if replication is None:
            return
        replication["latestResponseCode"] = status
        if message:
            replication["latestErrorMessage"] = message
        else:
            replication.pop("latestErrorMessage", None)
        retryable = status is None or status == 429 or status >= 500
        if entry in queue and (200 <= (status or 0) < 300 or (not retryable and replication["dropNonRetryableData"])):
            queue.remove(entry)
            if 200 <= (status or 0) < 300:
                self.replication_sent[replication_id] = self.replication_sent.get(replication_id, 0) + 1


def send_write(url, token, text, timeout=2):
    """POST line protocol to a remote; (status or None, message)."""
    request = urllib.request.Request(url, data=text.encode(), method="POST",  # noqa: S310 (http(s) checked)
                                     headers={"Authorization": f"Token {token}",
                                              "Content-Type": "text/plain; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            return answer.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")[:200]
    except (OSError, urllib.error.URLError) as error:
        return None, f"remote not reachable: {getattr(error, 'reason', error)}"


class Forwarder:
    """Drains the replication queues of one double every ``interval`` seconds (a daemon thread). A double of the
    published API's behaviour, not InfluxDB's replication code: no disk queue, no retry back-off."""

    def __init__(self, state, interval=0.05):
        self.state = state
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.loop, name="influxdb2-double-forwarder", daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.stopped.set()
        if self.thread.ident is not None:
            self.thread.join(timeout=10)

    def drain_once(self):
        """One pass: send the oldest entry of each queue until a send fails. Returns entries sent."""
        sent = 0
        while not self.stopped.is_set():
            with self.state.lock:
                batches = self.state.pending()
            if not batches:
                return sent
            progress = False
            for replication_id, url, token, entry in batches:
                status, message = send_write(url, token, entry[2])
                with self.state.lock:
                    self.state.settle(replication_id, entry, status, message)
                if status is not None and 200 <= status < 300:
                    sent += 1
                    progress = True
            if not progress:
                return sent
        return sent

    def loop(self):
        while not self.stopped.wait(self.interval):
            self.drain_once()


class ReplicationApi:
    """The operations of the double (of the published API, not InfluxDB; ``Api`` inherits them): (state, auth, match,
    query, body) -> (status, json or None)."""

    # -- remotes -------------------------------------------------------------------------------------------------
    @staticmethod
    def org_from_query(state, query):
        if not query.get("orgID"):
            raise _invalid("orgID is required")  # documented: required query parameter; message inferred
        org = state.find_org(query["orgID"], None)
        if org is None:
            raise _not_found("organization not found")  # inferred
        return org

    @staticmethod
    def get_remotes(state, auth, match, query, body):
        org = ReplicationApi.org_from_query(state, query)
        state.require(auth, "read", "remotes", org["id"])
        remotes = [r for r in state.remotes.values() if r["orgID"] == org["id"]]
        for key in ("name", "remoteURL"):
            if key in query:
                remotes = [r for r in remotes if r[key] == query[key]]
        return 200, {"remotes": [state.remote_json(r) for r in remotes]}

    @staticmethod
    def post_remote(state, auth, match, query, body):
        _check_types(body, ("orgID",) + REMOTE_FIELDS)
        for key in ("name", "orgID", "remoteURL", "remoteAPIToken"):
            if not body.get(key):
                raise _invalid(f"{key} is required")  # documented required; message inferred
        if "allowInsecureTLS" not in body:
            raise _invalid("allowInsecureTLS is required")  # documented required (default false)
        _check_url(body["remoteURL"])
        org = state.resolve_org({"orgID": body["orgID"]})
        state.require(auth, "write", "remotes", org["id"])
        if any(r["orgID"] == org["id"] and r["name"] == body["name"] for r in state.remotes.values()):
            raise _failure(422, "conflict", f"remote connection with name {body['name']} already exists")  # inferred
        remote = {"id": state.new_id(), "orgID": org["id"], "name": body["name"], "remoteURL": body["remoteURL"],
                  "allowInsecureTLS": body["allowInsecureTLS"], "description": body.get("description"),
                  "remoteOrgID": body.get("remoteOrgID"), "_token": body["remoteAPIToken"]}
        state.remotes[remote["id"]] = remote
        return 201, state.remote_json(remote)

    @staticmethod
    def find(state, auth, match, action, kind):
        """The remote or replication (``kind``: the permission resource type) the path names, if ``auth`` may
        ``action`` it."""
        from .server import Api

        found = (state.remotes if kind == "remotes" else state.replications).get(Api.path_id(match))
        if found is None:
            raise _not_found(f"{kind[:-1]} not found")  # inferred wording
        state.require(auth, action, kind, found["orgID"])
        return found

    @staticmethod
    def find_remote(state, auth, match, action):
        return ReplicationApi.find(state, auth, match, action, "remotes")

    @staticmethod
    def get_remote(state, auth, match, query, body):
        return 200, state.remote_json(ReplicationApi.find_remote(state, auth, match, "read"))

    @staticmethod
    def patch_remote(state, auth, match, query, body):
        remote = ReplicationApi.find_remote(state, auth, match, "write")
        _check_types(body, REMOTE_FIELDS)
        if body.get("remoteURL") is not None:
            _check_url(body["remoteURL"])
        if body.get("name") is not None and any(r["orgID"] == remote["orgID"] and r["name"] == body["name"]
                                                and r["id"] != remote["id"] for r in state.remotes.values()):
            raise _failure(422, "conflict", f"remote connection with name {body['name']} already exists")
        for key in REMOTE_FIELDS:
            if body.get(key) is not None:
                remote["_token" if key == "remoteAPIToken" else key] = body[key]
        return 200, state.remote_json(remote)

    @staticmethod
    def delete_remote(state, auth, match, query, body):
        remote = ReplicationApi.find_remote(state, auth, match, "write")
        del state.remotes[remote["id"]]
        return 204, None

    # -- replications --------------------------------------------------------------------------------------------
    @staticmethod
    def get_replications(state, auth, match, query, body):
        org = ReplicationApi.org_from_query(state, query)
        state.require(auth, "read", "replications", org["id"])
        found = [r for r in state.replications.values() if r["orgID"] == org["id"]]
        for key in ("name", "remoteID", "localBucketID"):
            if key in query:
                found = [r for r in found if r[key] == query[key]]
        return 200, {"replications": [state.replication_json(r) for r in found]}

    @staticmethod
    def check_references(state, org_id, body):
        if body.get("remoteID") is not None:
            remote = state.remotes.get(body["remoteID"])
            if remote is None or remote["orgID"] != org_id:
                raise _not_found("remote not found")  # inferred
        if body.get("localBucketID") is not None:
            bucket = state.buckets.get(body["localBucketID"])
            if bucket is None or bucket["orgID"] != org_id:
                raise _not_found("bucket not found")  # inferred

    @staticmethod
    def post_replication(state, auth, match, query, body):
        _check_types(body, ("orgID", "localBucketID") + REPLICATION_FIELDS)
        for key in ("name", "orgID", "remoteID", "localBucketID"):
            if not body.get(key):
                raise _invalid(f"{key} is required")  # documented required; message inferred
        if not body.get("remoteBucketID") and not body.get("remoteBucketName"):
            raise _invalid("one of remoteBucketID or remoteBucketName is required")  # inferred
        body = dict(body)
        body.setdefault("maxQueueSizeBytes", DEFAULT_QUEUE_BYTES)  # documented defaults
        body.setdefault("maxAgeSeconds", DEFAULT_MAX_AGE)
        body.setdefault("dropNonRetryableData", False)
        _check_limits(body)
        org = state.resolve_org({"orgID": body["orgID"]})
        state.require(auth, "write", "replications", org["id"])
        ReplicationApi.check_references(state, org["id"], body)
        if any(r["orgID"] == org["id"] and r["name"] == body["name"] for r in state.replications.values()):
            raise _failure(422, "conflict", f"replication with name {body['name']} already exists")  # inferred
        if query.get("validate") == "true":
            return 204, None
        replication = {"id": state.new_id(), "orgID": org["id"], "name": body["name"],
                       "description": body.get("description"), "remoteID": body["remoteID"],
                       "localBucketID": body["localBucketID"], "remoteBucketID": body.get("remoteBucketID"),
                       "remoteBucketName": body.get("remoteBucketName"),
                       "maxQueueSizeBytes": body["maxQueueSizeBytes"], "maxAgeSeconds": body["maxAgeSeconds"],
                       "dropNonRetryableData": body["dropNonRetryableData"]}
        state.replications[replication["id"]] = replication
        state.queues[replication["id"]] = []
        return 201, state.replication_json(replication)

    @staticmethod
    def find_replication(state, auth, match, action):
        return ReplicationApi.find(state, auth, match, action, "replications")

    @staticmethod
    def get_replication(state, auth, match, query, body):
        return 200, state.replication_json(ReplicationApi.find_replication(state, auth, match, "read"))

    @staticmethod
    def patch_replication(state, auth, match, query, body):
        replication = ReplicationApi.find_replication(state, auth, match, "write")
        _check_types(body, REPLICATION_FIELDS)
        _check_limits({k: v for k, v in body.items() if v is not None})
        ReplicationApi.check_references(state, replication["orgID"], body)
        if body.get("name") is not None and any(r["orgID"] == replication["orgID"] and r["name"] == body["name"]
                                                and r["id"] != replication["id"]
                                                for r in state.replications.values()):
            raise _failure(422, "conflict", f"replication with name {body['name']} already exists")
        if query.get("validate") == "true":
            return 204, None
        for key in REPLICATION_FIELDS:
            if body.get(key) is not None:
                replication[key] = body[key]
        return 200, state.replication_json(replication)

    @staticmethod
    def delete_replication(state, auth, match, query, body):
        replication = ReplicationApi.find_replication(state, auth, match, "write")
        del state.replications[replication["id"]]
        state.queues.pop(replication["id"], None)
        return 204, None

    @staticmethod
    def validate_replication(state, auth, match, query, body):
        """Inferred: validation writes an empty body to the remote bucket with the remote's token; anything but
        2xx is 400 naming the remote's answer."""
        replication = ReplicationApi.find_replication(state, auth, match, "write")
        remote = state.remotes.get(replication["remoteID"])
        if remote is None:
            raise _invalid("replication failed validation: remote not found")
        query_string = {"bucket": replication.get("remoteBucketName") or replication.get("remoteBucketID")}
        if remote.get("remoteOrgID"):
            query_string["orgID"] = remote["remoteOrgID"]
        url = remote["remoteURL"].rstrip("/") + "/api/v2/write?" + urlencode(query_string)
        token = remote["_token"]
        state.lock.release()  # the remote may be this double: never hold the lock over the request
        try:
            status, message = send_write(url, token, "")
        finally:
            state.lock.acquire()
        if status is None or not 200 <= status < 300:
            raise _invalid(f"replication failed validation: remote answered {status or 'nothing'}: {message}")
        return 204, None


ROUTES = [
    (r"/api/v2/remotes", {"GET": "get_remotes", "POST": "post_remote"}),
    (r"/api/v2/remotes/(?P<id>[^/]+)", {"GET": "get_remote", "PATCH": "patch_remote", "DELETE": "delete_remote"}),
    (r"/api/v2/replications", {"GET": "get_replications", "POST": "post_replication"}),
    (r"/api/v2/replications/(?P<id>[^/]+)",
     {"GET": "get_replication", "PATCH": "patch_replication", "DELETE": "delete_replication"}),
    (r"/api/v2/replications/(?P<id>[^/]+)/validate", {"POST": "validate_replication"}),
]
