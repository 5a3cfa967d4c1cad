#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_info
short_description: Read identity, streams, RTSP, recording, time, offload, security and health of a SICK sensingCam
version_added: 0.1.0
description:
  - Reads the variables the device profile names from a SICK sensingCam (SEC100 family) and changes nothing. Each
    value is decoded by the profile's codec (C(h264) for an encoder code, V(true) for 1, C(10.0.0.1) for
    C([10, 0, 0, 1]), hours for C(OpHours) in tenths of an hour); an enum value the profile does not list is shown
    as the camera sent it.
  - A variable the camera does not know (HTTP 404 or status not found) gives a warning and an entry in
    RV(unsupported) with its profile key, and V(null) as its value; the module does not fail for it.
  - Secret variables (C(secret=true) in the profile, such as the FTP password) are never read or shown.
  - The firmware version is C(FirmwareVersion), or C(ExtendedFirmwareVersion), or C(Version) of C(DeviceIdent)
    when the ones before it are unknown or do not read as a version (RV(firmware)).
  - RTSP URLs are built from C(RtspPort) and C(Video<n>RtspPath) as the camera reports them (without credentials),
    whatever the firmware version; the stream state comes from C(DeviceStatusRTSP0/1).
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.info_module
options:
  gather:
    description:
      - What to read besides the firmware version. Each is a group of the profile's C(variables:) (V(rtsp) adds the
        stream URLs, V(health) the stream states).
    type: list
    elements: str
    choices: [identity, streams, rtsp, event_recording, triggers, time, offload, security, snapshot, health, system]
    default: [identity, streams, rtsp, event_recording, triggers, time, offload, security, snapshot, health, system]
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Read what the line 3 camera reports
  sensingcam.ming.sensingcam_info:
    host: 192.168.136.100
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
  delegate_to: localhost
  register: camera

- name: Take the main stream over RTSP when the camera streams it, the WebSocket relay otherwise
  ansible.builtin.set_fact:
    camera_source: >-
      {{ camera.rtsp.streams.video0.url if camera.rtsp.streams.video0.enabled else camera.websocket_url }}

- name: Health only, with the profile from the environment (SENSINGCAM_PROFILE)
  sensingcam.ming.sensingcam_info:
    host: cam-line3.plant.local
    gather: [health]
  delegate_to: localhost
  register: health

- name: Warn about a hot camera
  ansible.builtin.debug:
    msg: "{{ inventory_hostname }} runs at {{ health.health.temperature }} degrees"
  when: (health.health.temperature | default(0, true)) > 60
'''

RETURN = r'''
firmware:
  description:
    - The firmware version and where it comes from (C(version_source) V(FirmwareVersion),
      V(ExtendedFirmwareVersion) or V(DeviceIdent.Version); V(null) when no string reads as a version).
  returned: always
  type: dict
  sample: {version: "2.6.2", version_source: FirmwareVersion}
identity:
  description:
    - Identity of the camera, by the profile's keys (C(variables.identity)); only C(firmware_version) unless
      O(gather) has V(identity).
  returned: always
  type: dict
  sample: {firmware_version: "2.6.2", extended_firmware_version: "2.6.2+build.17",
           device_ident: {Name: SEC100, Version: "2.6.2.0R"}, order_number: "1144993", type_code: SEC110-5C9D1SFZZZZ,
           vendor: SICK AG, device_name: sensingCam, location_name: line3-station2, serial_number: "23450017"}
profile:
  description: The device profile used, and whether it covers the camera's firmware (V(null) when unknown).
  returned: always
  type: dict
  sample: {name: sec100-fw2, path: /opt/ming/profiles/sensingcam/sec100-fw2.yml, covers_firmware: true}
streams:
  description:
    - Settings of each stream (C(video0), C(video1)) with the option names of M(sensingcam.ming.sensingcam_stream).
  returned: when O(gather) has V(streams)
  type: dict
  sample: {video0: {resolution: 1920x1080, fps: 25, codec: h264, bitrate_class: 8191, gop: 50, rtsp_enabled: true,
                    rtsp_path: /live/0, rtsp_status: 1}}
