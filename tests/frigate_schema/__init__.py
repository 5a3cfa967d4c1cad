"""Per-release checks of a Frigate config, written from each release's own config models (see README.md).

``check(config, version)`` -> list of error lines, empty when that release would accept the config. Lines name the
dotted path and pydantic's wording, as Frigate prints them (``cameras.cam1.record.retain: Extra inputs are not
permitted``). Lines ending in ``(project rule)`` are not Frigate model errors: they mark what Frigate accepts at
validation but what breaks at start-up or at run time (a missing ``{FRIGATE_*}`` variable, a ``version:`` that
makes Frigate migrate the file, an empty MQTT host). ``check(..., project_rules=False)`` leaves them out.
"""

import copy
import string

from .models import CURRENT_CONFIG_VERSION, DETECTOR_TYPES, VERSIONS, build
from .spec import join, report

__all__ = ["CURRENT_CONFIG_VERSION", "DETECTOR_TYPES", "VERSIONS", "check", "frigate_format", "placeholders"]

# Global sections that Frigate merges into every camera before validating it again (config.py post_validation).
CAMERA_INHERITED = ("audio", "birdseye", "record", "snapshots", "live", "objects", "review", "motion",
                    "notifications", "detect", "ffmpeg", "timestamp_style")
DEFAULT_TRACKED_OBJECTS = ("person",)
RESTRICTED_GO2RTC_PREFIXES = ("echo:", "expr:", "exec:")


def placeholders(text):
    """The ``{name}`` fields of ``text`` as ``str.format`` reads them; ValueError on unbalanced braces."""
    return [field for _literal, field, _spec, _conversion in string.Formatter().parse(text) if field is not None]


def frigate_format(text, environment):
    """``text`` with ``{FRIGATE_*}`` replaced as Frigate does (``str.format`` with only the FRIGATE_ variables).

    A placeholder whose variable is missing raises KeyError, as in Frigate (env.py, go2rtc create_config.py).
    """
    frigate_vars = {key: value for key, value in environment.items() if key.startswith("FRIGATE_")}
    return text.format(**frigate_vars)


def _deep_merge(camera, global_section):
    merged = copy.deepcopy(global_section)
    for key, value in camera.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(value, merged[key])
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _force_single_input_roles(config, errors):
    """CameraConfig.__init__ (0.16.4, 0.17.2, 0.18): one input gets roles [record, detect(, audio)], whatever it
    listed; a camera without ``ffmpeg.inputs`` makes ``__init__`` raise a bare KeyError before validation."""
    cameras = config.get("cameras")
    if not isinstance(cameras, dict):
        return
    for name, camera in cameras.items():
        if not isinstance(camera, dict):
            continue
        ffmpeg = camera.get("ffmpeg")
        if not isinstance(ffmpeg, dict) or "inputs" not in ffmpeg:
            where = join(join("cameras", name), "ffmpeg" if not isinstance(ffmpeg, dict) else "ffmpeg.inputs")
            report(errors, where, "Field required (Frigate stops with a bare KeyError here)")
            continue
        inputs = ffmpeg["inputs"]
        if isinstance(inputs, list) and len(inputs) == 1 and isinstance(inputs[0], dict):
            roles = inputs[0].get("roles") or []
            inputs[0]["roles"] = ["record", "detect"] + (["audio"] if "audio" in roles else [])


def _camera_post_validation(config, errors):
    """What FrigateConfig.post_validation raises per camera once every field passed (config.py verify_*)."""
    global_config = {key: config[key] for key in CAMERA_INHERITED if isinstance(config.get(key), dict)}
    cameras = config["cameras"]
    for name, camera in cameras.items():
        merged = _deep_merge(camera, global_config)
        path = join("cameras", name)
        roles = {role for item in merged["ffmpeg"]["inputs"] for role in item.get("roles", [])}
        if merged.get("record", {}).get("enabled", False) and "record" not in roles:
            report(errors, path, f"Value error, Camera {name} has record enabled, but record is not assigned to an "
                                 "input.")
        if merged.get("audio", {}).get("enabled", False) and "audio" not in roles:
            report(errors, path, f"Value error, Camera {name} has audio events enabled, but audio is not assigned "
                                 "to an input.")
        record_args = merged.get("ffmpeg", {}).get("output_args", {}).get("record")
        if record_args is not None:
            args = record_args.split() if isinstance(record_args, str) else list(record_args)
            if args and not args[0].startswith("preset"):
                if "-segment_time" not in args:
                    report(errors, path, f"Value error, Camera {name} has no segment_time in recording output args")
                elif int(args[args.index("-segment_time") + 1]) > 60:
                    report(errors, path, f"Value error, Camera {name} has invalid segment_time output arg")
        zones = merged.get("zones", {})
        tracked = merged.get("objects", {}).get("track", list(DEFAULT_TRACKED_OBJECTS))
        for zone_name, zone in zones.items():
            zone_objects = zone.get("objects", [])
            for label in [zone_objects] if isinstance(zone_objects, str) else zone_objects:
                if label not in tracked:
                    report(errors, path, f"Value error, Zone {zone_name} is configured to track {label} but that "
                                         "object type is not added to objects -> track.")
        for severity in ("detections", "alerts"):
            required = merged.get("review", {}).get(severity, {}).get("required_zones", [])
            for zone_name in [required] if isinstance(required, str) else required:
                if zone_name not in zones:
                    report(errors, path, f"Value error, Camera {name} has a required zone for {severity} "
                                         f"{zone_name} that is not defined.")
        detect_enabled = merged.get("detect", {}).get("enabled", False)
        motion_enabled = (merged.get("motion") or {}).get("enabled", True)
        if detect_enabled and not motion_enabled:
            report(errors, path, f"Value error, Camera {name} has motion detection disabled and object detection "
                                 "enabled but object detection requires motion detection.")
        for zone_name in zones:
            if zone_name in cameras:
                report(errors, "cameras", "Value error, Zones cannot share names with cameras")


