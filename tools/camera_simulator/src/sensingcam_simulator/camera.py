"""One virtual camera: configuration, variable state, write validation, events, backup, persistence and faults.

Nothing here does network I/O; server.py drives these objects. Initial values are keyed by the *profile key*
(e.g. ``streams.video0.fps``), never by the device name, so renaming a variable in the profile needs no change
here. A variable the table below does not know starts at its codec's first valid value.
"""

from __future__ import annotations

import copy
import datetime as dt
import ipaddress
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .auth import NonceStore, is_ascii
from .profile import Profile, Variable, version_tuple

FIRMWARE_MAGIC = "SICK-SEC100-FW"
# header.status of a refused write, method argument or upload step. No source names one: assumed (documented).
STATUS_INVALID = 3
SAVE_METHOD = "WriteEeprom"  # served only with persistence 'volatile' (family name, sec100.md §4.13)
PERSISTENCE_MODES = ("persistent", "volatile")
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
UPDATE_STATES = {0: "initial", 1: "started", 2: "finished", 3: "error"}

# Fault name -> type. Documented in docs/camera-simulator.md.
FAULTS: dict[str, type] = {
    "offline": bool,
    "slow_ms": int,
    "wrong_credentials": bool,
    "http_500": bool,
    "upload_interrupted": bool,
    "checksum_mismatch": bool,
    "reboot_never_returns": bool,
    # Holds a firmware update in one state until the fault is cleared, so a test looks at that state as long as
    # it needs instead of racing a timer.
    "hold_firmware_state": str,
    # Counters: the next N camera requests are answered HTTP 400 (busy) / HTTP 200 status 11 (out of connections).
    "busy_requests": int,
    "out_of_connections": int,
    # Trigger methods answer data.result 2 (busy).
    "trigger_busy": bool,
}
HOLDABLE_FIRMWARE_STATES = ("", "started", "rebooting")
COUNTER_FAULTS = ("busy_requests", "out_of_connections")
_FAULT_DEFAULTS: dict[type, Any] = {bool: False, int: 0, str: ""}


def default_faults() -> dict[str, Any]:
    return {name: _FAULT_DEFAULTS[kind] for name, kind in FAULTS.items()}


def validate_faults(update: Any) -> dict[str, Any]:
    """Check a (partial) fault mapping; return it normalised or raise ValueError."""
    if not isinstance(update, dict):
        raise ValueError("faults must be a mapping")
    clean: dict[str, Any] = {}
    for name, value in update.items():
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known: {', '.join(FAULTS)}")
        if FAULTS[name] is bool:
            if not isinstance(value, bool):
                raise ValueError(f"fault {name} must be true or false")
        elif FAULTS[name] is str:
            if value not in HOLDABLE_FIRMWARE_STATES:
                raise ValueError(f"fault {name} must be one of: "
                                 + ", ".join(repr(state) for state in HOLDABLE_FIRMWARE_STATES))
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 600_000:
            unit = "requests" if name in COUNTER_FAULTS else "milliseconds"
            raise ValueError(f"fault {name} must be an integer from 0 to 600000 ({unit})")
        clean[name] = value
    return clean


