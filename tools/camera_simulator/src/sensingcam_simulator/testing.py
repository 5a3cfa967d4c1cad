"""Helpers for tests that run against the simulator (this collection's tests and the modules' tests).

``running_simulator(...)`` starts a simulator on free loopback ports in a background thread with its own
event loop, so synchronous test code (requests, urllib, Ansible modules) can talk to it::

    with running_simulator(cameras=2, time_scale=0.02) as sim:
        cam = sim.camera("cam001")
        requests.get(f"{sim.url('cam001')}/api/FirmwareVersion")
        requests.get(f"{sim.control_url}/cameras", headers=sim.control_headers)   # the control API needs the token
        sim.control("/cameras/cam001/faults", "PUT", {"offline": True})          # the same, with urllib
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

from .camera import CameraConfig
from .profile import Profile, load_profile
from .server import Simulator


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """Ports free right now on ``host`` (bound then released; good enough for tests)."""
    sockets, ports = [], []
    try:
        for _port_index in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((host, 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def free_port_block(count: int, host: str = "127.0.0.1", attempts: int = 200) -> int:
    """First port of ``count`` consecutive ports free right now on ``host``, for ``--base-port`` with several cameras.

    Searched below Linux's ephemeral range (32768-60999), so a port another process got by binding port 0 or by
    connecting out cannot sit inside the block; ``free_ports`` alone gives no such guarantee for ``base + 1``."""
    rng = random.SystemRandom()
    for _attempt in range(attempts):
        base = rng.randrange(20000, 32768 - count)
        sockets = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sockets.append(sock)
                sock.bind((host, port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free ports on {host} after {attempts} attempts")


class SimulatorThread:
    """A started Simulator plus its loop thread; ``call(coro)`` runs a coroutine on the simulator's loop."""

    def __init__(self, simulator: Simulator, host: str, control_token: str | None = None) -> None:
        self.simulator = simulator
        self.host = host
        self.control_token = control_token
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="camera-simulator", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self.call(self.simulator.start())

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.call(self.simulator.stop(), timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def call(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def camera(self, name: str):
        return self.simulator.cameras[name]

    def url(self, name: str) -> str:
        return f"http://{self.host}:{self.simulator.cameras[name].config.port}"

    @property
    def control_url(self) -> str:
        assert self.simulator.control_address is not None
        host, port = self.simulator.control_address
        return f"http://{host}:{port}"

    @property
    def control_headers(self) -> dict[str, str]:
        """The ``Authorization`` header every control API request needs."""
        assert self.control_token is not None, "this simulator runs without a control API"
        return {"Authorization": f"Bearer {self.control_token}"}

    def control(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        """One control API request with the token; returns (HTTP status, parsed JSON body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.control_url + path, data=data, method=method,  # noqa: S310 - http URL
                                         headers={"Content-Type": "application/json", **self.control_headers})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our own http URL
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, json.loads(exc.read() or b"null")

    def set_faults(self, name: str, **faults: Any) -> dict[str, Any]:
        return self.call(self.simulator.set_faults(self.simulator.cameras[name], faults))

    def reset(self, name: str) -> None:
        self.call(self.simulator.reset(self.simulator.cameras[name]))


@contextlib.contextmanager
def running_simulator(cameras: int | list[CameraConfig] = 1, *, profile: Profile | None = None,
                      password: str | None = None, user: str | None = None, time_scale: float = 0.02,
                      latency_ms: float = 0.0, host: str = "127.0.0.1", control_token: str | None = None,
                      **options: Any) -> Iterator[SimulatorThread]:
    """Run a simulator for the duration of a ``with`` block. With an int, cameras cam001.. get free ports and
    ``password`` (random when not given; read it back from ``sim.camera(name).config.password``). The control API
    listens on a free loopback port and needs ``control_token`` (random when not given): ``sim.control_headers``
    or ``sim.control(...)`` send it. ``control_port=None`` runs without a control API."""
    profile = profile or load_profile()
    if isinstance(cameras, int):
        password = password or secrets.token_urlsafe(12)
        configs = [CameraConfig(name=f"cam{i + 1:03d}", port=port, user=user or profile.default_user,
                                password=password, serial=f"SIM{i + 1:05d}")
                   for i, port in enumerate(free_ports(cameras, host))]
    else:
        configs = cameras
    options.setdefault("control_port", 0)
    control_token = control_token or secrets.token_urlsafe(32)
    sim = SimulatorThread(Simulator(profile, configs, bind=host, latency_ms=latency_ms, time_scale=time_scale,
                                    control_token=control_token, **options), host, control_token)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()
