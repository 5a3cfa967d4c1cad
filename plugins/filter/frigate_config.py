# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Frigate's config.yml from the camera inventory, for one pinned Frigate release (0.16.4, 0.17.2, 0.18.0).

Documentation, with the exact input shape: the sidecar files ``frigate_config.yml``, ``frigate_secrets.yml``,
``frigate_config_problems.yml`` and ``frigate_shm_size.yml``. The per-release differences were read in Frigate's
own config models (``frigate/config/`` and ``frigate/util/config.py``) at the tags v0.16.4, v0.17.2 and the 0.18
source; docs/nvr.md lists them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import math
import re

try:
    from urllib.parse import quote
except ImportError:  # pragma: no cover - Python 2 is not supported by the collection
    from urllib import quote

from ansible.errors import AnsibleFilterError

SUPPORTED_VERSIONS = ('0.16.4', '0.17.2', '0.18.0')
DEFAULT_VERSION = '0.18.0'
# CURRENT_CONFIG_VERSION of frigate/util/config.py at each release: the file says it needs no migration.
CONFIG_VERSIONS = {'0.16.4': '0.16-0', '0.17.2': '0.17-0', '0.18.0': '0.18-0'}
DETECTOR_TYPES = ('cpu', 'openvino', 'edgetpu')
RETAIN_MODES = ('all', 'motion', 'active_objects')
STREAMS = ('video0', 'video1')
# The go2rtc restream inside the container; go2rtc skips its RTSP auth for localhost.
RESTREAM = 'rtsp://127.0.0.1:8554/'
# The default SSDLite model shipped in the image, as Frigate's object_detectors.md asks for with openvino.
OPENVINO_MODEL = {
    'width': 300,
    'height': 300,
    'input_tensor': 'nhwc',
    'input_pixel_format': 'bgr',
    'path': '/openvino-model/ssdlite_mobilenet_v2.xml',
    'labelmap_path': '/openvino-model/coco_91cl_bkgr.txt',
}
# Keys (dotted; '*' = any camera) that came or went with a release; each release's models (extra="forbid") refuse
# the keys it does not have. Read in frigate/config/ at each release; tests/frigate_schema/models.py holds the same
# differences and a unit test derives them from it. GLOBAL_AND_CAMERA keys are checked at the top and per camera.
_ADDED = {
    '0.17.2': {
        'global_and_camera': ('record.continuous', 'record.motion', 'record.export.chapters',
                              'review.alerts.cutoff_time', 'review.detections.cutoff_time', 'review.genai',
                              'detect.stationary.classifier', 'ffmpeg.gpu', 'objects.genai', 'audio_transcription'),
        'global': ('safe_mode', 'networking', 'auth.roles', 'auth.admin_first_time_login', 'proxy.header_map.role_map',
                   'birdseye.idle_heartbeat_fps'),
        'camera': ('friendly_name', 'semantic_search'),
    },
    '0.18.0': {
        'global_and_camera': ('motion.skip_motion_threshold', 'objects.raw_mask', 'record.export.hwaccel_args',
                              'record.export.max_concurrent', 'profiles'),
        'global': ('networking.listen', 'active_profile'),
        'camera': ('ui.review', 'onvif.profile'),
    },
}
_REMOVED = {
    '0.17.2': {
        'global_and_camera': ('record.retain',),
        'global': ('ui.strftime_fmt',),
        'camera': ('genai',),
    },
    '0.18.0': {
        'global_and_camera': ('record.sync_recordings', 'record.export.timelapse_args', 'snapshots.clean_copy',
                              'snapshots.retain.mode'),
        'global': ('ui.date_style', 'ui.time_style'),
        'camera': (),
    },
}


def _keys(table):
    return (tuple(table['global_and_camera']) + tuple(table['global'])
            + tuple('cameras.*.' + key for key in tuple(table['global_and_camera']) + tuple(table['camera'])))


