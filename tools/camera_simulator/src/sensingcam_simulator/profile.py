"""Read a format-2 device profile (profiles/sensingcam/sec100-fw2.yml) into what the simulator serves.

The profile is the contract shared with the collection's modules: every variable, method, file name, status code
and protocol rule the simulator answers with comes from it, so correcting an entry corrects the simulator as well.
This is the simulator's own loader: it does not import the collection's module_utils (the simulator is installed
and run on its own, e.g. in the lab image).
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PROFILE_RELATIVE = Path("profiles/sensingcam/sec100-fw2.yml")
PROFILE_ENV = "SENSINGCAM_SIM_PROFILE"
CODEC_TYPES = ("string", "int", "bool", "enum", "ipv4", "scaled", "object", "list")


class ProfileError(ValueError):
    """The profile file is missing, unreadable, of another format, or lacks an entry the simulator needs."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass
class Codec:
    """How a wire value looks. The simulator checks *wire* values (what a client POSTs), not module values."""

    type: str
    values: dict[int, str] = field(default_factory=dict)  # enum
    min: int | None = None
    max: int | None = None
    choices: list[int] | None = None
    max_length: int | None = None
    factor: float | None = None
    unit: str | None = None

    def allowed(self) -> str:
        """Human text of the wire values accepted."""
        if self.type == "bool":
            return "0 or 1"
        if self.type == "enum":
            return "one of " + ", ".join(f"{wire} ({name})" for wire, name in self.values.items())
        if self.type == "string":
            return f"a string of at most {self.max_length} characters" if self.max_length else "a string"
        if self.type == "ipv4":
            return "an IPv4 address as four integers 0-255, like [192, 168, 0, 10]"
        if self.type == "object":
            return "a JSON object"
        if self.type == "list":
            return "a JSON array"
        if self.choices:
            return "one of " + ", ".join(str(choice) for choice in self.choices)
        low = "" if self.min is None else f" from {self.min}"
        high = "" if self.max is None else f" to {self.max}"
        return f"an integer{low}{high}"

    def check(self, wire: Any) -> str | None:
        """None when ``wire`` is a valid wire value, else what is wrong (without the allowed values)."""
        if self.type == "bool":
            return None if _is_int(wire) and wire in (0, 1) else "is not 0 or 1"
        if self.type == "enum":
            return None if _is_int(wire) and wire in self.values else "is not a known value"
        if self.type == "string":
            if not isinstance(wire, str):
                return "is not a string"
            if self.max_length is not None and len(wire) > self.max_length:
                return f"is longer than {self.max_length} characters"
            return None
        if self.type == "ipv4":
            if not (isinstance(wire, list) and len(wire) == 4 and all(_is_int(b) and 0 <= b <= 255 for b in wire)):
                return "is not an IPv4 address as four integers"
            return None
        if self.type == "object":
            return None if isinstance(wire, dict) else "is not a JSON object"
        if self.type == "list":
            return None if isinstance(wire, list) else "is not a JSON array"
        if not _is_int(wire):
            return "is not an integer"
        if self.choices and wire not in self.choices:
            return "is not an allowed value"
        if self.min is not None and wire < self.min:
            return f"is below the minimum {self.min}"
        if self.max is not None and wire > self.max:
            return f"is above the maximum {self.max}"
        return None

    def default(self) -> Any:
        """A valid wire value for a variable the simulator has no initial value for."""
        return {"bool": 0, "string": "", "ipv4": [0, 0, 0, 0], "object": {}, "list": []}.get(self.type, self._number())

    def _number(self) -> Any:
        if self.type == "enum":
            return next(iter(self.values))
        if self.choices:
            return self.choices[0]
        return self.min if self.min is not None else 0

    def schema(self) -> dict[str, Any]:
        """An OpenAPI-style schema of the wire value (for the API description file)."""
        if self.type == "string":
            return {"type": "string", **({"maxLength": self.max_length} if self.max_length else {})}
        if self.type == "ipv4":
            return {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 255},
                    "minItems": 4, "maxItems": 4}
        if self.type == "object":
            return {"type": "object"}
        if self.type == "list":
            return {"type": "array"}
        schema: dict[str, Any] = {"type": "integer"}
        if self.type == "bool":
            schema["enum"] = [0, 1]
        elif self.type == "enum":
            schema["enum"] = list(self.values)
        elif self.choices:
            schema["enum"] = list(self.choices)
        if self.min is not None:
            schema["minimum"] = self.min
        if self.max is not None:
            schema["maximum"] = self.max
        return schema


