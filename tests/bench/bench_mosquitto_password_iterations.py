"""Benchmark: how long one MQTT CONNECT takes at the real broker for each PBKDF2 iteration count of a ``$7$`` hash.

    .venv/bin/python tests/bench/bench_mosquitto_password_iterations.py     (also run by scripts/run-tests.sh bench)

Runs the real Mosquitto 2.0.11 broker binary (Debian's package, the one the tests use; when it is missing this
script installs it with scripts/install-test-deps.sh runtime) on a free 127.0.0.1 port, with a password file written
by the collection's module_utils (module_utils/mosquitto_passwd.py): one user per iteration count, 101 (what
``mosquitto_passwd`` 2.0 writes), the role's default ``mosquitto_password_iterations`` and a few around it. For each
count it opens ROUNDS fresh TCP connections, sends an MQTT 3.1.1 CONNECT with that user's password and waits for
the CONNACK; the time from connecting the socket to the CONNACK is what a client waits for, and the broker's PBKDF2
run is what grows with the count. Prints the median and 90th percentile per count and the ratio to 101 iterations
measured in the same run; the 50 ms target for the default is reported, never asserted. Bounded: ROUNDS connections
per count and at most BUDGET_SECONDS in all. Exits non-zero only when the broker refuses a right password.
"""

import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / ".collections"))  # the collection as scripts/bootstrap-venv.sh links it

from mosquitto_broker import Broker, mosquitto_available  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import (  # noqa: E402
    MOSQUITTO_PASSWD_ITERATIONS,
    PasswordFile,
)

ROUNDS = 40
BUDGET_SECONDS = 120
TARGET_MS = 50.0
PASSWORD = "bench-password-0123456789"


def role_default_iterations():
    defaults = yaml.safe_load((REPO / "roles" / "mosquitto" / "defaults" / "main.yml").read_text())
    return int(defaults["mosquitto_password_iterations"])


def connect_packet(client_id, username, password):
    """An MQTT 3.1.1 CONNECT with clean session, user name and password."""
    def field(text):
        data = text.encode()
        return struct.pack("!H", len(data)) + data

    variable = field("MQTT") + bytes([4, 0b11000010]) + struct.pack("!H", 30)
    payload = field(client_id) + field(username) + field(password)
    body = variable + payload
    length, encoded = len(body), b""
    while True:
        digit, length = length % 128, length // 128
        encoded += bytes([digit | (0x80 if length else 0)])
        if not length:
            break
    return b"\x10" + encoded + body


def timed_connect(port, username):
    """Milliseconds from opening the TCP connection to the CONNACK, and the CONNACK return code."""
    packet = connect_packet(f"bench-{username}", username, PASSWORD)
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(packet)
        answer = b""
        while len(answer) < 4:
            chunk = sock.recv(4 - len(answer))
            if not chunk:
                break
            answer += chunk
        elapsed = (time.perf_counter() - started) * 1000
        sock.sendall(b"\xe0\x00")  # DISCONNECT
    code = answer[3] if len(answer) == 4 and answer[0] == 0x20 else -1
    return elapsed, code


def ensure_mosquitto():
    """The bench stage prepares only the venv: bring in the Debian broker the way `make test` does."""
    if not mosquitto_available():
        subprocess.run(["bash", str(REPO / "scripts" / "install-test-deps.sh"), "runtime"], check=True)
    if not mosquitto_available():
        raise SystemExit("the Mosquitto binaries are missing after scripts/install-test-deps.sh runtime")


def main():
    ensure_mosquitto()
    default = role_default_iterations()
    counts = sorted({MOSQUITTO_PASSWD_ITERATIONS, 1000, default // 2, default, default * 2})
    deadline = time.monotonic() + BUDGET_SECONDS
    results, problems = {}, []
    with tempfile.TemporaryDirectory(prefix="bench-mosquitto-") as directory:
        directory = Path(directory)
        passwords = PasswordFile("")
        for count in counts:
            passwords.set_password(f"user-{count}", PASSWORD, count)
        (directory / "passwd").write_text(passwords.render())
        with Broker(directory, directory / "passwd") as broker:
            for _warm_up in range(3):
                timed_connect(broker.port, f"user-{MOSQUITTO_PASSWD_ITERATIONS}")
            # Interleaved rounds, so load from other processes falls on every count alike.
            for _round in range(ROUNDS):
                if time.monotonic() > deadline:
                    break
                for count in counts:
                    elapsed, code = timed_connect(broker.port, f"user-{count}")
                    if code != 0:
                        problems.append(f"{count} iterations: CONNACK code {code}")
                    results.setdefault(count, []).append(elapsed)
    if problems:
        print("WRONG RESULTS:\n" + "\n".join(sorted(set(problems))), file=sys.stderr)
        return 1

    base = statistics.median(results[MOSQUITTO_PASSWD_ITERATIONS])
    print(f"Mosquitto 2.0.11 (Debian binary), plain MQTT on 127.0.0.1, {len(results[counts[0]])} CONNECTs "
          "per count, TCP connect to CONNACK")
    print(f"{'iterations':>10} {'median ms':>10} {'p90 ms':>8} {'x 101':>7}")
    for count in counts:
        samples = sorted(results[count])
        p90 = samples[min(len(samples) - 1, int(len(samples) * 0.9))]
        median = statistics.median(samples)
        marker = "  <- role default (mosquitto_password_iterations)" if count == default else ""
        print(f"{count:>10} {median:>10.2f} {p90:>8.2f} {median / base:>7.1f}{marker}")
    median_default = statistics.median(results[default])
    print(f"target: a CONNECT under {TARGET_MS:.0f} ms at the default ({default} iterations): "
          f"{'met' if median_default < TARGET_MS else 'NOT met'} (median {median_default:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