def _forbidden(version):
    keys = []
    for release in SUPPORTED_VERSIONS:
        if release in _ADDED and SUPPORTED_VERSIONS.index(release) > SUPPORTED_VERSIONS.index(version):
            keys.extend(_keys(_ADDED[release]))
        if release in _REMOVED and SUPPORTED_VERSIONS.index(release) <= SUPPORTED_VERSIONS.index(version):
            keys.extend(_keys(_REMOVED[release]))
    return tuple(keys)


FORBIDDEN_KEYS = {version: _forbidden(version) for version in SUPPORTED_VERSIONS}
# Masks: a string or a list of strings until 0.17, a dict {id: {friendly_name, enabled, coordinates}} since 0.18.
MASK_KEYS = tuple(prefix + key for prefix in ('', 'cameras.*.')
                  for key in ('motion.mask', 'motion.raw_mask', 'objects.mask', 'objects.raw_mask',
                              'objects.filters.*.mask', 'objects.filters.*.raw_mask'))
DICT_MASKS_SINCE = '0.18.0'
# What the role renders itself and a pass-through may not replace (secrets, the pinned version, the restream).
MANAGED_KEYS = ('version', 'mqtt.host', 'mqtt.user', 'mqtt.password', 'mqtt.tls_ca_certs', 'mqtt.tls_insecure',
                'go2rtc.streams', 'go2rtc.rtsp', 'detectors', 'cameras.*.ffmpeg.inputs', 'auth.enabled',
                'tls.enabled')
RESTRICTED_GO2RTC = ('exec:', 'echo:', 'expr:')
_NAME_RE = re.compile(r'^[a-zA-Z0-9_-]+$')


def _fail(msg):
    raise AnsibleFilterError(msg)


def env_name(camera, field):
    """FRIGATE_CAM_<CAMERA>_<FIELD>: the {FRIGATE_*} variable of one camera's RTSP user or password."""
    return 'FRIGATE_CAM_%s_%s' % (re.sub(r'[^A-Z0-9]', '_', camera.upper()), field.upper())


def url_encode(value):
    """Percent-encode every character but unreserved ones (RFC 3986), for the userinfo of an RTSP URL."""
    if not isinstance(value, str):
        _fail('url_encode needs text, not %s.' % type(value).__name__)
    return quote(value, safe='-._~')


def _version(settings):
    version = str(settings.get('version') or DEFAULT_VERSION)
    if version not in SUPPORTED_VERSIONS:
        _fail('settings.version (frigate_version) is %r; supported Frigate releases are %s.'
              % (version, ', '.join(SUPPORTED_VERSIONS)))
    return version


def _int(value, name, minimum=0):
    try:
        number = int(value)
    except (TypeError, ValueError):
        _fail('%s must be an integer, not %r.' % (name, value))
    if isinstance(value, bool) or number != value and str(number) != str(value) or number < minimum:
        _fail('%s must be an integer >= %d, not %r.' % (name, minimum, value))
    return number


def _days(value, name):
    if isinstance(value, bool):
        _fail('%s must be a number of days, not %r.' % (name, value))
    try:
        days = float(value)
    except (TypeError, ValueError):
        _fail('%s must be a number of days, not %r.' % (name, value))
    if days < 0 or math.isnan(days):
        _fail('%s must be >= 0, not %r.' % (name, value))
    return int(days) if days == int(days) else days


