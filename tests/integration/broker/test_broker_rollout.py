"""The mosquitto role, rolled out with ansible-playbook on this machine's Docker engine, against the real
Mosquitto 2.0.11 broker of the lab image (ming/mosquitto:lab, Debian's package) in a throwaway Compose project.

The tests run in file order and share one broker, as a plant's broker lives through its roll-outs:
check mode on a fresh host -> first run -> second run and check mode change nothing -> TLS (handshake with and
without the CA, TLS below 1.2 refused; ``openssl s_client`` proves static-RSA and CBC-SHA1 suites refused, ECDHE with
AEAD and TLS 1.3 accepted) and logins -> a second user reusing a connected client's id does not take its session
over -> password/ACL change reloads with clients kept connected ->
removing a client refuses its login, the others keep working -> certificate renewal reloads with clients kept
connected -> a listener setting restarts -> a setting Mosquitto refuses is rejected by the role's ``validate:``
(a throwaway container of the same image) with the live file and the running broker untouched -> a changed port
recreates the container (a new container id), healthy on the new port -> a bridge carries a QoS 1 message over TLS
to a second real broker (the Mosquitto 2.0.11 binary of this machine on the project network's gateway address,
started by the test, with ``use_username_as_clientid`` and the ACL the role would give it) and its connection state
notification is allowed there, a bridge setting Mosquitto refuses is rejected, removing the bridge closes its
connection on that broker, and a changed remote password reaches the bridges file.
A run that only confirms a change has settled (changed == 0 right after it, with the same variables) or that predicts a
file change in check mode runs the configuration tasks alone (``--tags mosquitto_configure``, SETTLED): whether the
broker is reloaded, restarted or recreated is decided from those tasks' results and the unchanged service definition
(tasks/deploy.yml), so a settled configuration cannot make the deploy tasks change anything. Full runs prove that
where it is the point: the second run, check mode on the converged host, after a refused setting and after a new port.
Every run is ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1`` (broker_rollout.py); after every run that changes
a secret (the first run, passwords, a certificate, bridges) the whole output is scanned for every password, the CA
passphrase and every private key body line.
"""

import datetime
import shutil
import socket
import ssl
import subprocess
import threading
import time
import uuid
import warnings

import pytest
from broker_rollout import Rollout, container_id, free_port, remove_project, require_docker_and_lab_image, secret
from broker_rollout import container_state as state_of
from broker_rollout import wait_healthy as wait_healthy_of
from mosquitto_broker import Broker, Session, handshake, login_code, requires_mosquitto, tls_context

from ansible_collections.sensingcam.ming.plugins.filter.mosquitto_acl import mosquitto_acl
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile

# Its own name per run: another checkout or a parallel make test may run this module at the same time.
PROJECT = f"brokertest-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-mosquitto"
# The configuration tasks alone, about 40 % cheaper than a full run (no preflight, no Compose, no firewall): for runs
# that assert only on them (see the module docstring).
SETTLED = "mosquitto_configure"
REFUSED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised, and paho's MQTT 5 numbering

pytestmark = [requires_mosquitto, pytest.mark.mosquitto]


def container_state():
    return state_of(CONTAINER)


def wait_healthy(timeout=60):
    return wait_healthy_of(CONTAINER, timeout)


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    require_docker_and_lab_image()
    directory = tmp_path_factory.mktemp("broker-rollout")
    subject = Rollout(directory, {"ming_compose_project": PROJECT}, CONTAINER)
    yield subject
    remove_project(PROJECT)
    leaked = subject.leaked()
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
    assert "ENCRYPTED" in (rollout.ca_dir / "ca.key").read_text(), "the CA key was stored without its passphrase"
    # The CA directory keeps itself out of git wherever the plant's inventory lives.
    assert (rollout.ca_dir / ".gitignore").read_text().splitlines()[-1] == "*"
    assert rollout.key_lines, "no private key body lines were collected for the secret scan"
    assert rollout.leaked() == []


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


