#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_info
short_description: Read identity, streams, time, event recording and RTSP details of a SICK sensingCam
version_added: 0.1.0
description:
  - Reads what the device profile names from a SICK sensingCam (SEC100 family) and changes nothing.
  - A variable the camera's firmware does not know (HTTP 404) gives a warning naming the profile key to fix and a
    V(null) value; the firmware version itself must be readable.
  - RTSP URLs are derived from the profile (C(rtsp.paths), unverified on real hardware) and left out when the
    firmware is below C(rtsp.available_from_version) (reported to drop RTSP below 2.6.0).
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.info_module
options:
  gather:
    description:
      - What to read besides the firmware version.
    type: list
    elements: str
    choices: [identity, streams, time, event_recording, rtsp]
    default: [identity, streams, time, event_recording, rtsp]
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

- name: Use the RTSP URL when the firmware offers one, the WebSocket relay otherwise
  ansible.builtin.set_fact:
    camera_source: "{{ camera.rtsp.urls.primary if camera.rtsp.available else camera.websocket_url }}"

- name: Only identity, with the profile from the environment (SENSINGCAM_PROFILE)
  sensingcam.ming.sensingcam_info:
    host: cam-line3.plant.local
    gather: [identity]
  delegate_to: localhost
'''

RETURN = r'''
identity:
  description: Identity of the camera; only C(firmware_version) unless O(gather) has V(identity).
  returned: always
  type: dict
  sample: {firmware_version: "2.6.1", serial_number: "23450017", order_number: "1133333", device_type: "SEC100",
           device_name: "line3-station2"}
profile:
  description: The device profile used, and whether it covers the camera's firmware (V(null) when unknown).
  returned: always
  type: dict
  sample: {name: sec100-fw2, path: /opt/ming/profiles/sensingcam/sec100-fw2.yml, covers_firmware: true}
streams:
  description: Settings of each stream profile, with this collection's option names.
  returned: when O(gather) has V(streams)
  type: dict
  sample: {primary: {codec: h264, width: 1920, height: 1080, fps: 25, bitrate_kbps: 4096, gop: 50},
           secondary: {codec: mjpeg, width: 640, height: 480, fps: 10, bitrate_kbps: 1024, gop: 10}}
time:
  description: Device clock and time settings.
  returned: when O(gather) has V(time)
  type: dict
  sample: {device_time: "2025-11-27T10:15:00Z", ntp_enabled: true, ntp_servers: [10.0.0.1], time_zone: Europe/Berlin}
event_recording:
  description: Event-recording settings and the use of the event buffer.
  returned: when O(gather) has V(event_recording)
  type: dict
  sample: {settings: {pre_trigger_seconds: 5, post_trigger_seconds: 10, duration_seconds: 30,
                      trigger_source: mqtt}, buffer_usage: 12}
rtsp:
  description:
    - RTSP availability on this firmware and the stream URLs (without credentials).
    - C(available) is V(null) when the firmware version is unknown; C(status) tells whether the paths are verified.
  returned: when O(gather) has V(rtsp)
  type: dict
  sample: {available: true, reason: null, status: assumed,
           urls: {primary: "rtsp://192.168.136.100:554/stream1", secondary: "rtsp://192.168.136.100:554/stream2"}}
websocket_url:
  description: URL of the live JPEG WebSocket, the ingest path when there is no RTSP.
  returned: when O(gather) has V(rtsp)
  type: str
  sample: ws://192.168.136.100:8888/ws
known_issues:
  description: Known issues from the profile (C(firmware.known_issues)) that apply to this firmware.
  returned: always
  type: list
  elements: dict
  sample: [{below: "2.6.0", summary: "RTSP streaming reported to drop; ingest over the WebSocket JPEG relay instead"}]
unsupported:
  description: Profile keys whose variable the camera does not know (HTTP 404); fix their names in the profile.
  returned: always
  type: list
  elements: str
  sample: [time.time_zone]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils._api import url_host  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402

GATHER = ['identity', 'streams', 'time', 'event_recording', 'rtsp']


class CameraInfoModule(SensingCamModule):
    """Reads everything the profile names; a name the firmware does not know becomes a warning, not a failure."""

    STREAM_OPTIONS = ('codec', 'width', 'height', 'fps', 'bitrate_kbps', 'gop')
    argument_spec = dict(
        gather=dict(type='list', elements='str', choices=GATHER, default=GATHER),
    )

    def read_optional(self, *keys):
        name = self.variable(*keys)
        try:
            return self.client.read(name)
        except SensingCamError as exc:
            if exc.kind != 'not_found':
                raise
            self.warn(exc.message)
            self.result.setdefault('unsupported', []).append('.'.join(keys))
            return None

    def read_fields(self, keys, options):
        value = self.read_optional(*keys)
        fields = self.profile.entry(*keys).get('fields') or {}
        if not isinstance(value, dict):
            return None
        return dict((option, value.get(fields[option])) for option in options if option in fields)

    def execute(self):
        self.gather(set(self.params['gather']))

    def gather(self, subsets):
        profile, host = self.profile, self.params['host']
        self.result['unsupported'] = []
        version = self.client.read(self.variable('identity', 'firmware_version'))
        version = None if version is None else str(version)
        identity = {'firmware_version': version}
        if 'identity' in subsets:
            for key in ('serial_number', 'order_number', 'device_type', 'device_name'):
                identity[key] = self.read_optional('identity', key)
        self.result['identity'] = identity
        covers = profile.covers(version)
        self.result['profile'] = {'name': profile.name, 'path': profile.path, 'covers_firmware': covers}
        if covers is False:
            self.warn('The device profile %s is meant for firmware %s up to below %s, but the camera runs %s; '
                      'use the profile of that firmware line.'
                      % (profile.path, profile.data.get('applies_to', {}).get('min_version'),
                         profile.data.get('applies_to', {}).get('below_version'), version))
        if 'streams' in subsets:
            streams = [stream for stream in ('primary', 'secondary')
                       if isinstance(profile.entry('streams', stream, default=None), dict)]
            self.result['streams'] = dict(
                (stream, self.read_fields(('streams', stream), self.STREAM_OPTIONS)) for stream in streams)
        if 'time' in subsets:
            self.result['time'] = dict((key, self.read_optional('time', key))
                                       for key in ('device_time', 'ntp_enabled', 'ntp_servers', 'time_zone'))
        if 'event_recording' in subsets:
            options = sorted((profile.entry('event_recording').get('fields') or {}).keys())
            settings = self.read_fields(('event_recording',), options)
            self.result['event_recording'] = {
                'settings': settings,
                'buffer_usage': self.read_optional('event_recording', 'buffer_usage'),
            }
        if 'rtsp' in subsets:
            self.result['rtsp'] = profile.rtsp(host, version)
            ws_port = int(profile.setting('transport', 'websocket_port', default=8888))
            ws_path = profile.setting('transport', 'websocket_path', default='/ws')
            netloc = url_host(host)
            scheme = 'wss' if self.params['use_tls'] else 'ws'
            self.result['websocket_url'] = '%s://%s:%d%s' % (scheme, netloc, ws_port, ws_path)
        self.result['known_issues'] = profile.known_issues(version)
        self.exit()


def main():
    CameraInfoModule().run()


if __name__ == '__main__':
    main()