def _camera(raw, index):
    if not isinstance(raw, dict):
        _fail('cameras[%d] must be a dict, not %s.' % (index, type(raw).__name__))
    name = raw.get('name')
    if not isinstance(name, str) or not _NAME_RE.match(name):
        _fail('cameras[%d].name must be a camera name (letters, digits, - and _), not %r.' % (index, name))
    where = 'camera %s' % name
    ingest = raw.get('ingest', 'rtsp')
    if ingest != 'rtsp':
        _fail('%s: sensingcam_ingest %r is not supported by the frigate role: go2rtc has no WebSocket JPEG source, '
              'and the exec: bridge is deleted by Frigate >= 0.16.4 unless GO2RTC_ALLOW_ARBITRARY_EXEC is set '
              '(docs/nvr.md). Leave the camera out, or update it to firmware 2.6+ and use rtsp.' % (where, ingest))
    host = raw.get('host')
    if not isinstance(host, str) or not host or re.search(r'[\s/@{}]', host):
        _fail('%s: host (sensingcam_host) must be an address or a name, not %r.' % (where, host))
    port = _int(raw.get('rtsp_port', 554), '%s: rtsp_port (sensingcam_rtsp_port)' % where, 1)
    if port > 65535:
        _fail('%s: rtsp_port (sensingcam_rtsp_port) must be <= 65535, not %r.' % (where, port))
    roles = dict(raw.get('stream_roles') or {})
    roles.setdefault('archive', 'video0')
    roles.setdefault('detect', roles['archive'])
    roles.setdefault('dashboard', roles['detect'])
    paths = raw.get('rtsp_paths') or {}
    if not isinstance(paths, dict):
        _fail('%s: rtsp_paths (sensingcam_rtsp_paths) must be a dict stream -> path, not %r.' % (where, paths))
    for role in ('archive', 'detect', 'dashboard'):
        stream = roles[role]
        if stream not in STREAMS:
            _fail('%s: stream_roles.%s (sensingcam_stream_roles) is %r; streams are %s.'
                  % (where, role, stream, ', '.join(STREAMS)))
        path = paths.get(stream)
        if not isinstance(path, str) or not path.startswith('/') or re.search(r'[\s{}#]', path):
            _fail('%s: sensingcam_rtsp_paths.%s (the RTSP path of its %s stream) is %r; set it to the path the '
                  'camera reports (Video%sRtspPath, e.g. /live/%s).'
                  % (where, stream, role, path, stream[-1], stream[-1]))
    detect = raw.get('detect') or {}
    size = {
        'width': _int(detect.get('width', 1280), '%s: detect.width' % where, 16),
        'height': _int(detect.get('height', 720), '%s: detect.height' % where, 16),
        'fps': _int(detect.get('fps', 5), '%s: detect.fps' % where, 1),
    }
    return {'name': name, 'host': host, 'port': port, 'roles': roles, 'paths': paths, 'detect': size}


def _cameras(cameras):
    if not isinstance(cameras, list):
        _fail('cameras must be a list of camera dicts, not %s.' % type(cameras).__name__)
    result = [_camera(raw, i) for i, raw in enumerate(cameras)]
    seen = {}
    for cam in result:
        key = env_name(cam['name'], '')
        if key in seen:
            _fail('cameras %s and %s map to the same secret variable %sUSER; rename one.'
                  % (seen[key], cam['name'], key))
        seen[key] = cam['name']
    if not result:
        _fail('cameras is empty: Frigate needs at least one camera (hosts of group sensingcams with ingest rtsp).')
    return result


def _source(cam, stream):
    return 'rtsp://{%s}:{%s}@%s:%d%s' % (env_name(cam['name'], 'user'), env_name(cam['name'], 'password'),
                                         '[%s]' % cam['host'] if ':' in cam['host'] else cam['host'],
                                         cam['port'], cam['paths'][stream])


def _go2rtc_streams(cam):
    name = cam['name']
    roles = cam['roles']
    streams = {name: [_source(cam, roles['archive'])]}
    if roles['detect'] == roles['archive']:
        streams[name + '_detect'] = [RESTREAM + name]
    else:
        streams[name + '_detect'] = [_source(cam, roles['detect'])]
    if roles['dashboard'] == roles['detect']:
        streams[name + '_dashboard'] = ['ffmpeg:%s_detect#video=mjpeg' % name]
    elif roles['dashboard'] == roles['archive']:
        streams[name + '_dashboard'] = ['ffmpeg:%s#video=mjpeg' % name]
    return streams