def s_client(port, cafile, *options):
    """One handshake with the openssl CLI (Debian's OpenSSL 3); True when a cipher was negotiated."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.fail("the openssl CLI is missing: scripts/install-test-deps.sh runtime installs it")
    done = subprocess.run([openssl, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost",
                           "-CAfile", str(cafile), "-verify_return_error", *options],
                          input="", capture_output=True, text=True, timeout=30, check=False)
    output = done.stdout + done.stderr
    negotiated = "Cipher is (NONE)" not in output and ", Cipher is " in output
    return negotiated, output


@pytest.mark.parametrize("cipher", ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA",
                                    "DHE-RSA-AES128-GCM-SHA256"])
def test_weak_tls12_suites_are_refused_by_the_broker(rollout, cipher):
    """Static RSA (AES128-SHA, AES256-GCM-SHA384), CBC with SHA-1 (ECDHE-RSA-AES128/256-SHA) and finite-field DHE:
    the client offers only that suite (security level 0, so OpenSSL itself does not hold it back) over TLS 1.2."""
    negotiated, output = s_client(rollout.tls_port, rollout.ca_dir / "ca.crt", "-tls1_2",
                                  "-cipher", f"{cipher}:@SECLEVEL=0")
    assert not negotiated, output[-2000:]
    assert "handshake failure" in output or "no shared cipher" in output, output[-2000:]


@pytest.mark.parametrize("cipher", ["ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384",
                                    "ECDHE-RSA-CHACHA20-POLY1305"])
def test_ecdhe_aead_tls12_suites_are_accepted(rollout, cipher):
    negotiated, output = s_client(rollout.tls_port, rollout.ca_dir / "ca.crt", "-tls1_2", "-cipher", cipher)
    assert negotiated and f"Cipher is {cipher}" in output, output[-2000:]
    assert "Verify return code: 0 (ok)" in output


def test_tls13_negotiates_the_named_suites_only(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    negotiated, output = s_client(rollout.tls_port, cafile, "-tls1_3")
    assert negotiated and "TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384" in output, output[-2000:]
    negotiated, output = s_client(rollout.tls_port, cafile, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
    assert negotiated and "Cipher is TLS_CHACHA20_POLY1305_SHA256" in output, output[-2000:]
    # Not in mosquitto_tls_ciphers_tls13: the broker refuses it.
    negotiated, output = s_client(rollout.tls_port, cafile, "-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256")
    assert not negotiated, output[-2000:]
    conf = (rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf").read_text()
    assert "ciphers_tls1.3 TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256" in conf


def test_a_second_user_reusing_a_client_id_cannot_take_the_first_ones_session(rollout):
    """Two real paho clients on the TLS listener with the same client id: plc-line1 connects and subscribes, then
    nodered connects with plc-line1's client id. Without use_username_as_clientid the broker would close plc-line1's
    connection ("session taken over"); with it nodered's id becomes "nodered" and plc-line1 stays connected and
    keeps receiving its acknowledgements."""
    import paho.mqtt.client as mqtt

    cafile = rollout.ca_dir / "ca.crt"
    shared_id = f"line1-controller-{uuid.uuid4().hex[:6]}"
    events = {"plc": [], "nodered": []}
    received = []
    connected = {name: threading.Event() for name in events}

    def make(name, user):
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=shared_id, protocol=mqtt.MQTTv311)
        client.tls_set_context(tls_context(cafile))
        client.username_pw_set(user, rollout.passwords[user])
        client.on_connect = lambda c, u, f, reason, p: (events[name].append(("connect", reason.value)),
                                                        connected[name].set())
        client.on_disconnect = lambda c, u, f, reason, p: events[name].append(("disconnect", reason.value))
        client.reconnect_delay_set(30, 60)  # a kicked client must not come back within the test
        return client

    subscribed = threading.Event()
    acknowledged = threading.Event()
    plc = make("plc", "plc-line1")

    def on_message(client, userdata, message):
        received.append((message.topic, message.payload.decode()))
        if received[-1] == ("factory/line/line1/event/ack", "ack-after-takeover-attempt"):
            acknowledged.set()

    plc.on_message = on_message
    plc.on_subscribe = lambda *args: subscribed.set()
    plc.connect("127.0.0.1", rollout.tls_port, keepalive=30)
    plc.loop_start()
    nodered = make("nodered", "nodered")
    try:
        assert connected["plc"].wait(10) and events["plc"] == [("connect", 0)], events
        plc.subscribe("factory/line/line1/event/ack", qos=1)
        assert subscribed.wait(10)
        nodered.connect("127.0.0.1", rollout.tls_port, keepalive=30)
        nodered.loop_start()
        assert connected["nodered"].wait(10) and events["nodered"][0] == ("connect", 0), events
        nodered.publish("factory/line/line1/event/ack", "ack-after-takeover-attempt", qos=1).wait_for_publish(10)
        acknowledged.wait(60)  # only keeps a lost session from hanging the suite; the assertion is on the state
        assert acknowledged.is_set(), f"the first client lost its session: {events}, received {received}"
        assert events["plc"] == [("connect", 0)], f"the first client was disconnected: {events}"
        assert events["nodered"] == [("connect", 0)], events
    finally:
        nodered.disconnect()
        nodered.loop_stop()
        plc.disconnect()
        plc.loop_stop()


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
        assert rollout.leaked() == []
    finally:
        nodered.close()
    assert rollout.run(tags=SETTLED).changed == 0


def test_removing_a_client_refuses_its_login_and_the_others_keep_working(rollout):
    cafile = rollout.ca_dir / "ca.crt"
    acl = rollout.base_dir / "mosquitto" / "config" / "acl"
    passwd = rollout.base_dir / "mosquitto" / "config" / "passwd"
    assert "user plc-line3" in acl.read_text() and "plc-line3:" in passwd.read_text()
    assert login_code(rollout.tls_port, "plc-line3", rollout.passwords["plc-line3"], cafile) == 0
    rollout.clients = [client for client in rollout.clients if client["name"] != "plc-line3"]

    checked = rollout.run(check=True, tags=SETTLED)
    assert checked.task_changed("Write the password file (reloaded on SIGHUP)")
    assert "plc-line3:" in passwd.read_text(), "check mode removed the client"

    result = rollout.run()
    assert result.task_changed("Write the password file (reloaded on SIGHUP)")
    assert result.task_changed("Reload mosquitto")
    assert "plc-line3" not in passwd.read_text()
    assert "user plc-line3" not in acl.read_text()
    assert login_code(rollout.tls_port, "plc-line3", rollout.passwords["plc-line3"], cafile) in REFUSED
    assert login_code(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], cafile) == 0
    assert login_code(rollout.tls_port, "nodered", rollout.passwords["nodered"], cafile) == 0
    assert rollout.run(tags=SETTLED).changed == 0


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
        assert result.task_changed("Install the server certificate | mosquitto")
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
        assert rollout.leaked() == []
        assert rollout.run(tags=SETTLED, **renew).changed == 0, "a fresh certificate was re-issued again"
    finally:
        nodered.close()
    assert rollout.run(tags=SETTLED).changed == 0


def test_a_broker_setting_change_restarts_and_the_broker_comes_back_healthy(rollout):
    started = container_state()["StartedAt"]
    result = rollout.run(mosquitto_max_queued_messages=500)
    assert result.task_changed("Restart mosquitto")
    assert container_state()["StartedAt"] != started
    assert wait_healthy()
    conf = (rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf").read_text()
    assert "max_queued_messages 500" in conf


def test_a_setting_mosquitto_refuses_is_rejected_and_the_live_file_and_broker_stay(rollout):
    """sys_interval -1 passes the argument spec (an int) and preflight; only Mosquitto refuses it."""
    conf = rollout.base_dir / "mosquitto" / "config" / "mosquitto.conf"
    before = conf.read_bytes()
    started = container_state()["StartedAt"]
    output = rollout.run(expect_failure=True, mosquitto_max_queued_messages=500, mosquitto_sys_interval=-1)
    assert "Write mosquitto.conf" in output and "validat" in output.lower(), output[-3000:]
    assert conf.read_bytes() == before, "the rejected configuration replaced the live file"
    assert container_state()["StartedAt"] == started, "the broker was restarted for a rejected configuration"
    assert container_state()["Running"] and wait_healthy()
    assert login_code(rollout.tls_port, "nodered", rollout.passwords["nodered"], rollout.ca_dir / "ca.crt") == 0
    assert rollout.run(mosquitto_max_queued_messages=500).changed == 0


def test_a_changed_port_recreates_the_container_healthy_on_the_new_port(rollout):
    before = container_id(CONTAINER)
    old_port = rollout.plain_port
    rollout.plain_port = free_port()
    result = rollout.run(mosquitto_max_queued_messages=500)
    assert result.changed > 0
    assert container_id(CONTAINER) != before, "the container was not recreated for a new service definition"
    assert wait_healthy()
    published = subprocess.run(["docker", "port", CONTAINER, "1883"], capture_output=True, text=True, check=True)
    assert published.stdout.strip() == f"127.0.0.1:{rollout.plain_port}"
    assert login_code(rollout.plain_port, "nodered", rollout.passwords["nodered"]) == 0
    with pytest.raises(ConnectionRefusedError):  # nothing listens on the old port any more
        socket.create_connection(("127.0.0.1", old_port), timeout=5).close()
    assert rollout.run(mosquitto_max_queued_messages=500).changed == 0


# --- bridge ------------------------------------------------------------------------------------------------------

def issue_certificate(ca_dir, passphrase, directory, ip_address):
    """A server certificate for the central broker, signed by the plant CA the role created."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key = serialization.load_pem_private_key((ca_dir / "ca.key").read_bytes(), password=passphrase.encode())
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
    certfile, keyfile = issue_certificate(rollout.ca_dir, rollout.passwords["ca-passphrase"], tmp_path, gateway)
    central_clients = [
        # The edge broker's bridge user, declared on the central side with role bridge (docs/broker.md).
        {"name": "bridge-edge", "role": "bridge", "topics": ["ming/bridge/#"]},
        # Reads what the bridge carries and the connection state notifications.
        {"name": "central-reader", "role": "bridge", "topics": ["#"], "read": ["$SYS/broker/connection/#"]},
    ]
    central_passwords = {"bridge-edge": rollout.passwords["bridge-edge"], "central-reader": secret()}
    passwords = PasswordFile("")
    for name, password in central_passwords.items():
        passwords.set_password(name, password)
    (tmp_path / "passwd").write_text(passwords.render())
    (tmp_path / "acl").write_text(mosquitto_acl(central_clients))
    # Like a central broker run by the role: the user name is the client id.
    tls_lines = [f"cafile {rollout.ca_dir / 'ca.crt'}", f"certfile {certfile}", f"keyfile {keyfile}",
                 "use_username_as_clientid true"]
    with Broker(tmp_path, tmp_path / "passwd", tmp_path / "acl", bind=gateway, listener_lines=tls_lines) as central:
        bridges = [{
            "name": "central",
            "addresses": [f"{gateway}:{central.port}"],
            "remote_username": "bridge-edge",
            "remote_password": central_passwords["bridge-edge"],
            "topics": [{"pattern": "factory/#", "direction": "out", "qos": 1, "remote_prefix": "ming/bridge/site1/"}],
        }]
        settings = {"mosquitto_max_queued_messages": 500}
        result = rollout.run(mosquitto_bridges=bridges, **settings)
        assert result.task_changed("Restart mosquitto")  # bridges are not reloaded by SIGHUP in Mosquitto 2.0
        assert wait_healthy()
        bridges_conf = (rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").stat()
        assert bridges_conf.st_mode & 0o777 == 0o640

        reader = Session(central.port, "central-reader", central_passwords["central-reader"],
                         rollout.ca_dir / "ca.crt", topics=("ming/bridge/#", "$SYS/broker/connection/+/state"),
                         host=gateway)
        assert reader.accepted, central.log()
        try:
            delivered = carried(rollout, reader, "bridged")
            assert delivered, central.log()
            assert delivered[2] == 1, "the message was not carried at QoS 1 end to end"
            # The bridge's client id defaults to its user name, whose connection state topic (and only that) the
            # central ACL grants the bridge user: its notification arrives.
            assert "remote_clientid bridge-edge" in (
                rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").read_text()
            assert reader.wait_for("$SYS/broker/connection/bridge-edge/state", "1"), central.log()
            assert rollout.leaked() == [], "a bridge password appeared in the --diff -vvv output"
            assert rollout.run(tags=SETTLED, mosquitto_bridges=bridges, **settings).changed == 0

            # A bridge setting Mosquitto refuses: validate rejects it, bridges.conf and the broker stay.
            live = (rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").read_bytes()
            started = container_state()["StartedAt"]
            # keepalive_interval is an int to the argument spec and preflight; Mosquitto allows at most 65535.
            refused = [dict(bridges[0], keepalive_interval=70000)]
            output = rollout.run(expect_failure=True, mosquitto_bridges=refused, **settings)
            assert "Write the bridge configuration" in output, output[-3000:]
            assert (rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").read_bytes() == live
            assert container_state()["StartedAt"] == started and wait_healthy()
            assert carried(rollout, reader, "still-bridged"), central.log()

            # A changed remote password (the central broker learns it too) restarts and the bridge logs in with it.
            rollout.passwords["bridge-edge"] = secret()
            passwords.set_password("bridge-edge", rollout.passwords["bridge-edge"])
            (tmp_path / "passwd").write_text(passwords.render())
            central.reload()
            bridges = [dict(bridges[0], remote_password=rollout.passwords["bridge-edge"])]
            result = rollout.run(mosquitto_bridges=bridges, **settings)
            assert result.task_changed("Restart mosquitto")
            assert rollout.leaked() == [], "the changed bridge password appeared in the --diff -vvv output"
            assert wait_healthy()
            assert carried(rollout, reader, "new-password"), central.log()

            # Removing the bridge: its connection on the central broker is closed and nothing is carried any more.
            result = rollout.run(mosquitto_bridges=[], **settings)
            assert result.task_changed("Restart mosquitto")
            assert wait_healthy()
            assert "connection central" not in (
                rollout.base_dir / "mosquitto" / "config" / "conf.d" / "bridges.conf").read_text()
            assert bridge_events(central.log(), "bridge-edge")[-1] == "gone", central.log()
            assert not carried(rollout, reader, "after-removal", attempts=3)
            assert bridge_events(central.log(), "bridge-edge")[-1] == "gone", "the bridge came back"
        finally:
            reader.close()
        assert rollout.run(tags=SETTLED, mosquitto_bridges=[], **settings).changed == 0


def carried(rollout, reader, prefix, attempts=30):
    """Publish on the edge broker until the bridge delivers one message to the central reader (or give up)."""
    for attempt in range(attempts):  # until the bridge has (re)connected after a restart
        payload = f"{prefix}-{attempt}"
        plc = Session(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], rollout.ca_dir / "ca.crt")
        plc.publish("factory/line/line1/event", payload, qos=1)
        plc.close()
        delivered = reader.wait_for("ming/bridge/site1/factory/line/line1/event", payload, timeout=1.0)
        if delivered:
            return delivered
    return None


def bridge_events(log, client_id):
    """The central broker's log for one client id, as 'connected' / 'gone' events in order."""
    events = []
    for line in log.splitlines():
        # Mosquitto 2.0 logs "New bridge connected" for a bridge that tries the private protocol, else "New client".
        if f" as {client_id} " in line and ("New client connected" in line or "New bridge connected" in line):
            events.append("connected")
        elif f"Client {client_id} " in line and any(
                word in line for word in ("disconnected", "closed its connection", "has exceeded the timeout")):
            events.append("gone")
    return events or ["none"]
