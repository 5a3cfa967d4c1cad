"""The edge-to-central bridge of a fleet inventory, rolled out by the mosquitto role with ansible-playbook on this
machine's Docker engine, against two real Mosquitto 2.0.11 brokers of the lab image (ming/mosquitto:lab, Debian's
package): an edge broker (plant ``bridgetest``) and a central broker, two inventory hosts with a local connection,
each its own Compose project, both joined to a bridge network the test creates (172.30.x.0/24,
compose_project_network_external) at fixed addresses (mosquitto_network_ipv4_address, ming_broker_address). The
test process is on that bridge (its gateway) and talks to both brokers at their own addresses over TLS, with host
name verification against the certificate the managed CA issued (the SAN carries ming_broker_address).

Nobody writes the bridge or its user by hand: the edge's bridge and the central's bridge user are derived from the
inventory (ming_site_role, ming_plant, ming_central_brokers, mosquitto_central_bridge_password). In file order, on
one pair of brokers: the edge's rendered bridge (addresses, client id, cleansession false, TLS files,
restart_timeout) -> the central's ACL for the derived user -> a QoS 1 message published on the edge arrives at
central over TLS, the bridge logged in with its own identity -> central stopped for MING_OUTAGE_S seconds (default
10; the REDUNDANCY tests run the 60 s version on the fleet stack) while the edge takes QoS 1 messages, every message
arrives after central is back (the bridge's queue, cleansession false, restart_timeout "1 10") -> the derived user
logged in directly may publish on the bridged topics only -> a second run changes nothing -> no password, CA
passphrase or private key line in any output. Bad input (an edge without its bridge password, an edge whose central
is not in the inventory, a restart_timeout with base above cap or not a number, a fixed address that is no IPv4
address) fails in preflight before anything is created.

Mutations tried (each failed a test here): the derived bridge's cleansession true (the rendered bridge test, and
the outage test lost the 5 of 49 messages published before the edge noticed central was gone); ming_broker_address
left out of mosquitto_tls_san (the TLS connection to central at that address failed host name verification); the
bridge user's ACL topics ['#'] (the probe on frigate/ was delivered); the central-bridge preflight assert, the
restart_timeout checks and the fixed address check removed (every bad-input test failed: the run got past
preflight and wrote the base directory, or Mosquitto's own validation refused the file).
"""

import ipaddress
import json
import os
import random
import threading
import time
import uuid

import pytest
import yaml
from broker_rollout import PLAYBOOK, container_state, pem_body_lines, remove_project, require_docker_and_lab_image
from broker_rollout import secret, wait_healthy
from mosquitto_broker import Session, containers_of, docker, free_port, requires_mosquitto, tls_context
from playbook_report import json_report, run_json_playbook

pytestmark = [requires_mosquitto, pytest.mark.mosquitto, pytest.mark.docker, pytest.mark.slow]

PLANT = "bridgetest"
# Where the plant's topics appear on central (the bridge's default remote prefix).
CENTRAL_PREFIX = f"ming/bridge/{PLANT}/"
EDGE = "edge-a.plant.test"  # the short name (edge-a) goes into the bridge identity
CENTRAL = "central-a"
BRIDGE_USER = f"bridge-{PLANT}-edge-a"
OUTAGE_S = float(os.environ.get("MING_OUTAGE_S", "10"))


class BridgeNetwork:
    """``docker network create --subnet 172.30.<x>.0/24`` with a free random x; the host is its gateway (.1)."""

    def __init__(self):
        self.name = f"bridges-{uuid.uuid4().hex[:8]}"
        used = set()
        for line in docker("network", "inspect", *docker("network", "ls", "--quiet").stdout.split(),
                           "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}").stdout.split():
            used.add(ipaddress.ip_network(line, strict=False))
        candidates = [ipaddress.ip_network(f"172.30.{third}.0/24") for third in range(256)]
        free = [net for net in candidates if not any(net.overlaps(other) for other in used)]
        assert free, "no free 172.30.x.0/24 network for the test bridge"
        for subnet in random.sample(free, min(5, len(free))):
            if docker("network", "create", "--subnet", str(subnet), self.name, check=False).returncode == 0:
                self.subnet = subnet
                return
        raise RuntimeError("docker could not create the test bridge network")

    def address(self, host):
        return str(self.subnet.network_address + host)

    def remove(self):
        docker("network", "rm", self.name, check=False)


