"""The keepalived role rolled out as a broker pair on this machine's Docker engine: real keepalived 2.2.7 (Debian's
package, ming/keepalived:lab) and the real Mosquitto 2.0.11 broker (ming/mosquitto:lab), no double.

Two inventory hosts (``ansible_connection: local``), each its own Compose project and base directory, stand for the
two broker hosts of a plant. Both join a bridge network the test creates (``--subnet 172.30.<random>.0/24``,
``compose_project_network_external``) at fixed addresses (.11 and .12, ``mosquitto_network_ipv4_address``); VIP .100.
keepalived runs with ``keepalived_network_mode: service:mosquitto`` (in the broker container's network namespace),
with NET_ADMIN as its only added capability. pair_rollout.yml rolls out mosquitto, keepalived and the health gate,
one host at a time as site.yml does. The tests run in file order and share the pair:

first roll-out -> exactly one broker holds the VIP, the one with the higher keepalived_priority -> the container
baseline (cap_add exactly [NET_ADMIN], not privileged, NET_RAW not dropped, read-only root, no-new-privileges) ->
the health password is in no process's arguments, not in keepalived.conf and in no roll-out's output -> a second
roll-out of keepalived (``--tags keepalived``: its tasks and the health gate) changes nothing -> the check script
fails while the backup's broker does not answer (container paused) and passes again once it does -> a configuration
keepalived refuses (advert_int 100 with VRRPv3) is kept out by ``keepalived -t`` (the live file, the container and
the VIP untouched) -> ``docker kill`` of the master's broker container moves the VIP to the other broker (bounded
poll; the time is printed, not asserted); the dead broker's check fails; after the broker container is started
again, the role's deploy step recreates keepalived in the broker's new network namespace and the higher priority
takes the VIP back.
test_preflight_refuses runs the keepalived role alone (keepalived_only.yml), once per bad input, and asserts the
message names the variable and the host and that no container and no keepalived file was created.

Mutations tried, all at once in one run of this file from a mutated copy of the collection (each named test failed,
the three others passed; the copy was then deleted):
- ``validate:`` removed from the keepalived.conf task -> test_a_config_keepalived_refuses_is_kept_out (the run
  succeeded: "changed": 1).
- cap_add [NET_ADMIN, NET_BROADCAST] in the service definition (and its loosen declaration) -> test_container_baseline.
- the health password written into keepalived.conf (a comment line) and ``no_log`` removed from the login file task
  -> test_password_in_no_argv_config_or_output (and the module's output check: "['health'] appeared").
- the step that recreates keepalived in the broker's new network namespace disabled -> test_vip_moves_when_the_master_
  broker_dies (VIP holders: ['ka-b'] after ka-a's broker came back).
- every preflight assert emptied -> every test_preflight_refuses case (the run went on and created keepalived).
"""

import json
import random
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import containers_of, docker, free_port, remove_compose_project, require
from playbook_report import json_report, run_json_playbook

HERE = Path(__file__).resolve().parent
PAIR_PLAYBOOK = HERE / "pair_rollout.yml"
KEEPALIVED_ONLY = HERE / "keepalived_only.yml"
IMAGES = ("ming/mosquitto:lab", "ming/keepalived:lab")
SUFFIX = uuid.uuid4().hex[:6]
HOSTS = ("ka-a", "ka-b")
PRIORITIES = {"ka-a": 150, "ka-b": 100}
CHECK = "/usr/local/bin/ming-mqtt-check"
SCRIPT_USER = "8112:8112"

pytestmark = [pytest.mark.docker, pytest.mark.mosquitto, pytest.mark.slow]


def require_docker_and_images():
    done = subprocess.run(["docker", "image", "inspect", *IMAGES], capture_output=True, check=False)
    require(done.returncode == 0, f"needs the Docker engine (scripts/docker-engine.sh) and {', '.join(IMAGES)} "
                                  "(scripts/build-lab-images.sh mosquitto keepalived)")


def create_network(name):
    """A bridge on a random free 172.30.x.0/24; the subnet's third octet."""
    octets = random.sample(range(0, 256), 20)
    for octet in octets:
        done = docker("network", "create", "--driver", "bridge", "--subnet", f"172.30.{octet}.0/24", name, check=False)
        if done.returncode == 0:
            return octet
    raise RuntimeError(f"no free 172.30.x.0/24 for the test network: {done.stderr}")


