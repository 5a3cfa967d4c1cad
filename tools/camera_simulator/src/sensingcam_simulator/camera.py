"""One virtual camera: configuration, variable state, validation, faults and the firmware-file format.

Nothing here does network I/O; server.py drives these objects. Initial values are keyed by the *profile key*
(e.g. ``streams.primary``), never by the device name, so renaming a variable in the profile needs no change here.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from .auth import NonceStore
from .profile import Profile, Variable, version_tuple

FIRMWARE_MAGIC = "SICK-SEC100-FW"
FIRMWARE_STATES = ("idle", "receiving", "verifying", "rebooting", "failed")

# Fault name -> type and default. Documented in docs/camera-simulator.md.
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
}
# The states a firmware update can be held in ("" holds nothing).
HOLDABLE_FIRMWARE_STATES = ("", "verifying", "rebooting")
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
            raise ValueError(f"fault {name} must be an integer from 0 to 600000 (milliseconds)")
        clean[name] = value
    return clean


# Initial state by profile key. Stream and recording values use *option* names; they are mapped onto the
# profile's device field names when the camera is created.
_INITIAL_STREAMS = {
    "primary": {"codec": "h264", "width": 1920, "height": 1080, "fps": 25, "bitrate_kbps": 4096, "gop": 50},
    "secondary": {"codec": "h264", "width": 640, "height": 360, "fps": 10, "bitrate_kbps": 1024, "gop": 20},
}
_INITIAL_RECORDING = {"pre_trigger_seconds": 5, "post_trigger_seconds": 10, "duration_seconds": 30,
                      "trigger_source": "software"}


@dataclass
class CameraConfig:
    name: str
    port: int
    user: str
    password: str
    firmware_version: str = "2.6.2"
    serial: str = ""
    order_number: str = "SIM-SEC100"
    device_type: str = "SEC100"
    salt: list[int] | None = None
    rtsp: bool = False
    rtsp_port: int | None = None
    ws_port: int | None = None  # extra port serving only the WebSocket (None: the HTTP port serves it)
    faults: dict[str, Any] = field(default_factory=default_faults)

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}", self.name):
            raise ValueError(f"camera name {self.name!r}: use letters, digits, '.', '_' or '-' (max 63)")
        version_tuple(self.firmware_version)
        if self.salt is not None and not all(isinstance(b, int) and 0 <= b <= 255 for b in self.salt):
            raise ValueError(f"camera {self.name}: salt must be a list of byte values 0-255")
        if not self.password:
            raise ValueError(f"camera {self.name}: empty password")
        merged = default_faults()
        merged.update(validate_faults(self.faults))
        self.faults = merged


class ApiError(Exception):
    """An error reply: HTTP status plus the message put in the reply header."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _check_scalar(variable: Variable, current: Any, value: Any) -> Any:
    if isinstance(current, bool):
        if not isinstance(value, bool):
            raise ApiError(400, f"{variable.name} must be true or false")
    elif isinstance(current, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ApiError(400, f"{variable.name} must be an integer")
    elif isinstance(current, list):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value) or len(value) > 8:
            raise ApiError(400, f"{variable.name} must be a list of at most 8 non-empty strings")
    elif isinstance(current, str) and (not isinstance(value, str) or len(value) > 128):
        raise ApiError(400, f"{variable.name} must be a string of at most 128 characters")
    return value


def check_structured(variable: Variable, current: dict[str, Any], value: Any) -> dict[str, Any]:
    """Validate a (partial) structured write against the profile's `fields` and `allowed`; return the merged value."""
    if not isinstance(value, dict):
        raise ApiError(400, f"{variable.name} must be an object with fields {', '.join(variable.fields.values())}")
    option_of = {device: option for option, device in variable.fields.items()}
    merged = dict(current)
    for device_field, field_value in value.items():
        option = option_of.get(device_field)
        if option is None:
            raise ApiError(400, f"{variable.name}: unknown field {device_field!r}; "
                                f"fields are {', '.join(variable.fields.values())}")
        rule = variable.allowed.get(option)
        if isinstance(current.get(device_field), int) and not isinstance(current.get(device_field), bool):
            if isinstance(field_value, bool) or not isinstance(field_value, int):
                raise ApiError(400, f"{variable.name}.{device_field} must be an integer")
            if rule is None and not 1 <= field_value <= 8192:
                raise ApiError(400, f"{variable.name}.{device_field} must be between 1 and 8192")
        elif not isinstance(field_value, str):
            raise ApiError(400, f"{variable.name}.{device_field} must be a string")
        if isinstance(rule, list) and field_value not in rule:
            raise ApiError(400, f"{variable.name}.{device_field} must be one of {', '.join(map(str, rule))}")
        if isinstance(rule, dict):
            low, high = rule.get("min"), rule.get("max")
            if (low is not None and field_value < low) or (high is not None and field_value > high):
                raise ApiError(400, f"{variable.name}.{device_field} must be between {low} and {high}")
        merged[device_field] = field_value
    return merged