class Fleet:
    """An edge and a central broker as two inventory hosts; runs rollout.yml over them and keeps every output."""

    def __init__(self, directory, network):
        self.directory = directory
        self.network = network
        suffix = uuid.uuid4().hex[:6]
        self.projects = {EDGE: f"bredge-{suffix}", CENTRAL: f"brcentral-{suffix}"}
        self.address = {EDGE: network.address(11), CENTRAL: network.address(12)} if network else {}
        self.passwords = {name: secret() for name in ("health", "ca-passphrase", "bridge", "plc-line1",
                                                      "central-reader")}
        self.ca_dir = directory / "ca"
        self.edge_port = free_port()  # the same on every run: a new port would recreate the container
        self.outputs = []
        self.key_lines = set()

    def container(self, host):
        return f"{self.projects[host]}-mosquitto"

    def config(self, host):
        return self.directory / host / "mosquitto" / "config"

    def inventory(self, edge=None, central=None, hosts=(EDGE, CENTRAL)):
        """The fleet inventory (``edge``/``central``: host variables to override)."""
        host_vars = {
            EDGE: {
                "ming_compose_project": self.projects[EDGE],
                "ming_base_dir": str(self.directory / EDGE),
                "mosquitto_network_ipv4_address": self.address.get(EDGE, ""),
                "ming_broker_address": f"{self.address.get(EDGE, '10.0.0.11')}/24",
                "mosquitto_listen_addresses": ["127.0.0.1"],
                "mosquitto_tls_port": self.edge_port,
                "mosquitto_central_bridge_password": self.passwords["bridge"],
                "mosquitto_clients": [{"name": "plc-line1", "role": "plc", "line": "line1",
                                       "password": self.passwords["plc-line1"]}],
                **(edge or {}),
            },
            CENTRAL: {
                "ming_compose_project": self.projects[CENTRAL],
                "ming_base_dir": str(self.directory / CENTRAL),
                "mosquitto_network_ipv4_address": self.address.get(CENTRAL, ""),
                "ming_broker_address": f"{self.address.get(CENTRAL, '10.0.0.12')}/24",
                # The edge reaches central at its own address, on the container's port: published on the test
                # bridge's gateway, unique to this network.
                "mosquitto_listen_addresses": [self.network.address(1) if self.network else "127.0.0.1"],
                "mosquitto_tls_port": 8883,
                "mosquitto_clients": [{"name": "central-reader", "role": "nodered",
                                       "read": ["$SYS/broker/connection/#", "ming/bridge/#"],
                                       "password": self.passwords["central-reader"]}],
                **(central or {}),
            },
        }
        inventory = {"all": {
            "vars": {
                "ansible_connection": "local",
                "mosquitto_image": "ming/mosquitto:lab",
                "compose_project_network_external": True,
                "compose_project_network_name": self.network.name if self.network else "none-such",
                "mosquitto_tls_managed_ca_dir": str(self.ca_dir),
                "mosquitto_tls_managed_ca_passphrase": self.passwords["ca-passphrase"],
                "mosquitto_health_password": self.passwords["health"],
            },
            "children": {
                "ming_brokers": {"hosts": {host: host_vars[host] for host in hosts}},
                "ming_plants": {"vars": {"ming_site_role": "edge", "ming_central_brokers": [CENTRAL]},
                                "children": {"plant_bridgetest": {"vars": {"ming_plant": PLANT},
                                                                  "hosts": {EDGE: {}} if EDGE in hosts else {}}}},
                "ming_central": {"vars": {"ming_site_role": "central", "ming_plant": "central"},
                                 "hosts": {CENTRAL: {}} if CENTRAL in hosts else {}},
            },
        }}
        path = self.directory / f"inventory-{uuid.uuid4().hex[:6]}.yml"
        path.write_text(yaml.safe_dump(inventory))
        path.chmod(0o600)
        return path

    def run(self, inventory=None, expect_failure=False, tags=None, limit=None):
        done = run_json_playbook(["-i", str(inventory or self.inventory()), str(PLAYBOOK),
                                  "-e", "broker_rollout_hosts=ming_brokers", *(["--limit", limit] if limit else [])],
                                 tags=tags)
        self.outputs.append(done.stdout + done.stderr)
        for host in (EDGE, CENTRAL):
            for path in (self.ca_dir / "ca.key", self.config(host) / "certs" / "server.key"):
                if path.exists():
                    self.key_lines.update(pem_body_lines(path.read_text()))
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return " ".join((done.stdout + done.stderr).split())
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        return json_report(done.stdout)

    def leaked(self):
        everything = "\n".join(self.outputs)
        return ([name for name, password in self.passwords.items() if password in everything]
                + [f"private key line {line[:12]}..." for line in sorted(self.key_lines) if line in everything])

    def session(self, host, user, topics=()):
        return Session(8883, user, self.passwords.get(user, ""), cafile=self.ca_dir / "ca.crt", topics=topics,
                       host=self.address[host])