def _retention(settings, version):
    ret = settings.get('retention') or {}
    continuous = _days(ret.get('continuous_days', 0), 'retention.continuous_days (frigate_record_continuous_days)')
    motion = _days(ret.get('motion_days', 7), 'retention.motion_days (frigate_record_motion_days)')
    alerts = _days(ret.get('alerts_days', 30), 'retention.alerts_days (frigate_record_alerts_days)')
    detections = _days(ret.get('detections_days', 14), 'retention.detections_days (frigate_record_detections_days)')
    mode = ret.get('retain_mode')
    record = {'enabled': bool(settings.get('record_enabled', True))}
    if version == '0.16.4':
        if mode is None:
            mode = 'all' if continuous > 0 else 'motion'
        if mode not in RETAIN_MODES:
            _fail('retention.retain_mode (frigate_record_retain_mode) is %r; Frigate 0.16 knows %s.'
                  % (mode, ', '.join(RETAIN_MODES)))
        record['retain'] = {'days': max(continuous, motion), 'mode': mode}
    else:
        if mode is not None:
            _fail('retention.retain_mode (frigate_record_retain_mode) is a Frigate 0.16 setting; %s has no '
                  'record.retain.mode: remove it and use continuous_days and motion_days.' % version)
        record['continuous'] = {'days': continuous}
        record['motion'] = {'days': motion}
    record['alerts'] = {'retain': {'days': alerts}}
    record['detections'] = {'retain': {'days': detections}}
    return record


def _detector(settings):
    det = dict(settings.get('detector') or {})
    kind = det.pop('type', 'cpu')
    if kind not in DETECTOR_TYPES:
        _fail('detector.type (frigate_detector_type) is %r; the frigate role supports %s.'
              % (kind, ', '.join(DETECTOR_TYPES)))
    config = {'type': kind}
    if kind == 'cpu':
        config['num_threads'] = _int(det.pop('num_threads', 3), 'detector.num_threads (frigate_detector_num_threads)',
                                     1)
        det.pop('device', None)
    else:
        device = det.pop('device', None) or ('GPU' if kind == 'openvino' else 'usb')
        if kind == 'edgetpu' and not (device in ('usb', 'pci') or re.match(r'^(usb|pci):\d+$', device)):
            _fail('detector.device (frigate_detector_device) is %r; an edgetpu is usb, pci, usb:<n> or pci:<n>.'
                  % device)
        if kind == 'openvino' and device not in ('CPU', 'GPU', 'NPU', 'AUTO'):
            _fail('detector.device (frigate_detector_device) is %r; openvino takes CPU, GPU, NPU or AUTO.' % device)
        config['device'] = device
        det.pop('num_threads', None)
    if det:
        _fail('detector has unknown keys %s; it takes type, device and num_threads.' % ', '.join(sorted(det)))
    return {kind: config}


def _values(data, dotted):
    """(concrete dotted path, value) for every match of ``dotted`` ('*' = any key) in ``data``."""
    nodes = [('', data)]
    for part in dotted.split('.'):
        nxt = []
        for path, node in nodes:
            if not isinstance(node, dict):
                continue
            if part == '*':
                nxt.extend(('%s%s.' % (path, key), value) for key, value in node.items())
            elif part in node:
                nxt.append(('%s%s.' % (path, part), node[part]))
        nodes = nxt
    return [(path[:-1], value) for path, value in nodes]


def _has_path(data, dotted):
    return bool(_values(data, dotted))


def _mask_problems(extra, version):
    dicts = SUPPORTED_VERSIONS.index(version) >= SUPPORTED_VERSIONS.index(DICT_MASKS_SINCE)
    problems = []
    for key in MASK_KEYS:
        for path, value in _values(extra, key):
            if dicts and not isinstance(value, dict):
                problems.append('%s: Frigate %s takes masks as a dict {id: {friendly_name, enabled, coordinates}}'
                                % (path, version))
            elif not dicts and not (isinstance(value, (str, list)) or value is None and '.filters.' in key):
                problems.append('%s: Frigate %s takes masks as a string or a list of strings, not a %s'
                                % (path, version, type(value).__name__))
    return problems


