"""Command line: ``sensingcam-simulator`` (also ``python -m sensingcam_simulator``).

Two ways to describe the fleet:
  --cameras N --base-port P      N identical cameras cam001..camNNN on ports P..P+N-1
  --config FILE                  a YAML file listing cameras (see docs/camera-simulator.md)
Passwords never have a built-in default: they come from the config file or from --password-file. When that
file does not exist yet, a random password is generated and written to it (mode 0600).
The control API runs only with --control-token-file: every control request must carry that token as
``Authorization: Bearer <token>``. The file is read (it must be mode 0600 or stricter), or generated when missing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import resource
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import yaml

from . import __version__
from .camera import CameraConfig, validate_faults
from .profile import Profile, ProfileError, ip_plus, load_profile
from .server import MIN_CONTROL_TOKEN, Simulator, is_loopback

log = logging.getLogger("sensingcam_simulator")
DEFAULT_FIRMWARE = "2.6.2"
CONFIG_CAMERA_KEYS = {"name", "port", "user", "password", "firmware_version", "serial", "order_number",
                      "device_type", "salt", "rtsp", "rtsp_port", "ws_port", "faults", "host", "api_description",
                      "persistence"}


class ConfigError(ValueError):
    """The command line or config file describes an impossible fleet."""


def _write_new_secret(path: Path, value: str) -> None:
    """Create ``path`` (mode 0600, never through an existing file or symlink) holding ``value``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")


def read_or_create_password(path: Path) -> str:
    """Read the password from ``path``, or generate one and write it there (0600) when the file is missing."""
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if not text:
            raise ConfigError(f"password file {path} is empty")
        return text.splitlines()[0].strip()
    password = secrets.token_urlsafe(18)
    _write_new_secret(path, password)
    log.warning("generated a random camera password and wrote it to %s", path)
    return password


def read_or_create_control_token(path: Path) -> str:
    """The control API token from ``path``; generated there (0600) when the file is missing. A token file that
    others may read or write, or a token shorter than MIN_CONTROL_TOKEN, is refused."""
    if not path.exists():
        _write_new_secret(path, secrets.token_urlsafe(32))
        log.warning("generated a control API token and wrote it to %s", path)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(f"control token file {path} has mode {mode:04o}: others may read it; chmod 600 it")
    lines = path.read_text(encoding="utf-8").strip().splitlines()
    token = lines[0].strip() if lines else ""
    if len(token) < MIN_CONTROL_TOKEN:
        raise ConfigError(f"control token file {path} holds fewer than {MIN_CONTROL_TOKEN} characters")
    return token


def _salt(value: Any, name: str) -> list[int] | None:
    if value in (None, False):
        return None
    if value is True:
        return list(secrets.token_bytes(8))
    if isinstance(value, list):
        return value
    raise ConfigError(f"camera {name}: salt must be true, false or a list of byte values")


def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def cameras_from_args(args: argparse.Namespace, profile: Profile) -> list[CameraConfig]:
    if not args.password_file:
        raise ConfigError("--cameras needs --password-file FILE (read if it exists, else a random password is "
                          "generated and written there)")
    password = read_or_create_password(Path(args.password_file))
    versions = [v.strip() for v in args.firmware_versions.split(",") if v.strip()]
    if not versions:
        raise ConfigError("--firmware-versions is empty")
    if args.address_per_camera and args.rtsp:
        raise ConfigError("--rtsp cannot be combined with --address-per-camera (the RTSP child serves one address)")
    cameras = []
    for index in range(args.cameras):
        host = ip_plus(args.address_per_camera, index) if args.address_per_camera else None
        port = args.base_port if host else args.base_port + index
        cameras.append(CameraConfig(
            name=f"{args.name_prefix}{index + 1:03d}", port=port, user=args.user or profile.default_user,
            password=password, firmware_version=versions[index % len(versions)], serial=f"SIM{index + 1:05d}",
            salt=list(secrets.token_bytes(8)) if args.salt else None, rtsp=args.rtsp,
            rtsp_port=port + args.rtsp_port_offset if args.rtsp else None,
            ws_port=port + args.ws_port_offset if args.ws_port_offset else None, host=host,
            persistence="volatile" if args.volatile_writes else "persistent"))
    return cameras