def changed(report):
    return sum(stats["changed"] for stats in report["stats"].values())


def changed_tasks(report):
    return [f"{host}: {task['task']['name']}" for play in report["plays"] for task in play["tasks"]
            for host, result in task["hosts"].items() if result.get("changed")]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    require_docker_and_lab_image()
    network = BridgeNetwork()
    subject = Fleet(tmp_path_factory.mktemp("central-bridge"), network)
    try:
        report = subject.run()
        assert changed(report) > 0
        assert wait_healthy(subject.container(CENTRAL)) and wait_healthy(subject.container(EDGE))
        yield subject
    finally:
        for project in subject.projects.values():
            remove_project(project)
        network.remove()
    leaked = subject.leaked()
    assert leaked == [], f"secrets of {leaked} appeared in a roll-out's output"


def bridge_state(fleet):
    """A central session that reads the bridge's connection state notifications."""
    return fleet.session(CENTRAL, "central-reader", topics=(f"$SYS/broker/connection/{BRIDGE_USER}/state",))


def wait_bridge_up(fleet, timeout=60):
    reader = bridge_state(fleet)
    try:
        return reader.wait_for(f"$SYS/broker/connection/{BRIDGE_USER}/state", "1", timeout=timeout)
    finally:
        reader.close()


def test_the_edge_renders_the_bridge_to_central_from_the_inventory(fleet):
    lines = (fleet.config(EDGE) / "conf.d" / "bridges.conf").read_text().splitlines()
    assert "connection central" in lines
    # Every central broker by ming_broker_address without its prefix, with its TLS port.
    assert f"address {fleet.address[CENTRAL]}:8883" in lines
    for line in ("round_robin false", f"remote_clientid {BRIDGE_USER}", f"remote_username {BRIDGE_USER}",
                 "cleansession false", "restart_timeout 1 10", "bridge_cafile /mosquitto/config/certs/ca.crt",
                 "bridge_insecure false", f'topic factory/# out 1 "" {CENTRAL_PREFIX}'):
        assert line in lines, line
    assert any(line.startswith("remote_password ") for line in lines)
    assert (fleet.config(EDGE) / "conf.d" / "bridges.conf").stat().st_mode & 0o777 == 0o640
    # A central broker bridges nowhere.
    assert "connection " not in (fleet.config(CENTRAL) / "conf.d" / "bridges.conf").read_text()
    # The fixed address on the test bridge.
    inspect = json.loads(docker("inspect", fleet.container(EDGE)).stdout)[0]
    assert inspect["NetworkSettings"]["Networks"][fleet.network.name]["IPAddress"] == fleet.address[EDGE]


def test_the_central_broker_has_the_derived_bridge_user_with_its_acl(fleet):
    acl = (fleet.config(CENTRAL) / "acl").read_text()
    block = acl.split(f"user {BRIDGE_USER}\n", 1)[1].split("\nuser ", 1)[0]
    assert f"topic readwrite {CENTRAL_PREFIX}factory/#" in block
    assert f"topic write $SYS/broker/connection/{BRIDGE_USER}/state" in block
    assert BRIDGE_USER in (fleet.config(CENTRAL) / "passwd").read_text()
    assert BRIDGE_USER not in (fleet.config(EDGE) / "passwd").read_text()


