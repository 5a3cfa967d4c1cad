"""The default data model's mechanics on the real InfluxDB 1.6.7 server (Debian's ``influxdb``, /usr/bin/influxd).

Runs against the real server, never a double. The objects are made by the collection's modules (retention
policies ``machine_events`` 30d default and ``machine_events_1h`` 730d, the hourly continuous query, a write-only
Node-RED user and a read-only Grafana user); then:

- the Node-RED user can write (``/write`` 204) and not read (query refused, "requires READ"); the Grafana user can
  read and not write (``/write`` 403);
- points written at known past hours (three days ago, well inside the 30 days) are downsampled by running the
  continuous query's own SELECT ... INTO once over that range (a backfill: what the server does for the last
  intervals on each run, and RESAMPLE FOR for a longer window); the counts are asserted exactly.

Facts of 1.6.7 these tests pin (the role's default continuous queries depend on them):
- An hour with events but no clip: SELECT ... INTO writes no ``clips`` field for it (the stored point reads
  ``clips`` null). A plain SELECT shows 0 there when the series has clips in other hours of the queried range, and
  null when it has none in the range. With ``fill(0)`` INTO stores 0 - and also a point of zeros for every empty
  hour of the range.
- ``count("clip_url") / count("correlation") AS "correlation_rate"`` is accepted in CREATE CONTINUOUS QUERY and
  computes the share (0.5 for 1 clip in 2 events); for an hour without clips INTO stores no rate (null), with
  ``fill(0)`` it stores 0.

Mutations tried: the Node-RED user's grant changed to ALL -> test_node_red_writes_but_cannot_read fails (the read
succeeds); the Grafana grant to ALL -> test_grafana_reads_but_cannot_write fails; the continuous query's
GROUP BY without "station" -> test_backfill_counts_per_hour fails (one series per line, counts summed).
"""

import time

import pytest
from influxdb_v1_server import ADMIN_AUTH, connection

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_continuous_query as cq_module
from ansible_collections.sensingcam.ming.plugins.modules import influxdb_retention_policy as rp_module
from ansible_collections.sensingcam.ming.plugins.modules import influxdb_user as user_module

pytestmark = pytest.mark.slow

DB = "ming_model"
NODE_RED = ("nodered_model", "nodered-pw-1")
GRAFANA = ("grafana_model", "grafana-pw-1")
CQ_BODY = ('SELECT count("correlation") AS "events", count("clip_url") AS "clips" '
           'INTO "{db}"."machine_events_1h"."machine_events_1h" FROM "{db}"."machine_events"."machine_events" '
           '{where}GROUP BY time(1h), "line", "station", "event", "severity"{fill}')
RATIO_BODY = ('SELECT count("clip_url") / count("correlation") AS "correlation_rate" '
              'INTO "{db}"."machine_events_1h"."{target}" FROM "{db}"."machine_events"."machine_events" '
              '{where}GROUP BY time(1h), "line", "station", "event", "severity"{fill}')
