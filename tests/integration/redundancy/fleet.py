"""A plant's broker pair and a central broker, each "host" its own Compose project on a Docker bridge network this
harness creates, rolled out with the real ``site.yml``; and the MQTT clients that measure a failover.

Nothing is simulated: the hosts run the real Mosquitto 2.0 (ming/mosquitto:lab, Debian's package) and the real
keepalived 2.2.7 (ming/keepalived:lab) from the collection's roles, on real Docker networking (a user-defined bridge,
VRRP unicast between the containers, the VIP a secondary address that keepalived adds to ``eth0``, gratuitous ARP).
This machine has the bridge's gateway address, so the clients here reach the VIP and every broker directly.

- ``TestNetwork``: a bridge with a random free 172.30.x.0/24 subnet (retried when Docker reports an overlap).
- ``Fleet``: the inventory (one plant ``plant_t`` with ``edge-a`` .11 and ``edge-b`` .12 behind the VIP .100, and
  the central site ``central`` .20; ``ansible_connection: local``, each host with its own ``ming_compose_project``
  and ``ming_base_dir``, only broker hosts, so site.yml's other plays have no hosts), ``rollout()`` (site.yml with the
  JSON callback), the VIP holder (read from the host's network namespace), kills and restarts, and ``teardown()``.
- ``Publisher``: a PLC on this host (paho-mqtt 2.2, QoS 1, TLS with the plant CA, connect timeout 1 s, reconnect
  delay 0.1..1 s) that sends ``{"event_id": n, ...}`` to the VIP at a steady rate and records which ids it published
  (handed to the client) and which were acknowledged (PUBACK).
- ``Recorder``: what Node-RED does: one QoS 1 subscription with ``clean_session`` false on EACH broker of the pair,
  events deduplicated by event id, each id's first receive time kept.
- ``Probe``: an MQTT round trip through the VIP (publish QoS 1 to its own topic, receive it back) every 200 ms, on a
  connection that reconnects the way a PLC does; ``max_gap()`` is the longest time without a completed round trip.
"""

import ipaddress
import json
import os
import random
import ssl
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import yaml
from mosquitto_broker import docker, remove_compose_project, require, venv_tool
from playbook_report import json_report

REPO = Path(__file__).resolve().parents[3]
SITE = REPO / "site.yml"
MOSQUITTO_IMAGE = "ming/mosquitto:lab"
KEEPALIVED_IMAGE = "ming/keepalived:lab"
PLANT = "plant-t"
TOPIC = "factory/line/line1/event"
# The broker's TLS listener inside its container (mosquitto.conf.j2: `listener 8883`): what the VIP and the other
# hosts of the network reach.
MQTT_PORT = 8883
# Last octets on the test network.
HOSTS = {"edge-a": 11, "edge-b": 12, "central": 20}
PAIR = ("edge-a", "edge-b")
VIP_OCTET = 100
PRIORITIES = {"edge-a": 150, "edge-b": 100}


def require_images():
    """Docker answers and both lab images exist; else the test fails with the install hint (never skips)."""
    missing = [image for image in (MOSQUITTO_IMAGE, KEEPALIVED_IMAGE)
               if subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                                 check=False).returncode != 0]
    require(not missing, f"needs the Docker engine (scripts/docker-engine.sh) and {', '.join(missing)} "
                         "(scripts/build-lab-images.sh mosquitto keepalived)")


def used_networks():
    """Every IPv4 network Docker's networks and this host's routes use."""
    networks = []
    names = docker("network", "ls", "--format", "{{.Name}}").stdout.split()
    if names:
        done = docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", *names,
                      check=False)
        networks += done.stdout.split()
    routes = subprocess.run(["ip", "-4", "route", "show"], capture_output=True, text=True, check=False).stdout
    networks += [line.split()[0] for line in routes.splitlines() if line and line.split()[0][0].isdigit()]
    parsed = []
    for network in networks:
        try:
            parsed.append(ipaddress.ip_network(network, strict=False))
        except ValueError:
            continue
    return [network for network in parsed if network.version == 4]


