"""Published ports admit only the allowed sources: the real Mosquitto 2.0.11 of the lab image (ming/mosquitto:lab)
rolled out by the mosquitto role through compose_project on this machine's Docker 20.10 engine, and a client in a
network namespace this test creates (ip netns, a veth pair). Nothing is a double.

The broker publishes its plain listener on 127.0.0.1 and on the host side of the veth pair; the client in the
namespace connects to that address, so its packets take the path a plant neighbour's take: Docker's DNAT in
PREROUTING, then FORWARD, DOCKER-USER and the service's chain. Traffic goes only to the veth pair's own addresses
(TEST-NET-2, 198.51.100.0/24, assigned by this test to the pair and nowhere else) and to loopback.
"""

import json
import random
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broker"))

from broker_rollout import Rollout, remove_project, require_docker_and_lab_image  # noqa: E402
from mosquitto_broker import login_code, require  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROJECT = f"fw-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-mosquitto"
CLIENT_SCRIPT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=3) as connection:
        # MQTT 3.1.1 CONNECT without credentials: a broker that answers sends CONNACK (0x20).
        connection.sendall(bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 30, 0, 0]))
        print("answered" if connection.recv(4)[:1] == b"\\x20" else "silent")
except OSError as exc:
    print("refused: " + type(exc).__name__)
"""


def sh(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def namespace():
    """A network namespace with one veth pair: 198.51.100.(4n+1) on this host, 198.51.100.(4n+2) inside."""
    require(shutil.which("ip") is not None and shutil.which("iptables") is not None,
            "iproute2 and iptables (Debian packages; docker.io brings iptables)")
    tag = uuid.uuid4().hex[:6]
    name, host_if, client_if = f"mingfw-{tag}", f"vfh{tag}", f"vfc{tag}"
    block = 4 * random.randrange(1, 60)
    host, client = f"198.51.100.{block + 1}", f"198.51.100.{block + 2}"
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", client_if)
        sh("ip", "link", "set", client_if, "netns", name)
        sh("ip", "addr", "add", f"{host}/30", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "netns", "exec", name, "ip", "addr", "add", f"{client}/30", "dev", client_if)
        sh("ip", "netns", "exec", name, "ip", "link", "set", client_if, "up")
        sh("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield {"name": name, "host": host, "client": client}
    finally:
        sh("ip", "link", "del", host_if, check=False)
        sh("ip", "netns", "del", name, check=False)


def from_namespace(namespace, address, port):
    """Connect from inside the namespace: 'answered' (CONNACK), 'silent' or 'refused: <error>'."""
    done = sh("ip", "netns", "exec", namespace["name"], sys.executable, "-c", CLIENT_SCRIPT, address, str(port))
    return done.stdout.strip()


def chain_rules(chain):
    done = sh("iptables", "-w", "-S", chain, check=False)
    return done.stdout.splitlines() if done.returncode == 0 else None


def remove_chain(chain):
    while sh("iptables", "-w", "-D", "DOCKER-USER", "-j", chain, check=False).returncode == 0:
        pass
    sh("iptables", "-w", "-F", chain, check=False)
    sh("iptables", "-w", "-X", chain, check=False)


@pytest.fixture(scope="module")
def broker(tmp_path_factory, namespace):
    require_docker_and_lab_image()
    rollout = Rollout(tmp_path_factory.mktemp("firewall"), {"ming_compose_project": PROJECT}, CONTAINER)
    rollout.addresses = ["127.0.0.1", namespace["host"]]
    yield rollout
    remove_project(PROJECT)
    remove_chain(CONTAINER)


def test_only_allowed_sources_reach_the_published_ports(broker, namespace):
    """No allowed source: the namespace client's connection to the published address is dropped while this host's
    loopback login still works. Its address allowed: it gets a CONNACK. Check mode on a change reports it and leaves
    the chain as it is; an unchanged re-run is changed=0; the chain is jumped to from DOCKER-USER before Docker's
    RETURN."""
    closed = broker.run(mosquitto_listen_addresses=broker.addresses, compose_project_allowed_sources=[])
    assert broker.wait_healthy(), broker.state()
    assert from_namespace(namespace, namespace["host"], broker.plain_port).startswith("refused"), \
        "a source that is not allowed reached the broker"
    assert login_code(broker.plain_port, "nodered", broker.passwords["nodered"]) == 0, "loopback login failed"
    assert closed.task_changed("Apply the service's firewall chain | mosquitto")
    rules = chain_rules(CONTAINER)
    assert f"-A {CONTAINER} -p tcp -m conntrack --ctorigdst {namespace['host']} --ctorigdstport {broker.plain_port} " \
        "--ctdir ORIGINAL -j DROP" in rules, rules
    user_chain = chain_rules("DOCKER-USER")
    assert user_chain.index(f"-A DOCKER-USER -j {CONTAINER}") < user_chain.index("-A DOCKER-USER -j RETURN")

    allowed = {"mosquitto_listen_addresses": broker.addresses, "compose_project_allowed_sources": [namespace["client"]]}
    predicted = broker.run(check=True, **allowed)
    assert predicted.task_changed("Apply the service's firewall chain | mosquitto")
    assert chain_rules(CONTAINER) == rules, "check mode changed the chain"
    assert from_namespace(namespace, namespace["host"], broker.plain_port).startswith("refused")

    opened = broker.run(**allowed)
    assert opened.task_changed("Apply the service's firewall chain | mosquitto")
    assert from_namespace(namespace, namespace["host"], broker.plain_port) == "answered"
    assert login_code(broker.plain_port, "nodered", broker.passwords["nodered"]) == 0

    again = broker.run(**allowed)
    assert again.changed == 0, again.changed_tasks()
    spec = json.loads((broker.base_dir / "firewall" / "mosquitto.json").read_text())
    assert spec["chain"] == CONTAINER and spec["ports"][0]["sources"] == [namespace["client"]]
    assert broker.leaked() == []


@pytest.mark.parametrize(("overrides", "named"), [
    ({"mosquitto_listen_addresses": ["0.0.0.0"]}, "compose_project_allow_wildcard_addresses"),
    ({"mosquitto_listen_addresses": ["::"]}, "compose_project_allow_wildcard_addresses"),
    ({"mosquitto_listen_address": "127.0.0.1"}, "mosquitto_listen_address was replaced"),
], ids=["0.0.0.0", "::", "renamed-variable"])
def test_a_wildcard_address_is_refused_before_anything_is_written(tmp_path, namespace, overrides, named):
    """0.0.0.0 or :: without compose_project_allow_wildcard_addresses, or the former mosquitto_listen_address: the
    broker's preflight refuses it, naming the variable and the fix, and neither the base directory nor a container
    nor a firewall chain exists."""
    require_docker_and_lab_image()
    project = f"fwwild-{uuid.uuid4().hex[:6]}"
    rollout = Rollout(tmp_path, {"ming_compose_project": project}, f"{project}-mosquitto")
    try:
        output = rollout.run(expect_failure=True, **overrides)
        assert "mosquitto_listen_addresses" in output and named in output, output[-3000:]
        assert not rollout.base_dir.exists()
        assert chain_rules(f"{project}-mosquitto") is None
    finally:
        remove_project(project)
