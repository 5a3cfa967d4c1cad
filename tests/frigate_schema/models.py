"""Frigate's config models per release, written down as rule tables (never copied: read and restated).

Read at (blakeblackshear/frigate):
- 0.16.4: tag v0.16.4, commit 4131252a3ba4544bf7cb1468bf30bdfd932e2489
- 0.17.2: tag v0.17.2, commit 3d4dd3ac4b00e7257bd3412608a783001d7d77ed
- 0.18.0: no v0.18.0 tag in the stored snapshot; read at the newest 0.18 commit on ``dev``,
  e3fa70189324e5eb3b1dba756c153f6696f457de (2026-07-23, after v0.18.0-beta1 5f6043aa)

Files: frigate/config/{config,base,mqtt,auth,tls,ui,logger,database,network,proxy,telemetry,env}.py,
frigate/config/camera/*.py, frigate/detectors/detector_config.py, frigate/detectors/plugins/*.py,
frigate/util/config.py (CURRENT_CONFIG_VERSION), frigate/const.py (MAX_PRE_CAPTURE 60, REGEX_CAMERA_NAME,
FREQUENCY_STATS_POINTS 15). ``build(version)`` returns the top-level model of that release.
"""

from .spec import AnyValue, Bool, Dict, Enum, Float, Int, List, Model, Nullable, OneOf, Str, Tagged, report

VERSIONS = ("0.16.4", "0.17.2", "0.18.0")

# frigate/util/config.py CURRENT_CONFIG_VERSION at each release: the value ``version:`` must hold so that Frigate
# neither migrates the file nor (on a :ro mount) logs that it cannot.
CURRENT_CONFIG_VERSION = {"0.16.4": "0.16-0", "0.17.2": "0.17-0", "0.18.0": "0.18-0"}

# frigate/detectors/plugins/*.py DETECTOR_KEY at each release.
DETECTOR_TYPES = {
    "0.16.4": ("cpu", "deepstack", "edgetpu", "hailo8l", "onnx", "openvino", "rknn", "tensorrt"),
    "0.17.2": ("cpu", "deepstack", "degirum", "edgetpu", "hailo8l", "memryx", "onnx", "openvino", "rknn",
               "synaptics", "teflon_tfl", "tensorrt", "zmq"),
    "0.18.0": ("axengine", "cpu", "deepstack", "degirum", "edgetpu", "hailo8l", "memryx", "onnx", "openvino",
               "rknn", "synaptics", "teflon_tfl", "tensorrt", "zmq"),
}

CAMERA_NAME_PATTERN = r"^[a-zA-Z0-9_-]+$"
MAX_PRE_CAPTURE = 60
ARGS = OneOf(Str(), List(Str()))  # Union[str, list[str]]
STR_OR_LIST = ARGS
OPT_STR = Nullable(Str())
OPT_INT = Nullable(Int())
OPT_BOOL = Nullable(Bool())
ENV = Str(env=True)
OPT_ENV = Nullable(Str(env=True))
ANY_DICT = Dict(AnyValue())
ROLES = Enum("audio", "record", "detect")
RETAIN_MODE = Enum("all", "motion", "active_objects")


def _mqtt_user_requires_password(value, path, errors):
    # MqttConfig.user_requires_pass (mode="after"): both or neither.
    if (value.get("user") is None) != (value.get("password") is None):
        report(errors, path, "Value error, Password must be provided with username.")


def _ffmpeg_roles_each_once_with_detect(value, path, errors):
    # CameraFfmpegConfig.validate_roles on ``inputs`` (after CameraConfig.__init__ forced single-input roles).
    inputs = value.get("inputs") or []
    roles = [role for item in inputs if isinstance(item, dict) for role in item.get("roles") or []]
    if len(roles) != len(set(roles)):
        report(errors, join_inputs(path), "Value error, Each input role may only be used once.")
    if "detect" not in roles:
        report(errors, join_inputs(path), "Value error, The detect role is required.")


def join_inputs(path):
    return f"{path}.inputs"


def _detect_dimensions_together(value, path, errors):
    # 0.18 DetectConfig.validate_dimensions.
    if (value.get("width") is None) != (value.get("height") is None):
        report(errors, path, "Value error, detect -> both width and height must be specified together, "
                             "or both omitted")


