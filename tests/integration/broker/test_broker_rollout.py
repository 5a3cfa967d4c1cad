"""The mosquitto role, rolled out with ansible-playbook on this machine's Docker engine, against the real
Mosquitto 2.0.11 broker of the lab image (ming/mosquitto:lab, Debian's package) in a throwaway Compose project.

The tests run in file order and share one broker, as a plant's broker lives through its roll-outs:
check mode on a fresh host -> first run -> second run and check mode change nothing -> TLS (handshake with and
without the CA, TLS below 1.2 refused) and logins -> password/ACL change reloads with clients kept connected ->
certificate renewal reloads with clients kept connected -> a listener setting restarts -> a bridge carries a QoS 1
message over TLS to a second real broker (the Mosquitto 2.0.11 binary on the project network's gateway address).
No secret may appear in any roll-out's output.
"""

import datetime
import json
import os
import shutil
import ssl
import subprocess
import time
import uuid
import warnings
from pathlib import Path

import pytest
from mosquitto_broker import Broker, Session, free_port, handshake, login_code, requires_mosquitto, tls_context

from ansible_collections.sensingcam.ming.plugins.filter.mosquitto_acl import mosquitto_acl
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = Path(__file__).with_name("rollout.yml")
ANSIBLE_PLAYBOOK = REPO / ".venv" / "bin" / "ansible-playbook"
PROJECT = "ming-brokertest"
CONTAINER = f"{PROJECT}-mosquitto"
IMAGE = "ming/mosquitto:lab"
REFUSED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised, and paho's MQTT 5 numbering


def docker_ready():
    if shutil.which("docker") is None or not ANSIBLE_PLAYBOOK.exists():
        return False
    return subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0


pytestmark = [
    requires_mosquitto,
    pytest.mark.mosquitto,
    pytest.mark.skipif(not docker_ready(), reason=f"needs the Docker engine and {IMAGE} (scripts/build-lab-images.sh)"),
]


def secret():
    return f"pw-{uuid.uuid4().hex}"


class Rollout:
    """Runs tests/integration/broker/rollout.yml with the JSON callback and keeps every output for the secret check."""

    def __init__(self, directory):
        self.directory = directory
        self.base_dir = directory / "base"
        self.ca_dir = directory / "ca"
        self.tls_port = free_port()
        self.plain_port = free_port()
        self.passwords = {name: secret() for name in ("health", "nodered", "plc-line1", "plc-line3", "bridge-edge")}
        self.clients = [
            {"name": "nodered", "role": "nodered"},
            {"name": "plc-line1", "role": "plc", "line": "line1"},
        ]
        self.outputs = []

    def variables(self, **overrides):
        variables = {
            "ming_base_dir": str(self.base_dir),
            "ming_compose_project": PROJECT,
            "mosquitto_image": IMAGE,
            "mosquitto_listen_address": "127.0.0.1",
            "mosquitto_tls_port": self.tls_port,
            "mosquitto_plain_listener_enabled": True,
            "mosquitto_plain_port": self.plain_port,
            "mosquitto_tls_managed_ca_dir": str(self.ca_dir),
            "mosquitto_tls_san": ["localhost", "127.0.0.1"],
            "mosquitto_health_password": self.passwords["health"],
            "mosquitto_clients": [dict(client, password=self.passwords[client["name"]]) for client in self.clients],
        }
        variables.update(overrides)
        return variables

    def run(self, check=False, **overrides):
        extra_vars = self.directory / "extra-vars.json"
        extra_vars.write_text(json.dumps(self.variables(**overrides)))
        extra_vars.chmod(0o600)
        command = [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(PLAYBOOK), "-e", f"@{extra_vars}"]
        if check:
            command += ["--check", "--diff"]
        environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1")
        done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=600,
                              check=False)
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        return Result(json.loads(done.stdout))


class Result:
    def __init__(self, report):
        self.report = report
        self.stats = report["stats"]["localhost"]
        self.changed = self.stats["changed"]

    def task_changed(self, name):
        """True when a task (or handler) of this name ran and reported a change."""
        for play in self.report["plays"]:
            for task in play["tasks"]:
                host = task["hosts"].get("localhost", {})
                # The JSON callback names role tasks "<role> : <task>".
                task_name = task["task"]["name"].rpartition(" : ")[2]
                if task_name == name and host.get("changed") and not host.get("skipped"):
                    return True
        return False

    def changed_tasks(self):
        return [task["task"]["name"] for play in self.report["plays"] for task in play["tasks"]
                if task["hosts"].get("localhost", {}).get("changed")]


def container_state():
    done = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", CONTAINER], capture_output=True,
                          text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else None


