"""A plant's broker pair behind a keepalived VIP and its bridge to central, rolled out with the real site.yml and
then hurt: real Mosquitto 2.0 (ming/mosquitto:lab) and real keepalived 2.2.7 (ming/keepalived:lab) in containers on
a Docker bridge network the test creates (real VRRP unicast, the VIP a secondary address keepalived adds and
removes, gratuitous ARP); the clients are paho-mqtt 2.2 on this machine over TLS. Nothing is simulated.

One stack for the whole module (one roll-out; the tests run in file order and each leaves the pair as it found it,
the VIP on edge-a): converge, then a second run changes nothing -> the active host dies while a PLC publishes QoS 1
events through the VIP at 20/s -> only its broker dies -> its broker hangs (frozen) -> central is down for
MING_OUTAGE_S (default 60) s -> a rolling roll-out of a broker change that restarts each broker while a probe does an
MQTT round trip through the VIP every 200 ms.

The promise asserted is "zero acknowledged events lost": every event whose PUBACK the PLC got is recorded by the
recorder that subscribes to both brokers (Node-RED's way). Counts, the loss window (events sent but neither
acknowledged nor recorded: the PLC would send them again), the VIP move and the first event recorded after the kill
are printed, never asserted (time on a loaded 2-core machine is noise); tests/bench/bench_failover.py measures them.

Mutations tried (each made a test here fail, then was undone):
- edge-a's keepalived.conf without its track_script (reloaded by SIGHUP): test_broker_hung fails, the VIP stays on
  the frozen broker (its host lives, so VRRP alone never moves it).
- the recorder on edge-a only (what a single-broker Node-RED does): test_host_killed fails, acknowledged events
  missing.
"""

import os
import time
from datetime import UTC, datetime

import pytest
from fleet import (
    PAIR,
    PLANT,
    Fleet,
    Probe,
    Publisher,
    Recorder,
    TestNetwork,
    failover_figures,
    require_images,
    round_trip,
)

# A PLC's steady rate (events per second) while a broker fails.
RATE = 20.0
# Central's outage; CI uses the 60 s, MING_OUTAGE_S shortens it on a workstation.
OUTAGE_S = float(os.environ.get("MING_OUTAGE_S", "60"))

pytestmark = [pytest.mark.docker, pytest.mark.mosquitto, pytest.mark.slow]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    require_images()
    network = TestNetwork().create()
    subject = Fleet(tmp_path_factory.mktemp("redundancy"), network)
    try:
        subject.first_run = subject.rollout()
        yield subject
    finally:
        subject.teardown()
    assert subject.leaked() == [], f"secrets {subject.leaked()} appeared in a roll-out's output"


def ids(found):
    """A list of event ids as a count and its first few."""
    return f"{len(found)} {found[:10]}{' ...' if len(found) > 10 else ''}"


def report(title, figures, moved):
    print(f"\n{title}: published {figures['published']}, acknowledged {figures['acked']}, recorded "
          f"{figures['recorded']}; acknowledged but lost {ids(figures['acked_lost'])}; loss window (sent, neither "
          f"acknowledged nor recorded) {ids(figures['loss_window'])}; duplicates dropped "
          f"{figures['duplicates_dropped']}")
    first = figures["first_recorded_after_kill_s"]
    print(f"{title}: VIP moved after {moved if moved is None else round(moved, 2)} s, first event recorded after "
          f"{first if first is None else round(first, 2)} s")


def failover(fleet, kill, victim="edge-a", survivor="edge-b"):
    """Publish through the VIP, kill ``victim`` with ``kill``, keep publishing on the survivor; the figures and the
    VIP move time. The clients are stopped whatever happens (a client left running would keep taking its user's
    session over from the next test's)."""
    assert fleet.wait_vip(victim, timeout=30) is not None, f"the VIP is not on {victim} before the kill"
    recorder = Recorder(fleet, [fleet.addresses[host] for host in PAIR])
    publisher = Publisher(fleet, rate=RATE)
    try:
        recorder.start()
        publisher.start()
        time.sleep(2)  # steady publishing before the failure
        killed_at = time.monotonic()
        kill(victim)
        dead_at = time.monotonic()
        moved = fleet.wait_vip(survivor, timeout=20, since=killed_at)
        time.sleep(4)  # publishing through the survivor
        publisher.stop()
        recorder.wait_for(publisher.acked, timeout=15)
    finally:
        publisher.stop()
        recorder.stop()
    return failover_figures(publisher, recorder, killed_at, dead_at), moved