def build(version):
    """The FrigateConfig model of ``version`` (one of VERSIONS)."""
    if version not in VERSIONS:
        raise ValueError(f"unsupported Frigate version {version!r}; supported: {', '.join(VERSIONS)}")
    v17 = version >= "0.17"
    v18 = version >= "0.18"

    # -- frigate/config/mqtt.py: host is an EnvString only since 0.17 ---------------------------------------------
    mqtt = Model({
        "enabled": Bool(), "host": ENV if v17 else Str(), "port": Int(), "topic_prefix": Str(),
        "client_id": Str(), "stats_interval": Int(ge=15), "user": OPT_ENV, "password": OPT_ENV,
        "tls_ca_certs": OPT_STR, "tls_client_cert": OPT_STR, "tls_client_key": OPT_STR, "tls_insecure": OPT_BOOL,
        "qos": Int() if v17 else OPT_INT,
    }, checks=[_mqtt_user_requires_password], name="MqttConfig")

    auth = Model({
        "enabled": Bool(), "reset_admin_password": Bool(), "cookie_name": Str(pattern=r"^[a-z_]+$"),
        "cookie_secure": Bool(), "session_length": Int(ge=60), "refresh_time": Int(ge=30),
        "failed_login_rate_limit": OPT_STR, "trusted_proxies": List(Str()), "hash_iterations": Int(),
        **({"roles": Dict(List(Str())), "admin_first_time_login": OPT_BOOL} if v17 else {}),
    }, name="AuthConfig")
    tls = Model({"enabled": Bool()}, name="TlsConfig")
    date_style = Enum("full", "long", "medium", "short")
    ui = Model({
        "timezone": OPT_STR, "time_format": Enum("browser", "12hour", "24hour"),
        "unit_system": Enum("imperial", "metric"),
        **({} if v18 else {"date_style": date_style, "time_style": date_style}),
        **({} if v17 else {"strftime_fmt": OPT_STR}),
    }, name="UIConfig")
    log_level = Enum("debug", "info", "warning", "error", "critical")
    logger = Model({"default": log_level, "logs": Dict(log_level)}, name="LoggerConfig")
    database = Model({"path": Str()}, name="DatabaseConfig")
    networking = Model({
        "ipv6": Model({"enabled": Bool()}, name="IPv6Config"),
        **({"listen": Model({"internal": OneOf(Int(), Str()), "external": OneOf(Int(), Str())},
                            name="ListenConfig")} if v18 else {}),
    }, name="NetworkingConfig")
    proxy = Model({
        "header_map": Model({"user": OPT_STR, "role": OPT_STR,
                             **({"role_map": Nullable(Dict(List(Str())))} if v17 else {})},
                            name="HeaderMappingConfig"),
        "logout_url": OPT_STR, "auth_secret": OPT_ENV, "default_role": OPT_STR, "separator": OPT_STR,
    }, name="ProxyConfig")
    telemetry = Model({
        "network_interfaces": List(Str()),
        "stats": Model({"amd_gpu_stats": Bool(), "intel_gpu_stats": Bool(), "network_bandwidth": Bool(),
                        "intel_gpu_device": OPT_STR}, name="StatsConfig"),
        "version_check": Bool(),
    }, name="TelemetryConfig")

    # -- frigate/detectors: ModelConfig forbids extras; BaseDetectorConfig and every plugin config allow extras ----
    model = Model({
        "path": OPT_STR, "labelmap_path": OPT_STR, "width": Int(), "height": Int(),
        "labelmap": Dict(Str(), key_spec=OneOf(Int(), Str())), "attributes_map": Dict(List(Str())),
        "input_tensor": Enum("nchw", "nhwc", "hwnc", "hwcn"), "input_pixel_format": Enum("rgb", "bgr", "yuv"),
        "input_dtype": Enum("float", "float_denorm", "int"),
        "model_type": Enum("dfine", "rfdetr", "ssd", "yolox", "yolonas", "yolo-generic"),
    }, name="ModelConfig")
    detector_base = {"type": Str(), "model": Nullable(model), "model_path": OPT_STR}
    detector_fields = {
        "cpu": {"num_threads": Int()},
        "edgetpu": {"device": OPT_STR},
        "openvino": {"device": OPT_STR},
        "onnx": {"device": Str()},
        "tensorrt": {"device": Int()},
        "hailo8l": {"device": Str()},
        "rknn": {"num_cores": Int(ge=0, le=3)},
        "deepstack": {"api_url": Str(), "api_timeout": Float(), "api_key": Str()},
        "degirum": {"location": OPT_STR, "zoo": OPT_STR, "token": OPT_STR},
        "memryx": {"device": Str()},
        "zmq": {"endpoint": Str(), "request_timeout_ms": Int(), "linger_ms": Int()},
    }
    detector = Tagged("type", {
        key: Model({**detector_base, **detector_fields.get(key, {})}, extra="allow", name=f"{key} detector")
        for key in DETECTOR_TYPES[version]
    }, default="cpu")

    # -- frigate/config/camera/*.py -------------------------------------------------------------------------------
    retain = Model({"days": Float(ge=0) if v17 else Float(), **({} if v17 else {"mode": RETAIN_MODE})},
                   name="RecordRetainConfig")
    review_retain = Model({"days": Float(ge=0) if v17 else Float(), "mode": RETAIN_MODE}, name="ReviewRetainConfig")
    events = Model({
        "pre_capture": Int(ge=0, le=MAX_PRE_CAPTURE) if v17 else Int(le=MAX_PRE_CAPTURE),
        "post_capture": Int(ge=0) if v17 else Int(),
        "retain": review_retain,
    }, name="EventsConfig")
    if v18:
        export = Model({"hwaccel_args": ARGS, "max_concurrent": Int(ge=1),
                        "chapters": Enum("none", "recording_segments", "review_items")}, name="RecordExportConfig")
    elif v17:
        export = Model({"timelapse_args": Str(), "chapters": Enum("none", "recording_segments")},
                       name="RecordExportConfig")
    else:
        export = Model({"timelapse_args": Str()}, name="RecordExportConfig")
    record = Model({
        "enabled": Bool(), "expire_interval": Int(), "detections": events, "alerts": events, "export": export,
        "preview": Model({"quality": Enum("very_low", "low", "medium", "high", "very_high")},
                         name="RecordPreviewConfig"),
        "enabled_in_config": OPT_BOOL,
        **({"continuous": retain, "motion": retain} if v17 else {"retain": retain}),
        **({} if v18 else {"sync_recordings": Bool()}),
    }, name="RecordConfig")

    zones_list = OneOf(Str(), List(Str()))
    alerts = Model({"enabled": Bool(), "labels": List(Str()), "required_zones": zones_list,
                    "enabled_in_config": OPT_BOOL, **({"cutoff_time": Int()} if v17 else {})}, name="AlertsConfig")
    detections = Model({"enabled": Bool(), "labels": Nullable(List(Str())), "required_zones": zones_list,
                        "enabled_in_config": OPT_BOOL, **({"cutoff_time": Int()} if v17 else {})},
                       name="DetectionsConfig")
    review_genai = Model({
        "enabled": Bool(), "alerts": Bool(), "detections": Bool(), "image_source": Enum("preview", "recordings"),
        "additional_concerns": List(Str()), "debug_save_thumbnails": Bool(), "enabled_in_config": OPT_BOOL,
        "preferred_language": OPT_STR, "activity_context_prompt": Str(),
    }, name="GenAIReviewConfig")
    review = Model({"alerts": alerts, "detections": detections, **({"genai": review_genai} if v17 else {})},
                   name="ReviewConfig")

    snapshots = Model({
        "enabled": Bool(), "timestamp": Bool(), "bounding_box": Bool(), "crop": Bool(),
        "required_zones": List(Str()), "height": OPT_INT, "quality": Int(ge=0, le=100),
        "retain": Model({"default": Float(), "objects": Dict(Float()),
                         **({} if v18 else {"mode": RETAIN_MODE})}, name="RetainConfig"),
        **({} if v18 else {"clean_copy": Bool()}),
    }, name="SnapshotsConfig")

    if v18:
        mask_entry = Nullable(Model({"friendly_name": OPT_STR, "enabled": Bool(), "coordinates": STR_OR_LIST,
                                     "raw_coordinates": STR_OR_LIST, "enabled_in_config": OPT_BOOL},
                                    name="MaskConfig"))
        mask = Dict(mask_entry)
    else:
        mask = STR_OR_LIST
    motion = Model({
        "enabled": Bool(), "threshold": Int(ge=1, le=255), "lightning_threshold": Float(ge=0.3, le=1.0),
        "improve_contrast": Bool(), "contour_area": OPT_INT, "delta_alpha": Float(), "frame_alpha": Float(),
        "frame_height": OPT_INT, "mask": mask, "mqtt_off_delay": Int(), "enabled_in_config": OPT_BOOL,
        "raw_mask": mask,
        **({"skip_motion_threshold": Nullable(Float(ge=0.0, le=1.0))} if v18 else {}),
    }, name="MotionConfig")
    object_filter = Model({
        "min_area": OneOf(Int(), Float()), "max_area": OneOf(Int(), Float()), "min_ratio": Float(),
        "max_ratio": Float(), "threshold": Float(), "min_score": Float(),
        "mask": mask if v18 else Nullable(mask), "raw_mask": mask,
    }, name="FilterConfig")
    objects = Model({
        "track": List(Str()), "filters": Dict(object_filter), "mask": mask,
        **({"genai": ANY_DICT} if v17 else {}), **({"raw_mask": mask} if v18 else {}),
    }, name="ObjectConfig")

    detect = Model({
        "enabled": Bool(), "height": OPT_INT, "width": OPT_INT, "fps": Int(),
        "min_initialized": Nullable(Int(ge=2)) if v18 else OPT_INT, "max_disappeared": OPT_INT,
        "stationary": Model({
            "interval": Nullable(Int(gt=0)), "threshold": Nullable(Int(ge=1)),
            "max_frames": Model({"default": Nullable(Int(ge=1)), "objects": Dict(Int())},
                                name="StationaryMaxFramesConfig"),
            **({"classifier": Bool()} if v17 else {}),
        }, name="StationaryConfig"),
        "annotation_offset": Int(),
    }, checks=[_detect_dimensions_together] if v18 else [], name="DetectConfig")

    ffmpeg_fields = {
        "path": Str(), "global_args": ARGS, "hwaccel_args": ARGS, "input_args": ARGS,
        "output_args": Model({"detect": ARGS, "record": ARGS}, name="FfmpegOutputArgsConfig"),
        "retry_interval": Float(gt=0.0), "apple_compatibility": Bool(),
        **({"gpu": Int()} if v17 else {}),
    }
    ffmpeg = Model(ffmpeg_fields, name="FfmpegConfig")
    camera_input = Model({"path": ENV, "roles": List(ROLES), "global_args": ARGS, "hwaccel_args": ARGS,
                          "input_args": ARGS}, required=("path", "roles"), name="CameraInput")
    camera_ffmpeg = Model({**ffmpeg_fields, "inputs": List(camera_input)}, required=("inputs",),
                          checks=[_ffmpeg_roles_each_once_with_detect], name="CameraFfmpegConfig")

    live = Model({"streams": Dict(Str()), "height": Int(), "quality": Int(ge=1, le=31)}, name="CameraLiveConfig")
    audio = Model({
        "enabled": Bool(), "max_not_heard": Int(), "min_volume": Int(), "listen": List(Str()),
        "filters": Nullable(Dict(Model({"threshold": Float(lt=1.0)}, name="AudioFilterConfig"))),
        "enabled_in_config": OPT_BOOL, "num_threads": Int(ge=1),
    }, name="AudioConfig")
    birdseye_modes = Enum("objects", "motion", "continuous")
    birdseye = Model({
        "enabled": Bool(), "mode": birdseye_modes, "restream": Bool(), "width": Int(), "height": Int(),
        "quality": Int(ge=1, le=31), "inactivity_threshold": Int(gt=0),
        "layout": Model({"scaling_factor": Float(ge=1.0, le=5.0), "max_cameras": OPT_INT}, name="BirdseyeLayout"),
        **({"idle_heartbeat_fps": Float(ge=0.0, le=10.0)} if v17 else {}),
    }, name="BirdseyeConfig")
    # BirdseyeCameraConfig and ZoneConfig derive from pydantic's BaseModel, not FrigateBaseModel: extras ignored.
    birdseye_camera = Model({"enabled": Bool(), "mode": birdseye_modes, "order": Int()}, extra="ignore",
                            name="BirdseyeCameraConfig")
    zone = Model({
        **({"friendly_name": OPT_STR} if v17 else {}), "filters": Dict(object_filter), "coordinates": STR_OR_LIST,
        "distances": Nullable(STR_OR_LIST), "inertia": Int(gt=0), "loitering_time": Int(ge=0),
        "speed_threshold": Nullable(Float(ge=0.1)), "objects": STR_OR_LIST,
        **({"enabled": Bool(), "enabled_in_config": OPT_BOOL} if v18 else {}),
    }, required=("coordinates",), extra="ignore", name="ZoneConfig")
    notifications = Model({"enabled": Bool(), "email": OPT_STR, "enabled_in_config": OPT_BOOL,
                           "cooldown": Int(ge=0) if v17 else Nullable(Int(ge=0))}, name="NotificationConfig")
    timestamp_style = Model({
        "position": Enum("tl", "tr", "bl", "br"), "format": Str(),
        "color": Model({key: Int(ge=0, le=255) for key in ("red", "green", "blue")}, name="ColorConfig"),
        "thickness": Int(), "effect": Nullable(Enum("solid", "shadow")),
    }, name="TimestampStyleConfig")
    camera_mqtt = Model({"enabled": Bool(), "timestamp": Bool(), "bounding_box": Bool(), "crop": Bool(),
                         "height": Int(), "required_zones": List(Str()), "quality": Int(ge=0, le=100)},
                        name="CameraMqttConfig")
    onvif = Model({
        "host": ENV if v17 else Str(), "port": Int(), "user": OPT_ENV, "password": OPT_ENV, "tls_insecure": Bool(),
        "autotracking": ANY_DICT, "ignore_time_mismatch": Bool(), **({"profile": OPT_STR} if v18 else {}),
    }, name="OnvifConfig")
    camera_ui = Model({"order": Int(), "dashboard": Bool(), **({"review": Bool()} if v18 else {})},
                      name="CameraUiConfig")

    camera_fields = {
        "name": Nullable(Str(pattern=CAMERA_NAME_PATTERN)), "enabled": Bool(), "audio": audio,
        "birdseye": birdseye_camera, "detect": detect, "face_recognition": ANY_DICT, "ffmpeg": camera_ffmpeg,
        "live": live, "lpr": ANY_DICT, "motion": motion if v17 else Nullable(motion), "objects": objects,
        "record": record, "review": review, "snapshots": snapshots, "timestamp_style": timestamp_style,
        "best_image_timeout": Int(), "mqtt": camera_mqtt, "notifications": notifications, "onvif": onvif,
        "type": Enum("generic", "lpr"), "ui": camera_ui, "webui_url": OPT_STR, "zones": Dict(zone),
        "enabled_in_config": OPT_BOOL,
    }
    if v17:
        camera_fields.update({"friendly_name": OPT_STR, "audio_transcription": ANY_DICT,
                              "semantic_search": ANY_DICT})
    else:
        camera_fields["genai"] = ANY_DICT
    if v18:
        camera_fields["profiles"] = ANY_DICT
    camera = Model(camera_fields, required=("ffmpeg",), name="CameraConfig")

    top = {
        "version": OPT_STR, "environment_vars": Dict(Str()), "logger": logger, "auth": auth, "database": database,
        "go2rtc": Model({}, extra="allow", name="RestreamConfig"), "mqtt": mqtt, "notifications": notifications,
        "proxy": proxy, "telemetry": telemetry, "tls": tls, "ui": ui, "detectors": Dict(detector), "model": model,
        "genai": Dict(ANY_DICT) if v18 else ANY_DICT, "cameras": Dict(camera), "audio": audio,
        "birdseye": birdseye, "detect": detect, "ffmpeg": ffmpeg, "live": live, "motion": Nullable(motion),
        "objects": objects, "record": record, "review": review, "snapshots": snapshots,
        "timestamp_style": timestamp_style, "classification": ANY_DICT, "semantic_search": ANY_DICT,
        "face_recognition": ANY_DICT, "lpr": ANY_DICT, "camera_groups": Dict(ANY_DICT),
    }
    if v17:
        top.update({"safe_mode": Bool(), "networking": networking, "audio_transcription": ANY_DICT})
    if v18:
        top.update({"profiles": Dict(Model({"friendly_name": Str()}, required=("friendly_name",),
                                           name="ProfileDefinitionConfig")),
                    "active_profile": OPT_STR})
    return Model(top, required=("mqtt", "cameras"), name="FrigateConfig")