rtsp:
  description:
    - RTSP port (C(RtspPort); V(554), as SICK's client scripts use, when the camera does not know it, then
      C(port_from_camera) is V(false)), whether RTSP needs a login, and per stream C(enabled), C(path), C(status)
      (C(DeviceStatusRTSP0/1) as sent) and C(url) (without credentials; V(null) without a path).
  returned: when O(gather) has V(rtsp)
  type: dict
  sample: {port: 554, port_from_camera: true, authentication: true,
           streams: {video0: {enabled: true, path: /live/0, status: 1, url: "rtsp://192.168.136.100:554/live/0"},
                     video1: {enabled: false, path: /live/1, status: 0, url: "rtsp://192.168.136.100:554/live/1"}}}
websocket_url:
  description: URL of the live JPEG WebSocket (profile C(transport.websocket_port), C(websocket_path)).
  returned: when O(gather) has V(rtsp)
  type: str
  sample: ws://192.168.136.100:8888/ws
event_recording:
  description: Event-recording settings (C(variables.event_recording)).
  returned: when O(gather) has V(event_recording)
  type: dict
  sample: {enabled: true, pre_trigger_seconds: 5, post_trigger_seconds: 10, naming: event, event_list: {}}
triggers:
  description: Hardware and TCP/IP trigger settings (C(variables.triggers)).
  returned: when O(gather) has V(triggers)
  type: dict
  sample: {hardware_enabled: true, hardware_active_level: high, hardware_delay_ms: 0, tcpip_enabled: false,
           tcpip_port: 2114}
time:
  description: Time synchronisation and the device clock (C(variables.time)).
  returned: when O(gather) has V(time)
  type: dict
  sample: {role: ntp, ntp_server: 10.0.0.1, update_interval_seconds: 60, time_zone_index: 36, device_time: {}}
offload:
  description: Clip offload settings (C(variables.offload)); the password is never read.
  returned: when O(gather) has V(offload)
  type: dict
  sample: {protocol: sftp, server: 10.0.0.20, port: 22, directory: /clips, username: cam, passive_mode: true,
           fallback_mode: false, samba_enabled: false}
security:
  description: The authentication-free API switch and the HTTPS status object (C(variables.security)).
  returned: when O(gather) has V(security)
  type: dict
  sample: {authentication_free_api: false, https_status: null}
snapshot:
  description: Snapshot settings (C(variables.snapshot)).
  returned: when O(gather) has V(snapshot)
  type: dict
  sample: {mode: stream}
health:
  description:
    - C(DeviceStatus), FTP and NTP status, storage usage (likely the recording buffer, percent), temperature,
      operating hours (in hours), power-on count, and C(rtsp_status) per stream (C(DeviceStatusRTSP0/1)); the codes
      are shown as the camera sends them.
  returned: when O(gather) has V(health)
  type: dict
  sample: {device_status: 0, ftp_status: 0, ntp_status: 1, storage_usage: 12, temperature: 41,
           operating_hours: 1234.5, power_on_count: 17, rtsp_status: {video0: 1, video1: 0}}
system:
  description: System switches (C(variables.system)).
  returned: when O(gather) has V(system)
  type: dict
  sample: {software_downgrade: false}