class TestNetwork:
    """``docker network create --subnet 172.30.<x>.0/24`` with a free random x, named ``redundancy-<hex>``."""

    __test__ = False

    def __init__(self, prefix="redundancy"):
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.subnet = None

    def create(self, attempts=8):
        for _attempt in range(attempts):
            used = used_networks()
            candidates = [ipaddress.ip_network(f"172.30.{third}.0/24") for third in range(256)]
            free = [network for network in candidates if not any(network.overlaps(other) for other in used)]
            require(free, "no free 172.30.x.0/24 network for the test bridge")
            subnet = random.choice(free)  # noqa: S311 - not a secret, only spreads parallel runs
            done = docker("network", "create", "--driver", "bridge", "--subnet", str(subnet), self.name, check=False)
            if done.returncode == 0:
                self.subnet = subnet
                return self
            if "overlap" not in done.stderr:
                raise RuntimeError(f"docker network create {self.name} failed: {done.stderr.strip()}")
        raise RuntimeError(f"no free 172.30.x.0/24 subnet after {attempts} attempts")

    def address(self, octet):
        return str(self.subnet.network_address + octet)

    def remove(self):
        docker("network", "rm", self.name, check=False)


# --- the fleet ----------------------------------------------------------------------------------------------------

class HostRun:
    """What one site.yml run did, per host, from the JSON callback's report."""

    def __init__(self, report, returncode, output):
        self.report = report
        self.returncode = returncode
        self.output = output
        self.stats = report["stats"]

    def changed(self, host=None):
        hosts = [host] if host else list(self.stats)
        return sum(self.stats[name]["changed"] for name in hosts)

    def changed_tasks(self, host=None):
        found = []
        for play in self.report["plays"]:
            for task in play["tasks"]:
                for name, result in task["hosts"].items():
                    if (host is None or name == host) and result.get("changed"):
                        found.append(f"{name}: {task['task']['name']}")
        return found

    def failures(self):
        return [f"{name}: {task['task']['name']}: {result.get('msg', '')}"
                for play in self.report["plays"] for task in play["tasks"]
                for name, result in task["hosts"].items() if result.get("failed")]

    def plays_of(self, host):
        """The plays (serial batches are plays of their own in the report) in which ``host`` ran a task."""
        return [play for play in self.report["plays"] if any(host in task["hosts"] for task in play["tasks"])]

    def change_window(self, host, play_name=None):
        """(first start, last end) of the tasks that changed ``host`` (the callback's task time stamps, ISO 8601
        strings that sort in time order), or None when nothing changed it; only plays named ``play_name`` if given."""
        times = []
        for play in self.report["plays"]:
            if play_name and play["play"]["name"] != play_name:
                continue
            for task in play["tasks"]:
                result = task["hosts"].get(host)
                if result and result.get("changed"):
                    times.append((task["task"]["duration"]["start"], task["task"]["duration"]["end"]))
        if not times:
            return None
        return min(start for start, _end in times), max(end for _start, end in times)

    def batches(self, play_name):
        """The host lists of each batch (play entry) of the play called ``play_name``, in order."""
        batches = []
        for play in self.report["plays"]:
            if play["play"]["name"] == play_name:
                hosts = sorted({host for task in play["tasks"] for host in task["hosts"]})
                batches.append(hosts)
        return batches