# Initial wire values by profile key (sec100.md §4). Callables get the camera config.
INITIAL_BY_KEY: dict[str, Any] = {
    "identity.extended_firmware_version": lambda c: f"{c.firmware_version}+sim_build",
    "identity.order_number": lambda c: c.order_number,
    "identity.type_code": lambda c: c.device_type,
    "identity.vendor": "SICK AG",
    "identity.device_name": lambda c: c.name,
    "identity.location_name": "",
    "identity.serial_number": lambda c: c.serial,
    "streams.video0.resolution": 5,
    "streams.video0.fps": 25,
    "streams.video0.codec": 0,
    "streams.video0.bitrate_class": 4095,
    "streams.video0.gop": 50,
    "streams.video0.rtsp_enabled": 1,
    "streams.video0.rtsp_path": "/live/0",
    "streams.video1.resolution": 3,
    "streams.video1.fps": 10,
    "streams.video1.codec": 0,
    "streams.video1.bitrate_class": 1023,
    "streams.video1.gop": 20,
    "streams.video1.rtsp_enabled": 1,
    "streams.video1.rtsp_path": "/live/1",
    "rtsp.port": lambda c: c.rtsp_port if c.rtsp and c.rtsp_port else 554,
    "rtsp.authentication": 1,
    "event_recording.enabled": 1,
    "event_recording.pre_trigger_seconds": 5,
    "event_recording.post_trigger_seconds": 10,
    "event_recording.naming": "event",
    "triggers.hardware_enabled": 0,
    "triggers.hardware_active_level": 1,
    "triggers.hardware_delay_ms": 0,
    "triggers.tcpip_enabled": 0,
    "triggers.tcpip_port": 2112,
    "time.role": 0,
    "time.ntp_server": [0, 0, 0, 0],
    "time.update_interval_seconds": 60,
    "time.time_zone_index": 36,
    "offload.protocol": 0,
    "offload.server": [0, 0, 0, 0],
    "offload.port": 21,
    "offload.directory": "",
    "offload.username": "",
    "offload.password": "",
    "offload.passive_mode": 1,
    "offload.fallback_mode": 0,
    "offload.samba_enabled": 0,
    "security.authentication_free_api": 0,
    "security.https_status": {"httpsEnabled": False},
    "snapshot.mode": 0,
    "health.device_status": 0,
    "health.ftp_status": 0,
    "health.ntp_status": 0,
    "health.temperature": 41,
    "system.software_downgrade": 0,
}
# Computed on every read (see Camera.read).
DYNAMIC_KEYS = ("identity.firmware_version", "identity.device_ident", "streams.video0.rtsp_status",
                "streams.video1.rtsp_status", "event_recording.event_list", "time.device_time", "health.storage_usage",
                "health.operating_hours", "health.power_on_count", "firmware.state")
BASE_OP_HOURS_TENTHS = 12_345  # 1234.5 h on the counter when the simulator starts
BASE_POWER_ON_COUNT = 17


@dataclass
class CameraConfig:
    name: str
    port: int
    user: str
    password: str
    firmware_version: str = "2.6.2"
    serial: str = ""
    order_number: str = "1131374"
    device_type: str = "SEC110-5C9D1SFZZZZ"  # served as TypeCode
    # None: the challenge has no salt key; []: "salt": [] (checked per auth.empty_salt); else the salt bytes.
    salt: list[int] | None = None
    rtsp: bool = False
    rtsp_port: int | None = None
    ws_port: int | None = None  # extra port serving only the WebSocket (None: the HTTP port serves it)
    host: str | None = None  # own listening address (--address-per-camera); None: the simulator's --bind
    api_description: bool = True
    persistence: str = "persistent"
    faults: dict[str, Any] = field(default_factory=default_faults)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", self.name):
            raise ValueError(f"camera name {self.name!r}: use letters, digits, '.', '_' or '-' (max 63)")
        version_tuple(self.firmware_version)
        if self.salt is not None and not (isinstance(self.salt, list) and len(self.salt) <= 16 and all(
                isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in self.salt)):
            raise ValueError(f"camera {self.name}: salt must be a list of at most 16 byte values 0-255")
        if not self.password:
            raise ValueError(f"camera {self.name}: empty password")
        if not is_ascii(self.password) or not is_ascii(self.user):
            raise ValueError(f"camera {self.name}: the user and password must be ASCII: SICK's clients hash other "
                             "characters differently (sec100.md §3.4), so a login could not be checked")
        if self.host is not None:
            try:
                ipaddress.ip_address(self.host)
            except ValueError:
                raise ValueError(f"camera {self.name}: host must be an IP address, not {self.host!r}") from None
        if self.persistence not in PERSISTENCE_MODES:
            raise ValueError(f"camera {self.name}: persistence must be one of {', '.join(PERSISTENCE_MODES)}")
        merged = default_faults()
        merged.update(validate_faults(self.faults))
        self.faults = merged