@dataclass
class Variable:
    """A device variable under <api_prefix>/<name>."""

    key: str  # dotted path under `variables:` (or `firmware.state`), e.g. "streams.video0.fps"
    name: str
    writable: bool
    level: str
    secret: bool
    codec: Codec


@dataclass
class Method:
    key: str
    name: str
    argument: str | None
    level: str


@dataclass
class Profile:
    path: Path
    name: str
    raw: dict[str, Any]
    http_port: int
    api_prefix: str
    file_download_prefix: str
    file_upload_prefix: str
    upload_chunk_bytes: int
    authentication_free_prefix: str
    api_description_path: str
    websocket_port: int
    websocket_path: str
    realm: str
    challenge_method: str
    default_user: str
    reads_require_login: bool
    empty_salt: str  # 'separator' | 'no_salt'
    nonce_reuse: bool
    header_key: str
    data_key: str
    status_ok: int
    statuses: dict[int, str]
    busy_http_status: int
    method_result_key: str
    method_results: dict[int, str]
    variables: dict[str, Variable]  # by device name
    methods: dict[str, Method]  # by profile key
    files: dict[str, str]  # profile key -> file name
    save_method: str | None
    reboot_timeout_seconds: float
    firmware_upload_file: str
    firmware_start_method: str
    firmware_state: Variable
    backup_create_method: str
    backup_argument: str | None
    backup_path: str
    backup_restore_method: str

    def variable_by_key(self, key: str) -> Variable:
        for variable in self.variables.values():
            if variable.key == key:
                return variable
        raise ProfileError(f"profile {self.path} has no variable {key}")

    def has_key(self, key: str) -> bool:
        return any(variable.key == key for variable in self.variables.values())

    def method_name(self, key: str) -> str | None:
        method = self.methods.get(key)
        return method.name if method else None

    def status(self, meaning: str, default: int) -> int:
        """The header.status code the profile gives ``meaning`` (e.g. 'access_denied'), else ``default``."""
        for code, name in self.statuses.items():
            if name == meaning:
                return code
        return default

    def method_result(self, meaning: str, default: int) -> int:
        for code, name in self.method_results.items():
            if name == meaning:
                return code
        return default


def _entry(section: Any, key: str, where: str) -> Any:
    if not isinstance(section, dict):
        raise ProfileError(f"profile lacks the '{where}' section")
    entry = section.get(key)
    if isinstance(entry, dict) and "value" in entry:
        return entry["value"]
    raise ProfileError(f"profile entry {where}.{key} needs a 'value'")


def _optional(section: Any, key: str, default: Any) -> Any:
    entry = section.get(key) if isinstance(section, dict) else None
    return entry["value"] if isinstance(entry, dict) and "value" in entry else default


def _path(value: Any, where: str) -> str:
    text = str(value)
    if not text.startswith("/"):
        raise ProfileError(f"profile entry {where} must be an absolute path starting with '/', not {text!r}")
    return "/" + text.strip("/")


def parse_codec(spec: Any, named: dict[str, Any], where: str) -> Codec:
    if isinstance(spec, str):
        if spec not in named:
            raise ProfileError(f"{where}: codec {spec!r} is not defined under codecs: (known: {', '.join(named)})")
        spec = named[spec]
    if not isinstance(spec, dict) or spec.get("type") not in CODEC_TYPES:
        raise ProfileError(f"{where}: a codec needs a type, one of {', '.join(CODEC_TYPES)}")
    kind = spec["type"]
    values: dict[int, str] = {}
    if kind == "enum":
        raw = spec.get("values")
        if not isinstance(raw, dict) or not raw or not all(_is_int(k) for k in raw):
            raise ProfileError(f"{where}: an enum codec needs values: {{<int>: <name>}}")
        values = {int(k): str(v) for k, v in raw.items()}
    choices = spec.get("choices")
    if choices is not None and not (isinstance(choices, list) and choices and all(_is_int(c) for c in choices)):
        raise ProfileError(f"{where}: choices must be a list of integers")
    for bound in ("min", "max", "max_length"):
        if spec.get(bound) is not None and not _is_int(spec[bound]):
            raise ProfileError(f"{where}: {bound} must be an integer")
    return Codec(type=kind, values=values, min=spec.get("min"), max=spec.get("max"), choices=choices,
                 max_length=spec.get("max_length"), factor=spec.get("factor"), unit=spec.get("unit"))


