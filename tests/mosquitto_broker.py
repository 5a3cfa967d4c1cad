"""Start the real Mosquitto broker binary on a free loopback port, and talk to it, for tests.

Debian's Mosquitto 2.0.11 init script needs systemd, which these machines lack, so the binary is started directly
(``mosquitto -c <conf>``) and stopped by the test that started it. 2.0 has no config test mode: a broker that
exits during start-up is reported with its log.
"""

import contextlib
import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
import warnings
from pathlib import Path

import pytest

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"


def mosquitto_available():
    return all(os.access(path, os.X_OK) for path in (MOSQUITTO, MOSQUITTO_PASSWD, MOSQUITTO_PUB, MOSQUITTO_SUB))


def require(ready, reason):
    """Fail a test whose prerequisite is missing: `make test` installs every prerequisite (scripts/), so a missing
    one is a broken install step, never a reason to pass."""
    if not ready:
        pytest.fail(f"missing prerequisite: {reason}")


def require_mosquitto():
    """The Mosquitto 2 binaries, installed by scripts/install-test-deps.sh runtime; missing ones fail the test."""
    require(mosquitto_available(), "Mosquitto 2 binaries: scripts/install-test-deps.sh runtime (make test runs it)")


# Marks a test that runs the real broker binaries; the fixture (tests/conftest.py) fails it when they are missing.
requires_mosquitto = pytest.mark.usefixtures("mosquitto_binaries")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """A running ``mosquitto`` process with password file and (optionally) ACL file, on loopback by default.

    ``bind`` picks another local address (e.g. a Docker network's gateway, for a broker in a container to reach);
    ``listener_lines`` are added to the listener (e.g. ``cafile``/``certfile``/``keyfile`` for TLS).
    """

    def __init__(self, directory, password_file, acl_file=None, bind="127.0.0.1", listener_lines=()):
        self.directory = Path(directory)
        self.password_file = Path(password_file)
        self.acl_file = Path(acl_file) if acl_file else None
        self.bind = bind
        self.listener_lines = list(listener_lines)
        self.port = None
        self.process = None
        self.log_path = self.directory / "mosquitto.log"
        self.events_path = self.directory / "mosquitto-events.log"

    def start(self, attempts=3):
        for _attempt in range(attempts):
            self.port = free_port()
            lines = [
                f"listener {self.port} {self.bind}",
                *self.listener_lines,
                "allow_anonymous false",
                f"password_file {self.password_file}",
                "persistence false",
                # As root, mosquitto would drop to the 'mosquitto' user, which cannot enter pytest's 0700 tmp dirs.
                f"user {pwd.getpwuid(os.getuid()).pw_name}",
                "log_dest stdout",
                # Its stdout is a file, which Mosquitto buffers; the log file is written line by line.
                f"log_dest file {self.events_path}",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "log_type information",
            ]
            if self.acl_file:
                lines.append(f"acl_file {self.acl_file}")
            config = self.directory / "mosquitto.conf"
            config.write_text("\n".join(lines) + "\n")
            log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=log, stderr=subprocess.STDOUT)
            self._log = log
            if self._wait_listening():
                return self
            self.stop()
            if "Address already in use" not in self.log():
                break
        raise RuntimeError(f"mosquitto did not start:\n{self.log()}")

    def _wait_listening(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                with socket.create_connection((self.bind, self.port), timeout=0.2):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    def reload(self):
        """SIGHUP: the broker re-reads its password and ACL files."""
        self.process.send_signal(signal.SIGHUP)

    def log(self):
        """Start-up output (stdout) followed by the log Mosquitto wrote line by line."""
        text = ""
        for path in (self.log_path, self.events_path):
            with contextlib.suppress(OSError):
                text += path.read_text(errors="replace")
        return text

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if getattr(self, "_log", None):
            self._log.close()
            self._log = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()


def cli_publish(port, username, password, topic="test/login", message="hello"):
    """Publish once with mosquitto_pub; returns (exit code, output). 0 means the broker accepted the login."""
    command = [MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", str(port), "-t", topic, "-m", message, "-q", "1"]
    if username is not None:
        command += ["-u", username, "-P", password]
    done = subprocess.run(command, capture_output=True, text=True, timeout=15, check=False)
    return done.returncode, done.stdout + done.stderr


def _client(username, password, client_id=None):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"test-{uuid.uuid4().hex[:10]}",
        protocol=mqtt.MQTTv311,
    )
    if username is not None:
        client.username_pw_set(username, password)
    return client


def try_connect(port, username, password, timeout=10.0):
    """Connect with paho-mqtt and return the broker's CONNACK reason code as an int (0 = accepted)."""
    client = _client(username, password)
    answered = threading.Event()
    outcome = {}

    def on_connect(_client, _userdata, _flags, reason_code, _properties):
        outcome["code"] = reason_code.value
        answered.set()

    def on_disconnect(_client, _userdata, _flags, reason_code, _properties):
        outcome.setdefault("code", reason_code.value or -1)
        answered.set()

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        if not answered.wait(timeout):
            raise TimeoutError("the broker did not answer CONNECT")
        return outcome["code"]
    finally:
        client.disconnect()
        client.loop_stop()


class Listener:
    """A subscribed paho client that records every message it is delivered."""

    def __init__(self, port, username, password, topics=("#",)):
        self.messages = []
        self._arrived = threading.Condition()
        self._client = _client(username, password)
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self._topics = topics
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = lambda *args: self._subscribed.set()
        self._client.on_message = self._on_message
        self._client.connect("127.0.0.1", port, keepalive=30)
        self._client.loop_start()
        if not self._connected.wait(10) or not self._subscribed.wait(10):
            self.close()
            raise TimeoutError("listener could not connect and subscribe")

    def _on_connect(self, client, _userdata, _flags, reason_code, _properties):
        if reason_code.is_failure:
            return
        self._connected.set()
        client.subscribe([(topic, 1) for topic in self._topics])

    def _on_message(self, _client, _userdata, message):
        with self._arrived:
            self.messages.append((message.topic, message.payload.decode("utf-8", "replace")))
            self._arrived.notify_all()

    def wait_for(self, topic, payload, timeout=10.0):
        """True once (topic, payload) has been delivered."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while (topic, payload) not in self.messages:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._arrived.wait(remaining)
        return True

    def close(self):
        self._client.disconnect()
        self._client.loop_stop()


def publish_all(port, username, password, messages, timeout=10.0):
    """Publish [(topic, payload), ...] in order at QoS 1 from one connection, waiting for each PUBACK.

    Mosquitto acknowledges a publish its ACL denies and drops it silently (MQTT 3.1.1 has no way to say no), so
    the caller proves denial by non-delivery: publish a permitted marker last and wait for it.
    """
    client = _client(username, password)
    connected = threading.Event()
    client.on_connect = lambda *args: connected.set()
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    try:
        if not connected.wait(timeout):
            raise TimeoutError("publisher could not connect")
        for topic, payload in messages:
            client.publish(topic, payload, qos=1).wait_for_publish(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


def tls_context(cafile=None, minimum=None, maximum=None):
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if minimum or maximum:
        context.set_ciphers("DEFAULT:@SECLEVEL=0")  # let the client offer old versions, so the broker must refuse
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0/1.1 on purpose
            if minimum:
                context.minimum_version = minimum
            if maximum:
                context.maximum_version = maximum
    return context


def handshake(port, context, server_hostname="localhost"):
    """The negotiated TLS version and the broker certificate (DER) of one TLS handshake."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, \
            context.wrap_socket(raw, server_hostname=server_hostname) as tls:
        return tls.version(), tls.getpeercert(binary_form=True)


class Session:
    """A paho-mqtt connection over TLS (or plain) that records CONNACK, deliveries and disconnects."""

    def __init__(self, port, username, password, cafile=None, topics=(), host="127.0.0.1"):
        import paho.mqtt.client as mqtt

        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv311)
        if cafile:
            self.client.tls_set_context(tls_context(cafile))
        if username is not None:
            self.client.username_pw_set(username, password)
        self.reason = None
        self.disconnects = 0
        self.messages = []
        self._connack = threading.Event()
        self._subscribed = threading.Event()
        self._arrived = threading.Condition()
        self._topics = topics
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()
        self._connack.wait(10)
        if topics and self.accepted:
            assert self._subscribed.wait(10), "subscription not acknowledged"

    @property
    def accepted(self):
        return self.reason is not None and not self.reason.is_failure

    def _on_connect(self, client, _userdata, _flags, reason, _properties):
        self.reason = reason
        if not reason.is_failure and self._topics:
            client.subscribe([(topic, 1) for topic in self._topics])
        self._connack.set()

    def _on_disconnect(self, *_args):
        self.disconnects += 1
        self._connack.set()

    def _on_message(self, _client, _userdata, message):
        with self._arrived:
            self.messages.append((message.topic, message.payload.decode(), message.qos))
            self._arrived.notify_all()

    def publish(self, topic, payload, qos=1):
        self.client.publish(topic, payload, qos=qos).wait_for_publish(10)

    def wait_for(self, topic, payload, timeout=15.0):
        deadline = time.monotonic() + timeout
        with self._arrived:
            while not any(m[0] == topic and m[1] == payload for m in self.messages):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._arrived.wait(remaining)
            return next(m for m in self.messages if m[0] == topic and m[1] == payload)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def login_code(port, username, password, cafile=None):
    session = Session(port, username, password, cafile=cafile)
    session.close()
    assert session.reason is not None, "the broker sent no CONNACK"
    return session.reason.value