def assert_no_acknowledged_loss(figures, moved, survivor="edge-b"):
    assert moved is not None, f"the VIP did not move to {survivor}"
    assert figures["acked"] > 0
    assert figures["acked_lost"] == [], f"acknowledged events were never recorded: {ids(figures['acked_lost'])}"
    assert figures["first_recorded_after_kill_s"] is not None, "no event published after the kill was recorded"


def restored(fleet, host="edge-a"):
    """The host is back (its broker, then keepalived) and, with the higher priority, takes the VIP back."""
    fleet.start_host(host)
    assert fleet.wait_broker(host), f"{host}'s broker did not come back"
    assert fleet.wait_vip(host, timeout=30) is not None, f"the VIP did not return to {host} (priority 150)"


def test_converges_and_a_second_run_changes_nothing(fleet):
    first = fleet.first_run
    for host in ("edge-a", "edge-b", "central"):
        assert first.changed(host) > 0, f"the first roll-out changed nothing on {host}"
    assert fleet.wait_vip("edge-a", timeout=30) is not None, "the VIP is not on edge-a (priority 150)"
    assert not fleet.holds_vip("edge-b")
    assert round_trip(fleet.vip, fleet), "no MQTT round trip through the VIP"
    second = fleet.rollout()
    assert second.changed() == 0, second.changed_tasks()
    assert set(second.stats) == {"edge-a", "edge-b", "central"}


def test_host_killed(fleet):
    """The active broker host dies (both its containers killed at once)."""
    figures, moved = failover(fleet, fleet.kill_host)
    report("host killed", figures, moved)
    assert_no_acknowledged_loss(figures, moved)
    restored(fleet)


def test_broker_killed(fleet):
    """The active host's broker dies, the host and its keepalived live on. keepalived shares the broker container's
    network namespace (keepalived_network_mode service:mosquitto), so the broker's death also takes the address away
    and keepalived goes to FAULT with its interface; test_broker_hung covers a broker that dies in place."""
    figures, moved = failover(fleet, fleet.kill_service)
    report("broker killed", figures, moved)
    assert_no_acknowledged_loss(figures, moved)
    restored(fleet)


def test_broker_hung(fleet):
    """The active host's broker hangs (frozen; its network namespace, its address and keepalived stay): VRRP adverts
    keep flowing, so only the health check, a real MQTT round trip, can move the VIP."""
    figures, moved = failover(fleet, fleet.hang_service)
    report("broker hung", figures, moved)
    assert_no_acknowledged_loss(figures, moved)
    fleet.resume_service("edge-a")
    assert fleet.wait_broker("edge-a"), "edge-a's broker did not answer again"
    assert fleet.wait_vip("edge-a", timeout=30) is not None, "the VIP did not return to edge-a (priority 150)"