class Fleet:
    """One plant's broker pair and the central broker, rolled out by site.yml on a TestNetwork (see the module's
    docstring). ``secrets`` are generated per run; ``outputs`` keep every run's output for a secret scan."""

    def __init__(self, directory, network):
        self.directory = Path(directory)
        self.network = network
        self.tag = uuid.uuid4().hex[:6]
        self.projects = {host: f"redundancy-{self.tag}-{host}" for host in HOSTS}
        self.addresses = {host: network.address(octet) for host, octet in HOSTS.items()}
        self.vip = network.address(VIP_OCTET)
        self.ca_dir = self.directory / "ca"
        self.passwords = {name: f"pw-{uuid.uuid4().hex}" for name in
                          ("ca", "health", "nodered", "plc-line1", "vip-probe", "bridge")}
        # A free loopback address per host for the published port (each "host" is this machine): 127.<r>.<r>.<octet>.
        self.loopback = f"127.{random.randint(2, 250)}.{random.randint(2, 250)}"  # noqa: S311 - spreads runs
        # The plant's VRRP router id, once per fleet: another run on this machine may use another on its own bridge.
        self.router_id = random.randint(1, 255)  # noqa: S311
        self.extra_clients = []
        # Variables for every broker host on top of the harness's (e.g. the keepalived timing of a comparison run).
        self.broker_overrides = {}
        self.outputs = []
        self.inventory_path = self.directory / "hosts.yml"

    # -- inventory -------------------------------------------------------------------------------------------------
    def clients(self):
        clients = [
            # On central the plant's topics arrive under ming/bridge/<plant>/ (the edge bridge's remote prefix).
            {"name": "nodered", "role": "nodered", "read": ["ming/bridge/#"], "password": self.passwords["nodered"]},
            {"name": "plc-line1", "role": "plc", "line": "line1", "password": self.passwords["plc-line1"]},
            {"name": "vip-probe", "role": "health", "password": self.passwords["vip-probe"]},
        ]
        return clients + list(self.extra_clients)

    def host_vars(self, host):
        base = self.directory / host
        variables = {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(venv_tool("python")),
            "ansible_become": False,
            "ming_compose_project": self.projects[host],
            "ming_base_dir": str(base),
            "compose_project_network_external": True,
            "compose_project_network_name": self.network.name,
            "mosquitto_network_ipv4_address": self.addresses[host],
            "ming_broker_address": f"{self.addresses[host]}/{self.network.subnet.prefixlen}",
            "mosquitto_listen_addresses": [f"{self.loopback}.{HOSTS[host]}"],
            "mosquitto_tls_san": [host, self.addresses[host], self.vip],
        }
        if host in PRIORITIES:
            variables["keepalived_priority"] = PRIORITIES[host]
        return variables

    def inventory(self):
        brokers = {
            "ansible_python_interpreter": str(venv_tool("python")),
            "mosquitto_image": MOSQUITTO_IMAGE,
            "keepalived_image": KEEPALIVED_IMAGE,
            "keepalived_network_mode": "service:mosquitto",
            "keepalived_interface": "eth0",
            "mosquitto_tls_port": MQTT_PORT,
            "mosquitto_tls_managed_ca_dir": str(self.ca_dir),
            "mosquitto_tls_managed_ca_passphrase": self.passwords["ca"],
            "mosquitto_health_password": self.passwords["health"],
            "mosquitto_central_bridge_password": self.passwords["bridge"],
            "mosquitto_central_bridge_restart_timeout": "1 2",
            "mosquitto_clients": self.clients(),
            # Bridge queues on disk at once: a killed edge broker keeps what it had not yet forwarded.
            "mosquitto_autosave_interval": 1,
            **self.broker_overrides,
        }
        return {"all": {"children": {
            "ming_brokers": {"hosts": {host: self.host_vars(host) for host in HOSTS}, "vars": brokers},
            "ming_plants": {
                "vars": {"ming_site_role": "edge", "ming_central_brokers": ["central"]},
                "children": {"plant_t": {
                    "hosts": {host: {} for host in PAIR},
                    "vars": {"ming_plant": PLANT, "ming_broker_vip": self.vip,
                             "keepalived_virtual_router_id": self.router_id},
                }},
            },
            "ming_central": {"hosts": {"central": {}}, "vars": {"ming_site_role": "central", "ming_plant": "central"}},
        }}}

    def write_inventory(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self.inventory_path.write_text(yaml.safe_dump(self.inventory(), sort_keys=False))
        self.inventory_path.chmod(0o600)

    # -- roll-outs -------------------------------------------------------------------------------------------------
    def rollout(self, limit=None, extra_args=(), timeout=1200, expect_success=True):
        """``ansible-playbook site.yml -i <inventory>`` with the JSON callback; a HostRun. Not -vvv: the JSON report
        holds every result, and a roll-out of three hosts at -vvv is several MB."""
        self.write_inventory()
        command = [str(venv_tool("ansible-playbook")), "-i", str(self.inventory_path), str(SITE), *extra_args]
        if limit:
            command += ["--limit", limit]
        environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                           ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
        done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,  # noqa: S603
                              timeout=timeout, check=False)
        self.outputs.append(done.stdout + done.stderr)
        run = HostRun(json_report(done.stdout), done.returncode, done.stdout + done.stderr)
        if expect_success:
            assert done.returncode == 0, "\n".join(run.failures()) or (done.stdout[-4000:] + done.stderr[-3000:])
        return run

    def leaked(self):
        everything = "\n".join(self.outputs)
        return sorted(name for name, password in self.passwords.items() if password in everything)

    # -- containers ------------------------------------------------------------------------------------------------
    def container(self, host, service="mosquitto"):
        return f"{self.projects[host]}-{service}"

    def pid(self, host, service="keepalived"):
        done = docker("inspect", "--format", "{{.State.Pid}} {{.State.Running}}", self.container(host, service),
                      check=False)
        if done.returncode != 0:
            return None
        pid, running = done.stdout.split()
        return int(pid) if running == "true" and pid != "0" else None

    def started_at(self, host, service="mosquitto"):
        """When Docker last started the container (changes with every restart or recreation)."""
        done = docker("inspect", "--format", "{{.Id}} {{.State.StartedAt}}", self.container(host, service), check=False)
        return done.stdout.strip() if done.returncode == 0 else None

    def holds_vip(self, host):
        """True when the VIP is an address of ``host``'s network namespace (read from this machine with nsenter
        into the keepalived container's namespace, which is the broker's: cheaper than docker exec)."""
        pid = self.pid(host)
        if pid is None:
            return False
        done = subprocess.run(["nsenter", f"--net=/proc/{pid}/ns/net", "ip", "-4", "-o", "addr", "show"],  # noqa: S603
                              capture_output=True, text=True, check=False)
        return f" {self.vip}/" in done.stdout

    def vip_holders(self):
        return [host for host in PAIR if self.holds_vip(host)]

    def wait_vip(self, host, timeout=20.0, interval=0.02, since=None):
        """Bounded poll until the VIP is on ``host`` and on no other; seconds it took (from ``since``, a
        ``time.monotonic()`` value, if given), or None."""
        started = since if since is not None else time.monotonic()
        while time.monotonic() - started < timeout:
            if self.vip_holders() == [host]:
                return time.monotonic() - started
            time.sleep(interval)
        return None

    def kill_host(self, host):
        """The host dies: every container of its project is killed at once."""
        docker("kill", self.container(host, "mosquitto"), self.container(host, "keepalived"))

    def kill_service(self, host):
        """The broker dies and the host lives: only the mosquitto container is killed; keepalived keeps running."""
        docker("kill", self.container(host, "mosquitto"))

    def hang_service(self, host):
        """The broker stops answering while its process, its network namespace and keepalived live on (the container
        frozen with docker pause): only keepalived's MQTT health check can notice this one."""
        docker("pause", self.container(host, "mosquitto"))

    def resume_service(self, host):
        docker("unpause", self.container(host, "mosquitto"))

    def stop_host(self, host):
        docker("stop", "--time", "2", *self.containers_of(host))

    def containers_of(self, host):
        done = docker("ps", "--all", "--filter", f"label=com.docker.compose.project={self.projects[host]}",
                      "--format", "{{.Names}}", check=False)
        return sorted(done.stdout.split())

    def start_host(self, host):
        """The host boots again: its broker, then keepalived (which lives in the broker's network namespace, so it
        is restarted after the broker's new namespace exists)."""
        docker("start", self.container(host, "mosquitto"))
        if self.container(host, "keepalived") in self.containers_of(host):
            docker("restart", "--time", "1", self.container(host, "keepalived"))

    def wait_broker(self, host, timeout=30.0):
        """Bounded poll until ``host``'s broker answers a TLS MQTT login on its own address."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if round_trip(self.addresses[host], self, timeout=1.0):
                return True
            time.sleep(0.2)
        return False

    def teardown(self):
        for host in HOSTS:
            remove_compose_project(self.projects[host], services=("mosquitto", "keepalived"))
        self.network.remove()

    # -- client settings -------------------------------------------------------------------------------------------
    def ca_file(self):
        return str(self.ca_dir / "ca.crt")

    def login(self, name):
        return name, self.passwords[name]


# --- MQTT clients -------------------------------------------------------------------------------------------------

def tls_client(client_id, fleet, user, clean_session=True):
    """A paho 2.2 client (MQTT 3.1.1) with TLS against the plant CA (hostname checked: the VIP and each broker's
    address are SANs), the login of ``user``, connect timeout 1 s and reconnect delay 0.1..1 s."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session,
                         protocol=mqtt.MQTTv311)
    context = ssl.create_default_context(cafile=fleet.ca_file())
    client.tls_set_context(context)
    client.username_pw_set(*fleet.login(user))
    client.connect_timeout = 1.0
    client.reconnect_delay_set(min_delay=0.1, max_delay=1)
    client.max_inflight_messages_set(100)
    client.max_queued_messages_set(0)
    return client