def frigate_config_problems(extra, version=DEFAULT_VERSION):
    """Dotted keys of a pass-through (frigate_extra_config) that the release lacks or that the role manages."""
    if extra in (None, ''):
        return []
    if not isinstance(extra, dict):
        return ['frigate_extra_config must be a dict, not %s' % type(extra).__name__]
    if str(version) not in SUPPORTED_VERSIONS:
        return ['frigate_version %r is not supported (%s)' % (version, ', '.join(SUPPORTED_VERSIONS))]
    problems = ['%s: Frigate %s has no such key' % (key, version)
                for key in FORBIDDEN_KEYS[str(version)] if _has_path(extra, key)]
    problems.extend(_mask_problems(extra, str(version)))
    problems.extend('%s: rendered by the frigate role from its variables' % key
                    for key in MANAGED_KEYS if _has_path(extra, key))
    streams = (extra.get('go2rtc') or {}).get('streams') if isinstance(extra.get('go2rtc'), dict) else None
    if isinstance(streams, dict):
        for name, sources in streams.items():
            for source in sources if isinstance(sources, list) else [sources]:
                if not isinstance(source, str):
                    problems.append('go2rtc.streams.%s: map-form sources are deleted by Frigate >= 0.17.2' % name)
                elif source.startswith(RESTRICTED_GO2RTC):
                    problems.append('go2rtc.streams.%s: exec:/echo:/expr: sources are deleted by Frigate >= 0.16.4'
                                    % name)
    return problems


def _merge(base, extra):
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def frigate_config(cameras, settings=None):
    """The config dict for settings.version; see frigate_config.yml."""
    settings = settings or {}
    if not isinstance(settings, dict):
        _fail('settings must be a dict, not %s.' % type(settings).__name__)
    version = _version(settings)
    cams = _cameras(cameras)
    mqtt_in = settings.get('mqtt') or {}
    host = mqtt_in.get('host')
    if not isinstance(host, str) or not host or '{' in host and version == '0.16.4':
        _fail('mqtt.host (frigate_mqtt_host) must be the broker name in its certificate%s, not %r.'
              % (' (Frigate 0.16 does not substitute {FRIGATE_*} in mqtt.host)' if version == '0.16.4' else '', host))
    mqtt = {
        'enabled': True,
        'host': host,
        'port': _int(mqtt_in.get('port', 8883), 'mqtt.port (frigate_mqtt_port)', 1),
        'topic_prefix': mqtt_in.get('topic_prefix', 'frigate'),
        'client_id': mqtt_in.get('client_id', 'frigate'),
        'user': '{%s}' % mqtt_in.get('user_env', 'FRIGATE_MQTT_USER'),
        'password': '{%s}' % mqtt_in.get('password_env', 'FRIGATE_MQTT_PASSWORD'),
        'tls_ca_certs': mqtt_in.get('ca_file', '/config/certs/ca.crt'),
        'tls_insecure': False,
    }
    label = settings.get('manual_event_label', 'plc_event')
    if not isinstance(label, str) or not _NAME_RE.match(label):
        _fail('manual_event_label (nodered_frigate_label) must be a label (letters, digits, - and _), not %r.' % label)
    alert_labels = list(settings.get('alert_labels', ['person']))
    if label not in alert_labels:
        alert_labels.append(label)
    streams = {}
    cameras_cfg = {}
    for cam in cams:
        streams.update(_go2rtc_streams(cam))
        if cam['roles']['detect'] == cam['roles']['archive']:
            inputs = [{'path': RESTREAM + cam['name'], 'input_args': 'preset-rtsp-restream',
                       'roles': ['record', 'detect']}]
        else:
            inputs = [
                {'path': RESTREAM + cam['name'], 'input_args': 'preset-rtsp-restream', 'roles': ['record']},
                {'path': RESTREAM + cam['name'] + '_detect', 'input_args': 'preset-rtsp-restream',
                 'roles': ['detect']},
            ]
        cameras_cfg[cam['name']] = {
            'enabled': True,
            'ffmpeg': {'inputs': inputs},
            'detect': dict(cam['detect'], enabled=True),
        }
    go2rtc = {'streams': streams}
    restream = settings.get('restream_auth', True)
    if restream:
        go2rtc['rtsp'] = {'username': '{FRIGATE_RTSP_RESTREAM_USER}', 'password': '{FRIGATE_RTSP_RESTREAM_PASSWORD}'}
    detectors = _detector(settings)
    config = {
        'version': CONFIG_VERSIONS[version],
        'auth': {'enabled': True},
        'tls': {'enabled': True},
        'mqtt': mqtt,
        'go2rtc': go2rtc,
        'detectors': detectors,
        'detect': {'enabled': True},
        'objects': {'track': list(settings.get('objects', ['person']))},
        'record': _retention(settings, version),
        'review': {'alerts': {'enabled': True, 'labels': alert_labels}, 'detections': {'enabled': True}},
        'snapshots': {'enabled': True, 'retain': {'default': _days(
            (settings.get('retention') or {}).get('snapshots_days', 14),
            'retention.snapshots_days (frigate_snapshots_retain_days)')}},
        'cameras': cameras_cfg,
    }
    if 'openvino' in detectors:
        config['model'] = dict(OPENVINO_MODEL)
    extra = settings.get('extra') or {}
    problems = frigate_config_problems(extra, version)
    if problems:
        _fail('extra (frigate_extra_config) cannot be used with Frigate %s: %s.' % (version, '; '.join(problems)))
    return _merge(config, extra)