def test_a_message_published_on_the_edge_arrives_at_central_over_tls_as_the_bridge(fleet):
    assert wait_bridge_up(fleet), docker("logs", fleet.container(CENTRAL), check=False).stderr[-3000:]
    reader = fleet.session(CENTRAL, "central-reader", topics=(f"{CENTRAL_PREFIX}factory/line/#",))
    plc = fleet.session(EDGE, "plc-line1")
    try:
        assert reader.accepted and plc.accepted
        plc.publish("factory/line/line1/event", "bridged-1", qos=1)
        # Under the plant's prefix on central: plants stay apart there.
        delivered = reader.wait_for(f"{CENTRAL_PREFIX}factory/line/line1/event", "bridged-1", timeout=30)
        assert delivered and delivered[2] == 1, "not carried at QoS 1"
    finally:
        reader.close()
        plc.close()
    # Central has no listener but TLS (and the loopback health probe), and the bridge announced itself under its own
    # identity: only the user BRIDGE_USER may write that connection state topic (wait_bridge_up above).
    conf = (fleet.config(CENTRAL) / "mosquitto.conf").read_text().splitlines()
    assert [line for line in conf if line.startswith("listener ")] == ["listener 1884 127.0.0.1", "listener 8883"]


class PersistentReader:
    """central-reader with a persistent session (clean session false): central keeps its subscription and queues
    its QoS 1 messages while it is away, and paho reconnects by itself after central's restart."""

    def __init__(self, fleet):
        import paho.mqtt.client as mqtt

        self.received = set()
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="central-reader",
                                  protocol=mqtt.MQTTv311, clean_session=False)
        self.client.tls_set_context(tls_context(fleet.ca_dir / "ca.crt"))
        self.client.username_pw_set("central-reader", fleet.passwords["central-reader"])
        self.client.reconnect_delay_set(min_delay=1, max_delay=2)
        self.client.on_connect = lambda client, *_: client.subscribe(f"{CENTRAL_PREFIX}factory/line/line1/outage",
                                                                     qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(fleet.address[CENTRAL], 8883, keepalive=10)
        self.client.loop_start()

    def _on_message(self, _client, _userdata, message):
        with self.lock:
            self.received.add(message.payload.decode())

    def count(self, expected):
        with self.lock:
            return len(self.received & expected)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_central_down_for_a_while_the_bridge_catches_up_with_every_message(fleet):
    reader = PersistentReader(fleet)
    plc = fleet.session(EDGE, "plc-line1")
    try:
        assert reader.subscribed.wait(15) and plc.accepted
        docker("stop", fleet.container(CENTRAL))
        stopped = time.monotonic()
        sent = []
        while time.monotonic() - stopped < OUTAGE_S:
            payload = f"outage-{len(sent)}"
            plc.publish("factory/line/line1/outage", payload, qos=1)  # acknowledged by the edge
            sent.append(payload)
            time.sleep(0.2)
        docker("start", fleet.container(CENTRAL))
        restarted = time.monotonic()
        expected = set(sent)
        deadline = restarted + 90
        while reader.count(expected) < len(expected) and time.monotonic() < deadline:
            time.sleep(0.5)
        print(f"central down {OUTAGE_S:.0f} s, {len(sent)} QoS 1 messages published on the edge, "
              f"{reader.count(expected)} arrived at central, the last "
              f"{time.monotonic() - restarted:.1f} s after central started again")
        assert reader.count(expected) == len(expected), sorted(expected - reader.received)[:20]
        assert plc.disconnects == 0, "the edge dropped its publisher while central was down"
    finally:
        reader.close()
        plc.close()
    assert wait_healthy(fleet.container(CENTRAL))


def test_the_bridge_user_may_publish_on_the_bridged_topics_only(fleet):
    """Logged in directly (it takes the bridge's session for a moment; the bridge comes back by itself)."""
    reader = fleet.session(CENTRAL, "central-reader", topics=("factory/#", "frigate/#", "ming/bridge/#"))
    probe = Session(8883, BRIDGE_USER, fleet.passwords["bridge"], cafile=fleet.ca_dir / "ca.crt",
                    host=fleet.address[CENTRAL])
    try:
        assert probe.accepted and reader.accepted
        # In order on one connection: once the allowed message is in, the refused one would have been too.
        probe.publish("frigate/acl-probe", "refused")
        # Central's own topics and another plant's are not this plant's bridge's to write.
        probe.publish("factory/line/acl/probe", "refused-unprefixed")
        probe.publish("ming/bridge/other-plant/factory/line/acl/probe", "refused-other-plant")
        probe.publish(f"{CENTRAL_PREFIX}factory/line/acl/probe", "allowed")
        assert reader.wait_for(f"{CENTRAL_PREFIX}factory/line/acl/probe", "allowed", timeout=15)
        assert ("frigate/acl-probe", "refused", 1) not in reader.messages
        assert ("factory/line/acl/probe", "refused-unprefixed", 1) not in reader.messages
        assert ("ming/bridge/other-plant/factory/line/acl/probe", "refused-other-plant", 1) not in reader.messages
    finally:
        probe.close()
        reader.close()
    assert wait_bridge_up(fleet), "the bridge did not come back after the probe took its session"


def test_a_second_run_changes_nothing(fleet):
    report = fleet.run()
    assert changed(report) == 0, changed_tasks(report)
    assert container_state(fleet.container(EDGE))["Running"]


def test_no_secret_appeared_in_any_output(fleet):
    assert fleet.key_lines, "no private key lines were collected for the check"
    assert fleet.leaked() == []


# --- bad input ---------------------------------------------------------------------------------------------------

@pytest.fixture
def bad_fleet(tmp_path):
    """A fleet for bad input; should a run get past preflight (a guard removed), its leftovers are removed."""
    subject = Fleet(tmp_path, None)
    yield subject
    for project in subject.projects.values():
        remove_project(project)


def nothing_created(fleet):
    for host, project in fleet.projects.items():
        assert containers_of(project) == []
        assert not (fleet.directory / host).exists(), f"{host}: the base directory was written"
    assert not fleet.ca_dir.exists()


def test_an_edge_without_its_bridge_password_fails_in_preflight(bad_fleet):
    """Both hosts fail: the edge cannot log in, the central cannot create the edge's user."""
    subject = bad_fleet
    output = subject.run(subject.inventory(edge={"mosquitto_central_bridge_password": ""}), expect_failure=True)
    assert f"mosquitto_central_bridge_password is empty for edge broker {EDGE}" in output
    assert f"central broker {CENTRAL} creates that edge's bridge user {BRIDGE_USER}" in output
    nothing_created(subject)
    assert subject.leaked() == []


def test_an_edge_whose_central_is_not_in_the_inventory_fails_in_preflight(bad_fleet):
    subject = bad_fleet
    output = subject.run(subject.inventory(hosts=(EDGE,)), expect_failure=True)
    assert f"ming_central_brokers of edge broker {EDGE} (plant {PLANT}) names {CENTRAL}" in output
    nothing_created(subject)


@pytest.mark.parametrize("edge, message", [
    ({"mosquitto_central_bridge_restart_timeout": "10 5"},
     "restart_timeout is '<base> <cap>' seconds with base <= cap, or one number of seconds (got '10 5')"),
    ({"mosquitto_central_bridge_restart_timeout": "1 x"}, "(got '1 x')"),
    ({"mosquitto_network_ipv4_address": "10.0.0.300"}, "mosquitto_network_ipv4_address '10.0.0.300' must be empty"),
    ({"mosquitto_network_ipv4_address": "10.0.0.3/24"}, "mosquitto_network_ipv4_address '10.0.0.3/24' must be empty"),
], ids=["restart_timeout base above cap", "restart_timeout not a number", "address out of range",
        "address with prefix"])
def test_bad_bridge_and_address_settings_fail_in_preflight(bad_fleet, edge, message):
    """The edge alone (--limit), its central in the inventory: only the bad setting stops it."""
    subject = bad_fleet
    output = subject.run(subject.inventory(edge=edge), expect_failure=True, limit=EDGE)
    assert message in output, output[-3000:]
    assert "ming_central_brokers is not set" not in output and "the inventory does not hold" not in output
    nothing_created(subject)