def wait_healthy(timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container_state()
        if state and state.get("Health", {}).get("Status") == "healthy":
            return True
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    directory = tmp_path_factory.mktemp("broker-rollout")
    subject = Rollout(directory)
    yield subject
    subprocess.run(["docker", "compose", "--project-name", PROJECT, "down", "--volumes", "--remove-orphans"],
                   capture_output=True, check=False)
    everything = "\n".join(subject.outputs)
    leaked = [name for name, password in subject.passwords.items() if password in everything]
    assert leaked == [], f"passwords of {leaked} appeared in a roll-out's output"


def serial_of(der):
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


# --- roll-out lifecycle -------------------------------------------------------------------------------------------

def test_check_mode_on_a_fresh_host_predicts_changes_and_makes_none(rollout):
    subprocess.run(["docker", "compose", "--project-name", PROJECT, "down", "--volumes"], capture_output=True,
                   check=False)
    result = rollout.run(check=True)
    assert result.changed > 0
    assert not (rollout.base_dir / "mosquitto").exists()
    assert not rollout.ca_dir.exists()
    assert container_state() is None


def test_first_run_starts_a_healthy_broker_with_tls_material(rollout):
    result = rollout.run()
    assert result.changed > 0
    assert wait_healthy()
    certs = rollout.base_dir / "mosquitto" / "config" / "certs"
    key = (certs / "server.key").stat()
    assert (key.st_uid, key.st_gid, key.st_mode & 0o777) == (1883, 1883, 0o600)
    assert (rollout.ca_dir / "ca.key").stat().st_mode & 0o777 == 0o600


def test_second_run_changes_nothing(rollout):
    result = rollout.run()
    assert result.changed == 0, result.changed_tasks()


def test_check_mode_on_the_converged_host_changes_nothing(rollout):
    result = rollout.run(check=True)
    assert result.changed == 0, result.changed_tasks()


# --- TLS and logins -----------------------------------------------------------------------------------------------

def test_tls_handshake_succeeds_with_the_ca_and_fails_without_it(rollout):
    version, _cert = handshake(rollout.tls_port, tls_context(rollout.ca_dir / "ca.crt"))
    assert version in ("TLSv1.2", "TLSv1.3")
    # The certificate carries the IP address as a SAN too.
    handshake(rollout.tls_port, tls_context(rollout.ca_dir / "ca.crt"), server_hostname="127.0.0.1")
    with pytest.raises(ssl.SSLCertVerificationError):
        handshake(rollout.tls_port, tls_context())


def test_tls_minimum_is_1_2_and_1_3_is_accepted(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    assert handshake(rollout.tls_port, tls_context(cafile, maximum=ssl.TLSVersion.TLSv1_2))[0] == "TLSv1.2"
    assert handshake(rollout.tls_port, tls_context(cafile, minimum=ssl.TLSVersion.TLSv1_3))[0] == "TLSv1.3"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old = tls_context(cafile, minimum=ssl.TLSVersion.TLSv1, maximum=ssl.TLSVersion.TLSv1_1)
    with pytest.raises(ssl.SSLError) as refused:
        handshake(rollout.tls_port, old)
    # The alert comes from the broker ("alert protocol version"), not from a client that would not try.
    assert "PROTOCOL_VERSION" in str(refused.value) or "protocol version" in str(refused.value)


def test_right_password_accepted_wrong_password_and_anonymous_refused_over_tls_and_plain(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    assert login_code(rollout.tls_port, "nodered", rollout.passwords["nodered"], cafile) == 0
    assert login_code(rollout.tls_port, "nodered", "wrong-password-123", cafile) in REFUSED
    assert login_code(rollout.tls_port, None, None, cafile) in REFUSED
    assert login_code(rollout.plain_port, "nodered", "wrong-password-123") in REFUSED
    assert login_code(rollout.plain_port, None, None) in REFUSED


# --- configuration lifecycle --------------------------------------------------------------------------------------

def test_password_and_acl_change_reload_and_connected_clients_stay(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    started = container_state()["StartedAt"]
    nodered = Session(rollout.tls_port, "nodered", rollout.passwords["nodered"], cafile,
                      topics=("factory/line/+/event",))
    try:
        assert nodered.accepted
        old_password = rollout.passwords["plc-line1"]
        rollout.passwords["plc-line1"] = secret()
        rollout.clients.append({"name": "plc-line3", "role": "plc", "line": "line3"})

        result = rollout.run()
        assert result.task_changed("Write the password file (reloaded on SIGHUP)")
        assert result.task_changed("Reload mosquitto")
        assert not result.task_changed("Restart mosquitto")
        assert container_state()["StartedAt"] == started, "the broker was restarted, not reloaded"

        # The new client and its ACL are in force, delivered to the subscriber that stayed connected.
        plc3 = Session(rollout.tls_port, "plc-line3", rollout.passwords["plc-line3"], cafile)
        assert plc3.accepted
        plc3.publish("factory/line/line3/event", '{"event": "stop"}')
        plc3.close()
        assert nodered.wait_for("factory/line/line3/event", '{"event": "stop"}')
        assert nodered.disconnects == 0
        assert login_code(rollout.tls_port, "plc-line1", old_password, cafile) in REFUSED
        assert login_code(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], cafile) == 0
    finally:
        nodered.close()
    assert rollout.run().changed == 0


def test_certificate_renewal_reloads_the_new_certificate_and_clients_stay(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    started = container_state()["StartedAt"]
    serial_before = serial_of(handshake(rollout.tls_port, tls_context(cafile))[1])
    nodered = Session(rollout.tls_port, "nodered", rollout.passwords["nodered"], cafile,
                      topics=("factory/line/+/event",))
    try:
        # The installed certificate (825 days) now expires "within" the renewal window: it must be re-issued.
        renew = {"mosquitto_tls_renew_days": 900, "mosquitto_tls_server_valid_days": 1000}
        result = rollout.run(**renew)
        assert result.task_changed("Install the broker certificate (reloaded on SIGHUP)")
        assert result.task_changed("Reload mosquitto")
        assert not result.task_changed("Restart mosquitto")
        assert container_state()["StartedAt"] == started

        # Mosquitto 2.0 re-reads certfile/keyfile on SIGHUP: new handshakes get the new certificate.
        serial_after = None
        for _attempt in range(20):
            serial_after = serial_of(handshake(rollout.tls_port, tls_context(cafile))[1])
            if serial_after != serial_before:
                break
            time.sleep(0.5)
        assert serial_after != serial_before
        plc = Session(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], cafile)
        plc.publish("factory/line/line1/event", "after renewal")
        plc.close()
        assert nodered.wait_for("factory/line/line1/event", "after renewal")
        assert nodered.disconnects == 0
        assert rollout.run(**renew).changed == 0, "a fresh certificate was re-issued again"
    finally:
        nodered.close()
    assert rollout.run().changed == 0


def test_a_broker_setting_change_restarts_and_the_broker_comes_back_healthy(rollout):
    started = container_state()["StartedAt"]
    result = rollout.run(mosquitto_max_queued_messages=500)
    assert result.task_changed("Restart mosquitto")
    assert container_state()["StartedAt"] != started
    assert wait_healthy()
    conf = (rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf").read_text()
    assert "max_queued_messages 500" in conf


# --- bridge ------------------------------------------------------------------------------------------------------

def issue_certificate(ca_dir, directory, ip_address):
    """A server certificate for the central broker, signed by the plant CA the role created."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=None)
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.crt").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(ip_address))]), False)
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "central.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    (directory / "central.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return directory / "central.crt", directory / "central.key"


def test_bridge_carries_a_qos1_message_over_tls_to_a_second_broker(rollout, tmp_path):
    gateway = subprocess.run(
        ["docker", "network", "inspect", PROJECT, "--format", "{{(index .IPAM.Config 0).Gateway}}"],
        capture_output=True, text=True, check=True).stdout.strip()
    certfile, keyfile = issue_certificate(rollout.ca_dir, tmp_path, gateway)
    central_clients = [
        # The edge broker's bridge user, declared on the central side with role bridge (docs/broker.md).
        {"name": "bridge-edge", "role": "bridge", "topics": ["ming/bridge/#"]},
        {"name": "central-reader", "role": "bridge", "topics": ["#"]},
    ]
    central_passwords = {"bridge-edge": rollout.passwords["bridge-edge"], "central-reader": secret()}
    passwords = PasswordFile("")
    for name, password in central_passwords.items():
        passwords.set_password(name, password)
    (tmp_path / "passwd").write_text(passwords.render())
    (tmp_path / "acl").write_text(mosquitto_acl(central_clients))
    tls_lines = [f"cafile {rollout.ca_dir / 'ca.crt'}", f"certfile {certfile}", f"keyfile {keyfile}"]
    with Broker(tmp_path, tmp_path / "passwd", tmp_path / "acl", bind=gateway, listener_lines=tls_lines) as central:
        bridges = [{
            "name": "central",
            "addresses": [f"{gateway}:{central.port}"],
            "remote_username": "bridge-edge",
            "remote_password": central_passwords["bridge-edge"],
            "topics": [{"pattern": "factory/#", "direction": "out", "qos": 1, "remote_prefix": "ming/bridge/site1/"}],
        }]
        result = rollout.run(mosquitto_bridges=bridges)
        assert result.task_changed("Restart mosquitto")  # bridges are not reloaded by SIGHUP in Mosquitto 2.0
        assert wait_healthy()
        bridges_conf = (rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").stat()
        assert bridges_conf.st_mode & 0o777 == 0o640

        reader = Session(central.port, "central-reader", central_passwords["central-reader"],
                         rollout.ca_dir / "ca.crt", topics=("ming/bridge/#",), host=gateway)
        assert reader.accepted, central.log()
        try:
            delivered = None
            for attempt in range(30):  # until the bridge has (re)connected after the restart
                payload = f"bridged-{attempt}"
                plc = Session(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], rollout.ca_dir / "ca.crt")
                plc.publish("factory/line/line1/event", payload, qos=1)
                plc.close()
                delivered = reader.wait_for("ming/bridge/site1/factory/line/line1/event", payload, timeout=1.0)
                if delivered:
                    break
            assert delivered, central.log()
            assert delivered[2] == 1, "the message was not carried at QoS 1 end to end"
        finally:
            reader.close()
        assert rollout.run(mosquitto_bridges=bridges).changed == 0
