"""The correlation pipeline library (roles/nodered/files/ming_pipeline.js) run by node, case by case.

pipeline_cases.js runs every case once in one node process (the lab image's node 18 when ming/nodered:lab is
built, the runtime production uses; the host's node otherwise) and prints its observations; these tests assert on
them. The camera, Frigate and InfluxDB servers in pipeline_cases.js are small local stubs, not the real services;
test_simulator_login_and_trigger runs against the camera simulator (tools/camera_simulator), not a real SEC100.

Mutations tried (each made a test here fail, then was restored):
- journal written in record() instead of receive(): test_journal_written_before_receive_returns_and_survives_sigkill.
- dedup off (isDuplicate returns false): test_duplicates_dropped_also_after_restart.
- ack before 204 (acknowledge() before the write): test_drain_acks_only_after_204_and_backs_off.
- recording-window join off (every event opens a window): test_recording_window_joins_one_trigger_and_one_clip.
- busy not retried (data.result 2 fails at once): test_busy_result_retried_then_ok.
- 4xx record kept in the outbox instead of dead-lettered: test_refused_record_dead_lettered_others_stored.
- the PUBACK hook calling the original handleMessage before journaling: test_puback_only_after_journal.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils.sick_login import challenge_response

REPO = Path(__file__).resolve().parents[3]
LIBRARY = REPO / "roles" / "nodered" / "files" / "ming_pipeline.js"
CASES = Path(__file__).with_name("pipeline_cases.js")
LAB_IMAGE = "ming/nodered:lab"
NOW_S = 1733380000

sys.path.insert(0, str(REPO / "tools" / "camera_simulator" / "src"))
sys.path.insert(0, str(REPO / "tools"))
from frigate_double import FrigateDouble  # noqa: E402
from sensingcam_simulator.testing import running_simulator  # noqa: E402

FRIGATE_CAMERA = "cam-line1-st10"

# (topic, payload) -> ("accepted", line, station, event, severity, timestamp_ns) or ("dead_letter", reason part)
NORMALISE = [
    # SYSTEM.md shape, epoch seconds
    (
        (
            "factory/line/line1/event",
            {"event": "stop", "line": "line1", "station": "st10", "severity": "high", "timestamp": NOW_S},
        ),
        ("accepted", "line1", "st10", "stop", "high", str(NOW_S * 10**9)),
    ),
    # line from the topic, upper-case event and keys, epoch milliseconds
    (
        ("factory/line/line2/event", {"EVENT": "FAULT", "Station": "st10", "timestamp": NOW_S * 1000 + 123}),
        ("accepted", "line2", "st10", "fault", "unknown", str(NOW_S * 10**9 + 123 * 10**6)),
    ),
    # the other topic family, ISO 8601 with an offset and nanoseconds, aliases, numeric station and severity
    (
        (
            "machine/alert/line3",
            {"type": "Stop", "machine": 7, "level": 2, "ts": "2024-12-05T07:26:40.123456789+01:00"},
        ),
        ("accepted", "line3", "7", "stop", "2", str(NOW_S * 10**9 + 123456789)),
    ),
    # epoch nanoseconds as a string, ISO with Z
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": str(NOW_S * 10**9 + 5)}),
        ("accepted", "line1", "st10", "stop", "unknown", str(NOW_S * 10**9 + 5)),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st20", "timestamp": "2024-12-05T06:26:40Z"}),
        ("accepted", "line1", "st20", "stop", "unknown", str(NOW_S * 10**9)),
    ),
    # fractional seconds
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": NOW_S + 0.25}),
        ("accepted", "line1", "st10", "stop", "unknown", str(NOW_S * 10**9 + 250 * 10**6)),
    ),
    # malformed, each with its reason
    (("factory/line/line1/event", "not json {"), ("dead_letter", "payload is not JSON")),
    (("factory/line/line1/event", [1, 2]), ("dead_letter", "payload is not a JSON object")),
    (("factory/line/line1/event", {"station": "st10", "timestamp": NOW_S}), ("dead_letter", "event is missing")),
    (
        ("factory/line/line1/event", {"event": "stop now!", "station": "st10", "timestamp": NOW_S}),
        ("dead_letter", "is not a name"),
    ),
    (("factory/line/line1/event", {"event": "stop", "timestamp": NOW_S}), ("dead_letter", "station is missing")),
    (("factory/line/line1/event", {"event": "stop", "station": "st10"}), ("dead_letter", "timestamp is missing")),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": "05.12.2024 08:00"}),
        ("dead_letter", "is not ISO 8601 with a time zone"),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": "2024-12-05T06:26:40"}),
        ("dead_letter", "is not ISO 8601 with a time zone"),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": "2024-02-30T06:26:40Z"}),
        ("dead_letter", "is not a valid date"),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": 5}),
        ("dead_letter", "before 2000-01-01"),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": 4102444800}),
        ("dead_letter", "in the future"),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "line": "line9", "station": "st10", "timestamp": NOW_S}),
        ("dead_letter", "differs from line line1 in the topic"),
    ),
    (("plant/other", {"event": "stop", "station": "st10", "timestamp": NOW_S}), ("dead_letter", "line is missing")),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st 10", "timestamp": NOW_S}),
        ("dead_letter", 'station "st 10" is not a name'),
    ),
    (
        ("factory/line/line1/event", {"event": "stop", "station": "st10", "timestamp": NOW_S, "id": "a b"}),
        ("dead_letter", "event id"),
    ),
]

SICK_LOGIN = [
    ("Service", "SICK Sensor", "s3cret", "nonce-1", "EventTriggerEvent", None, "separator"),
    ("Service", "SICK Sensor", "s3cret", "nonce-1", "EventTriggerEvent", [1, 2, 250, 0], "separator"),
    ("Service", "SICK Sensor", "s3cret", "nonce-2", "EventList", [], "separator"),
    ("Service", "SICK Sensor", "s3cret", "nonce-2", "EventList", [], "no_salt"),
]

LINE_PROTOCOL = [
    (
        {"line": "line 1", "station": "a,b", "camera": "x=y", "severity": ""},
        {"error": 'said "no" \\ then\nstopped', "duration_seconds": 25, "self_test": False},
        "1733380000000000000",
    ),
]


def node_command(work: Path) -> list[str]:
    """node from the lab image (the production runtime) when it is built, else the host's node."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "image", "inspect", LAB_IMAGE], capture_output=True, check=False).returncode == 0
    ):
        os.chmod(work, 0o777)  # noqa: S103 - the image runs as uid 1000
        return [
            docker,
            "run",
            "--rm",
            "--network",
            "host",
            "-v",
            f"{REPO}:{REPO}:ro",
            "-v",
            f"{work}:{work}",
            LAB_IMAGE,
            "node",
        ]
    node = shutil.which("node")
    if not node:
        pytest.fail(
            "neither the lab image ming/nodered:lab (bash scripts/build-lab-images.sh nodered) nor node "
            "(apt-get install nodejs) is available to run the pipeline library"
        )
    return [node]


