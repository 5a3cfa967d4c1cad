"""InfluxQL text and the 1.x client's error mapping (module_utils/influxdb_v1.py), without a server.

The server-side behaviour (what 1.6.7 stores and answers) is tested against the real influxd in
tests/integration/data/test_influxdb_v1_modules.py; the texts marked "as 1.6.7 shows it" below were copied from
that server's SHOW CONTINUOUS QUERIES answers. Errors here come from a stand-in opener with 1.x error bodies.

Mutations tried (each made a test here fail, then was undone): quote_ident without escaping ``"``; quote_string
without escaping the backslash; the regex-after rule without ``=~`` (``/^L1/`` read as division); keywords before
function names swapped (``AND (`` read as a function); go_duration_seconds accepting trailing text; the no_admin
branch of status_error removed (kind 'forbidden'); a statement error in ``results[1]`` ignored.
"""

import io
import json
from urllib.error import HTTPError

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_v1 import (
    InfluxQLClient,
    InfluxQLError,
    continuous_query_statement,
    go_duration_seconds,
    influxql_tokens,
    quote_ident,
    quote_string,
    statement_tokens,
)


def test_quoting():
    assert quote_ident("machine_events") == '"machine_events"'
    assert quote_ident('a"b\\c') == '"a\\"b\\\\c"'
    assert quote_string("it's") == "'it\\'s'"
    assert quote_string("back\\slash") == "'back\\\\slash'"


@pytest.mark.parametrize("text, seconds", [
    ("720h0m0s", 30 * 86400), ("0s", 0), ("168h0m0s", 7 * 86400), ("1h30m0s", 5400), ("17520h0m0s", 730 * 86400),
])
def test_go_durations(text, seconds):
    assert go_duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "30d", "1h junk", "h"])
def test_go_durations_refused(text):
    with pytest.raises(ValueError):
        go_duration_seconds(text)


def test_tokens_read_regex_division_keywords_and_literals():
    tokens = influxql_tokens("select count(a) / count(b) from m where l =~ /^L\\/1/ AND (x <> 'it\\'s') "
                             "group by time(60m, -5m) fill(1.50)")
    assert ("op", "/") in tokens and ("regex", "^L\\/1") in tokens
    assert ("kw", "AND") in tokens and ("op", "!=") in tokens and ("str", "it's") in tokens
    assert ("dur", 3600 * 10 ** 9) in tokens and ("dur", 300 * 10 ** 9) in tokens and ("num", 1.5) in tokens
    assert tokens[0] == ("kw", "SELECT") and ("func", "count") in tokens and ("func", "time") in tokens


def test_unterminated_text_is_refused():
    with pytest.raises(ValueError, match="unterminated"):
        influxql_tokens('SELECT count("x) INTO y')


def test_the_server_text_and_the_declared_text_compare_equal():
    """As 1.6.7 shows it: keywords upper case, quotes only where needed, 60m as 1h, measurements qualified."""
    stored = ('CREATE CONTINUOUS QUERY "cq-g" ON ming RESAMPLE EVERY 1h FOR 2h BEGIN SELECT mean(value) * 100.000 AS '
              '"my-field", count(/^cl/) INTO ming.machine_events.events FROM ming.machine_events.machine_events WHERE '
              "line =~ /^L1/ AND station != 'it\\'s' GROUP BY time(1h, -5m), \"select\" fill(none) END")
    query = ('SELECT mean("value")*100.0 AS "my-field", count(/^cl/) INTO "events" FROM "ming".."machine_events" '
             "WHERE \"line\" =~ /^L1/ AND station <> 'it\\'s' GROUP BY time(60m, -5m), \"select\" fill(none)")
    declared = continuous_query_statement("cq-g", "ming", query, "60m", "120m")

    def default_rp(database):
        assert database == "ming"
        return "machine_events"

    assert statement_tokens(stored, "ming", default_rp) == statement_tokens(declared, "ming", default_rp)
    other = declared.replace('INTO "events"', 'INTO "autogen"."events"')
    assert statement_tokens(stored, "ming", default_rp) != statement_tokens(other, "ming", default_rp)


def client_answering(status, body, **kwargs):
    sent = []

    def opener(url, data=None, headers=None, method="GET", **_kwargs):
        sent.append((url, data, dict(headers or {})))
        if status >= 400:
            raise HTTPError(url, status, "error", {}, io.BytesIO(json.dumps(body).encode()))
        response = io.BytesIO(json.dumps(body).encode())
        response.status, response.headers, response.reason = status, {}, "OK"
        return response

    return InfluxQLClient("127.0.0.1", opener=opener, retries=0, **kwargs), sent


def test_credentials_go_in_the_header_not_the_url():
    client, sent = client_answering(200, {"results": [{"statement_id": 0}]}, username="admin", password="s3cret-pw")
    client.execute('CREATE DATABASE "x"', "create the database")
    url, data, headers = sent[0]
    assert url == "http://127.0.0.1:8086/query" and "s3cret" not in url
    assert headers["Authorization"].startswith("Basic ") and b"q=CREATE+DATABASE" in data


def test_statement_errors_name_the_object():
    client, _sent = client_answering(200, {"results": [{"statement_id": 0},
                                                       {"statement_id": 1, "error": "database not found: nodb"}]})
    with pytest.raises(InfluxQLError) as raised:
        client.execute(["A", "B"], "create the thing", obj="continuous query 'cq' on database 'nodb'")
    assert raised.value.kind == "statement"
    assert "continuous query 'cq' on database 'nodb'" in str(raised.value) and "database not found" in str(raised.value)


def test_no_admin_state_and_401_without_the_password():
    client, _sent = client_answering(403, {"error": "error authorizing query: create admin user first or disable "
                                                    "authentication"})
    with pytest.raises(InfluxQLError) as raised:
        client.rows("SHOW USERS", "list the users")
    assert raised.value.kind == "no_admin" and "admin: true" in str(raised.value)

    client, _sent = client_answering(401, {"error": "authorization failed"}, username="admin", password="pw-secret-1")
    with pytest.raises(InfluxQLError) as raised:
        client.rows("SHOW USERS", "list the users")
    assert raised.value.kind == "auth" and "login_user ('admin')" in str(raised.value)
    assert "pw-secret-1" not in str(raised.value)