def test_central_outage(fleet):
    """Central is down for OUTAGE_S: the plant keeps recording everything at once; when central returns, a central
    subscriber (clean_session false, subscribed before the outage) receives every event through the bridges."""
    central = Recorder(fleet, [fleet.addresses["central"]], topic=f"ming/bridge/{PLANT}/factory/#")
    edge = Recorder(fleet, [fleet.addresses[host] for host in PAIR])
    publisher = Publisher(fleet, rate=RATE)
    try:
        central.start()
        edge.start()
        publisher.start()
        time.sleep(1)
        fleet.stop_host("central")
        stopped = time.monotonic()
        backlog = []
        while time.monotonic() - stopped < OUTAGE_S:
            time.sleep(1)
            with publisher.lock:
                acked = set(publisher.acked)
            backlog.append(len(acked - set(edge.recorded)))
        # Still during the outage: the edge has recorded everything the PLC had acknowledged by now.
        with publisher.lock:
            acked_during_outage = set(publisher.acked)
        edge_missing_during_outage = edge.wait_for(acked_during_outage, timeout=10)
        fleet.start_host("central")
        returned = time.monotonic()
        time.sleep(1)
        publisher.stop()
        edge_missing = edge.wait_for(publisher.acked, timeout=10)
        central_missing = central.wait_for(publisher.published, timeout=60)
        caught_up = time.monotonic() - returned
    finally:
        publisher.stop()
        edge.stop()
        central.stop()
    figures = failover_figures(publisher, central, stopped, stopped)
    print(f"\ncentral outage {OUTAGE_S:.0f} s: published {figures['published']}, acknowledged {figures['acked']}, "
          f"recorded at the edge {len(edge.recorded)}, at central {figures['recorded']}; the edge's largest backlog "
          f"of acknowledged, unrecorded events during the outage {max(backlog, default=0)}; central caught up "
          f"{caught_up:.1f} s after it returned; missing at central {sorted(central_missing)[:20]}")
    assert edge_missing == set(), f"the edge did not record acknowledged events: {sorted(edge_missing)[:20]}"
    assert edge_missing_during_outage == set(), (
        f"the edge did not record while central was down: {sorted(edge_missing_during_outage)[:20]}")
    assert central_missing == set(), f"central never received {len(central_missing)} events"


def parse_utc(stamp):
    """The JSON callback's ISO 8601 time stamp (``...Z``) as an aware datetime."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def test_rolling_rollout(fleet):
    """A broker configuration change rolled out through site.yml while a probe does an MQTT round trip through the
    VIP every 200 ms: a new client (password file and ACL) and a new mosquitto_max_queued_messages (mosquitto.conf,
    which restarts every broker). The plant's brokers change one at a time (the JSON report's batches, and the
    change windows of the two hosts do not overlap), each was really restarted, and the VIP kept answering."""
    fleet.extra_clients.append({"name": "plc-line9", "role": "plc", "line": "line9", "password": "pw-rolling-line9"})
    fleet.passwords["plc-line9"] = "pw-rolling-line9"
    fleet.broker_overrides["mosquitto_max_queued_messages"] = 100001
    before = {host: fleet.started_at(host) for host in PAIR}
    assert fleet.wait_vip("edge-a", timeout=30) is not None
    # The callback's time stamps are UTC wall clock, the probe's monotonic: one offset maps the probe's onto them.
    clock_offset = time.time() - time.monotonic()
    probe = Probe(fleet).start()
    try:
        # The plant only: central's broker has nothing to do with the VIP (and its run would only add time).
        run = fleet.rollout(limit="plant_t")
    finally:
        probe.stop()
    windows = {host: run.change_window(host, "MQTT brokers") for host in PAIR}
    batches = run.batches("MQTT brokers")
    print(f"\nrolling roll-out: broker batches {batches}; change windows {windows}; probe round trips "
          f"{len(probe.successes)} ok, {probe.failures} failed, longest gap {probe.max_gap():.2f} s")
    assert all(windows.values()), f"the change did not reach every broker of the pair: {windows}"
    assert all(fleet.started_at(host) != before[host] for host in PAIR), "a broker of the pair was not restarted"
    pair_batches = [batch for batch in batches if set(batch) & set(PAIR)]
    assert all(len(set(batch) & set(PAIR)) == 1 for batch in pair_batches), pair_batches
    first, second = sorted(windows.values())
    assert first[1] <= second[0], f"the pair's brokers changed at the same time: {windows}"
    # While each broker was being changed (and restarted), the other one answered at the VIP: round trips completed
    # inside each host's change window. Both brokers down at once would leave a window without one.
    answered = [datetime.fromtimestamp(clock_offset + done, UTC) for done in probe.successes]
    for host, (start, end) in windows.items():
        opened, closed = parse_utc(start), parse_utc(end)
        assert any(opened <= moment <= closed for moment in answered), (
            f"the VIP answered no round trip while {host} was being changed ({start} .. {end})")
    assert round_trip(fleet.vip, fleet), "the VIP does not answer after the roll-out"