def round_trip(address, fleet, timeout=1.0):
    """One MQTT round trip to ``address`` as the probe client: connect, subscribe, publish QoS 1, receive it."""
    got = threading.Event()
    topic = f"ming/health/vip-probe/rt-{uuid.uuid4().hex[:8]}"
    client = tls_client("vip-probe", fleet, "vip-probe")
    client.on_connect = lambda c, _u, _f, reason, _p: c.subscribe(topic, qos=1) if not reason.is_failure else None
    client.on_subscribe = lambda c, _u, _m, _r, _p: c.publish(topic, b"x", qos=1)
    client.on_message = lambda _c, _u, _message: got.set()
    try:
        client.connect_async(address, MQTT_PORT, keepalive=5)
        client.loop_start()
        return got.wait(timeout + 1.0)
    finally:
        client.disconnect()
        client.loop_stop()


class Publisher:
    """A PLC sending ``{"event_id": n, "line": "line1", ...}`` to the VIP, QoS 1, at ``rate`` events/s. Event ids are
    unique across every publisher of the process and start from the clock (milliseconds x 1000), so an event a
    persistent session still holds from an earlier run can never stand in for one of this run.
    ``published``: ids handed to the client (it sends them at once when connected, after the reconnect when not);
    ``acked``: ids whose PUBACK arrived. Times are ``time.monotonic()``."""

    last_id = 0

    def __init__(self, fleet, rate=20.0, address=None):
        self.fleet = fleet
        self.rate = rate
        self.address = address or fleet.vip
        self.published = {}
        self.acked = {}
        self.mids = {}
        # PUBACKs whose mid the sender had not filed yet (the broker can answer before publish() returns).
        self.early_acks = {}
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.thread = None
        self.connected = threading.Event()
        self.next_id = max(Publisher.last_id + 1, int(time.time() * 1000) * 1000)
        self.client = tls_client("plc-line1", fleet, "plc-line1")
        self.client.on_publish = self._on_publish
        self.client.on_connect = lambda _c, _u, _f, reason, _p: None if reason.is_failure else self.connected.set()
        self.client.on_disconnect = lambda *_args: self.connected.clear()

    def _on_publish(self, _client, _userdata, mid, _reason, _properties):
        now = time.monotonic()
        with self.lock:
            event_id = self.mids.pop(mid, None)
            if event_id is None:
                self.early_acks[mid] = now
            else:
                self.acked[event_id] = now

    def start(self):
        self.client.connect_async(self.address, MQTT_PORT, keepalive=5)
        self.client.loop_start()
        assert self.connected.wait(10), f"the publisher did not connect to {self.address}:{MQTT_PORT}"
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        period = 1.0 / self.rate
        due = time.monotonic()
        while not self.stop_event.is_set():
            event_id = self.next_id
            self.next_id += 1
            Publisher.last_id = event_id
            payload = json.dumps({"event_id": event_id, "line": "line1", "station": "st10", "type": "part_done",
                                  "ts": time.time()})
            with self.lock:
                self.published[event_id] = time.monotonic()
            # Never inside self.lock: paho holds its own lock while it calls _on_publish, which takes self.lock, and
            # publish() takes paho's lock (holding both in opposite orders deadlocked a benchmark run).
            info = self.client.publish(TOPIC, payload, qos=1)
            with self.lock:
                acked_at = self.early_acks.pop(info.mid, None)
                if acked_at is None:
                    self.mids[info.mid] = event_id
                else:
                    self.acked[event_id] = acked_at
            due += period
            self.stop_event.wait(max(0.0, due - time.monotonic()))

    def stop(self, drain=5.0):
        """Stop sending; wait (bounded) for the outstanding PUBACKs, then disconnect. Safe to call twice."""
        if self.stop_event.is_set():
            return
        self.stop_event.set()
        if self.thread:
            self.thread.join(5)
        deadline = time.monotonic() + drain
        while time.monotonic() < deadline:
            with self.lock:
                if not self.mids:
                    break
            time.sleep(0.05)
        self.client.disconnect()
        self.client.loop_stop()


