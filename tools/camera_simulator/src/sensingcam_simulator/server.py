"""The asyncio side of the simulator: one aiohttp application serving every virtual camera, plus the control API.

All cameras share one application and one runner; each camera only adds a listening socket (a TCPSite), and a
request finds its camera from the local port it arrived on. That keeps a 500-camera fleet to a few megabytes.
A camera that is "off" (fault `offline`, rebooting, or stuck after a firmware upload) has its listening socket
closed and its open connections dropped, so clients see "connection refused" exactly as with a real device.

The control API (faults, reset, counters) runs only with a control token. Every control request must carry
``Authorization: Bearer <token>`` (compared in constant time) and a ``Host`` header naming the loopback address and
port it listens on, so neither a web page's cross-site request nor a DNS-rebinding page can drive it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import json
import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiohttp import web

from . import jpeg
from .auth import AuthError, NonAsciiCredentials, verify
from .camera import ApiError, Camera, CameraConfig, parse_firmware_header, validate_faults
from .profile import Profile
from .rtsp import RtspManager

log = logging.getLogger("sensingcam_simulator")

# Realistic durations in seconds, multiplied by --time-scale.
UPLOAD_BYTES_PER_SECOND = 2_000_000  # HTTP upload into the device's flash
VERIFY_SECONDS = 8.0
REBOOT_SECONDS = (20.0, 60.0)  # uniform range
METHOD_REBOOT_DELAY = 0.05  # real seconds between the reply to Reboot and the port closing
HOLD_POLL_SECONDS = 0.02  # real seconds between two looks at the hold_firmware_state fault
CHUNK = 64 * 1024
MIN_CONTROL_TOKEN = 16
CONTROL_REALM = 'Bearer realm="sensingcam-simulator control"'
# aiohttp >= 3.13 prefers typed request keys; Debian bookworm ships 3.8, which only has string keys.
CAMERA_KEY: Any = web.RequestKey("sensingcam_camera", Camera) if hasattr(web, "RequestKey") else "sensingcam_camera"


class _Runtime:
    """Per-camera objects that belong to the server, not to the camera model."""

    __slots__ = ("sites", "lock", "tasks", "ws_clients")

    def __init__(self) -> None:
        self.sites: list[web.TCPSite] = []
        self.lock = asyncio.Lock()
        self.tasks: set[asyncio.Task] = set()
        self.ws_clients: set[web.WebSocketResponse] = set()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def control_host_names(host: str, port: int) -> set[str]:
    """The Host header values the control API accepts when it listens on ``host``:``port`` (lower case): that
    address and the loopback names localhost, 127.0.0.1 and [::1], each with the port (alone for port 80)."""
    names = {host if ":" not in host else f"[{host}]", "localhost", "127.0.0.1", "[::1]"}
    accepted = {f"{name.lower()}:{port}" for name in names}
    if port == 80:
        accepted |= {name.lower() for name in names}
    return accepted


class Simulator:
    """Serve ``cameras`` (CameraConfig list) as described by ``profile``.

    Use ``await start()`` / ``await stop()``; ``control_port`` 0 picks a free port (see ``control_address``).
    """

    def __init__(self, profile: Profile, cameras: Iterable[CameraConfig], *, bind: str = "127.0.0.1",
                 control_host: str = "127.0.0.1", control_port: int | None = 0, latency_ms: float = 20.0,
                 time_scale: float = 1.0, nonce_ttl: float = 60.0, ws_fps: float = 4.0,
                 rtsp_python: str = "/usr/bin/python3", control_token: str | None = None) -> None:
        if not is_loopback(control_host):
            raise ValueError(f"the control API listens on loopback only, not {control_host}")
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.profile = profile
        self.bind = bind
        self.control_host = control_host
        self.control_port = control_port
        if control_token is not None and len(control_token) < MIN_CONTROL_TOKEN:
            raise ValueError(f"the control token must have at least {MIN_CONTROL_TOKEN} characters")
        self._control_token = control_token.encode("utf-8") if control_token else None
        self._control_hosts: set[str] = set()
        self.latency = max(0.0, latency_ms) / 1000.0
        self.time_scale = time_scale
        self.ws_interval = 1.0 / max(0.1, ws_fps)
        self.cameras: dict[str, Camera] = {}
        self.by_port: dict[int, Camera] = {}
        for config in cameras:
            if config.name in self.cameras:
                raise ValueError(f"camera name {config.name} used twice")
            camera = Camera(config, profile, nonce_ttl=nonce_ttl)
            for port in {config.port, config.ws_port} - {None}:
                if port in self.by_port:
                    raise ValueError(f"port {port} used by {self.by_port[port].name} and {config.name}")
                self.by_port[port] = camera
            self.cameras[config.name] = camera
        rtsp_ports = [c.config.rtsp_port for c in self.cameras.values() if c.config.rtsp]
        if None in rtsp_ports:
            raise ValueError("every camera with rtsp needs an rtsp_port")
        if len(set(rtsp_ports)) != len(rtsp_ports) or set(rtsp_ports) & set(self.by_port):
            raise ValueError("RTSP ports must be distinct from each other and from the HTTP/WebSocket ports")
        self.runtime: dict[str, _Runtime] = {}
        self.frames = jpeg.frames()
        self.rtsp = RtspManager(python=rtsp_python, bind=bind) if rtsp_ports else None
        self._runner: web.AppRunner | None = None
        self._control_runner: web.AppRunner | None = None
        self.control_address: tuple[str, int] | None = None
        self._closing = False

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.runtime = {name: _Runtime() for name in self.cameras}
        app = web.Application(middlewares=[self._camera_middleware], client_max_size=4 * 1024 * 1024)
        self._add_camera_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        if self.rtsp is not None:
            await self.rtsp.start()
        for camera in self.cameras.values():
            await self.sync_listener(camera)
        if self.control_port is not None and self._control_token is None:
            log.info("control API disabled: no control token (--control-token-file)")
        if self.control_port is not None and self._control_token is not None:
            control = web.Application(middlewares=[self._control_guard])
            self._add_control_routes(control)
            self._control_runner = web.AppRunner(control, access_log=None, handle_signals=False)
            await self._control_runner.setup()
            site = web.TCPSite(self._control_runner, self.control_host, self.control_port, reuse_address=True)
            await site.start()
            server = getattr(site, "_server", None)
            port = server.sockets[0].getsockname()[1] if server and server.sockets else self.control_port
            self.control_address = (self.control_host, port)
            self._control_hosts = control_host_names(self.control_host, port)

    async def stop(self) -> None:
        self._closing = True
        for runtime in self.runtime.values():
            for task in list(runtime.tasks):
                task.cancel()
        if self._control_runner is not None:
            await self._control_runner.cleanup()
        if self._runner is not None:
            for camera in self.cameras.values():
                self._drop_connections(camera)
            await self._runner.cleanup()
        if self.rtsp is not None:
            await self.rtsp.stop()

    def is_online(self, camera: Camera) -> bool:
        return bool(self.runtime[camera.name].sites)

    def _should_be_online(self, camera: Camera) -> bool:
        return not (self._closing or camera.faults["offline"] or camera.rebooting or camera.stuck)

    async def sync_listener(self, camera: Camera) -> None:
        """Open or close the camera's listening sockets (and its RTSP server) to match its state."""
        runtime = self.runtime[camera.name]
        async with runtime.lock:
            wanted = self._should_be_online(camera)
            if wanted and not runtime.sites:
                ports = [camera.config.port] + ([camera.config.ws_port] if camera.config.ws_port else [])
                for port in ports:
                    site = web.TCPSite(self._runner, self.bind, port, reuse_address=True)
                    try:
                        await site.start()
                    except OSError as exc:
                        log.error("camera %s: cannot listen on %s:%s: %s", camera.name, self.bind, port, exc)
                        for opened in runtime.sites:
                            await opened.stop()
                        runtime.sites.clear()
                        raise
                    runtime.sites.append(site)
            elif not wanted and runtime.sites:
                for site in runtime.sites:
                    await site.stop()
                runtime.sites.clear()
                self._drop_connections(camera)
            if self.rtsp is not None and camera.config.rtsp:
                await self.rtsp.sync(camera, wanted and camera.rtsp_available())

    def _drop_connections(self, camera: Camera) -> None:
        """Abort every open connection (HTTP keep-alive and WebSocket) that arrived on the camera's ports."""
        ports = {camera.config.port, camera.config.ws_port} - {None}
        server = getattr(self._runner, "server", None)
        for handler in list(getattr(server, "connections", []) or []):
            transport = getattr(handler, "transport", None)
            if transport is None:
                continue
            sockname = transport.get_extra_info("sockname")
            if sockname and sockname[1] in ports:
                transport.abort()
        self.runtime[camera.name].ws_clients.clear()

    def _spawn(self, camera: Camera, coro: Awaitable[Any]) -> None:
        runtime = self.runtime[camera.name]
        task = asyncio.ensure_future(coro)
        runtime.tasks.add(task)
        task.add_done_callback(runtime.tasks.discard)

    def seconds(self, real_device_seconds: float) -> float:
        return real_device_seconds * self.time_scale

    async def reset(self, camera: Camera) -> None:
        for task in list(self.runtime[camera.name].tasks):
            task.cancel()
        camera.reset()
        await self.sync_listener(camera)

    async def set_faults(self, camera: Camera, update: dict[str, Any]) -> dict[str, Any]:
        camera.faults.update(validate_faults(update))
        await self.sync_listener(camera)
        return dict(camera.faults)

    async def reboot(self, camera: Camera, new_version: str | None = None, never_return: bool = False) -> None:
        camera.rebooting = True
        camera.counters["reboots"] += 1
        await self.sync_listener(camera)
        await self._hold(camera, "rebooting")
        if never_return:
            camera.stuck = True
            camera.firmware_message = "device did not come back after the update (fault reboot_never_returns)"
            log.info("camera %s: rebooting and never coming back", camera.name)
            return
        await asyncio.sleep(self.seconds(random.uniform(*REBOOT_SECONDS)))  # noqa: S311 - not crypto
        if new_version is not None:
            camera.firmware_version = new_version
            camera.firmware_state = "idle"
            camera.firmware_message = f"updated to {new_version}"
        camera.rebooting = False
        camera.nonces.clear()
        await self.sync_listener(camera)
        log.info("camera %s: back after reboot on firmware %s", camera.name, camera.firmware_version)

    # -- reply helpers ---------------------------------------------------------------------------------------
    def reply(self, data: dict[str, Any] | None = None, status: int = 200, message: str = "Ok") -> web.Response:
        p = self.profile
        body: dict[str, Any] = {p.header_key: {"status": p.status_ok if status == 200 else status,
                                               "message": message}}
        if data is not None:
            body[p.data_key] = data
        return web.json_response(body, status=status)

    def _authenticate(self, camera: Camera, header: Any, name: str) -> None:
        if camera.faults["wrong_credentials"]:
            camera.counters["logins_failed"] += 1
            if isinstance(header, dict) and isinstance(header.get("nonce"), str):
                with contextlib.suppress(AuthError):
                    camera.nonces.consume(header["nonce"])
            raise ApiError(401, "Unauthorized")
        try:
            verify(header, name=name, user=camera.config.user, password=camera.config.password,
                   realm=self.profile.realm, salt=camera.config.salt, nonces=camera.nonces)
        except AuthError as exc:
            camera.counters["logins_failed"] += 1
            log.debug("camera %s: login for %s refused: %s", camera.name, name, exc)
            if isinstance(exc, NonAsciiCredentials):  # as the device answers a failed login: HTTP 200, status 4
                raise web.HTTPOk(text=json.dumps({self.profile.header_key: {
                    "status": exc.device_status, "message": "Access denied"}}),
                    content_type="application/json") from None
            raise ApiError(401, "Unauthorized") from None
        camera.counters["logins_ok"] += 1

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        return body

    # -- camera HTTP API -------------------------------------------------------------------------------------
    @web.middleware
    async def _camera_middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        camera = self.by_port.get(sockname[1]) if sockname else None
        if camera is None:
            raise web.HTTPNotFound()
        if not self.is_online(camera):  # a request on a connection that outlived its listener
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()
        request[CAMERA_KEY] = camera
        camera.counters["requests"] += 1
        delay = self.latency + camera.faults["slow_ms"] / 1000.0
        if camera.faults["slow_ms"]:
            camera.counters["delayed_requests"] += 1
        if delay:
            await asyncio.sleep(delay)
        if camera.faults["http_500"]:
            return self.reply(status=500, message="Internal Server Error (simulated fault http_500)")
        try:
            return await handler(request)
        except ApiError as exc:
            return self.reply(status=exc.status, message=exc.message)

    def _add_camera_routes(self, app: web.Application) -> None:
        p = self.profile
        files = p.files
        app.router.add_post(f"{p.api_prefix}/{p.challenge_method}", self.get_challenge)
        app.router.add_post(files["latest_snapshot"].path, self.latest_snapshot)
        app.router.add_post(files["config_export"].path, self.config_export)
        app.router.add_post(files["config_import"].path, self.config_import)
        app.router.add_post(files["firmware_upload"].path, self.firmware_upload)
        app.router.add_get(p.websocket_path, self.websocket)
        app.router.add_get(p.api_prefix + "/{name}", self.api_get)
        app.router.add_post(p.api_prefix + "/{name}", self.api_post)

    async def get_challenge(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        user = (body.get("data") or {}).get("user") if isinstance(body.get("data"), dict) else None
        if not isinstance(user, str) or not user:
            raise ApiError(400, 'body must be {"data": {"user": "<user>"}}')
        challenge = camera.nonces.issue(user)
        reply: dict[str, Any] = {"realm": self.profile.realm, "nonce": challenge.nonce, "opaque": challenge.opaque}
        if camera.config.salt:
            reply["salt"] = list(camera.config.salt)
        return web.json_response({"challenge": reply})

    async def api_get(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        if self.profile.reads_require_login:
            raise ApiError(401, f"reads need a login on this profile: POST {self.profile.api_prefix}/{name} "
                                "with the auth header and no data")
        return self.reply({name: camera.read(name)})

    async def api_post(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        body = await self._json_body(request)
        self._authenticate(camera, body.get("header"), name)
        data = body.get("data")
        if data is not None and not isinstance(data, dict):
            raise ApiError(400, "data must be a JSON object")
        methods = self.profile.methods
        if name in methods.values():
            return await self._call_method(camera, name, data or {})
        if name not in self.profile.variables:
            raise ApiError(404, f"unknown variable {name}")
        if data and name in data:
            return self.reply({name: camera.write(name, data[name])})
        if data:
            raise ApiError(400, f'to write, send {{"data": {{"{name}": <value>}}}}')
        return self.reply({name: camera.read(name)})

    async def _call_method(self, camera: Camera, name: str, data: dict[str, Any]) -> web.Response:
        methods = self.profile.methods
        if name == methods.get("snapshot_mode"):
            mode = data.get(name)
            if mode not in (0, 1) or isinstance(mode, bool):
                raise ApiError(400, f'{name} needs {{"data": {{"{name}": 1}}}} (snapshot) or 0 (stream)')
            camera.snapshot_mode = mode
            return self.reply({name: mode})
        if name == methods.get("trigger_event"):
            camera.trigger_event()
            return self.reply({})
        if name == methods.get("trigger_snapshot"):
            camera.snapshot_index += 1
            camera.counters["snapshots_triggered"] += 1
            return self.reply({})
        if name == methods.get("reboot"):
            if camera.firmware_state in ("receiving", "verifying", "rebooting"):
                raise ApiError(409, "a firmware update is in progress")

            async def later() -> None:
                await asyncio.sleep(METHOD_REBOOT_DELAY)
                await self.reboot(camera)

            self._spawn(camera, later())
            return self.reply({})
        raise ApiError(501, f"method {name} is in the profile but not simulated")

    async def latest_snapshot(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        self._authenticate(camera, body.get("header"), self.profile.files["latest_snapshot"].auth_name)
        frame = self.frames[camera.snapshot_index % len(self.frames)]
        return web.Response(body=frame, content_type="image/jpeg")

    async def config_export(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        self._authenticate(camera, body.get("header"), self.profile.files["config_export"].auth_name)
        document = json.dumps(camera.export_configuration(), indent=2, sort_keys=True)
        return web.Response(text=document, content_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{camera.name}-configuration.json"'})

    async def _multipart_header(self, request: web.Request, camera: Camera, auth_name: str):
        """Read the `header` part (auth) of a multipart upload; return the reader positioned at the `file` part."""
        if not request.content_type.startswith("multipart/"):
            raise ApiError(400, "send multipart/form-data with parts 'header' (JSON) then 'file'")
        reader = await request.multipart()
        part = await reader.next()
        if part is None or part.name != "header":
            raise ApiError(400, "the first multipart part must be 'header' (the JSON auth header)")
        try:
            header = json.loads((await part.read(decode=False)).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "the 'header' part is not JSON") from None
        if isinstance(header, dict) and "header" in header and "user" not in header:
            header = header["header"]  # also accept {"header": {...}}
        self._authenticate(camera, header, auth_name)
        part = await reader.next()
        if part is None or part.name != "file":
            raise ApiError(400, "the second multipart part must be 'file'")
        return part

    async def config_import(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        part = await self._multipart_header(request, camera, self.profile.files["config_import"].auth_name)
        raw = bytearray()
        while chunk := await part.read_chunk(CHUNK):
            raw += chunk
            if len(raw) > 1024 * 1024:
                raise ApiError(413, "configuration file larger than 1 MiB")
        try:
            document = json.loads(raw.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "configuration file is not JSON") from None
        applied = camera.import_configuration(document)
        return self.reply({"applied": applied})

    async def firmware_upload(self, request: web.Request) -> web.StreamResponse:
        camera: Camera = request[CAMERA_KEY]
        if camera.firmware_state in ("receiving", "verifying", "rebooting"):
            raise ApiError(409, f"a firmware update is already in progress ({camera.firmware_state})")
        part = await self._multipart_header(request, camera, self.profile.files["firmware_upload"].auth_name)
        camera.firmware_state = "receiving"
        camera.firmware_message = ""
        camera.counters["firmware_uploads"] += 1
        head = bytearray()
        received = 0
        while chunk := await part.read_chunk(CHUNK):
            received += len(chunk)
            if len(head) < 256:
                head += chunk[: 256 - len(head)]
            if camera.faults["upload_interrupted"]:
                camera.firmware_state = "idle"
                camera.firmware_message = "upload interrupted (fault upload_interrupted); firmware unchanged"
                log.info("camera %s: dropping the connection mid-upload", camera.name)
                if request.transport is not None:
                    request.transport.abort()
                raise web.HTTPServiceUnavailable()
            await asyncio.sleep(self.seconds(len(chunk) / UPLOAD_BYTES_PER_SECOND))
        if received == 0:
            camera.firmware_state = "failed"
            camera.firmware_message = "empty firmware file"
            raise ApiError(400, "empty firmware file")
        camera.firmware_state = "verifying"
        self._spawn(camera, self._finish_update(camera, bytes(head).split(b"\n", 1)[0]))
        return self.reply({self.profile.firmware_state_name: "verifying", "bytes": received})

    async def _hold(self, camera: Camera, state: str) -> None:
        """Stay in ``state`` while the fault hold_firmware_state names it (tests release it explicitly)."""
        while camera.faults["hold_firmware_state"] == state:
            await asyncio.sleep(HOLD_POLL_SECONDS)

    async def _finish_update(self, camera: Camera, first_line: bytes) -> None:
        await asyncio.sleep(self.seconds(VERIFY_SECONDS))
        await self._hold(camera, "verifying")
        try:
            version = parse_firmware_header(first_line)
        except ValueError as exc:
            camera.firmware_state = "failed"
            camera.firmware_message = f"image rejected: {exc}"
            return
        if camera.faults["checksum_mismatch"]:
            camera.firmware_state = "failed"
            camera.firmware_message = "image rejected: checksum mismatch (fault checksum_mismatch)"
            return
        camera.firmware_state = "rebooting"
        await self.reboot(camera, new_version=version, never_return=camera.faults["reboot_never_returns"])

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        camera: Camera = request[CAMERA_KEY]
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        runtime = self.runtime[camera.name]
        runtime.ws_clients.add(ws)

        async def send_frames() -> None:
            index = 0
            while not ws.closed:
                await ws.send_bytes(self.frames[index % len(self.frames)])
                index += 1
                await asyncio.sleep(self.ws_interval)

        sender = asyncio.ensure_future(send_frames())
        try:
            async for _message in ws:  # the device ignores what clients send; this loop sees the close
                pass
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError, RuntimeError):
                await sender
            runtime.ws_clients.discard(ws)
        return ws

    # -- control API -----------------------------------------------------------------------------------------
    @web.middleware
    async def _control_guard(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        """Every control request: the Host header names our loopback address (403 otherwise: a DNS-rebinding page
        sends its own name), then the bearer token matches (401 otherwise: a cross-site form cannot send one)."""
        host = request.headers.get("Host", "").strip().lower()
        if host not in self._control_hosts:
            log.warning("control API: refused a request for Host %r", host[:100])
            return web.json_response({"error": "the control API answers only for its loopback address "
                                               f"({', '.join(sorted(self._control_hosts))})"}, status=403)
        if not self.control_token_matches(request.headers.get("Authorization", "")):
            log.warning("control API: refused a request without the right bearer token")
            return web.json_response({"error": "send Authorization: Bearer <token from the control token file>"},
                                     status=401, headers={"WWW-Authenticate": CONTROL_REALM})
        return await handler(request)

    def control_token_matches(self, authorization: str) -> bool:
        """Whether an ``Authorization`` header value carries the control token (constant-time comparison)."""
        scheme, _space, token = authorization.strip().partition(" ")
        if self._control_token is None or scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(token.strip().encode("utf-8", "surrogatepass"), self._control_token)

    def _add_control_routes(self, app: web.Application) -> None:
        app.router.add_get("/health", self.control_health)
        app.router.add_get("/cameras", self.control_list)
        app.router.add_get("/cameras/{name}", self.control_camera)
        app.router.add_get("/cameras/{name}/faults", self.control_get_faults)
        app.router.add_put("/cameras/{name}/faults", self.control_put_faults)
        app.router.add_post("/cameras/{name}/reset", self.control_reset)

    def _camera(self, request: web.Request) -> Camera:
        camera = self.cameras.get(request.match_info["name"])
        if camera is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no such camera"}), content_type="application/json")
        return camera

    async def control_health(self, request: web.Request) -> web.Response:
        online = sum(1 for c in self.cameras.values() if self.is_online(c))
        return web.json_response({"status": "ok", "cameras": len(self.cameras), "online": online,
                                  "profile": str(self.profile.path)})

    async def control_list(self, request: web.Request) -> web.Response:
        return web.json_response({"cameras": [c.summary(self.is_online(c)) for c in self.cameras.values()]})

    async def control_camera(self, request: web.Request) -> web.Response:
        camera = self._camera(request)
        return web.json_response(camera.summary(self.is_online(camera)))

    async def control_get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(dict(self._camera(request).faults))

    async def control_put_faults(self, request: web.Request) -> web.Response:
        camera = self._camera(request)
        try:
            update = await request.json()
            faults = await self.set_faults(camera, update)
        except ValueError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        except OSError as exc:
            return web.json_response({"error": f"cannot reopen the camera port: {exc}"}, status=500)
        log.info("camera %s: faults now %s", camera.name, faults)
        return web.json_response(faults)

    async def control_reset(self, request: web.Request) -> web.Response:
        camera = self._camera(request)
        try:
            await self.reset(camera)
        except OSError as exc:
            return web.json_response({"error": f"cannot reopen the camera port: {exc}"}, status=500)
        return web.json_response(camera.summary(self.is_online(camera)))
