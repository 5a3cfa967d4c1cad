"""Settings for every test of the collection.

- The collection is importable as ``ansible_collections.sensingcam.ming``: scripts/bootstrap-venv.sh links the
  repository at .collections/ansible_collections/sensingcam/ming, the layout Ansible itself uses.
- Under ``CI=true`` a skipped test fails: on CI every prerequisite (Docker engine, lab images, Debian packages) is
  installed by the repository's own scripts, so a skip there means a missing install step, not a reason to pass.
"""

import contextlib
import os
import shutil
import sys
from pathlib import Path

import file_durations
import pytest

COLLECTIONS_ROOT = Path(__file__).resolve().parents[1] / ".collections"
if str(COLLECTIONS_ROOT) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_ROOT))


# Longest test files first and each file's time (tests/file_durations.py): its hooks act from here.
pytest_collection_modifyitems = file_durations.pytest_collection_modifyitems
pytest_configure = file_durations.pytest_configure


def in_ci():
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = ("CI=true: a skip is a failure here (every prerequisite is installed by the repository's "
                           f"scripts, so this is a missing install step): {reason}")


def pytest_terminal_summary(terminalreporter):
    skipped = len(terminalreporter.stats.get("skipped", []))
    note = " (CI=true turns skips into failures)" if in_ci() else ""
    terminalreporter.write_line(f"skipped tests: {skipped}{note}")


@pytest.fixture
def mosquitto_binaries():
    """Fails (never skips) a test that needs the Mosquitto 2 binaries when they are missing."""
    from mosquitto_broker import require_mosquitto

    require_mosquitto()


@pytest.fixture
def ffmpeg():
    """ffmpeg (Debian package ffmpeg, scripts/install-test-deps.sh runtime); missing, the test fails, never skips."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is missing: run scripts/install-test-deps.sh runtime (make test does)")


@pytest.fixture
def ffprobe():
    """ffprobe (Debian package ffmpeg); missing, the test fails, never skips."""
    if shutil.which("ffprobe") is None:
        pytest.fail("ffprobe is missing: run scripts/install-test-deps.sh runtime (make test does)")


# -- InfluxDB 2 API double (tools/influxdb2_double): InfluxDB 2.x cannot run on this machine ----------------------
TOOLS_ROOT = Path(__file__).resolve().parents[1] / "tools"
if str(TOOLS_ROOT) not in sys.path:
    sys.path.insert(0, str(TOOLS_ROOT))


@contextlib.contextmanager
def started_doubles(make):
    """Yields ``start(...)``, which builds a service double with ``make(...)`` and starts it; every double started is
    stopped on the way out (the factory fixtures below)."""
    started = []

    def start(*args, **kwargs):
        double = make(*args, **kwargs).start()
        started.append(double)
        return double

    try:
        yield start
    finally:
        for double in started:
            double.stop()


@pytest.fixture
def influxdb2_double_factory():
    """Starts InfluxDB 2 API doubles (fresh, not onboarded, 127.0.0.1, a free port); stops them after the test.

    ``influxdb2_double_factory(version="2.7.12")`` -> a running double imitating that version (2.9+ hashes tokens);
    ``ssl_context=`` (a server-side ``ssl.SSLContext``) serves HTTPS.
    """
    from influxdb2_double import InfluxDB2Double

    def make(version="2.9.1", ssl_context=None):
        return InfluxDB2Double("127.0.0.1", 0, version, ssl_context)

    with started_doubles(make) as start:
        yield start


@pytest.fixture
def influxdb2_double(influxdb2_double_factory):
    """A fresh, not yet onboarded InfluxDB 2.9.1 API double (a double: InfluxDB 2.x cannot run on this machine)."""
    return influxdb2_double_factory()


# -- Frigate API double (tools/frigate_double): Frigate cannot run on this machine ---------------------------------
@pytest.fixture
def frigate_double_factory():
    """Starts Frigate API doubles (127.0.0.1, a free port); stops them after the test.

    ``frigate_double_factory(version="0.18.0", cameras=["cam-line1-st10"], clip_delay_s=0.2, user="ming-nodered",
    password=None, mqtt=None, ssl_context=None, **options)`` -> a running double (``url``, ``port``, ``user``,
    ``password``, ``events``, ``requests``, ``reviews``, ``clip_downloads``, ``mqtt_messages``, ``set_fault()``,
    ``stop()``). ``password=None`` generates one (the double has no default credential); ``mqtt`` is a dict (host,
    port, user, password, ca_file, tls, client_id, topic_prefix, qos); ``options`` are FrigateDouble's others
    (viewer, review_cutoff_s, pre_capture_s, control_port, control_token).
    """
    import secrets

    from frigate_double import FrigateDouble

    def make(version="0.18.0", cameras=("cam-line1-st10",), clip_delay_s=0.2, user="ming-nodered", password=None,
             mqtt=None, ssl_context=None, **options):
        return FrigateDouble("127.0.0.1", 0, version, list(cameras), clip_delay_s, user,
                             password or secrets.token_urlsafe(18), mqtt=mqtt, ssl_context=ssl_context, **options)

    with started_doubles(make) as start:
        yield start


@pytest.fixture
def frigate_double(frigate_double_factory):
    """A Frigate 0.18.0 API double with camera cam-line1-st10 (a double: Frigate cannot run on this machine)."""
    return frigate_double_factory()