def _variable(key: str, entry: dict[str, Any], named: dict[str, Any]) -> Variable:
    if not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ProfileError(f"profile variable {key} needs a 'name'")
    access = entry.get("access", "read")
    if access not in ("read", "read_write"):
        raise ProfileError(f"profile variable {key}: access must be read or read_write, not {access!r}")
    if "codec" not in entry:
        raise ProfileError(f"profile variable {key} needs a 'codec'")
    return Variable(key=key, name=entry["name"], writable=access == "read_write", level=str(entry.get("level", "")),
                    secret=bool(entry.get("secret", False)), codec=parse_codec(entry["codec"], named, key))


def _walk(tree: Any, prefix: str, named: dict[str, Any], out: list[Variable]) -> None:
    """Variables are the mappings with a `name`; any other mapping is a group."""
    if not isinstance(tree, dict):
        raise ProfileError(f"profile entry variables.{prefix} is neither a variable nor a group")
    for key, entry in tree.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(entry, dict) and "name" in entry:
            out.append(_variable(dotted, entry, named))
        else:
            _walk(entry, dotted, named, out)


def parse_profile(raw: dict, path: Path) -> Profile:
    if raw.get("profile_format") != 2:
        raise ProfileError(f"profile {path} is not profile_format 2 (format 1 was retired with issue 10): "
                           f"use profiles/sensingcam/sec100-fw2.yml")
    named = raw.get("codecs") or {}
    if not isinstance(named, dict):
        raise ProfileError("profile 'codecs' must be a mapping")
    variables: list[Variable] = []
    _walk(raw.get("variables"), "", named, variables)
    firmware = raw.get("firmware")
    if not isinstance(firmware, dict) or not isinstance(firmware.get("state"), dict):
        raise ProfileError("profile lacks firmware.state")
    state = _variable("firmware.state", firmware["state"], named)
    variables.append(state)
    by_name: dict[str, Variable] = {}
    for variable in variables:
        if variable.name in by_name:
            raise ProfileError(f"device name {variable.name} appears twice in the profile "
                               f"({by_name[variable.name].key} and {variable.key})")
        by_name[variable.name] = variable

    methods: dict[str, Method] = {}
    for key, entry in (raw.get("methods") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ProfileError(f"profile method {key} needs a 'name'")
        methods[key] = Method(key, entry["name"], entry.get("argument"), str(entry.get("level", "")))
    backup = raw.get("backup") or {}
    create = backup.get("create_method")
    if not isinstance(create, dict) or "value" not in create:
        raise ProfileError("profile entry backup.create_method needs a 'value'")
    special = {
        "firmware.start_method": Method("firmware.start_method", str(_entry(firmware, "start_method", "firmware")),
                                        None, ""),
        "backup.create_method": Method("backup.create_method", str(create["value"]), create.get("argument"), ""),
        "backup.restore_method": Method("backup.restore_method", str(_entry(backup, "restore_method", "backup")),
                                        None, ""),
    }
    for key, method in special.items():
        methods.setdefault(key, method)
    names = [m.name for m in methods.values()]
    if len(set(names)) != len(names):
        raise ProfileError("a method name appears twice in the profile")
    clash = set(names) & set(by_name)
    if clash:
        raise ProfileError(f"names used both as variable and method: {sorted(clash)}")

    files = {}
    for key, entry in (raw.get("files") or {}).items():
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or "/" in entry["name"]:
            raise ProfileError(f"profile file {key} needs a 'name' without '/'")
        files[key] = entry["name"]
    for needed in ("latest_snapshot", "latest_event_recording"):
        if needed not in files:
            raise ProfileError(f"profile lacks files.{needed}")

    transport, auth, response = raw.get("transport"), raw.get("auth"), raw.get("response") or {}
    persistence = raw.get("persistence") or {}
    empty_salt = str(_optional(auth, "empty_salt", "separator"))
    if empty_salt not in ("separator", "no_salt"):
        raise ProfileError(f"auth.empty_salt must be separator or no_salt, not {empty_salt!r}")
    statuses = _optional(response, "statuses", {0: "ok", 4: "access_denied", 10: "invalid_challenge"})
    results = _optional(response, "method_results", {0: "ok", 1: "mode_not_enabled", 2: "busy", 3: "invalid_name"})
    save = _optional(persistence, "save_method", None)
    return Profile(
        path=path,
        name=str(raw.get("name", path.stem)),
        raw=raw,
        http_port=int(_entry(transport, "http_port", "transport")),
        api_prefix=_path(_entry(transport, "api_prefix", "transport"), "transport.api_prefix"),
        file_download_prefix=_path(_entry(transport, "file_download_prefix", "transport"),
                                   "transport.file_download_prefix"),
        file_upload_prefix=_path(_entry(transport, "file_upload_prefix", "transport"), "transport.file_upload_prefix"),
        upload_chunk_bytes=int(_entry(transport, "upload_chunk_bytes", "transport")),
        authentication_free_prefix=_path(_entry(transport, "authentication_free_prefix", "transport"),
                                         "transport.authentication_free_prefix"),
        api_description_path=_path(_entry(transport, "api_description_path", "transport"),
                                   "transport.api_description_path"),
        websocket_port=int(_entry(transport, "websocket_port", "transport")),
        websocket_path=_path(_entry(transport, "websocket_path", "transport"), "transport.websocket_path"),
        realm=str(_entry(auth, "realm", "auth")),
        challenge_method=str(_entry(auth, "challenge_method", "auth")),
        default_user=str(_entry(auth, "default_user", "auth")),
        reads_require_login=bool(_entry(auth, "reads_require_login", "auth")),
        empty_salt=empty_salt,
        nonce_reuse=bool(_optional(auth, "nonce_reuse", True)),
        header_key=str(_optional(response, "header_key", "header")),
        data_key=str(_optional(response, "data_key", "data")),
        status_ok=int(_optional(response, "status_ok", 0)),
        statuses={int(k): str(v) for k, v in statuses.items()},
        busy_http_status=int(_optional(response, "busy_http_status", 400)),
        method_result_key=str(_optional(response, "method_result_key", "result")),
        method_results={int(k): str(v) for k, v in results.items()},
        variables=by_name,
        methods=methods,
        files=files,
        save_method=str(save) if save else None,
        reboot_timeout_seconds=float(_optional(persistence, "reboot_timeout_seconds", 300)),
        firmware_upload_file=str(_entry(firmware, "upload_file", "firmware")),
        firmware_start_method=methods["firmware.start_method"].name,
        firmware_state=state,
        backup_create_method=methods["backup.create_method"].name,
        backup_argument=methods["backup.create_method"].argument,
        backup_path=_path(_entry(backup, "path", "backup"), "backup.path"),
        backup_restore_method=methods["backup.restore_method"].name,
    )


def find_profile(explicit: str | os.PathLike | None = None) -> Path:
    """The profile to load: --profile, else $SENSINGCAM_SIM_PROFILE, else profiles/sensingcam/sec100-fw2.yml found
    from the working directory or from the package location upwards (a repository checkout)."""
    if explicit:
        return Path(explicit)
    if os.environ.get(PROFILE_ENV):
        return Path(os.environ[PROFILE_ENV])
    for start in (Path.cwd(), Path(__file__).resolve().parent):
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
    """'2.6.0' -> (2, 6, 0); raises ValueError on anything else (the simulator's own firmware strings)."""
    parts = str(version).strip().split(".")
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not a dotted version: {version!r}")
    numbers = tuple(int(p) for p in parts)
    return numbers + (0,) * (3 - len(numbers)) if len(numbers) < 3 else numbers


def ip_plus(address: str, offset: int) -> str:
    """'127.1.0.1' + 2 -> '127.1.0.3' (for --address-per-camera)."""
    return str(ipaddress.ip_address(address) + offset)