def containers_of(project):
    """Every container (running or not) of a Compose project, as the Docker engine reports it."""
    if shutil.which("docker") is None:
        pytest.fail("the docker CLI is missing: the test asks the engine that no container was created")
    done = subprocess.run(
        ["docker", "ps", "--all", "--quiet", "--filter", f"label=com.docker.compose.project={project}"],
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"no Docker engine answers (scripts/docker-engine.sh): {done.stderr}")
    return done.stdout.split()


def venv_tool(name):
    """A console script of the venv that runs the tests (ansible-playbook, ...), never a path into the checkout."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not next to {sys.executable}: run pytest from the project venv "
                    "(scripts/bootstrap-venv.sh installs it)")
    return path


def docker(*args, check=True, timeout=120):
    """``docker <args>``, output captured as text; with ``check``, a non-zero exit raises naming the command and
    docker's error."""
    done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return done


def remove_firewall_chain(chain):
    """Remove the iptables chain compose_project keeps for a service (named after its container) and its jumps from
    DOCKER-USER; nothing when there is none."""
    if len(chain) > 28 or shutil.which("iptables") is None:
        return
    while subprocess.run(["iptables", "-w", "-D", "DOCKER-USER", "-j", chain], capture_output=True,
                         check=False).returncode == 0:
        pass
    subprocess.run(["iptables", "-w", "-F", chain], capture_output=True, check=False)
    subprocess.run(["iptables", "-w", "-X", chain], capture_output=True, check=False)


def remove_compose_project(project, services=("mosquitto",)):
    """Stop and delete a Compose project a test created (containers, network, volumes) and the firewall chains
    compose_project made for its services."""
    subprocess.run(["docker", "compose", "--project-name", project, "down", "--volumes", "--remove-orphans"],
                   capture_output=True, check=False)
    for service in services:
        remove_firewall_chain(f"{project}-{service}")