class Recorder:
    """Node-RED's view: a QoS 1, clean_session false subscription to ``topic`` on every broker in ``addresses``
    (the client id is the user name, the brokers' use_username_as_clientid), deduplicated by event id."""

    def __init__(self, fleet, addresses, user="nodered", topic="factory/#"):
        self.fleet = fleet
        self.addresses = list(addresses)
        self.topic = topic
        self.recorded = {}
        self.deliveries = 0
        self.lock = threading.Lock()
        self.clients = []
        self.subscribed = [threading.Event() for _address in self.addresses]
        self.user = user

    def _on_message(self, _client, _userdata, message):
        try:
            event_id = json.loads(message.payload)["event_id"]
        except (ValueError, KeyError, TypeError):
            return
        now = time.monotonic()
        with self.lock:
            self.deliveries += 1
            self.recorded.setdefault(event_id, now)

    def start(self, timeout=10.0):
        for index, address in enumerate(self.addresses):
            client = tls_client(self.user, self.fleet, self.user, clean_session=False)
            done = self.subscribed[index]
            client.on_connect = (lambda c, _u, _f, reason, _p:
                                 None if reason.is_failure else c.subscribe(self.topic, qos=1))
            client.on_subscribe = lambda _c, _u, _m, _r, _p, done=done: done.set()
            client.on_message = self._on_message
            client.connect_async(address, MQTT_PORT, keepalive=5)
            client.loop_start()
            self.clients.append(client)
        for address, done in zip(self.addresses, self.subscribed, strict=True):
            assert done.wait(timeout), f"the recorder did not subscribe on {address}:{MQTT_PORT}"
        return self

    def wait_for(self, ids, timeout=10.0):
        """Bounded poll until every id in ``ids`` is recorded; the ids still missing."""
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                missing = set(ids) - set(self.recorded)
            if not missing or time.monotonic() > deadline:
                return missing
            time.sleep(0.1)

    def first_published_after(self, published, moment):
        """Seconds from ``moment`` to the first time an event PUBLISHED after it was recorded (None if none): events
        already on their way through the old master before it died do not count as recovered."""
        with self.lock:
            later = [self.recorded[event_id] for event_id, sent in published.items()
                     if sent > moment and event_id in self.recorded]
        return min(later) - moment if later else None

    def stop(self):
        for client in self.clients:
            client.disconnect()
            client.loop_stop()
        self.clients = []


