"""Read a device profile (profiles/sensingcam/*.yml) into the names the simulator serves.

The profile is the contract shared with the collection's modules: every variable, method and file path the
simulator answers to comes from it, so correcting a name in the profile corrects the simulator as well.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PROFILE_RELATIVE = Path("profiles/sensingcam/sec100-fw2.yml")
PROFILE_ENV = "SENSINGCAM_SIM_PROFILE"


class ProfileError(ValueError):
    """The profile file is missing, unreadable or lacks a name the simulator needs."""


@dataclass
class Variable:
    """A readable (and maybe writable) device variable under <api_prefix>/<name>."""

    key: str  # where it sits in the profile, e.g. "identity.firmware_version"
    name: str
    writable: bool
    fields: dict[str, str] = field(default_factory=dict)  # option name -> device field (structured variables)
    allowed: dict[str, Any] = field(default_factory=dict)  # option name -> list of values or {min, max}


@dataclass
class FileEndpoint:
    key: str
    path: str
    auth_name: str


@dataclass
class Profile:
    path: Path
    name: str
    http_port: int
    api_prefix: str
    websocket_port: int
    websocket_path: str
    realm: str
    challenge_method: str
    reads_require_login: bool
    default_user: str
    status_ok: int
    header_key: str
    data_key: str
    variables: dict[str, Variable]  # by device name
    methods: dict[str, str]  # profile key -> device name
    files: dict[str, FileEndpoint]  # profile key -> endpoint
    rtsp_from_version: str
    rtsp_port: int
    rtsp_paths: dict[str, str]
    firmware_state_name: str
    reboot_timeout_seconds: float
    raw: dict[str, Any]

    def variable_by_key(self, key: str) -> Variable:
        for variable in self.variables.values():
            if variable.key == key:
                return variable
        raise ProfileError(f"profile {self.path} has no variable {key}")

    def method(self, key: str) -> str:
        try:
            return self.methods[key]
        except KeyError:
            raise ProfileError(f"profile {self.path} has no method {key}") from None

    def file(self, key: str) -> FileEndpoint:
        try:
            return self.files[key]
        except KeyError:
            raise ProfileError(f"profile {self.path} has no file endpoint {key}") from None


def _value(section: dict, key: str, where: str) -> Any:
    entry = section.get(key)
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    raise ProfileError(f"profile entry {where}.{key} needs a 'value'")


def _section(raw: dict, key: str) -> dict:
    section = raw.get(key)
    if not isinstance(section, dict):
        raise ProfileError(f"profile lacks the '{key}' section")
    return section


def _variable(key: str, entry: Any, allowed: dict | None = None) -> Variable:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise ProfileError(f"profile entry {key} needs a 'name'")
    access = entry.get("access", "read")
    if access not in ("read", "read_write"):
        raise ProfileError(f"profile entry {key}: access must be read or read_write, not {access!r}")
    return Variable(key=key, name=entry["name"], writable=access == "read_write",
                    fields=dict(entry.get("fields") or {}), allowed=dict(allowed or entry.get("allowed") or {}))


def parse_profile(raw: dict, path: Path) -> Profile:
    transport = _section(raw, "transport")
    auth = _section(raw, "auth")
    response = raw.get("response") or {}
    variables: list[Variable] = []
    for section_name in ("identity", "time"):
        for key, entry in _section(raw, section_name).items():
            variables.append(_variable(f"{section_name}.{key}", entry))
    streams = _section(raw, "streams")
    for key, entry in streams.items():
        if key != "allowed":
            variables.append(_variable(f"streams.{key}", entry, streams.get("allowed")))
    recording = _section(raw, "event_recording")
    variables.append(_variable("event_recording", recording))
    if "buffer_usage" in recording:
        variables.append(_variable("event_recording.buffer_usage", recording["buffer_usage"]))
    firmware = _section(raw, "firmware")
    state = _variable("firmware.state", firmware.get("state"))
    variables.append(state)

    by_name: dict[str, Variable] = {}
    for variable in variables:
        if variable.name in by_name:
            raise ProfileError(f"variable name {variable.name} appears twice in the profile")
        by_name[variable.name] = variable

    methods = {}
    for key, entry in _section(raw, "methods").items():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ProfileError(f"profile method {key} needs a 'name'")
        methods[key] = entry["name"]
    clash = set(methods.values()) & set(by_name)
    if clash:
        raise ProfileError(f"names used both as variable and method: {sorted(clash)}")

    files = {}
    for key, entry in _section(raw, "files").items():
        if not isinstance(entry, dict) or not str(entry.get("path", "")).startswith("/") or not entry.get("auth_name"):
            raise ProfileError(f"profile file endpoint {key} needs an absolute 'path' and an 'auth_name'")
        files[key] = FileEndpoint(key, entry["path"], entry["auth_name"])
    for needed in ("latest_snapshot", "firmware_upload", "config_export", "config_import"):
        if needed not in files:
            raise ProfileError(f"profile lacks files.{needed}")

    rtsp = _section(raw, "rtsp")
    rtsp_paths = _value(rtsp, "paths", "rtsp")
    if not isinstance(rtsp_paths, dict) or not all(str(p).startswith("/") for p in rtsp_paths.values()):
        raise ProfileError("rtsp.paths must map stream names to absolute paths")
    ws_path = str(_value(transport, "websocket_path", "transport"))
    return Profile(
        path=path,
        name=str(raw.get("name", path.stem)),
        http_port=int(_value(transport, "http_port", "transport")),
        api_prefix="/" + str(_value(transport, "api_prefix", "transport")).strip("/"),
        websocket_port=int(_value(transport, "websocket_port", "transport")),
        websocket_path=ws_path if ws_path.startswith("/") else "/" + ws_path,
        realm=str(_value(auth, "realm", "auth")),
        challenge_method=str(_value(auth, "challenge_method", "auth")),
        reads_require_login=bool(_value(auth, "reads_require_login", "auth")),
        default_user=str(_value(auth, "default_user", "auth")),
        status_ok=int(response.get("status_ok", {}).get("value", 0)),
        header_key=str(response.get("header_key", {}).get("value", "header")),
        data_key=str(response.get("data_key", {}).get("value", "data")),
        variables=by_name,
        methods=methods,
        files=files,
        rtsp_from_version=str(_value(rtsp, "available_from_version", "rtsp")),
        rtsp_port=int(_value(rtsp, "port", "rtsp")),
        rtsp_paths={str(k): str(v) for k, v in rtsp_paths.items()},
        firmware_state_name=state.name,
        reboot_timeout_seconds=float(_value(firmware, "reboot_timeout_seconds", "firmware")),
        raw=raw,
    )


def find_profile(explicit: str | os.PathLike | None = None) -> Path:
    """The profile to load: --profile, else $SENSINGCAM_SIM_PROFILE, else profiles/sensingcam/sec100-fw2.yml found
    from the working directory or from the package location upwards (a repository checkout)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(PROFILE_ENV):
        return Path(os.environ[PROFILE_ENV])
    starts = [Path.cwd(), Path(__file__).resolve().parent]
    for start in starts:
        for folder in (start, *start.parents):
            candidate = folder / DEFAULT_PROFILE_RELATIVE
            if candidate.is_file():
                return candidate
    raise ProfileError(
        f"no device profile found: pass --profile FILE or set {PROFILE_ENV} "
        f"(looked for {DEFAULT_PROFILE_RELATIVE} above the working directory and the package)"
    )


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    resolved = find_profile(path)
    try:
        raw = yaml.safe_load(resolved.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"cannot read profile {resolved}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ProfileError(f"profile {resolved} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ProfileError(f"profile {resolved} is not a mapping")
    return parse_profile(raw, resolved)


def version_tuple(version: str) -> tuple[int, ...]:
    """'2.6.0' -> (2, 6, 0); raises ValueError on anything else."""
    parts = str(version).strip().split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a dotted version: {version!r}")
    numbers = tuple(int(p) for p in parts)
    return numbers + (0,) * (3 - len(numbers)) if len(numbers) < 3 else numbers