class ApiError(Exception):
    """An error reply. ``status`` None: an HTTP error ``http``; else HTTP 200 with header.status ``status``."""

    def __init__(self, http: int, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.http = http
        self.message = message
        self.status = status


def invalid(message: str) -> ApiError:
    return ApiError(200, message, STATUS_INVALID)


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


class Camera:
    """State of one virtual camera. ``reset()`` returns it to its start-up state."""

    def __init__(self, config: CameraConfig, profile: Profile, nonce_ttl: float = 60.0) -> None:
        self.config = config
        self.profile = profile
        self.nonces = NonceStore(ttl=nonce_ttl)
        self._started = time.monotonic()
        self.reset()

    # -- state ---------------------------------------------------------------------------------------------
    def initial_values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for variable in self.profile.variables.values():
            if variable.key in DYNAMIC_KEYS:
                continue
            initial = INITIAL_BY_KEY.get(variable.key)
            if callable(initial):
                initial = initial(self.config)
            values[variable.name] = copy.deepcopy(initial) if initial is not None else variable.codec.default()
        return values

    def reset(self) -> None:
        cfg = self.config
        self.faults = copy.deepcopy(cfg.faults)
        self.firmware_version = cfg.firmware_version
        self.update_state = 0
        self.firmware_message = ""
        self.rebooting = False
        self.stuck = False  # reboot_never_returns fired: down until reset
        self.snapshot_index = 0
        self.power_on_count = BASE_POWER_ON_COUNT
        self.events: list[str] = []
        self.storage_usage = 0
        self.files: dict[str, bytes] = {}  # completed uploads by file name
        self.partial: dict[str, bytearray] = {}  # uploads in progress
        self.backup: dict[str, Any] | None = None  # made by the backup create method
        self.backup_passphrase_set = False
        self.staged_backup: dict[str, Any] | None = None  # PUT, applied by the restore method
        self.counters = {"requests": 0, "logins_ok": 0, "logins_failed": 0, "events_triggered": 0,
                         "snapshots_triggered": 0, "firmware_uploads": 0, "reboots": 0, "config_imports": 0,
                         "delayed_requests": 0, "writes": 0, "busy_replies": 0, "backups_created": 0,
                         "saves": 0}
        self.nonces.clear()
        self.values = self.initial_values()
        self.saved = copy.deepcopy(self.values)  # what survives a reboot in 'volatile' persistence

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def volatile(self) -> bool:
        return self.config.persistence == "volatile"

    def value_of(self, key: str, default: Any = None) -> Any:
        """The current wire value of the variable at profile ``key`` (``default`` when the profile lacks it)."""
        if not self.profile.has_key(key):
            return default
        return self.read(self.profile.variable_by_key(key).name)

    def rtsp_served(self, stream: str) -> bool:
        return bool(self.config.rtsp and self.value_of(f"streams.{stream}.rtsp_enabled", 1) == 1)

    def read(self, name: str) -> Any:
        variable = self.profile.variables.get(name)
        if variable is None:
            raise not_found(f"unknown variable {name}")
        key = variable.key
        if key in DYNAMIC_KEYS:
            return self._dynamic(key)
        return copy.deepcopy(self.values[name])

    def _dynamic(self, key: str) -> Any:
        if key == "identity.firmware_version":
            return self.firmware_version
        if key == "identity.device_ident":
            parts = self.firmware_version.split(".")
            return {"Name": "sensingCam SEC100", "Version": ".".join(parts + ["0"] * (4 - len(parts))) + "R"}
        if key.startswith("streams.") and key.endswith(".rtsp_status"):
            return 1 if self.rtsp_served(key.split(".")[1]) else 0
        if key == "event_recording.event_list":
            return list(self.events)
        if key == "time.device_time":
            now = dt.datetime.now(dt.UTC)
            return {"uiYear": now.year, "usiMonth": now.month, "usiDay": now.day, "usiHour": now.hour,
                    "usiMinute": now.minute, "usiSecond": now.second}
        if key == "health.storage_usage":
            return self.storage_usage
        if key == "health.operating_hours":
            return BASE_OP_HOURS_TENTHS + int((time.monotonic() - self._started) / 360)
        if key == "health.power_on_count":
            return self.power_on_count
        if key == "firmware.state":
            return self.update_state
        raise not_found(f"unknown variable key {key}")

    def check_write(self, name: str, value: Any) -> Any:
        """Validate a write of the wire ``value``; raise ApiError (404 unknown, status 3 refused)."""
        variable = self.profile.variables.get(name)
        if variable is None:
            raise not_found(f"unknown variable {name}")
        if not variable.writable:
            raise invalid(f"{name} is read-only")
        problem = variable.codec.check(value)
        if problem:
            shown = "the value" if variable.secret else repr(value)[:60]
            raise invalid(f"{name}: {shown} {problem}; allowed: {variable.codec.allowed()}")
        return copy.deepcopy(value)

    def write(self, name: str, value: Any) -> Any:
        self.values[name] = self.check_write(name, value)
        self.counters["writes"] += 1
        return copy.deepcopy(self.values[name])

    def writable_variables(self) -> list[Variable]:
        return [v for v in self.profile.variables.values() if v.writable]

    def writable_state(self) -> dict[str, Any]:
        return {v.name: copy.deepcopy(self.values[v.name]) for v in self.writable_variables()}

    # -- events and files ----------------------------------------------------------------------------------
    def trigger_event(self) -> str:
        self.counters["events_triggered"] += 1
        naming = self.value_of("event_recording.naming", "event") or "event"
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        name = f"{naming}_{stamp}_{self.counters['events_triggered']:04d}.mp4"
        self.events.append(name)
        self.storage_usage = min(100, self.storage_usage + 2)
        return name

    def delete_file(self, file_name: Any) -> bool:
        if file_name in self.events:
            self.events.remove(file_name)
            self.storage_usage = max(0, self.storage_usage - 2)
            return True
        return False

    def recording_bytes(self, name: str) -> bytes:
        """A stand-in MP4 recording (an ftyp box then filler): enough for a download test."""
        body = f"sensingcam-simulator recording {self.name}/{name}".encode()
        return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + body

    # -- backup and persistence ----------------------------------------------------------------------------
    def create_backup(self, passphrase: Any) -> None:
        if not isinstance(passphrase, str) or not passphrase:
            raise invalid(f"{self.profile.backup_create_method} needs a non-empty "
                          f"{self.profile.backup_argument or 'Passphrase'} string")
        self.backup = self.writable_state()
        self.backup_passphrase_set = True
        self.counters["backups_created"] += 1

    def export_backup(self) -> dict[str, Any]:
        if self.backup is None:
            raise invalid(f"no parameter backup: call {self.profile.backup_create_method} first")
        return copy.deepcopy(self.backup)

    def check_backup(self, document: Any) -> dict[str, Any]:
        """Validate a backup document ({Name: wire value}) all-or-nothing; return it staged."""
        if not isinstance(document, dict) or not document:
            raise invalid("a parameter backup is a non-empty JSON object of variable names and values")
        return {name: self.check_write(name, value) for name, value in document.items()}

    def stage_backup(self, document: Any) -> None:
        self.staged_backup = self.check_backup(document)

    def restore_backup(self) -> list[str]:
        if self.staged_backup is None:
            raise invalid(f"no parameter backup to restore: PUT one to {self.profile.backup_path} first")
        applied = self.check_backup(self.staged_backup)
        self.values.update(applied)
        self.staged_backup = None
        self.counters["config_imports"] += 1
        return sorted(applied)

    def save(self) -> None:
        self.saved = copy.deepcopy(self.values)
        self.counters["saves"] += 1

    def factory_defaults(self) -> None:
        """Back to the initial values (the login password is kept); events and backups are dropped."""
        self.values = self.initial_values()
        self.saved = copy.deepcopy(self.values)
        self.events.clear()
        self.storage_usage = 0
        self.backup = None
        self.staged_backup = None

    def power_cycle(self) -> None:
        """What a reboot does to the state: writes since the last save are lost in 'volatile' mode."""
        self.power_on_count += 1
        self.counters["reboots"] += 1
        if self.volatile:
            self.values = copy.deepcopy(self.saved)
        self.partial.clear()
        self.nonces.clear()

    def summary(self, online: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "host": self.config.host,
            "port": self.config.port,
            "online": online,
            "firmware_version": self.firmware_version,
            "firmware_state": UPDATE_STATES.get(self.update_state, str(self.update_state)),
            "firmware_message": self.firmware_message,
            "rebooting": self.rebooting,
            "serial": self.config.serial,
            "user": self.config.user,
            "rtsp": bool(self.config.rtsp),
            "rtsp_port": self.config.rtsp_port if self.config.rtsp else None,
            "ws_port": self.config.ws_port or self.config.port,
            "persistence": self.config.persistence,
            "events": list(self.events),
            "files": sorted(self.files),
            "faults": dict(self.faults),
            "counters": dict(self.counters),
        }


def parse_firmware_header(first_line: bytes) -> str:
    """Return the version from a simulated firmware file's first line ``SICK-SEC100-FW <version>``."""
    try:
        text = first_line.decode("ascii").strip()
    except UnicodeDecodeError:
        raise ValueError("firmware header is not ASCII") from None
    parts = text.split()
    if len(parts) != 2 or parts[0] != FIRMWARE_MAGIC:
        raise ValueError(f"firmware header must be '{FIRMWARE_MAGIC} <version>'")
    version_tuple(parts[1])
    return parts[1]


def make_firmware_image(version: str, size: int = 4096) -> bytes:
    """A simulated firmware file for tests and dry runs: the header line then filler bytes."""
    header = f"{FIRMWARE_MAGIC} {version}\n".encode("ascii")
    filler = bytes((i * 7 + 3) % 256 for i in range(max(0, size - len(header))))
    return header + filler