class Pair:
    """The two broker hosts, their inventory and every roll-out's output."""

    def __init__(self, directory, octet, network, projects, prefix="ka"):
        self.directory = directory
        self.net = f"172.30.{octet}"
        self.network = network
        self.projects = projects
        self.vip = f"{self.net}.100"
        self.addresses = {"ka-a": f"{self.net}.11", "ka-b": f"{self.net}.12"}
        self.passwords = {"health": f"pw-{uuid.uuid4().hex}", "ca-passphrase": f"pw-{uuid.uuid4().hex}"}
        self.router_id = random.randint(1, 255)
        self.outputs = []
        self.inventory = directory / "inventory.yml"
        self.write_inventory()

    def host_vars(self, host):
        return {
            "ming_compose_project": self.projects[host],
            "ming_base_dir": str(self.directory / host),
            "mosquitto_network_ipv4_address": self.addresses[host],
            "ming_broker_address": f"{self.addresses[host]}/24",
            "keepalived_priority": PRIORITIES[host],
            "mosquitto_tls_port": free_port(),
            "mosquitto_tls_san": [host, self.addresses[host], self.vip],
        }

    def group_vars(self):
        return {
            "ansible_connection": "local",
            "compose_project_network_external": True,
            "compose_project_network_name": self.network,
            "keepalived_network_mode": "service:mosquitto",
            "keepalived_virtual_router_id": self.router_id,
            "ming_broker_vip": self.vip,
            "mosquitto_image": "ming/mosquitto:lab",
            "mosquitto_listen_addresses": ["127.0.0.1"],
            "mosquitto_tls_managed_ca_dir": str(self.directory / "ca"),
            "mosquitto_tls_managed_ca_passphrase": self.passwords["ca-passphrase"],
            "mosquitto_health_password": self.passwords["health"],
            "mosquitto_clients": [],
            "keepalived_health_gate_timeout": 30,
        }

    def write_inventory(self, host_overrides=None, group_overrides=None):
        hosts = {host: {**self.host_vars(host), **(host_overrides or {}).get(host, {})} for host in HOSTS}
        inventory = {"all": {"children": {"ming_brokers": {
            "hosts": hosts, "vars": {**self.group_vars(), **(group_overrides or {})}}}}}
        self.inventory.write_text(yaml.safe_dump(inventory))
        self.inventory.chmod(0o600)

    def run(self, playbook=PAIR_PLAYBOOK, expect_failure=False, extra=()):
        done = run_json_playbook(["-i", str(self.inventory), str(playbook), *extra], timeout=900)
        self.outputs.append(done.stdout + done.stderr)
        if expect_failure:
            assert done.returncode != 0, done.stdout[-4000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        return json_report(done.stdout)

    def container(self, host, service):
        return f"{self.projects[host]}-{service}"

    def holds_vip(self, host):
        done = docker("exec", self.container(host, "keepalived"), "ip", "-4", "-o", "addr", "show", "dev", "eth0",
                      check=False)
        return f" {self.vip}/" in done.stdout

    def holders(self):
        return [host for host in HOSTS if self.holds_vip(host)]

    def wait_for_holder(self, host, timeout=20.0):
        """Bounded poll until ``host`` alone holds the VIP; True when it did."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.holders() == [host]:
                return True
            time.sleep(0.1)
        return False

    def check(self, host, address=None):
        """The health check script as keepalived runs it (as keepalived_script), against ``address`` (default: the
        host's own): its exit code."""
        return docker("exec", "--user", SCRIPT_USER, self.container(host, "keepalived"), CHECK,
                      address or self.addresses[host], "8883", "/config/ca.crt", "/config/mqtt", check=False).returncode

    def leaked(self):
        everything = "\n".join(self.outputs)
        return [name for name, password in self.passwords.items() if password in everything]


def changed_by_host(report):
    return {host: stats["changed"] for host, stats in report["stats"].items()}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    require_docker_and_images()
    directory = tmp_path_factory.mktemp("keepalived-pair")
    network = f"keepalived-test-{SUFFIX}"
    projects = {host: f"katest-{SUFFIX}-{host[-1]}" for host in HOSTS}
    octet = create_network(network)
    subject = Pair(directory, octet, network, projects)
    try:
        subject.first = subject.run()
        yield subject
    finally:
        for project in projects.values():
            remove_compose_project(project, services=("mosquitto", "keepalived"))
        docker("network", "rm", network, check=False)
    leaked = subject.leaked()
    assert leaked == [], f"{leaked} appeared in a roll-out's output"


def test_one_broker_holds_the_vip_and_the_higher_priority_wins(pair):
    assert pair.wait_for_holder("ka-a"), f"VIP holders: {pair.holders()} (ka-a has the higher priority)"
    assert not pair.holds_vip("ka-b")
    # The client side: the broker answers at the VIP (a real MQTT round trip over TLS, the certificate validated).
    assert pair.check("ka-b", pair.vip) == 0


def test_a_vrrp_speaker_that_is_not_a_peer_cannot_take_the_vip_from_the_pair(pair):
    """A third keepalived on the plant network (.13, not in the pair's unicast peers) adverts the pair's router id and
    VIP with priority 254, unicast to both brokers, for a few advert intervals: the master keeps the VIP, because the
    role's configuration accepts adverts from its peers only (vrrp_check_unicast_src)."""
    assert pair.wait_for_holder("ka-a")
    rogue = f"keepalived-rogue-{SUFFIX}"
    config = pair.directory / "rogue.conf"
    config.write_text(
        "global_defs {\n    vrrp_version 3\n}\n"
        "vrrp_instance rogue {\n    state MASTER\n    interface eth0\n"
        f"    virtual_router_id {pair.router_id}\n    priority 254\n    advert_int 0.5\n"
        f"    unicast_src_ip {pair.net}.13\n"
        f"    unicast_peer {{\n        {pair.addresses['ka-a']}\n        {pair.addresses['ka-b']}\n    }}\n"
        f"    virtual_ipaddress {{\n        {pair.vip}/24 dev eth0\n    }}\n}}\n")
    config.chmod(0o644)
    docker("run", "-d", "--name", rogue, "--network", pair.network, "--ip", f"{pair.net}.13", "--cap-add",
           "NET_ADMIN", "-v", f"{config}:/etc/keepalived/rogue.conf:ro", "ming/keepalived:lab",
           "keepalived", "-n", "-l", "-D", "-f", "/etc/keepalived/rogue.conf")
    try:
        deadline = time.monotonic() + 8
        rogue_up = False
        while time.monotonic() < deadline:
            state = docker("exec", rogue, "ip", "-4", "-o", "addr", "show", "dev", "eth0", check=False).stdout
            rogue_up = rogue_up or f" {pair.vip}/" in state
            assert pair.holds_vip("ka-a"), "ka-a gave the VIP up to a VRRP speaker that is not its peer"
            time.sleep(0.25)
        # The speaker was really there, adverting as master with the VIP (else the test proves nothing).
        assert rogue_up, docker("logs", rogue, check=False).stderr[-2000:]
    finally:
        docker("rm", "-f", rogue, check=False)
    assert pair.wait_for_holder("ka-a")


def test_container_baseline(pair):
    for host in HOSTS:
        config = json.loads(docker("inspect", "--format", "{{json .HostConfig}}",
                                   pair.container(host, "keepalived")).stdout)
        cap_add = [cap.removeprefix("CAP_") for cap in config["CapAdd"] or []]
        cap_drop = [cap.removeprefix("CAP_") for cap in config["CapDrop"] or []]
        assert cap_add == ["NET_ADMIN"]
        assert config["Privileged"] is False
        assert "NET_RAW" not in cap_drop and "ALL" not in cap_drop, cap_drop
        assert config["ReadonlyRootfs"] is True
        assert "no-new-privileges:true" in config["SecurityOpt"]
        assert config["NetworkMode"].startswith("container:")


def test_password_in_no_argv_config_or_output(pair):
    password = pair.passwords["health"]
    conf = (pair.directory / "ka-a" / "keepalived" / "config" / "keepalived.conf").read_text()
    assert CHECK in conf and password not in conf
    login = pair.directory / "ka-a" / "keepalived" / "config" / "mqtt" / "mosquitto_sub"
    assert login.stat().st_mode & 0o777 == 0o600 and login.stat().st_uid == 8112
    inspect = docker("inspect", "--format", "{{json .Config}}", pair.container("ka-a", "keepalived")).stdout
    assert password not in inspect
    # The check runs every second for a few ms: sample the process list while it does.
    samples = [docker("exec", pair.container("ka-a", "keepalived"), "ps", "-eo", "args").stdout for _n in range(25)]
    assert all("keepalived" in sample for sample in samples)
    assert not any(password in sample for sample in samples)
    assert pair.leaked() == []


def test_second_rollout_changes_nothing(pair):
    # keepalived's tasks and the health gate (--tags keepalived): the broker's own idempotence is the broker tests'.
    report = pair.run(extra=["--tags", "keepalived"])
    assert changed_by_host(report) == {"ka-a": 0, "ka-b": 0}
    assert pair.holders() == ["ka-a"]


def test_check_fails_while_the_broker_does_not_answer(pair):
    broker = pair.container("ka-b", "mosquitto")
    assert pair.check("ka-b") == 0
    docker("pause", broker)
    try:
        assert pair.check("ka-b") != 0
    finally:
        docker("unpause", broker)
    deadline = time.monotonic() + 15
    while pair.check("ka-b") != 0 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert pair.check("ka-b") == 0


def test_a_config_keepalived_refuses_is_kept_out(pair):
    live = pair.directory / "ka-a" / "keepalived" / "config" / "keepalived.conf"
    before = live.read_text()
    container = docker("inspect", "--format", "{{.Id}}", pair.container("ka-a", "keepalived")).stdout.strip()
    # VRRPv3 allows adverts up to 40.95 s: the argument spec takes 100, keepalived -t refuses it.
    output = pair.run(expect_failure=True, extra=["--limit", "ka-a", "--tags", "keepalived_configure",
                                                  "-e", "keepalived_advert_int=100"])
    assert "keepalived.conf" in output and "out of range" in output, output[-3000:]
    assert live.read_text() == before
    assert docker("inspect", "--format", "{{.Id}}", pair.container("ka-a", "keepalived")).stdout.strip() == container
    assert pair.holders() == ["ka-a"]


def test_vip_moves_when_the_master_broker_dies(pair):
    assert pair.holders() == ["ka-a"]
    killed = time.monotonic()
    docker("kill", pair.container("ka-a", "mosquitto"))
    moved = pair.wait_for_holder("ka-b", timeout=20)
    print(f"\nVIP on ka-b {time.monotonic() - killed:.2f} s after docker kill of ka-a's broker was issued")
    assert moved, f"VIP holders: {pair.holders()}"
    # The dead broker's check fails (its keepalived is left in a network namespace without the plant network).
    assert pair.check("ka-a") != 0
    # The broker comes back; the role's deploy step puts keepalived into its new namespace, and the higher
    # priority takes the VIP back (preemption, after two good checks).
    docker("start", pair.container("ka-a", "mosquitto"))
    pair.run(extra=["--limit", "ka-a", "--tags", "keepalived_deploy"])
    assert pair.wait_for_holder("ka-a", timeout=20), f"VIP holders: {pair.holders()}"
    assert pair.check("ka-a") == 0


PREFLIGHT_CASES = {
    "vip-missing": ({"ming_broker_vip": ""}, "ming_broker_vip"),
    "vip-not-ipv4": ({"ming_broker_vip": "172.30.0.300"}, "ming_broker_vip"),
    "address-missing": ({"ming_broker_address": ""}, "ming_broker_address"),
    "address-without-prefix": ({"ming_broker_address": "ADDR"}, "ming_broker_address"),
    "vip-outside-subnet": ({"ming_broker_vip": "10.99.0.5"}, "ming_broker_vip"),
    "vip-is-peer-address": ({"ming_broker_vip": "PEER"}, "ming_broker_vip"),
    "priority-255": ({"keepalived_priority": 255}, "keepalived_priority"),
    "priority-unset": ({"keepalived_priority": 0}, "keepalived_priority"),
    "router-id-256": ({"keepalived_virtual_router_id": 256}, "keepalived_virtual_router_id"),
    "interface-empty-host-mode": ({"keepalived_network_mode": "host", "keepalived_interface": ""},
                                  "keepalived_interface"),
}


@pytest.mark.parametrize("case", sorted(PREFLIGHT_CASES))
def test_preflight_refuses(case, tmp_path):
    """One run of the keepalived role alone per bad input: it fails in preflight, naming the variable and the host,
    and creates no container and no file of keepalived."""
    require_docker_and_images()
    overrides, variable = PREFLIGHT_CASES[case]
    suffix = uuid.uuid4().hex[:6]
    projects = {host: f"kapre-{suffix}-{host[-1]}" for host in HOSTS}
    subject = Pair(tmp_path, 31, f"keepalived-preflight-{suffix}", projects)
    replace = {"ADDR": subject.addresses["ka-a"], "PEER": subject.addresses["ka-b"]}
    overrides = {key: replace.get(value, value) if isinstance(value, str) else value
                 for key, value in overrides.items()}
    subject.write_inventory(host_overrides={"ka-a": overrides})
    try:
        output = subject.run(playbook=KEEPALIVED_ONLY, expect_failure=True, extra=["--limit", "ka-a"])
    finally:
        created = containers_of(projects["ka-a"])
        if created:
            remove_compose_project(projects["ka-a"], services=("keepalived",))
    failures = [host.get("msg", "") for play in json_report(output)["plays"]
                for task in play["tasks"] for host in task["hosts"].values() if host.get("failed")]
    assert len(failures) == 1, failures
    assert variable in failures[0] and "ka-a" in failures[0], failures[0]
    assert created == []
    assert not (tmp_path / "ka-a" / "keepalived").exists()
    assert subject.leaked() == []
