"""playbooks/files/ming_selftest.py (the script of playbooks/verify.yml): its pure decisions, without a broker or a
database. The whole self-test runs end to end in molecule/default/tests/test_pipeline.py."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "playbooks" / "files" / "ming_selftest.py"
SPEC = importlib.util.spec_from_file_location("ming_selftest", SCRIPT)
selftest = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(selftest)

SETTINGS = {"line": "ming-selftest", "station": "ming-selftest"}


def test_hop_latencies_from_the_ack_stamps():
    """Each hop's latency is its end stamp minus the first present start stamp; hops without a stamp are left out.
    Mutation tried: the outbox hop starting from journaled although clip_ready is known -> 3000 instead of 100."""
    stamps = {"published": 1000.0, "received": 1010, "journaled": 1012, "camera_triggered": 1100,
              "frigate_event_created": 1050, "clip_ready": 4000, "outbox_written": 4100, "stored": 4150,
              "ack_seen": 4160.0}
    table = {row["hop"]: row["latency_ms"] for row in selftest.hop_table(stamps)}
    assert table == {"broker": 10, "journal": 2, "camera trigger": 88, "Frigate": 38, "clip": 2950, "outbox": 100,
                     "database": 50, "ack": 10}
    without_camera = {"published": 1000.0, "received": 1010, "journaled": 1012, "outbox_written": 1020,
                      "stored": 1030, "ack_seen": 1040.0}
    assert [row["hop"] for row in selftest.hop_table(without_camera)] == [
        "broker", "journal", "outbox", "database", "ack"]
    assert {row["hop"]: row["latency_ms"] for row in selftest.hop_table(without_camera)}["outbox"] == 8


def test_record_must_be_the_self_test_station_marked_self_test():
    """Mutation tried: the self_test check removed -> a record dashboards would count passes."""
    good = {"line": "ming-selftest", "station": "ming-selftest", "self_test": True}
    assert selftest.check_record(good, SETTINGS) is None
    assert "self_test" in selftest.check_record(dict(good, self_test=False), SETTINGS)
    assert "station" in selftest.check_record(dict(good, station="st10"), SETTINGS)


@pytest.mark.parametrize(("correlation", "camera", "has_hops", "error", "hop"), [
    ("matched", "cam-line1-st10", True, "", None),
    ("none", "", True, "", None),
    ("none", "", False, "", None),
    # An older library (no hops in its ack) never triggers the self-test camera: no fault of the pipeline.
    ("none", "cam-line1-st10", False, "", None),
    ("none", "cam-line1-st10", True, "", "camera trigger"),
    ("trigger_failed", "cam-line1-st10", True, "camera cam-line1-st10 unreachable", "camera trigger"),
    ("trigger_failed", "cam-line1-st10", True, "frigate login refused (401)", "Frigate"),
    ("timeout", "cam-line1-st10", True, "", "clip"),
    ("matched", "", True, "", "camera trigger"),
])
def test_correlation_names_the_broken_hop(correlation, camera, has_hops, error, hop):
    """Mutations tried: the older-library tolerance removed -> the fourth case fails; trigger_failed always named
    'camera trigger' -> the Frigate case fails; the timeout branch removed -> the timeout case passes as matched."""
    problem = selftest.correlation_problem(correlation, camera, {"error": error}, has_hops)
    assert (problem[0] if problem else None) == hop