def start_frigate_doubles():
    """Frigate API doubles (not a real Frigate) for the clip-readiness cases: 0.18 (recordings 0.5 s behind), 0.17
    (pre-capture 0 and recordings 2.5 s behind, so the first clip request after the event ended finds none: 400),
    0.16 with recordings that never land (an empty 200)."""
    def double(version, clip_delay_s, **options):
        password = "pw-" + os.urandom(6).hex()
        return FrigateDouble("127.0.0.1", 0, version, [FRIGATE_CAMERA], clip_delay_s, "ming-nodered", password,
                             **options)

    doubles = {
        "v18": double("0.18.0", 0.5),
        "v17": double("0.17.2", 2.5, pre_capture_s=0),
        "v16": double("0.16.4", 0.5),
    }
    for double in doubles.values():
        double.start()
    doubles["v16"].set_fault("clip_never_ready")
    return doubles


@pytest.fixture(scope="module")
def observed(tmp_path_factory):
    work = tmp_path_factory.mktemp("pipeline")
    doubles = start_frigate_doubles()
    try:
        results = run_cases(work, doubles)
    finally:
        for double in doubles.values():
            double.stop()
    return results


def run_cases(work, doubles):
    with running_simulator(1, time_scale=0.01) as sim:
        camera = sim.camera("cam001")
        params = {
            "normalise": [
                [topic, payload if isinstance(payload, str) else json.dumps(payload)]
                for (topic, payload), _expect in NORMALISE
            ],
            "sick_login": [list(case) for case in SICK_LOGIN],
            "line_protocol": [list(case) for case in LINE_PROTOCOL],
            "simulator": {"url": sim.url("cam001"), "user": camera.config.user, "password": camera.config.password},
            "frigate": {
                name: {"url": double.url, "password": double.password, "version": double.version}
                for name, double in doubles.items()
            },
        }
        (work / "params.json").write_text(json.dumps(params))
        done = subprocess.run(
            node_command(work) + [str(CASES), str(LIBRARY), str(work), str(work / "params.json")],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        results = json.loads(done.stdout)
        results["simulator_counters"] = dict(camera.counters)
        results["frigate_doubles"] = {
            name: {"clip_downloads": list(double.clip_downloads), "events": dict(double.events)}
            for name, double in doubles.items()
        }
    for name, value in results.items():
        assert not (isinstance(value, dict) and "crashed" in value), f"{name}: {value.get('crashed')}"
    return results


@pytest.mark.parametrize(
    "index", range(len(NORMALISE)), ids=[f"{n}-{expect[0]}" for n, (_given, expect) in enumerate(NORMALISE)]
)
def test_normalisation_table(observed, index):
    """Each plant shape normalises to the same event; each malformed payload is dead-lettered with its reason."""
    got = observed["normalise"][index]
    expect = NORMALISE[index][1]
    if expect[0] == "accepted":
        assert got["status"] == "accepted", got
        assert (got["line"], got["station"], got["event"], got["severity"], got["timestamp_ns"]) == expect[1:]
    else:
        assert got["status"] == "dead_letter", got
        assert expect[1] in got["reason"]
        message = got["message"]
        assert message["topic"] == "factory/dead_letter"
        assert message["payload"]["reason"] == got["reason"]
        assert message["payload"]["topic"] == NORMALISE[index][0][0]
        assert message["payload"]["received_at"].endswith("Z")


def test_stable_event_id(observed):
    """Without a PLC id the event id is sha256(line|station|event|timestamp-ns), the same in every process."""
    got = observed["stable_id"]
    assert got["first"] == got["second"]
    assert got["first"] == hashlib.sha256(f"line1|st10|stop|{got['timestamp_ns']}".encode()).hexdigest()


def test_duplicates_dropped_also_after_restart(observed):
    """QoS 1 redelivery is dropped in the same process, after a restart (journal), after storage (the seen-set, also
    after a restart); a PLC that reuses an id at a new time is a new event; the seen-set is pruned after
    dedup.ttl_s. Mutations tried: dedup off; acknowledge() not adding stored keys to the seen-set (after_storage
    accepted)."""
    assert observed["dedup"] == {
        "first": "accepted",
        "again": "duplicate",
        "after_restart": "duplicate",
        "same_id_new_time": "accepted",
        "stored": 2,
        "after_storage": "duplicate",
        "after_storage_restart": "duplicate",
        "pruned": 2,
        "after_ttl": "accepted",
    }


def test_journal_written_before_receive_returns_and_survives_sigkill(observed):
    """receive() resolves with the event journaled (one batch file); a process SIGKILLed right after receive()
    resolved loses nothing: the next process resumes both events, records and drains them (acks after the 204), and
    a redelivery is a duplicate. Mutations tried: journal written in record() instead of receive(); receive()
    resolving before the journal batch is written (GroupCommit resolving before flush: journal_after_kill 1)."""
    got = observed["journal_and_resume"]
    assert len(got["journal_after_receive"]) == 1 and got["journal_after_receive"][0].endswith(".jsonl")
    assert got["child_signal"] == "SIGKILL"
    assert got["journal_after_kill"] == 2
    assert got["resumed"] == ["line1/st10/stop", "line2/st10/fault"]
    assert (got["journal_after_record"], got["outbox_after_record"], got["outbox_after_drain"]) == (0, 2, 0)
    assert sorted(ack["topic"] for ack in got["acks"]) == [
        "factory/line/line1/event/ack",
        "factory/line/line2/event/ack",
    ]
    assert all(ack["payload"]["stored"] is True for ack in got["acks"])
    assert got["redelivered"] == "duplicate"
    lines = sorted(got["written"][0].split("\n"))
    assert len(lines) == 2
    assert lines[0].startswith("machine_events,camera=cam-a,event=stop,line=line1,severity=high,station=st10 ")
    assert 'correlation="matched"' in lines[0]
    assert 'correlation="trigger_failed"' in lines[1]
    assert "camera_clip=" not in lines[1]  # an empty text field is left out: count() sees only real values


def test_sick_login_matches_python(observed):
    """The JavaScript SICK response equals plugins/module_utils/sick_login.py for the same inputs (no salt, salt,
    empty salt under both rules)."""
    expected = [
        challenge_response(user, realm, password, nonce, name, salt, empty_salt=rule)
        for user, realm, password, nonce, name, salt, rule in SICK_LOGIN
    ]
    assert observed["sick_login"] == expected
    assert expected[2] != expected[3]


def test_busy_result_retried_then_ok(observed):
    """data.result 2 (busy) twice then 0: retried with backoff, one trigger, record matched. Against a camera stub.
    Mutation tried: busy not retried."""
    got = observed["busy_retried"]
    assert (got["attempts"], got["triggers"], got["correlation"], got["error"]) == (3, 1, "matched", "")
    assert got["camera_clip"] == "event_1.mp4"


def test_busy_beyond_bounded_retries_is_trigger_failed(observed):
    """A camera busy beyond busy_retries: trigger_failed naming the camera, the Frigate event still created."""
    got = observed["busy_exhausted"]
    assert got["attempts"] == 3
    assert got["correlation"] == "trigger_failed"
    assert "camera cam-a: busy" in got["error"]
    assert got["frigate_event_id"]


def test_recording_window_joins_one_trigger_and_one_clip(observed):
    """Three events on cam-a inside its recording window (two stations) join one trigger and one Frigate event, each
    its own record pointing at the shared clip; cam-b is triggered on its own; after the window a new trigger.
    Against camera and Frigate stubs. Mutation tried: window join off."""
    got = observed["recording_window"]
    assert (got["triggers_a"], got["triggers_b"]) == (2, 1)
    assert [create["camera"] for create in got["creates"]] == ["cam-a", "cam-b", "cam-a"]
    first = got["creates"][0]["body"]
    assert first == {"duration": 20, "include_recording": True, "sub_label": "line1/st10/stop", "pre_capture": 5}
    records = got["records"]
    assert len({record["frigate_event_id"] for record in records[:3]}) == 1
    assert [record["joined"] for record in records] == [False, True, True, False]
    assert records[3]["frigate_event_id"] != records[0]["frigate_event_id"]
    assert all(record["correlation"] == "matched" for record in records)
    assert (
        records[0]["clip_url"] == f"https://nvr.plant.example:8971/api/events/{records[0]['frigate_event_id']}/clip.mp4"
    )
    assert got["late"]["joined"] is False
    assert got["late"]["frigate_event_id"] not in {record["frigate_event_id"] for record in records}


def test_outcomes_timeout_trigger_failed_none(observed):
    """Clip never ready -> timeout; camera unreachable after retries -> trigger_failed with the Frigate event kept;
    an event not in `events` -> none and nothing called; an unmapped station -> trigger_failed naming the mapping.
    Against camera and Frigate stubs."""
    got = observed["outcomes"]
    assert got["timeout"]["correlation"] == "timeout"
    assert got["timeout"]["frigate_event_id"] and got["timeout"]["clip_url"] == ""  # no clip, no clip_url
    assert "clip not ready" in got["timeout"]["error"]
    assert got["unreachable"]["correlation"] == "trigger_failed"
    assert "camera cam-b: unreachable after 2 attempts" in got["unreachable"]["error"]
    assert got["unreachable"]["frigate_event_id"]
    assert got["not_trigger"] == {
        "correlation": "none",
        "error": "",
        "frigate_event_id": "",
        "camera": "cam-a",
        "clip_url": "",
    }
    assert got["unmapped"]["correlation"] == "trigger_failed"
    assert "pipeline.stations" in got["unmapped"]["error"]
    assert (got["creates"], got["triggers"]) == (2, 1)


def test_simulator_login_and_trigger(observed):
    """Against the camera simulator, not a real SEC100: the SICK login is accepted, EventTriggerEvent records an
    event there, the camera's clip name comes from EventList; the Frigate stub saw one login and one create."""
    got = observed["simulator_trigger"]
    assert got["correlation"] == "matched", got["error"]
    counters = observed["simulator_counters"]
    assert counters["events_triggered"] == 1
    assert counters["logins_failed"] == 0
    assert got["camera_clip"].endswith("_0001.mp4")
    assert (len(got["creates"]), got["logins"]) == (1, 1)


def test_line_protocol_escaping(observed):
    """Tag values escape spaces, commas and equals; string fields escape quotes and backslashes and lose newlines;
    an empty tag is left out; tags and fields sorted."""
    assert observed["line_protocol"] == [
        "machine_events,camera=x\\=y,line=line\\ 1,station=a\\,b "
        'duration_seconds=25,error="said \\"no\\" \\\\ then stopped",self_test=false 1733380000000000000'
    ]


def test_drain_acks_only_after_204_and_backs_off(observed):
    """InfluxDB 1.x answers 500 then 503 then 204: nothing acked and the outbox intact until the 204, no request
    while backing off, the backoff doubles from backoff_min_s, then every record acked once with Basic auth.
    Mutation tried: ack before 204."""
    got = observed["drain_backoff"]
    assert (got["first_acks"], got["after_first"], got["requests_after_first"]) == (0, 3, 1)
    assert (got["second_acks"], got["requests_during_backoff"]) == (0, 1)
    assert (got["third_acks"], got["after_third"], got["backoff_ms"]) == (0, 3, 400)
    assert sorted(ack["topic"] for ack in got["fourth_acks"]) == [f"factory/line/line{n}/event/ack" for n in (1, 2, 3)]
    assert got["after_fourth"] == 0
    assert all(
        (ack["payload"]["stored"], ack["payload"]["correlation"]) == (True, "none") for ack in got["fourth_acks"]
    )
    assert [request["lines"] for request in got["requests"]] == [3, 3, 3]
    assert got["requests"][0]["url"] == "/write?db=ming&precision=ns"
    assert got["requests"][0]["authorization"] == "Basic bm9kZXJlZDppbmZsdXgtc2VjcmV0"  # nodered:influx-secret


def test_refused_record_dead_lettered_others_stored(observed):
    """A batch holding one record InfluxDB 2.x refuses (400): the others stored and acked, the bad one moved to the
    dead-letter directory and published with the reason, nothing left looping. Mutation tried: 4xx kept in the
    outbox."""
    got = observed["drain_bad_record"]
    assert got["acks"] == ["factory/line/line1/event/ack", "factory/line/line3/event/ack"]
    assert len(got["dead_letters"]) == 1
    assert "InfluxDB refused the record: HTTP 400" in got["dead_letters"][0]
    assert (got["dead_letter_files"], got["outbox"], got["second_requests"]) == (1, 0, 0)
    assert got["first_request"] == {
        "url": "/api/v2/write?org=plant&bucket=ming&precision=ns",
        "authorization": "Token influx-token",
    }
    assert got["request_count"] == 4


def test_puback_only_after_journal(observed):
    """The hook in MQTT.js's handleMessage journals a QoS 1 message before the callback that sends PUBACK; the flow's
    receive node gets that result (accepted once, then a duplicate); QoS 0 and topics outside the subscriptions are
    left alone; a journal that cannot be written sends no PUBACK. Against a stand-in MqttClient class with the same
    handleMessage contract. Mutation tried: the hook calls the original handleMessage first."""
    got = observed["puback_after_journal"]
    assert (got["installed"], got["again"], got["installed5"]) == ("installed", "installed", "installed")
    assert got["journal_at_puback"] == 1
    assert (got["qos0"], got["other"]) == (1, 1)
    assert (got["flow_sees"], got["second"]) == ("accepted", "duplicate")
    assert got["failed"] == "error, no puback"
    assert got["failed5_pubacks"] == 0


def test_puback_held_until_batch_durable_group_commit(observed):
    """Through MQTT.js 5's packet loop (a stand-in with its handlePublish/_sendPacket contract: the next packet is read
    only once PUBACK was handed to _sendPacket), a burst of 40 QoS 1 messages: every PUBACK leaves only after its
    message is on disk, in the order of the PUBLISHes, and the messages read meanwhile share one journal batch
    (group commit: one file and two fsyncs for the burst). Mutations tried: _sendPacket not holding the PUBACK
    (sent before the journal: all_on_disk false); handleMessage waiting for the journal (40 batches)."""
    got = observed["puback_after_journal"]["burst"]
    assert got == {
        "pubacks": 40,
        "all_on_disk": True,
        "in_order": True,
        "read_all_before_all_pubacks": True,
        "batches": 1,
    }


def test_clip_ready_only_after_complete_018(observed):
    """Against the Frigate API double (0.18), not a real Frigate: Frigate serves a partial clip with 200 while the
    event runs; the record is matched only after the event ended and clip_settle_s passed, so the clip the pipeline
    accepted was complete. Mutation tried: accept the first 200 of clip.mp4 (the accepted download incomplete)."""
    got = observed["frigate_clip"]["v18"]
    assert got["correlation"] == "matched", got["error"]
    downloads = [
        d for d in observed["frigate_doubles"]["v18"]["clip_downloads"] if d["event_id"] == got["frigate_event_id"]
    ]
    assert downloads and downloads[-1]["complete"] is True
    event = observed["frigate_doubles"]["v18"]["events"][got["frigate_event_id"]]
    assert got["hops"]["clip_ready"] >= (event["end_time"] + 1) * 1000  # clip_settle_s 1
    assert got["clip_url"].endswith(f"/api/events/{got['frigate_event_id']}/clip.mp4")


def test_clip_400_polled_then_matched_017(observed):
    """Against the Frigate API double (0.17), not a real Frigate: the first clip request after the event ended finds
    no recordings (400 "No recordings found"), which means "not yet": polled until a complete clip, then matched.
    Mutation tried: 400 treated as a failure (timeout)."""
    got = observed["frigate_clip"]["v17"]
    assert got["correlation"] == "matched", got["error"]
    downloads = [
        d for d in observed["frigate_doubles"]["v17"]["clip_downloads"] if d["event_id"] == got["frigate_event_id"]
    ]
    statuses = [d["status"] for d in downloads]
    assert statuses[0] == "no_recordings" and statuses[-1] == "served", statuses
    assert downloads[-1]["complete"] is True


def test_empty_200_not_a_clip_016(observed):
    """Against the Frigate API double (0.16), not a real Frigate: with no recordings 0.16 answers 200 video/mp4 with
    no bytes; that is not a clip: timeout, no clip_url, the reason in the error. Mutation tried: any 200 accepted
    (matched)."""
    got = observed["frigate_clip"]["v16"]
    assert got["correlation"] == "timeout"
    assert got["clip_url"] == ""
    assert "with no bytes" in got["error"]
    assert "clip_ready" not in got["hops"]
    assert observed["frigate_doubles"]["v16"]["clip_downloads"], "the clip was never requested"


def test_self_test_camera_triggers_like_a_real_event(observed):
    """pipeline.self_test.camera names a camera: a self-test event triggers it (camera stub) and creates a Frigate
    event (Frigate API double) like a plant event; its record, line and ack carry self_test true, the plant event's
    false. Mutation tried: cameraFor ignoring self_test.camera (no trigger, correlation none)."""
    got = observed["self_test_camera"]
    selftest, plant = got["records"]
    assert selftest["self_test"] is True and selftest["camera"] == "cam-a"
    assert selftest["correlation"] == "matched", selftest["error"]
    assert selftest["frigate_event_id"] in observed["frigate_doubles"]["v18"]["events"]
    assert got["triggers"] == 1
    assert plant["self_test"] is False and plant["correlation"] == "none"
    acks = {ack["payload"]["line"]: ack["payload"] for ack in got["acks"]}
    assert acks["ming-selftest"]["self_test"] is True and acks["line1"]["self_test"] is False
    lines = sorted(got["written"][0].split("\n"))
    assert "line=ming-selftest" in lines[1] and "self_test=true" in lines[1]


def test_ack_payload_after_storage(observed):
    """The ack published after storage (docs/pipeline.md, read by playbooks/verify.yml): event_id, stored, correlation,
    line, station, self_test, frigate_event_id when there is one, and hops in epoch milliseconds, in order; a hop
    that did not happen is absent. Mutation tried: hops left out of the ack (KeyError)."""
    got = observed["self_test_camera"]
    acks = {ack["payload"]["line"]: ack for ack in got["acks"]}
    selftest = acks["ming-selftest"]
    assert selftest["topic"] == "factory/line/ming-selftest/event/ack"
    payload = selftest["payload"]
    assert set(payload) == {
        "event_id", "stored", "correlation", "line", "station", "self_test", "frigate_event_id", "hops",
    }
    assert payload["stored"] is True and payload["station"] == "ming-selftest"
    hops = payload["hops"]
    assert set(hops) == {
        "received", "journaled", "camera_triggered", "frigate_event_created", "clip_ready", "outbox_written", "stored",
    }
    assert hops["received"] <= hops["journaled"] <= min(hops["camera_triggered"], hops["frigate_event_created"])
    assert max(hops["camera_triggered"], hops["frigate_event_created"]) <= hops["clip_ready"]
    assert hops["clip_ready"] <= hops["outbox_written"] <= hops["stored"]
    assert all(isinstance(value, int) and value > 1.7e12 for value in hops.values())
    plant = acks["line1"]["payload"]
    assert "frigate_event_id" not in plant
    assert set(plant["hops"]) == {"received", "journaled", "outbox_written", "stored"}