class Probe:
    """Every ``interval`` s an MQTT round trip through the VIP on one connection that reconnects like a PLC: publish
    QoS 1 to the probe's own topic, wait up to 1 s for it to come back. ``successes`` are the completion times."""

    def __init__(self, fleet, interval=0.2):
        self.fleet = fleet
        self.interval = interval
        self.successes = []
        self.failures = 0
        self.stop_event = threading.Event()
        self.echo = threading.Event()
        self.expected = None
        self.topic = f"ming/health/vip-probe/{uuid.uuid4().hex[:8]}"
        self.client = tls_client("vip-probe", fleet, "vip-probe")
        self.client.on_connect = (lambda c, _u, _f, reason, _p:
                                  None if reason.is_failure else c.subscribe(self.topic, qos=1))
        self.client.on_message = self._on_message
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.started = None

    def _on_message(self, _client, _userdata, message):
        if message.payload.decode() == self.expected:
            self.echo.set()

    def start(self):
        self.client.connect_async(self.fleet.vip, MQTT_PORT, keepalive=5)
        self.client.loop_start()
        self.started = time.monotonic()
        self.thread.start()
        return self

    def _run(self):
        sequence = 0
        while not self.stop_event.is_set():
            sequence += 1
            self.expected = str(sequence)
            self.echo.clear()
            self.client.publish(self.topic, self.expected, qos=1)
            if self.echo.wait(1.0):
                self.successes.append(time.monotonic())
            else:
                self.failures += 1
            self.stop_event.wait(self.interval)

    def stop(self):
        self.stop_event.set()
        if self.thread.is_alive():
            self.thread.join(5)
        self.client.disconnect()
        self.client.loop_stop()
        self.ended = time.monotonic()

    def max_gap(self):
        """The longest time between two completed round trips (from the start and to the end as well)."""
        marks = [self.started, *self.successes, self.ended]
        return max(later - earlier for earlier, later in zip(marks, marks[1:], strict=False))


def failover_figures(publisher, recorder, killed_at, dead_at):
    """Counts and ids of one failover run: published, acknowledged, recorded, acknowledged-but-lost, the loss window
    (published, neither acknowledged nor recorded), and the first event recorded after the kill: from ``killed_at``
    (just before ``docker kill``) to the first recording of an event published after ``dead_at`` (when docker kill
    returned), so an event still delivered by the dying broker does not count."""
    published = set(publisher.published)
    acked = set(publisher.acked)
    recorded = set(recorder.recorded)
    return {
        "published": len(published),
        "acked": len(acked),
        "recorded": len(recorded & published),
        "acked_lost": sorted(acked - recorded),
        "loss_window": sorted(published - acked - recorded),
        "first_recorded_after_kill_s": first_recorded(publisher, recorder, killed_at, dead_at),
        "duplicates_dropped": recorder.deliveries - len(recorder.recorded),
    }


def first_recorded(publisher, recorder, killed_at, dead_at):
    with publisher.lock:
        after = {event_id: sent for event_id, sent in publisher.published.items() if sent > dead_at}
    delay = recorder.first_published_after(after, dead_at)
    return None if delay is None else delay + (dead_at - killed_at)