class Camera:
    """State of one virtual camera. ``reset()`` returns it to its start-up state."""

    def __init__(self, config: CameraConfig, profile: Profile, nonce_ttl: float = 60.0) -> None:
        self.config = config
        self.profile = profile
        self.nonces = NonceStore(ttl=nonce_ttl)
        self.reset()

    # -- state ---------------------------------------------------------------------------------------------
    def reset(self) -> None:
        cfg, profile = self.config, self.profile
        self.faults = copy.deepcopy(cfg.faults)
        self.firmware_version = cfg.firmware_version
        self.firmware_state = "idle"
        self.firmware_message = ""
        self.rebooting = False
        self.stuck = False  # reboot_never_returns fired: down until reset
        self.snapshot_mode = 0
        self.snapshot_index = 0
        self.counters = {"requests": 0, "logins_ok": 0, "logins_failed": 0, "events_triggered": 0,
                         "snapshots_triggered": 0, "firmware_uploads": 0, "reboots": 0, "config_imports": 0,
                         "delayed_requests": 0}
        self.nonces.clear()
        values: dict[str, Any] = {}
        initial_by_key = {
            "identity.firmware_version": None,  # dynamic
            "identity.serial_number": cfg.serial,
            "identity.order_number": cfg.order_number,
            "identity.device_type": cfg.device_type,
            "identity.device_name": cfg.name,
            "time.device_time": None,  # dynamic
            "time.ntp_enabled": False,
            "time.ntp_servers": [],
            "time.time_zone": "UTC",
            "event_recording.buffer_usage": 0,
            "firmware.state": None,  # dynamic
        }
        for variable in profile.variables.values():
            if variable.key.startswith("streams."):
                options = _INITIAL_STREAMS.get(variable.key.split(".", 1)[1], _INITIAL_STREAMS["secondary"])
                values[variable.name] = {variable.fields[o]: v for o, v in options.items() if o in variable.fields}
            elif variable.key == "event_recording":
                values[variable.name] = {variable.fields[o]: v for o, v in _INITIAL_RECORDING.items()
                                         if o in variable.fields}
            else:
                values[variable.name] = initial_by_key.get(variable.key, "")
        self.values = values

    @property
    def name(self) -> str:
        return self.config.name

    def rtsp_available(self) -> bool:
        return self.config.rtsp and version_tuple(self.firmware_version) >= version_tuple(
            self.profile.rtsp_from_version)

    def read(self, name: str) -> Any:
        variable = self.profile.variables.get(name)
        if variable is None:
            if name == self.profile.methods.get("snapshot_mode"):
                return self.snapshot_mode
            if name in self.profile.methods.values():
                raise ApiError(405, f"{name} is a method: POST it")
            raise ApiError(404, f"unknown variable {name}")
        if variable.key == "identity.firmware_version":
            return self.firmware_version
        if variable.key == "time.device_time":
            return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        if variable.key == "firmware.state":
            return self.firmware_state
        return copy.deepcopy(self.values[name])

    def check_write(self, name: str, value: Any) -> Any:
        """Validate a write; return the new value (merged for structured variables) without applying it."""
        variable = self.profile.variables.get(name)
        if variable is None:
            raise ApiError(404, f"unknown variable {name}")
        if not variable.writable:
            raise ApiError(403, f"{name} is read-only")
        current = self.values[name]
        if variable.fields:
            return check_structured(variable, current, value)
        return _check_scalar(variable, current, value)

    def write(self, name: str, value: Any) -> Any:
        self.values[name] = self.check_write(name, value)
        return copy.deepcopy(self.values[name])

    def writable_state(self) -> dict[str, Any]:
        return {v.name: copy.deepcopy(self.values[v.name]) for v in self.profile.variables.values() if v.writable}

    def export_configuration(self) -> dict[str, Any]:
        ident = {self.profile.variable_by_key(k).name: self.read(self.profile.variable_by_key(k).name)
                 for k in ("identity.device_type", "identity.firmware_version", "identity.serial_number")}
        return {"device": ident, "configuration": self.writable_state()}

    def import_configuration(self, document: Any) -> list[str]:
        """Apply an exported configuration (or a bare {name: value} mapping) all-or-nothing."""
        if isinstance(document, dict) and isinstance(document.get("configuration"), dict):
            document = document["configuration"]
        if not isinstance(document, dict) or not document:
            raise ApiError(400, "configuration file must be a JSON object of variables")
        staged = {name: self.check_write(name, value) for name, value in document.items()}
        self.values.update(staged)
        self.counters["config_imports"] += 1
        return sorted(staged)

    def trigger_event(self) -> None:
        self.counters["events_triggered"] += 1
        name = self.profile.variable_by_key("event_recording.buffer_usage").name
        self.values[name] = min(100, int(self.values.get(name) or 0) + 2)

    def summary(self, online: bool) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.config.port,
            "online": online,
            "firmware_version": self.firmware_version,
            "firmware_state": self.firmware_state,
            "firmware_message": self.firmware_message,
            "rebooting": self.rebooting,
            "serial": self.config.serial,
            "user": self.config.user,
            "rtsp": self.rtsp_available(),
            "rtsp_port": self.config.rtsp_port if self.rtsp_available() else None,
            "ws_port": self.config.ws_port or self.config.port,
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
