"""The documented project override, end to end: the mosquitto role rolled out with ``compose_project_name`` set to a
name that is not the default (and ``ming_compose_project`` not set at all), through ansible-playbook on this
machine's Docker engine, against the real Mosquitto 2.0.11 broker of the lab image (ming/mosquitto:lab).

Under that name a password change must still reload the broker (SIGHUP: a connected client stays connected, the
container is not restarted, the new password works at once) and a settings change must still restart it (a new
start time, healthy again). Before compose_project named every container, mosquitto named its own from
``ming_compose_project`` and skipped both silently; these tests fail if the lifecycle is skipped again.
The tests run in file order and share one broker.
"""

import uuid

import pytest
from broker_rollout import Rollout, remove_project, require_docker_and_lab_image, secret
from mosquitto_broker import Session, login_code, requires_mosquitto

REFUSED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised, and paho's MQTT 5 numbering
PROJECT = f"plant-{uuid.uuid4().hex[:6]}"

pytestmark = [requires_mosquitto, pytest.mark.mosquitto]


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    require_docker_and_lab_image()
    subject = Rollout(tmp_path_factory.mktemp("project-name"), {"compose_project_name": PROJECT},
                      f"{PROJECT}-mosquitto")
    assert "ming_compose_project" not in subject.variables()
    yield subject
    remove_project(PROJECT)
    leaked = subject.leaked()
    assert leaked == [], f"passwords of {leaked} appeared in a roll-out's output"


def test_the_broker_runs_under_the_plants_project_name(rollout):
    result = rollout.run()
    assert result.changed > 0
    assert rollout.wait_healthy()
    assert rollout.state()["Running"]
    # The configuration directory and the fragment are compose_project's: <base_dir>/<service>/config.
    assert (rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf").exists()
    fragment = (rollout.base_dir / "compose.d" / "mosquitto.yml").read_text()
    assert f"container_name: {PROJECT}-mosquitto" in fragment
    assert login_code(rollout.plain_port, "nodered", rollout.passwords["nodered"]) == 0
    assert rollout.run().changed == 0


def test_a_password_change_reloads_the_broker_under_that_name(rollout):
    started = rollout.state()["StartedAt"]
    nodered = Session(rollout.plain_port, "nodered", rollout.passwords["nodered"], topics=("factory/line/+/event",))
    try:
        assert nodered.accepted
        old_password = rollout.passwords["plc-line1"]
        rollout.passwords["plc-line1"] = secret()

        result = rollout.run()
        assert result.task_changed("Write the password file (reloaded on SIGHUP)")
        assert result.task_changed("Reload mosquitto")
        assert not result.task_changed("Restart mosquitto")
        assert rollout.state()["StartedAt"] == started, "the broker was restarted, not reloaded"

        # The broker read the new password file: the new password works now, the old one no longer does.
        assert login_code(rollout.plain_port, "plc-line1", rollout.passwords["plc-line1"]) == 0
        assert login_code(rollout.plain_port, "plc-line1", old_password) in REFUSED
        plc = Session(rollout.plain_port, "plc-line1", rollout.passwords["plc-line1"])
        plc.publish("factory/line/line1/event", "after reload")
        plc.close()
        assert nodered.wait_for("factory/line/line1/event", "after reload")
        assert nodered.disconnects == 0
    finally:
        nodered.close()


def test_a_settings_change_restarts_the_broker_under_that_name(rollout):
    started = rollout.state()["StartedAt"]
    result = rollout.run(mosquitto_max_queued_messages=500)
    assert result.task_changed("Restart mosquitto")
    assert not result.task_changed("Reload mosquitto")
    assert rollout.state()["StartedAt"] != started
    assert rollout.wait_healthy()
    assert "max_queued_messages 500" in (rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf").read_text()
    assert login_code(rollout.plain_port, "plc-line1", rollout.passwords["plc-line1"]) == 0
    assert rollout.run(mosquitto_max_queued_messages=500).changed == 0
