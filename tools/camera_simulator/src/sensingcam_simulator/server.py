"""The asyncio side of the simulator: one aiohttp application serving every virtual camera, plus the control API.

All cameras share one application and one runner; each camera only adds a listening socket (a TCPSite), and a
request finds its camera from the local address and port it arrived on (``--address-per-camera`` puts every
camera on its own loopback address at the same port). That keeps a 5,000-camera fleet in one process.
A camera that is "off" (fault `offline`, rebooting, or stuck after a firmware update) has its listening socket
closed and its open connections dropped, so clients see "connection refused" exactly as with a real device.

The camera API follows the format-2 device profile (docs/camera-simulator.md has the table of each behaviour
and its evidence level): GET reads without login, authenticated POST writes and methods, HTTP 200 with a
header.status for refused logins and writes, chunked uploads, downloads, the authentication-free endpoints, the
API description file, the family firmware and backup flows.

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

import yaml
from aiohttp import web

from . import jpeg
from .auth import AccessDenied, AuthError, verify
from .camera import (MAX_UPLOAD_BYTES, SAVE_METHOD, ApiError, Camera, CameraConfig, invalid, not_found,
                     parse_firmware_header, validate_faults)
from .profile import Profile, version_tuple
from .rtsp import RtspManager

log = logging.getLogger("sensingcam_simulator")

# Realistic durations in seconds, multiplied by --time-scale.
UPLOAD_BYTES_PER_SECOND = 2_000_000  # HTTP upload into the device's flash
VERIFY_SECONDS = 8.0
REBOOT_SECONDS = (20.0, 60.0)  # uniform range
METHOD_REBOOT_DELAY = 0.05  # real seconds between the reply to RebootDevice and the port closing
HOLD_POLL_SECONDS = 0.02  # real seconds between two looks at the hold_firmware_state fault
LIVE_JPEG = "liveJpegImage"  # GET <authentication_free_prefix>/liveJpegImage (sec100.md §4.3, §4.10)
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


def parse_flag(value: str | None, name: str) -> bool:
    """A query flag of the chunked upload: true or false."""
    if value is None or value.lower() not in ("true", "false"):
        raise invalid(f"the upload needs ?{name}=true or ?{name}=false")
    return value.lower() == "true"


def api_description(profile: Profile, volatile: bool, firmware_version: str) -> str:
    """An OpenAPI-style YAML document listing every variable path with get (and post when writable) and the
    wire schema, every method (post), the file endpoints and the backup path, derived from the profile."""
    paths: dict[str, Any] = {}
    api = profile.api_prefix
    for variable in sorted(profile.variables.values(), key=lambda v: v.name):
        schema = variable.codec.schema()
        entry: dict[str, Any] = {"get": {"summary": f"read {variable.name}", "x-profile-key": variable.key,
                                         "responses": {"200": {"schema": schema}}}}
        if variable.writable:
            entry["post"] = {"summary": f"write {variable.name}", "requestBody": {"schema": schema},
                             "security": [{"sick_challenge": []}]}
        paths[f"{api}/{variable.name}"] = entry
    methods = sorted(m.name for m in profile.methods.values()) + ([SAVE_METHOD] if volatile else [])
    for method in profile.methods.values():
        body = {"requestBody": {"schema": {"type": "object", "properties": {method.argument: {"type": "string"}}}}} \
            if method.argument else {}
        paths[f"{api}/{method.name}"] = {"post": {"summary": f"method {method.name}", "x-method": True, **body,
                                                  "security": [{"sick_challenge": []}]}}
    if volatile:
        paths[f"{api}/{SAVE_METHOD}"] = {"post": {"summary": f"method {SAVE_METHOD}", "x-method": True,
                                                  "security": [{"sick_challenge": []}]}}
    paths[f"{api}/{profile.challenge_method}"] = {"post": {"summary": "login challenge"}}
    paths[profile.backup_path] = {"post": {"summary": "export the parameter backup"},
                                  "put": {"summary": "import a parameter backup"}}
    paths[f"{profile.file_download_prefix}/{{fileName}}"] = {"post": {"summary": "download a file"}}
    paths[f"{profile.file_upload_prefix}/{{fileName}}"] = {"post": {"summary": "chunked upload"}}
    document = {"openapi": "3.0.3",
                "info": {"title": "sensingCam SEC100 REST API (camera simulator)", "version": firmware_version,
                         "x-methods": methods},
                "paths": paths}
    return yaml.safe_dump(document, sort_keys=False)


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
        self.by_port: dict[int, Camera] = {}  # cameras on the shared --bind address
        self.by_address: dict[tuple[str, int], Camera] = {}  # cameras on their own address
        for config in cameras:
            if config.name in self.cameras:
                raise ValueError(f"camera name {config.name} used twice")
            camera = Camera(config, profile, nonce_ttl=nonce_ttl)
            for port in {config.port, config.ws_port} - {None}:
                if config.host:
                    key = (str(ipaddress.ip_address(config.host)), port)
                    if key in self.by_address:
                        raise ValueError(f"{key[0]}:{port} used by {self.by_address[key].name} and {config.name}")
                    self.by_address[key] = camera
                else:
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
        self._descriptions: dict[tuple[bool, str], bytes] = {}

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self) -> None:
        self.runtime = {name: _Runtime() for name in self.cameras}
        app = web.Application(middlewares=[self._camera_middleware],
                              client_max_size=max(4 * 1024 * 1024, 4 * self.profile.upload_chunk_bytes))
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

    def address_of(self, camera: Camera) -> str:
        return camera.config.host or self.bind

    async def sync_listener(self, camera: Camera) -> None:
        """Open or close the camera's listening sockets (and its RTSP server) to match its state."""
        runtime = self.runtime[camera.name]
        async with runtime.lock:
            wanted = self._should_be_online(camera)
            if wanted and not runtime.sites:
                ports = [camera.config.port] + ([camera.config.ws_port] if camera.config.ws_port else [])
                for port in ports:
                    site = web.TCPSite(self._runner, self.address_of(camera), port, reuse_address=True)
                    try:
                        await site.start()
                    except OSError as exc:
                        log.error("camera %s: cannot listen on %s:%s: %s", camera.name, self.address_of(camera),
                                  port, exc)
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
                await self.rtsp.sync(camera, wanted)

    def _camera_for(self, sockname: Any) -> Camera | None:
        if not sockname:
            return None
        return self.by_address.get((str(sockname[0]), sockname[1])) or self.by_port.get(sockname[1])

    def _drop_connections(self, camera: Camera) -> None:
        """Abort every open connection (HTTP keep-alive and WebSocket) that arrived on the camera's sockets."""
        server = getattr(self._runner, "server", None)
        for handler in list(getattr(server, "connections", []) or []):
            transport = getattr(handler, "transport", None)
            if transport is None:
                continue
            if self._camera_for(transport.get_extra_info("sockname")) is camera:
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
        """Down (port closed) for 20-60 s x time scale, then back; ``new_version`` is the firmware after it."""
        camera.rebooting = True
        camera.power_cycle()
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
            camera.firmware_message = f"updated to {new_version}"
        camera.rebooting = False
        await self.sync_listener(camera)
        log.info("camera %s: back after reboot on firmware %s", camera.name, camera.firmware_version)

    # -- reply helpers ---------------------------------------------------------------------------------------
    def reply(self, data: dict[str, Any] | None = None, *, http: int = 200, status: int | None = None,
              message: str = "Ok") -> web.Response:
        p = self.profile
        if status is None:
            status = p.status_ok if http == 200 else (p.status("not_found", 5) if http == 404 else http)
        body: dict[str, Any] = {p.header_key: {"status": status, "message": message}}
        if data is not None:
            body[p.data_key] = data
        return web.json_response(body, status=http)

    def result(self, meaning: str) -> web.Response:
        """A method's reply: data.<method_result_key> with the profile's code for ``meaning``."""
        code = self.profile.method_result(meaning, {"ok": 0, "mode_not_enabled": 1, "busy": 2}.get(meaning, 3))
        return self.reply({self.profile.method_result_key: code})

    def _authenticate(self, camera: Camera, header: Any, name: str) -> None:
        """Check the login header for ``name`` (HA2 POST:<name>); refused: HTTP 200 with status 4 or 10."""
        try:
            if camera.faults["wrong_credentials"]:
                raise AccessDenied("fault wrong_credentials")
            verify(header, name=name, user=camera.config.user, password=camera.config.password,
                   realm=self.profile.realm, salt=camera.config.salt, nonces=camera.nonces,
                   empty_salt=self.profile.empty_salt)
        except AuthError as exc:
            camera.counters["logins_failed"] += 1
            log.debug("camera %s: login for %s refused: %s", camera.name, name, exc)
            status = self.profile.status(exc.meaning, 10 if exc.meaning == "invalid_challenge" else 4)
            text = "Invalid Challenge" if exc.meaning == "invalid_challenge" else "Access Denied"
            raise ApiError(200, text, status) from None
        camera.counters["logins_ok"] += 1

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.read() or b"{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "body is not JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "body must be a JSON object")
        return body

    def _data(self, body: dict[str, Any]) -> dict[str, Any] | None:
        data = body.get(self.profile.data_key)
        if data is not None and not isinstance(data, dict):
            raise invalid(f"{self.profile.data_key} must be a JSON object")
        return data

    # -- camera HTTP API -------------------------------------------------------------------------------------
    @web.middleware
    async def _camera_middleware(self, request: web.Request, handler: Callable) -> web.StreamResponse:
        camera = self._camera_for(request.transport.get_extra_info("sockname") if request.transport else None)
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
        if request.path != self.profile.websocket_path:
            if camera.faults["http_500"]:
                return self.reply(http=500, message="Internal Server Error (simulated fault http_500)")
            if camera.faults["busy_requests"] > 0:
                camera.faults["busy_requests"] -= 1
                camera.counters["busy_replies"] += 1
                return self.reply(http=self.profile.busy_http_status, message="Busy (simulated fault busy_requests)")
            if camera.faults["out_of_connections"] > 0:
                camera.faults["out_of_connections"] -= 1
                return self.reply(status=self.profile.status("out_of_connections", 11),
                                  message="Out Of Connections (simulated fault out_of_connections)")
        try:
            return await handler(request)
        except ApiError as exc:
            return self.reply(http=exc.http, status=exc.status, message=exc.message)

    def _add_camera_routes(self, app: web.Application) -> None:
        p = self.profile
        challenge = f"{p.api_prefix}/{p.challenge_method}"
        app.router.add_post(challenge, self.get_challenge)
        app.router.add_post(challenge + "/", self.get_challenge)  # sec100Client's form (sec100.md §3.2)
        app.router.add_get(p.backup_path, self.backup_get)
        app.router.add_post(p.backup_path, self.backup_export)
        app.router.add_put(p.backup_path, self.backup_import)
        app.router.add_get(p.api_description_path, self.description)
        app.router.add_post(p.file_download_prefix + "/{name}", self.download)
        app.router.add_post(p.file_upload_prefix + "/{name}", self.upload)
        app.router.add_get(f"{p.authentication_free_prefix}/{LIVE_JPEG}", self.free_live_jpeg)
        app.router.add_post(p.authentication_free_prefix + "/{name}", self.free_method)
        app.router.add_get(p.websocket_path, self.websocket)
        app.router.add_get(p.api_prefix + "/{name}", self.api_get)
        app.router.add_post(p.api_prefix + "/{name}", self.api_post)

    async def get_challenge(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        data = body.get(self.profile.data_key)
        user = data.get("user") if isinstance(data, dict) else None
        if not isinstance(user, str) or not user:
            raise invalid(f'the challenge needs {{"{self.profile.data_key}": {{"user": "<user>"}}}}')
        challenge = camera.nonces.issue(user)
        reply: dict[str, Any] = {"realm": self.profile.realm, "nonce": challenge.nonce, "opaque": challenge.opaque}
        if camera.config.salt is not None:
            reply["salt"] = list(camera.config.salt)
        return web.json_response({"challenge": reply,
                                  self.profile.header_key: {"status": self.profile.status_ok, "message": "Ok"}})

    def _known(self, camera: Camera, name: str) -> str:
        """'variable', 'method' or 'save' for a name this camera serves; 404 otherwise."""
        if name in self.profile.variables:
            return "variable"
        if name in {m.name for m in self.profile.methods.values()}:
            return "method"
        if name == SAVE_METHOD and camera.volatile:
            return "save"
        raise not_found(f"unknown name {name}")

    async def api_get(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        if self._known(camera, name) != "variable":
            raise not_found(f"{name} is a method: POST it with the login header")
        if self.profile.reads_require_login:
            raise ApiError(200, f"reads need a login on this profile: POST {self.profile.api_prefix}/{name} "
                                "with the login header and no data", self.profile.status("access_denied", 4))
        return self.reply({name: camera.read(name)})

    async def api_post(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        kind = self._known(camera, name)
        body = await self._json_body(request)
        self._authenticate(camera, body.get(self.profile.header_key), name)
        data = self._data(body)
        if kind == "method":
            return await self._call_method(camera, name, data or {})
        if kind == "save":
            camera.save()
            return self.result("ok")
        if data and name in data:
            if len(data) > 1:
                raise invalid(f'write one variable per request: {{"{self.profile.data_key}": {{"{name}": <value>}}}}')
            written = camera.write(name, data[name])
            if self.profile.variables[name].key.endswith(".rtsp_enabled"):
                await self._restart_rtsp(camera)
            return self.reply({name: written})
        if data:
            raise invalid(f'to write, send {{"{self.profile.data_key}": {{"{name}": <value>}}}}')
        return self.reply({name: camera.read(name)})

    async def _restart_rtsp(self, camera: Camera) -> None:
        """Serve the streams whose EnableRtsp is now 1 (the RTSP child mounts paths when a server starts)."""
        if self.rtsp is not None and camera.config.rtsp and self.is_online(camera):
            await self.rtsp.sync(camera, False)
            await self.rtsp.sync(camera, True)

    # -- methods ---------------------------------------------------------------------------------------------
    def _trigger_event(self, camera: Camera) -> web.Response:
        if camera.faults["trigger_busy"]:
            return self.result("busy")
        if camera.value_of("event_recording.enabled", 1) != 1:
            return self.result("mode_not_enabled")
        camera.trigger_event()
        return self.result("ok")

    def _trigger_snapshot(self, camera: Camera) -> web.Response:
        if camera.faults["trigger_busy"]:
            return self.result("busy")
        camera.snapshot_index += 1
        camera.counters["snapshots_triggered"] += 1
        return self.result("ok")

    async def _call_method(self, camera: Camera, name: str, data: dict[str, Any]) -> web.Response:
        p = self.profile
        key = next(m.key for m in p.methods.values() if m.name == name)
        method = p.methods[key]
        if key == "trigger_event":
            return self._trigger_event(camera)
        if key == "trigger_snapshot":
            return self._trigger_snapshot(camera)
        if key == "delete_file":
            argument = method.argument or "fileName"
            if not isinstance(data.get(argument), str):
                raise invalid(f'{name} needs {{"{p.data_key}": {{"{argument}": "<file name>"}}}}')
            return self.result("ok" if camera.delete_file(data[argument]) else "invalid_name")
        if key == "ftp_test":
            configured = camera.value_of("offload.server", [0, 0, 0, 0]) != [0, 0, 0, 0]
            return self.result("ok" if configured else "mode_not_enabled")
        if key == "check_credentials":
            return self.result("ok")
        if key == "reboot":
            if camera.update_state == 1:
                return self.result("busy")
            self._spawn(camera, self._reboot_later(camera))
            return self.result("ok")
        if key == "factory_defaults":
            camera.factory_defaults()
            await self._restart_rtsp(camera)
            return self.result("ok")
        if key == "firmware.start_method":
            return self._start_update(camera)
        if key == "backup.create_method":
            camera.create_backup(data.get(method.argument or "Passphrase"))
            return self.result("ok")
        if key == "backup.restore_method":
            applied = camera.restore_backup()
            await self._restart_rtsp(camera)
            return self.reply({p.method_result_key: 0, "applied": applied})
        return self.result("ok")  # a method the profile lists and the simulator only acknowledges

    async def _reboot_later(self, camera: Camera) -> None:
        await asyncio.sleep(METHOD_REBOOT_DELAY)
        await self.reboot(camera)

    # -- firmware --------------------------------------------------------------------------------------------
    def _start_update(self, camera: Camera) -> web.Response:
        p = self.profile
        if camera.update_state == 1:
            return self.result("busy")
        image = camera.files.pop(p.firmware_upload_file, None)
        if image is None:
            raise invalid(f"no firmware image: upload {p.firmware_upload_file} to "
                          f"{p.file_upload_prefix}/{p.firmware_upload_file} first")
        try:
            version = parse_firmware_header(image.split(b"\n", 1)[0])
        except ValueError as exc:
            camera.update_state = 3
            camera.firmware_message = f"image rejected: {exc}"
            raise invalid(camera.firmware_message) from None
        downgrade = version_tuple(version) < version_tuple(camera.firmware_version)
        if downgrade and camera.value_of("system.software_downgrade", 0) != 1:
            camera.update_state = 3
            allow = p.variable_by_key("system.software_downgrade").name if p.has_key(
                "system.software_downgrade") else "EnableSoftwareDowngrade"
            camera.firmware_message = (f"downgrade from {camera.firmware_version} to {version} refused: "
                                       f"set {allow} to 1 first")
            raise invalid(camera.firmware_message)
        camera.update_state = 1
        camera.firmware_message = f"updating to {version}"
        self._spawn(camera, self._run_update(camera, version))
        return self.result("ok")

    async def _hold(self, camera: Camera, state: str) -> None:
        """Stay in ``state`` while the fault hold_firmware_state names it (tests release it explicitly)."""
        while camera.faults["hold_firmware_state"] == state:
            await asyncio.sleep(HOLD_POLL_SECONDS)

    async def _run_update(self, camera: Camera, version: str) -> None:
        await asyncio.sleep(self.seconds(VERIFY_SECONDS))
        await self._hold(camera, "started")
        if camera.faults["checksum_mismatch"]:
            camera.update_state = 3
            camera.firmware_message = "image rejected: checksum mismatch (fault checksum_mismatch)"
            return
        camera.update_state = 2
        await self.reboot(camera, new_version=version, never_return=camera.faults["reboot_never_returns"])

    # -- files -----------------------------------------------------------------------------------------------
    async def download(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        files = self.profile.files
        if name not in (files["latest_snapshot"], files["latest_event_recording"]) and name not in camera.events:
            raise not_found(f"no file {name}")
        body = await self._json_body(request)
        self._authenticate(camera, body.get(self.profile.header_key), name)
        if name == files["latest_snapshot"]:
            return web.Response(body=self.frames[camera.snapshot_index % len(self.frames)], content_type="image/jpeg")
        if name == files["latest_event_recording"]:
            if not camera.events:
                raise not_found("no event recording yet")
            name = camera.events[-1]
        return web.Response(body=camera.recording_bytes(name), content_type="video/mp4")

    async def upload(self, request: web.Request) -> web.StreamResponse:
        """One chunk: the JSON {"header": login} bytes immediately followed by the raw chunk (sec100.md §5)."""
        camera: Camera = request[CAMERA_KEY]
        name = request.match_info["name"]
        append = parse_flag(request.query.get("append"), "append")
        finish = parse_flag(request.query.get("finish"), "finish")
        raw = await request.read()
        try:
            document, end = json.JSONDecoder().raw_decode(raw.decode("latin-1"))
        except ValueError:
            raise invalid("the upload body must start with the JSON object {\"header\": <login>}") from None
        if not isinstance(document, dict):
            raise invalid("the upload body must start with the JSON object {\"header\": <login>}")
        self._authenticate(camera, document.get(self.profile.header_key), name)
        chunk = raw[end:]
        firmware = name == self.profile.firmware_upload_file
        if firmware and camera.update_state == 1:
            raise invalid("a firmware update is in progress")
        if not append:
            camera.partial[name] = bytearray()
            if firmware:
                camera.counters["firmware_uploads"] += 1
                camera.firmware_message = ""
        elif name not in camera.partial:
            raise invalid(f"no upload of {name} in progress: send the first chunk with append=false")
        if camera.faults["upload_interrupted"]:
            camera.partial.pop(name, None)
            camera.firmware_message = "upload interrupted (fault upload_interrupted); firmware unchanged"
            log.info("camera %s: dropping the connection mid-upload", camera.name)
            if request.transport is not None:
                request.transport.abort()
            raise web.HTTPServiceUnavailable()
        buffer = camera.partial[name]
        if len(buffer) + len(chunk) > MAX_UPLOAD_BYTES:
            camera.partial.pop(name, None)
            raise invalid(f"{name} is larger than {MAX_UPLOAD_BYTES} bytes")
        buffer += chunk
        await asyncio.sleep(self.seconds(len(chunk) / UPLOAD_BYTES_PER_SECOND))
        if finish:
            camera.files[name] = bytes(camera.partial.pop(name))
        return self.reply({"fileName": name, "bytes": len(buffer), "finished": finish})

    # -- authentication-free API ----------------------------------------------------------------------------
    def _free_enabled(self, camera: Camera) -> None:
        if camera.value_of("security.authentication_free_api", 0) != 1:
            raise not_found("the authentication-free API is disabled")

    async def free_method(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        self._free_enabled(camera)
        name = request.match_info["name"]
        if name == self.profile.method_name("trigger_event"):
            return self._trigger_event(camera)
        if name == self.profile.method_name("trigger_snapshot"):
            return self._trigger_snapshot(camera)
        raise not_found(f"no authentication-free endpoint {name}")

    async def free_live_jpeg(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        self._free_enabled(camera)
        return web.Response(body=self.frames[camera.snapshot_index % len(self.frames)], content_type="image/jpeg")

    # -- API description and backup --------------------------------------------------------------------------
    async def description(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        if not camera.config.api_description:
            raise not_found("no API description on this camera (api_description: false)")
        key = (camera.volatile, camera.firmware_version)
        if key not in self._descriptions:
            self._descriptions[key] = api_description(self.profile, *key).encode()
        return web.Response(body=self._descriptions[key], content_type="application/yaml")

    def _backup_name(self) -> str:
        return self.profile.backup_path.rsplit("/", 1)[-1]

    async def backup_get(self, request: web.Request) -> web.Response:
        raise ApiError(200, f"the parameter backup needs a login: POST {self.profile.backup_path} with the login "
                            "header", self.profile.status("access_denied", 4))

    async def backup_export(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        self._authenticate(camera, body.get(self.profile.header_key), self._backup_name())
        return self.reply({self._backup_name(): camera.export_backup()})

    async def backup_import(self, request: web.Request) -> web.Response:
        camera: Camera = request[CAMERA_KEY]
        body = await self._json_body(request)
        self._authenticate(camera, body.get(self.profile.header_key), self._backup_name())
        data = self._data(body) or {}
        camera.stage_backup(data.get(self._backup_name()))
        return self.reply({self._backup_name(): {"staged": len(camera.staged_backup or {})}})

    # -- WebSocket -------------------------------------------------------------------------------------------
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