def frigate_secrets(cameras, settings=None):
    """The {FRIGATE_*} variables the config refers to: list of {name, camera, field} (camera None for MQTT/restream)."""
    settings = settings or {}
    names = []
    for cam in _cameras(cameras):
        names.append({'name': env_name(cam['name'], 'user'), 'camera': cam['name'], 'field': 'user'})
        names.append({'name': env_name(cam['name'], 'password'), 'camera': cam['name'], 'field': 'password'})
    mqtt_in = settings.get('mqtt') or {}
    names.append({'name': mqtt_in.get('user_env', 'FRIGATE_MQTT_USER'), 'camera': None, 'field': 'mqtt_user'})
    names.append({'name': mqtt_in.get('password_env', 'FRIGATE_MQTT_PASSWORD'), 'camera': None,
                  'field': 'mqtt_password'})
    if settings.get('restream_auth', True):
        names.append({'name': 'FRIGATE_RTSP_RESTREAM_USER', 'camera': None, 'field': 'restream_user'})
        names.append({'name': 'FRIGATE_RTSP_RESTREAM_PASSWORD', 'camera': None, 'field': 'restream_password'})
    return names


def frigate_shm_size(cameras, log_mib=40):
    """Docker shm_size in MiB (int, rounded up): per camera (w*h*1.5*20 + 270480) bytes, plus log_mib for the logs."""
    total = 0.0
    for index, raw in enumerate(cameras or []):
        detect = (raw or {}).get('detect') or {}
        width = _int(detect.get('width', 1280), 'cameras[%d].detect.width' % index, 16)
        height = _int(detect.get('height', 720), 'cameras[%d].detect.height' % index, 16)
        total += width * height * 1.5 * 20 + 270480
    return int(math.ceil(total / 1048576.0 + _int(log_mib, 'log_mib')))


class FilterModule(object):
    """Frigate configuration filters."""

    def filters(self):
        return {
            'frigate_config': frigate_config,
            'frigate_config_problems': frigate_config_problems,
            'frigate_secrets': frigate_secrets,
            'frigate_shm_size': frigate_shm_size,
            'frigate_url_encode': url_encode,
        }