# Three days ago, on the hour: inside the 30-day policy whatever the clock says.
BASE = (int(time.time()) // 3600 - 72) * 3600


def iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


@pytest.fixture(scope="module")
def model(influxdb, run_module_in_module_fixture):
    """The data model made by the modules (module scope: the tests below only read it or write their own series)."""
    base = connection(influxdb, database=DB)
    steps = [
        (rp_module, dict(base, name="machine_events", duration="30d", shard_duration="1d", default=True)),
        (rp_module, dict(base, name="machine_events_1h", duration="730d")),
        (cq_module, dict(base, name="machine_events_1h", query=CQ_BODY.format(db=DB, where="", fill=""),
                         resample_for="2h")),
        (cq_module, dict(base, name="correlation_rate_1h",
                         query=RATIO_BODY.format(db=DB, target="correlation_rate", where="", fill=""))),
        (user_module, connection(influxdb, name=NODE_RED[0], password=NODE_RED[1],
                                 grants=[{"database": DB, "privilege": "WRITE"}])),
        (user_module, connection(influxdb, name=GRAFANA[0], password=GRAFANA[1],
                                 grants=[{"database": DB, "privilege": "READ"}])),
    ]
    for module, args in steps:
        failed, result = run_module_in_module_fixture(module, args)
        assert not failed and result["changed"], result
    return influxdb


def event(line, station, event_name, severity, correlation, at, clip=None):
    fields = f'correlation="{correlation}"' + (f',clip_url="{clip}"' if clip else "")
    return f"machine_events,line={line},station={station},event={event_name},severity={severity} {fields} {at}"


def test_the_model_exists(model):
    """On the real InfluxDB 1.6.7: the policies and continuous queries the modules made, as the server shows them."""
    found = {row["name"]: row for row in model.rows(f'SHOW RETENTION POLICIES ON "{DB}"', ADMIN_AUTH)}
    assert (found["machine_events"]["duration"], found["machine_events"]["default"]) == ("720h0m0s", True)
    assert (found["machine_events_1h"]["duration"], found["machine_events_1h"]["default"]) == ("17520h0m0s", False)
    queries = {row["name"]: row["query"] for row in model.rows("SHOW CONTINUOUS QUERIES", ADMIN_AUTH)
               if row["_series"] == DB}
    assert sorted(queries) == ["correlation_rate_1h", "machine_events_1h"]
    assert "RESAMPLE FOR 2h" in queries["machine_events_1h"]
    assert "count(clip_url) / count(correlation) AS correlation_rate" in queries["correlation_rate_1h"]


def test_node_red_writes_but_cannot_read(model):
    """On the real InfluxDB 1.6.7: WRITE lets /write in (204) and keeps queries out (403, requires READ)."""
    status, body = model.write([event("W1", "S1", "stop", "minor", "w-1", BASE + 30)], NODE_RED, DB)
    assert status == 204, body
    status, body = model.query('SELECT count("correlation") FROM "machine_events"', NODE_RED, DB)
    assert status == 403 and "requires READ" in body["error"], body


def test_grafana_reads_but_cannot_write(model):
    """On the real InfluxDB 1.6.7: READ lets queries in and keeps /write out (403)."""
    status, body = model.query('SELECT count("correlation") FROM "machine_events" WHERE "line" = \'W1\'',
                               GRAFANA, DB)
    assert status == 200 and "error" not in body["results"][0], body
    status, body = model.write([event("G1", "S1", "stop", "minor", "g-1", BASE + 40)], GRAFANA, DB)
    assert status == 403 and "not authorized to write" in body["error"], body
    rows = model.rows('SELECT count("correlation") FROM "machine_events" WHERE "line" = \'G1\'', ADMIN_AUTH, DB)
    assert rows == []


def written_points(model, measurement, line):
    return model.rows(f'SELECT * FROM "{DB}"."machine_events_1h"."{measurement}" WHERE "line" = \'{line}\' '
                      f"AND time >= {BASE - 3600}s AND time < {BASE + 5 * 3600}s", ADMIN_AUTH)


def backfill(model, body, line, **format_args):
    """Run a continuous query's SELECT ... INTO once over BASE-1h .. BASE+4h for one line (a backfill)."""
    where = f"WHERE \"line\" = '{line}' AND time >= {BASE - 3600}s AND time < {BASE + 4 * 3600}s "
    rows = model.rows(body.format(db=DB, where=where, **format_args), ADMIN_AUTH)
    return rows[0]["written"]


def test_backfill_counts_per_hour(model):
    """On the real InfluxDB 1.6.7: points at known past hours, downsampled by the continuous query's own
    SELECT ... INTO over that range; counts per hour and station exactly, and the clip-less hour without clips."""
    points = [
        # hour 0: station S1 two events (one with a clip), station S2 one event with a clip
        event("L1", "S1", "stop", "major", "c1", BASE + 60, clip="http://clips/c1.mp4"),
        event("L1", "S1", "stop", "major", "c2", BASE + 120),
        event("L1", "S2", "stop", "major", "c3", BASE + 180, clip="http://clips/c3.mp4"),
        # hour 1: one event, no clip
        event("L1", "S1", "stop", "major", "c4", BASE + 3600 + 60),
        # hour 2: nothing; hour 3: one event with a clip
        event("L1", "S1", "stop", "major", "c5", BASE + 3 * 3600 + 30, clip="http://clips/c5.mp4"),
    ]
    status, body = model.write(points, NODE_RED, DB)
    assert status == 204, body

    assert backfill(model, CQ_BODY, "L1", fill="") == 4
    stored = {(row["station"], row["time"]): (row["events"], row["clips"])
              for row in written_points(model, "machine_events_1h", "L1")}
    assert stored == {
        ("S1", iso(BASE)): (2, 1),
        ("S2", iso(BASE)): (1, 1),
        ("S1", iso(BASE + 3600)): (1, None),  # events but no clip: INTO stores no clips field (plain SELECT: 0)
        ("S1", iso(BASE + 3 * 3600)): (1, 1),
    }
    # The same statement without INTO, over the same range, shows 0 for that hour (its series has clips in other
    # hours of the range); over that hour alone it shows null. INTO never stores the 0.
    plain = CQ_BODY.replace(' INTO "{db}"."machine_events_1h"."machine_events_1h"', "")
    where = "WHERE \"line\" = 'L1' AND \"station\" = 'S1' AND time >= {start}s AND time < {end}s "
    shown = model.rows(plain.format(db=DB, where=where.format(start=BASE - 3600, end=BASE + 4 * 3600), fill=""),
                       ADMIN_AUTH)
    assert {row["time"]: (row["events"], row["clips"]) for row in shown} == {
        iso(BASE - 3600): (0, 0), iso(BASE): (2, 1), iso(BASE + 3600): (1, 0), iso(BASE + 7200): (0, 0),
        iso(BASE + 3 * 3600): (1, 1)}
    shown = model.rows(plain.format(db=DB, where=where.format(start=BASE + 3600, end=BASE + 7200), fill=""),
                       ADMIN_AUTH)
    assert [(row["events"], row["clips"]) for row in shown] == [(1, None)]


def test_backfill_with_fill_zero_stores_zeros(model):
    """On the real InfluxDB 1.6.7: with fill(0) the clip-less hour stores clips 0, and every empty hour of the range
    gets a point of zeros."""
    points = [event("L2", "S1", "stop", "major", "d1", BASE + 60, clip="http://clips/d1.mp4"),
              event("L2", "S1", "stop", "major", "d2", BASE + 3600 + 60)]
    assert model.write(points, NODE_RED, DB)[0] == 204
    target_body = CQ_BODY.replace('"machine_events_1h"."machine_events_1h"', '"machine_events_1h"."filled"')
    assert backfill(model, target_body, "L2", fill=" fill(0)") == 5
    stored = {row["time"]: (row["events"], row["clips"]) for row in written_points(model, "filled", "L2")}
    assert stored == {iso(BASE - 3600): (0, 0), iso(BASE): (1, 1), iso(BASE + 3600): (1, 0),
                      iso(BASE + 7200): (0, 0), iso(BASE + 3 * 3600): (0, 0)}


def test_correlation_rate_in_a_continuous_query(model):
    """On the real InfluxDB 1.6.7: count(clip_url) / count(correlation) works in the continuous query: 0.5 for one
    clip in two events; no rate stored for an hour without clips, 0 with fill(0)."""
    points = [event("L3", "S1", "stop", "major", "e1", BASE + 60, clip="http://clips/e1.mp4"),
              event("L3", "S1", "stop", "major", "e2", BASE + 120),
              event("L3", "S1", "stop", "major", "e3", BASE + 3600 + 60)]
    assert model.write(points, NODE_RED, DB)[0] == 204
    assert backfill(model, RATIO_BODY, "L3", target="correlation_rate", fill="") == 1
    stored = {row["time"]: row["correlation_rate"] for row in written_points(model, "correlation_rate", "L3")}
    assert stored == {iso(BASE): 0.5}
    assert backfill(model, RATIO_BODY, "L3", target="correlation_rate_filled", fill=" fill(0)") == 5
    stored = {row["time"]: row["correlation_rate"]
              for row in written_points(model, "correlation_rate_filled", "L3")}
    assert stored[iso(BASE)] == 0.5 and stored[iso(BASE + 3600)] == 0