known_issues:
  description: Known issues from the profile (C(firmware.known_issues)) that apply to this firmware, with C(level).
  returned: always
  type: list
  elements: dict
  sample: [{below: "2.6.0", summary: "RTSP connections reported to drop intermittently (third-party report);
            workaround RTSP over TCP", level: assumed}]
unsupported:
  description: Variables the camera does not know (HTTP 404), with their profile key; fix their names in the profile.
  returned: always
  type: list
  elements: dict
  sample: [{key: health.temperature, name: CurrentTemperature}]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils._api import url_host  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402

GATHER = ['identity', 'streams', 'rtsp', 'event_recording', 'triggers', 'time', 'offload', 'security', 'snapshot',
          'health', 'system']
RTSP_FALLBACK_PORT = 554


def nest(values, prefix):
    """{'video0': {'fps': 25}} from {'streams.video0.fps': 25} and the prefix 'streams'."""
    tree = {}
    for key, value in values.items():
        parts = key[len(prefix) + 1:].split('.')
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return tree


class CameraInfoModule(SensingCamModule):
    """Reads what the profile names; a name the camera does not know is reported, not a failure."""

    argument_spec = dict(
        gather=dict(type='list', elements='str', choices=GATHER, default=GATHER),
    )

    def setup(self):
        super(CameraInfoModule, self).setup()
        self.cache = {}
        self.fields_by_key = dict((field.key, field) for field in self.profile.fields())

    def read(self, key):
        """The decoded value of the profile key (None when the camera does not know it or the profile lacks it)."""
        if key in self.cache:
            return self.cache[key]
        field = self.fields_by_key.get(key)
        value = None
        if field is not None and not field.secret:
            try:
                value = self.client.read_field(field)
            except SensingCamError as exc:
                if exc.kind != 'not_found':
                    raise
                self.warn(exc.message)
                self.result['unsupported'].append({'key': key, 'name': field.name})
        self.cache[key] = value
        return value

    def group(self, prefix):
        keys = sorted(key for key, field in self.fields_by_key.items()
                      if key.startswith(prefix + '.') and not field.secret)
        return nest(dict((key, self.read(key)) for key in keys), prefix)

    def firmware(self):
        text, source, _parsed, _strings = self.profile.firmware_version(lambda field: self.read(field.key))
        return {'version': text, 'version_source': source}

    def streams(self):
        return sorted(set(key.split('.')[1] for key in self.fields_by_key if key.startswith('streams.')))

    def rtsp(self):
        host = self.params['host']
        port = self.read('rtsp.port')
        result = {'port': port if port is not None else RTSP_FALLBACK_PORT, 'port_from_camera': port is not None,
                  'authentication': self.read('rtsp.authentication'), 'streams': {}}
        for stream in self.streams():
            path = self.read('streams.%s.rtsp_path' % stream)
            url = None
            if isinstance(path, str) and path.strip():
                url = self.profile.rtsp_url(host, result['port'], path.strip())
            result['streams'][stream] = {'enabled': self.read('streams.%s.rtsp_enabled' % stream), 'path': path,
                                         'status': self.read('streams.%s.rtsp_status' % stream), 'url': url}
        return result

    def execute(self):
        subsets = set(self.params['gather'])
        profile = self.profile
        self.result['unsupported'] = []
        firmware = self.firmware()
        version = firmware['version']
        self.result['firmware'] = firmware
        identity = self.group('identity') if 'identity' in subsets else {}
        identity['firmware_version'] = self.read('identity.firmware_version')
        self.result['identity'] = identity
        covers = profile.covers(version) if firmware['version_source'] else None
        self.result['profile'] = {'name': profile.name, 'path': profile.path, 'covers_firmware': covers}
        if covers is False:
            applies = profile.data.get('applies_to') or {}
            self.warn('The device profile %s is meant for firmware %s up to below %s, but the camera runs %s; '
                      'use the profile of that firmware line.'
                      % (profile.path, applies.get('min_version'), applies.get('below_version'), version))
        for subset in GATHER:
            if subset in subsets and subset not in ('identity', 'rtsp', 'health'):
                self.result[subset] = self.group(subset)
        if 'rtsp' in subsets:
            self.result['rtsp'] = self.rtsp()
            try:
                ws_port = int(profile.setting('transport', 'websocket_port', default=8888))
                ws_path = profile.setting('transport', 'websocket_path', default='/ws')
            except (TypeError, ValueError, ProfileError):
                self.fail('The device profile %s has no usable transport.websocket_port / websocket_path.'
                          % profile.path)
            scheme = 'wss' if self.params['use_tls'] else 'ws'
            self.result['websocket_url'] = '%s://%s:%d%s' % (scheme, url_host(self.params['host']), ws_port,
                                                             ws_path)
        if 'health' in subsets:
            health = self.group('health')
            health['rtsp_status'] = dict((stream, self.read('streams.%s.rtsp_status' % stream))
                                         for stream in self.streams())
            self.result['health'] = health
        self.result['known_issues'] = profile.known_issues(version) if firmware['version_source'] else []
        self.exit()


def main():
    CameraInfoModule().run()


if __name__ == '__main__':
    main()