def _project_rules(config, version, strings, environment, errors):
    suffix = " (project rule)"
    wanted = CURRENT_CONFIG_VERSION[version]
    if config.get("version") != wanted:
        report(errors, "version", f"should be '{wanted}' for Frigate {version}: any other value makes Frigate "
                                  "migrate the file on start (or refuse to, on a read-only mount)" + suffix)
    mqtt = config.get("mqtt") if isinstance(config.get("mqtt"), dict) else {}
    if mqtt.get("enabled", True) and not mqtt.get("host"):
        report(errors, "mqtt.host", "MQTT is enabled but no host is set: Frigate cannot connect" + suffix)
    for path, text, substituted in strings:
        _placeholder_rule(path, text, substituted, version, environment, errors)
    go2rtc = config.get("go2rtc") if isinstance(config.get("go2rtc"), dict) else {}
    streams = go2rtc.get("streams") or {}
    for name, sources in streams.items():
        path = join("go2rtc.streams", name)
        if isinstance(sources, dict):
            report(errors, path, "map-form source: Frigate's go2rtc start-up deletes it unless "
                                 "GO2RTC_ALLOW_ARBITRARY_EXEC=true" + suffix)
            continue
        for index, source in enumerate(sources if isinstance(sources, list) else [sources]):
            where = join(path, index) if isinstance(sources, list) else path
            if not isinstance(source, str):
                report(errors, where, "a go2rtc source must be a string" + suffix)
                continue
            _placeholder_rule(where, source, True, version, environment, errors)
            if source.strip().startswith(RESTRICTED_GO2RTC_PREFIXES):
                report(errors, where, "echo:/expr:/exec: source: Frigate's go2rtc start-up deletes it unless "
                                      "GO2RTC_ALLOW_ARBITRARY_EXEC=true" + suffix)
    rtsp = go2rtc.get("rtsp") if isinstance(go2rtc.get("rtsp"), dict) else {}
    for key in ("username", "password"):
        if isinstance(rtsp.get(key), str):
            _placeholder_rule(join("go2rtc.rtsp", key), rtsp[key], True, version, environment, errors)
    cameras = config.get("cameras") if isinstance(config.get("cameras"), dict) else {}
    for name, camera in cameras.items():
        live = (camera or {}).get("live") or {}
        for stream in (live.get("streams") or {}).values():
            if stream not in streams:
                report(errors, join(join("cameras", name), "live.streams"),
                       f"names go2rtc stream '{stream}', which go2rtc.streams does not define (Frigate only logs "
                       "nothing and the live view stays empty)" + suffix)


def _placeholder_rule(path, text, substituted, version, environment, errors):
    suffix = " (project rule)"
    try:
        fields = placeholders(text)
    except ValueError as error:
        if substituted:
            report(errors, path, f"unbalanced braces break Frigate's str.format substitution ({error})" + suffix)
        return
    for field in fields:
        if not substituted:
            if field.startswith("FRIGATE_"):
                report(errors, path, f"{{{field}}} is not substituted in this field by Frigate {version}: the "
                                     "literal text would be used" + suffix)
            continue
        if not field.startswith("FRIGATE_"):
            report(errors, path, f"{{{field}}}: Frigate substitutes only FRIGATE_* variables here, any other "
                                 "name stops it with KeyError" + suffix)
        elif environment is not None and field not in environment:
            report(errors, path, f"{{{field}}}: variable not provided, Frigate stops with KeyError" + suffix)


def check(config, version, project_rules=True, environment=None):
    """Errors that Frigate ``version`` would report for ``config`` (a dict, as loaded from config.yml).

    ``environment``: the FRIGATE_* variable names the container will have (env or /run/secrets); when given, a
    ``{FRIGATE_X}`` placeholder without its variable is reported (Frigate would stop with KeyError).
    """
    model = build(version)
    if not isinstance(config, dict):
        return ["<root>: Input should be a valid dictionary"]
    config = copy.deepcopy(config)
    errors = []
    _force_single_input_roles(config, errors)
    strings = []

    def visit(spec, value, path):
        if isinstance(value, str) and "{" in value or isinstance(value, str) and "}" in value:
            strings.append((path, value, spec.env))

    crashed = {line.split(": ", 1)[0] for line in errors}
    model.validate(config, "", errors, visit)
    errors = [line for index, line in enumerate(errors)
              if index < len(crashed) or line.split(": ", 1)[0] not in crashed]
    if not errors:
        _camera_post_validation(config, errors)
    if project_rules:
        _project_rules(config, version, strings, environment, errors)
    return errors