def cameras_from_config(path: Path, args: argparse.Namespace, profile: Profile) -> list[CameraConfig]:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("cameras"), list) or not document["cameras"]:
        raise ConfigError(f"{path}: expected a mapping with a non-empty 'cameras' list")
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict) or set(defaults) - (CONFIG_CAMERA_KEYS - {"name", "port"}):
        raise ConfigError(f"{path}: 'defaults' may hold {sorted(CONFIG_CAMERA_KEYS - {'name', 'port'})}")
    shared_password: str | None = None
    cameras = []
    for position, entry in enumerate(document["cameras"], start=1):
        if not isinstance(entry, dict):
            raise ConfigError(f"{path}: camera #{position} is not a mapping")
        unknown = set(entry) - CONFIG_CAMERA_KEYS
        if unknown:
            raise ConfigError(f"{path}: camera #{position} has unknown keys {sorted(unknown)}")
        merged = {**defaults, **entry}
        name = str(merged.get("name") or f"{args.name_prefix}{position:03d}")
        if "port" not in merged:
            raise ConfigError(f"{path}: camera {name} needs a port")
        password = merged.get("password")
        if not password:
            if not args.password_file:
                raise ConfigError(f"{path}: camera {name} has no password and no --password-file was given")
            if shared_password is None:
                shared_password = read_or_create_password(Path(args.password_file))
            password = shared_password
        port = int(merged["port"])
        rtsp = bool(merged.get("rtsp", args.rtsp))
        try:
            faults = validate_faults(merged.get("faults") or {})
            cameras.append(CameraConfig(
                name=name, port=port, user=str(merged.get("user") or args.user or profile.default_user),
                password=str(password), firmware_version=str(merged.get("firmware_version", DEFAULT_FIRMWARE)),
                serial=str(merged.get("serial") or f"SIM{position:05d}"),
                order_number=str(merged.get("order_number", "1131374")),
                device_type=str(merged.get("device_type", "SEC110-5C9D1SFZZZZ")), salt=_salt(merged.get("salt"), name),
                rtsp=rtsp, rtsp_port=int(merged.get("rtsp_port") or port + args.rtsp_port_offset) if rtsp else None,
                ws_port=int(merged["ws_port"]) if merged.get("ws_port") else None, faults=faults,
                host=str(merged["host"]) if merged.get("host") else None,
                api_description=_bool(merged.get("api_description", True), "api_description"),
                persistence=str(merged.get("persistence") or ("volatile" if args.volatile_writes else "persistent"))))
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: camera {name}: {exc}") from exc
    return cameras


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sensingcam-simulator",
        description="Simulate a fleet of SICK sensingCam SEC100 cameras (HTTP API, SICK challenge login, "
                    "snapshots, WebSocket live images, firmware updates, optional RTSP) for tests and plant dry "
                    "runs. Every name served comes from the device profile.",
        epilog="Documentation: docs/camera-simulator.md in the sensingcam.ming collection.")
    fleet = parser.add_mutually_exclusive_group(required=True)
    fleet.add_argument("--cameras", type=int, metavar="N", help="serve N cameras named cam001.. (with --base-port)")
    fleet.add_argument("--config", metavar="FILE", help="YAML file listing the cameras")
    parser.add_argument("--base-port", type=int, default=18000, metavar="P",
                        help="first camera port with --cameras (default 18000)")
    parser.add_argument("--bind", default="127.0.0.1", help="address the cameras listen on (default 127.0.0.1)")
    parser.add_argument("--address-per-camera", metavar="ADDR",
                        help="with --cameras: camera i listens on its own address ADDR+i-1 (e.g. 127.1.0.1, "
                             "127.1.0.2, ...) at --base-port, which may be 80 like a real camera")
    parser.add_argument("--volatile-writes", action="store_true",
                        help="writes are lost at a reboot unless WriteEeprom is called after them (then served as a "
                             "method); default: writes persist")
    parser.add_argument("--profile", help="device profile YAML (default: profiles/sensingcam/sec100-fw2.yml of the "
                                          "checkout, or $SENSINGCAM_SIM_PROFILE)")
    parser.add_argument("--password-file", metavar="FILE",
                        help="camera password: read from FILE, or generated and written to FILE when missing")
    parser.add_argument("--user", help="login user (default: the profile's auth.default_user)")
    parser.add_argument("--firmware-versions", default=DEFAULT_FIRMWARE, metavar="V[,V...]",
                        help="firmware versions assigned round-robin with --cameras (default %(default)s)")
    parser.add_argument("--name-prefix", default="cam", help="camera name prefix with --cameras (default cam)")
    parser.add_argument("--salt", action="store_true", help="send a per-camera salt in the challenge (--cameras)")
    parser.add_argument("--rtsp", action="store_true",
                        help="serve H.264 RTSP (GStreamer child) for cameras whose firmware offers it")
    parser.add_argument("--rtsp-port-offset", type=int, default=1000, metavar="K",
                        help="RTSP port = camera port + K (default 1000; a real SEC100 would use 554)")
    parser.add_argument("--rtsp-python", default="/usr/bin/python3",
                        help="Python with GStreamer's gi bindings for the RTSP child (default /usr/bin/python3)")
    parser.add_argument("--ws-port-offset", type=int, default=0, metavar="K",
                        help="also serve the live-image WebSocket on camera port + K (a real SEC100 uses port "
                             "8888); default 0: only on the camera port")
    parser.add_argument("--ws-fps", type=float, default=4.0, help="WebSocket JPEG frames per second (default 4)")
    parser.add_argument("--control-port", type=int, default=17999,
                        help="control API port on loopback (default 17999; 0 picks a free port; -1 disables); "
                             "the API runs only with --control-token-file")
    parser.add_argument("--control-bind", default="127.0.0.1", help="control API address (loopback only)")
    parser.add_argument("--control-token-file", metavar="FILE",
                        help="control API bearer token: read from FILE (mode 0600), or generated there when missing; "
                             "without it the control API is disabled")
    parser.add_argument("--latency-ms", type=float, default=20.0,
                        help="latency added to every camera request, like a real device (default 20)")
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiply simulated durations (upload, verify, 20-60 s reboot) by this; 0.02 in tests")
    parser.add_argument("--nonce-ttl", type=float, default=60.0, help="challenge nonce lifetime in s (default 60)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser


def _raise_fd_limit(needed: int) -> None:
    """Raise the soft open-files limit to the hard limit (a fleet holds one socket per camera and connection)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < needed:
        log.warning("open-files limit %s is below the %s this fleet may need (raise the hard limit: ulimit -Hn)",
                    soft, needed)


def build_simulator(args: argparse.Namespace) -> Simulator:
    profile = load_profile(args.profile)
    if args.cameras is not None:
        if not 1 <= args.cameras <= 5000:
            raise ConfigError("--cameras must be between 1 and 5000")
        cameras = cameras_from_args(args, profile)
    else:
        cameras = cameras_from_config(Path(args.config), args, profile)
    if not is_loopback(args.control_bind):
        raise ConfigError("--control-bind must be a loopback address: the control API is for this host only")
    control_port = None if args.control_port < 0 else args.control_port
    token = None
    if control_port is not None and args.control_token_file:
        token = read_or_create_control_token(Path(args.control_token_file))
    elif control_port is not None:
        log.info("control API disabled: it needs --control-token-file")
    return Simulator(profile, cameras, bind=args.bind, control_host=args.control_bind,
                     control_port=control_port if token else None,
                     latency_ms=args.latency_ms, time_scale=args.time_scale, nonce_ttl=args.nonce_ttl,
                     ws_fps=args.ws_fps, rtsp_python=args.rtsp_python, control_token=token)


async def _serve(simulator: Simulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await simulator.start()
    ports = [c.config.port for c in simulator.cameras.values()]
    control = simulator.control_address
    log.info("ready: %d cameras on %s ports %d-%d, profile %s%s", len(ports), simulator.bind, min(ports), max(ports),
             simulator.profile.path, f", control API http://{control[0]}:{control[1]}" if control else "")
    control_text = f"{control[0]}:{control[1]}" if control else "disabled"
    print(f"sensingcam-simulator ready: {len(ports)} cameras, control {control_text}", flush=True)  # noqa: T201
    try:
        await stop.wait()
    finally:
        await simulator.stop()
        log.info("stopped")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        simulator = build_simulator(args)
    except (ConfigError, ProfileError, ValueError) as exc:
        print(f"sensingcam-simulator: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    _raise_fd_limit(2 * len(simulator.cameras) + 256)
    try:
        asyncio.run(_serve(simulator))
    except OSError as exc:
        print(f"sensingcam-simulator: error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    return 0
