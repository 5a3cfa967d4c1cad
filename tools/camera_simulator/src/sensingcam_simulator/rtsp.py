"""Drive the GStreamer RTSP child process (rtsp_server.py) from the asyncio simulator.

One child serves every RTSP-enabled camera (one GstRTSPServer per camera port), so a fleet costs one process,
and a stream is only encoded while a client watches it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .camera import Camera

log = logging.getLogger("sensingcam_simulator.rtsp")
CHILD_SCRIPT = Path(__file__).with_name("rtsp_server.py")
# The simulator sends a small test pattern whatever the stream profile asks for (an RTSP client sees the
# fps of the profile, capped, but never a 4K encode on a shared test machine).
MAX_SIZE = {"video0": (640, 360), "video1": (320, 180)}
MAX_FPS = 15


class RtspUnavailable(RuntimeError):
    """GStreamer's RTSP server cannot be run (Debian packages missing)."""


def gstreamer_available(python: str = "/usr/bin/python3") -> str | None:
    """None when the RTSP child can run, else the reason (used by tests to skip with a clear message)."""
    if not (os.path.isfile(python) and os.access(python, os.X_OK)) and not shutil.which(python):
        return f"{python} not found (the RTSP child needs Debian's python3 with python3-gi)"
    import subprocess  # noqa: PLC0415 - only needed for this check

    probe = ("import gi; gi.require_version('Gst','1.0'); gi.require_version('GstRtspServer','1.0'); "
             "from gi.repository import Gst, GstRtspServer; Gst.init(None); "
             "assert Gst.ElementFactory.find('x264enc'), 'x264enc missing (gstreamer1.0-plugins-ugly)'")
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, check=False)  # noqa: S603
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["unknown error"]
        return ("GStreamer RTSP server not usable (run tools/camera_simulator/install-rtsp-deps.sh): "
                + lines[-1])
    return None


class RtspManager:
    def __init__(self, python: str = "/usr/bin/python3", bind: str = "127.0.0.1") -> None:
        self.python = python
        self.bind = bind
        self._proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self.running: set[int] = set()

    async def start(self) -> None:
        try:
            self._proc = await asyncio.create_subprocess_exec(
                self.python, str(CHILD_SCRIPT), self.bind,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
        except OSError as exc:
            raise RtspUnavailable(f"cannot run {self.python}: {exc}") from exc
        assert self._proc.stdout is not None
        line = await asyncio.wait_for(self._proc.stdout.readline(), timeout=30)
        try:
            ready = json.loads(line)
        except ValueError:
            ready = {}
        if ready.get("event") != "ready":
            await self.stop()
            raise RtspUnavailable("the GStreamer RTSP child did not start: run "
                                  "tools/camera_simulator/install-rtsp-deps.sh (see its stderr above)")
        log.info("RTSP child ready (%s)", ready.get("gstreamer"))
        self._reader = asyncio.ensure_future(self._read_replies())

    async def _read_replies(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        while line := await self._proc.stdout.readline():
            try:
                message = json.loads(line)
            except ValueError:
                continue
            future = self._pending.pop(message.get("id"), None)
            if future is not None and not future.done():
                future.set_result(message)
        for future in self._pending.values():
            if not future.done():
                future.set_result({"ok": False, "error": "RTSP child exited"})

    async def _command(self, **cmd: Any) -> dict[str, Any]:
        if self._proc is None or self._proc.stdin is None or self._proc.returncode is not None:
            return {"ok": False, "error": "RTSP child not running"}
        cmd["id"] = next(self._ids)
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[cmd["id"]] = future
        self._proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self._proc.stdin.drain()
        return await asyncio.wait_for(future, timeout=30)

    def _streams(self, camera: Camera) -> dict[str, dict[str, int]]:
        """RTSP mount path -> test-pattern parameters, for each stream group of the profile (streams.<stream>)."""
        streams = {}
        for stream in ("video0", "video1"):
            path = camera.value_of(f"streams.{stream}.rtsp_path")
            if not isinstance(path, str) or not camera.rtsp_served(stream):
                continue
            width, height = MAX_SIZE.get(stream, MAX_SIZE["video1"])
            fps = camera.value_of(f"streams.{stream}.fps", 10)
            streams["/" + path.strip("/")] = {"width": width, "height": height,
                                              "fps": max(1, min(MAX_FPS, int(fps))), "gop": 10}
        return streams

    async def sync(self, camera: Camera, wanted: bool) -> None:
        port = camera.config.rtsp_port
        if port is None:
            return
        async with self._lock:
            if wanted and port not in self.running:
                result = await self._command(op="start", port=port, user=camera.config.user,
                                             password=camera.config.password, streams=self._streams(camera))
                if result.get("ok"):
                    self.running.add(port)
                else:
                    log.error("camera %s: RTSP server on port %s failed: %s", camera.name, port, result.get("error"))
            elif not wanted and port in self.running:
                self.running.discard(port)
                await self._command(op="stop", port=port)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), timeout=5)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            self._reader.cancel()
        self.running.clear()
