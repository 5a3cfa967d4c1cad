"""The worked example of docs/developing.md ("Adding an API module") is real code: this test takes the Python code
block of that section from the page, runs it as a module, and drives it through check -> apply -> idempotent
re-run -> change -> absent.

It runs against a double, not a real InfluxDB: an in-process HTTP server (http.server in a thread on 127.0.0.1, a
free port) that answers /api/v2/buckets the way InfluxDB 2's published API does (token header, orgID and name
filter, 404 for an unknown name, POST to create, PATCH to change the retention rules, DELETE). The requests go
through the real transport of module_utils/_api.py.
"""

import http.server
import json
import re
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

REPO = Path(__file__).resolve().parents[3]
PAGE = REPO / "docs" / "developing.md"
SECTION = "## Adding an API module"
TOKEN = "influx-token-Zq8-do-not-print"
ORG = "0f3c1a2b3c4d5e6f"


def example_code():
    """The one ```python block of the section, exactly as the page shows it."""
    text = PAGE.read_text()
    if SECTION not in text:
        pytest.fail(f"{PAGE} has no section {SECTION!r}")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.DOTALL)
    if len(blocks) != 1:
        pytest.fail(f"the section {SECTION!r} of {PAGE} should hold exactly one python block, it holds {len(blocks)}")
    return blocks[0]


class InfluxDouble:
    """Buckets of one organisation, kept in memory; every request is recorded."""

    def __init__(self):
        self.buckets = {}
        self.hits = []
        self.counter = 0

    def reply(self, handler, status, body=None):
        content = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json; charset=utf-8")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def handle(self, handler):
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = json.loads(handler.rfile.read(length)) if length else None
        self.hits.append((handler.command, url.path, body))
        if handler.headers.get("Authorization") != "Token " + TOKEN:
            return self.reply(handler, 401, {"code": "unauthorized", "message": "unauthorized access"})
        if url.path == "/api/v2/buckets" and handler.command == "GET":
            query = parse_qs(url.query)
            found = [b for b in self.buckets.values()
                     if b["orgID"] == query.get("orgID", [None])[0] and b["name"] == query.get("name", [None])[0]]
            if not found and "name" in query:
                return self.reply(handler, 404, {"code": "not found",
                                                 "message": f'bucket "{query["name"][0]}" not found'})
            return self.reply(handler, 200, {"links": {"self": "/api/v2/buckets"}, "buckets": found})
        if url.path == "/api/v2/buckets" and handler.command == "POST":
            self.counter += 1
            bucket = {"id": f"b{self.counter:015d}", "orgID": body["orgID"], "name": body["name"], "type": "user",
                      "retentionRules": [dict(rule, shardGroupDurationSeconds=3600)
                                         for rule in body.get("retentionRules", [])]}
            self.buckets[bucket["id"]] = bucket
            return self.reply(handler, 201, bucket)
        bucket_id = url.path.rsplit("/", 1)[1]
        if not url.path.startswith("/api/v2/buckets/") or bucket_id not in self.buckets:
            return self.reply(handler, 404, {"code": "not found", "message": "bucket not found"})
        if handler.command == "PATCH":
            self.buckets[bucket_id]["retentionRules"] = body["retentionRules"]
            return self.reply(handler, 200, self.buckets[bucket_id])
        if handler.command == "DELETE":
            del self.buckets[bucket_id]
            return self.reply(handler, 204)
        return self.reply(handler, 405, {"code": "method not allowed", "message": handler.command})

    def writes(self):
        return [hit for hit in self.hits if hit[0] != "GET"]


@pytest.fixture
def influx(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    double = InfluxDouble()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            double.handle(self)

        do_POST = do_PATCH = do_DELETE = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    double.port = server.server_address[1]
    yield double
    server.shutdown()
    server.server_close()


@pytest.fixture
def example():
    namespace = {"__name__": "influxdb_bucket_example"}
    exec(compile(example_code(), f"{PAGE}:{SECTION}", "exec"), namespace)  # noqa: S102 (our own page)
    return namespace


def test_the_example_class_is_short(example):
    """The promise of the page: a new API module is a short subclass."""
    lines = [line for line in example_code().splitlines() if line.strip()]
    assert len(lines) <= 50


def test_worked_example_check_apply_idempotent_change_absent(run_module, influx, example):
    def run(check_mode=False, **args):
        values = {"host": "127.0.0.1", "port": influx.port, "token": TOKEN, "org_id": ORG,
                  "name": "machine_events", "retries": 0}
        values.update(args)
        return run_module(example["main"], values, check_mode=check_mode, diff=True)

    failed, check = run(check_mode=True, retention_seconds=86400)
    assert not failed and check["changed"] and influx.buckets == {} and influx.writes() == []
    assert check["diff"] == {"before": {}, "after": {"retention_seconds": 86400}}

    failed, applied = run(retention_seconds=86400)
    assert not failed and applied["changed"]
    (bucket,) = influx.buckets.values()
    assert bucket["name"] == "machine_events" and bucket["orgID"] == ORG
    assert bucket["retentionRules"][0]["everySeconds"] == 86400
    assert applied["bucket"] == {"id": bucket["id"], "retention_seconds": 86400}

    writes = len(influx.writes())
    failed, again = run(retention_seconds=86400)
    assert not failed and not again["changed"] and len(influx.writes()) == writes

    failed, changed = run(retention_seconds=604800)
    assert not failed and changed["changed"]
    assert changed["diff"]["before"]["retention_seconds"] == 86400
    assert changed["diff"]["after"]["retention_seconds"] == 604800
    assert influx.writes()[-1] == ("PATCH", f"/api/v2/buckets/{bucket['id']}",
                                   {"retentionRules": [{"type": "expire", "everySeconds": 604800}]})

    failed, untouched = run()
    assert not failed and not untouched["changed"], "an option left out is left as it is"

    failed, check_absent = run(check_mode=True, state="absent")
    assert not failed and check_absent["changed"] and bucket["id"] in influx.buckets
    failed, absent = run(state="absent")
    assert not failed and absent["changed"] and influx.buckets == {}
    failed, absent_again = run(state="absent")
    assert not failed and not absent_again["changed"]


def test_worked_example_wrong_token_fails_without_showing_it(run_module, influx, example):
    values = {"host": "127.0.0.1", "port": influx.port, "token": TOKEN + "-old", "org_id": ORG,
              "name": "machine_events", "retention_seconds": 60, "retries": 0}
    failed, result = run_module(example["main"], values)
    assert failed and "refused the credentials (HTTP 401)" in result["msg"]
    assert "find bucket machine_events" in result["msg"] and "unauthorized access" in result["msg"]
    assert TOKEN not in json.dumps(result) and influx.writes() == []
