#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_stream
short_description: Set resolution, frame rate, codec, bit rate class, GOP and RTSP of a SICK sensingCam stream
version_added: 0.1.0
description:
  - Sets one of the two video streams (C(Video0), C(Video1)) of a SICK sensingCam SEC100, one device variable per
    setting, as the device profile's C(variables.streams.<stream>) names them.
  - Every value you set is checked against the device profile (its codecs) before anything is sent; an error names
    the option and the values the camera accepts.
  - Only the options you set are read and compared; each differing one is written with its own login.
  - Returns the stream's RTSP URL (built from C(RtspPort) and C(Video<n>RtspPath), never with credentials) and its
    RTSP state (C(DeviceStatusRTSP<n>)).
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.settings_module
options:
  stream:
    description:
      - Which stream to set. C(video0) is the camera's first stream (RTSP path C(/live/0)), C(video1) the second.
    type: str
    choices: [video0, video1]
    required: true
  resolution:
    description:
      - Picture size as C(WIDTHxHEIGHT), one of the device profile's C(codecs.resolution) values
        (SEC100 fw 2.x V(240x134), V(320x180), V(480x270), V(640x360), V(1280x720), V(1920x1080), V(2880x1616)).
    type: str
  fps:
    description:
      - Frames per second (SEC100 fw 2.x 1 to 60).
    type: int
  codec:
    description:
      - Video codec. The SEC100 has no MJPEG stream.
    type: str
    choices: [h264, h265]
  bitrate_class:
    description:
      - Compression rate class (C(Video<n>CompressionRate)), one of the device profile's C(codecs.bitrate_class)
        choices (SEC100 fw 2.x V(1023), V(2047), V(4095), V(8191), V(16383)).
    type: int
  gop:
    description:
      - Frames between key frames (group of pictures), within the profile's range.
    type: int
  rtsp_enabled:
    description:
      - Whether the camera serves this stream over RTSP.
    type: bool
  rtsp_authentication:
    description:
      - Whether RTSP clients must log in (C(RtspAuthenticationEnabled)). This is one switch for the whole camera,
        not per stream.
    type: bool
notes:
  - The SEC100 has no per-stream bit rate in kbit/s; C(bitrate_class) is the compression rate class the camera takes.
  - RTSP is not hidden on any firmware version; C(rtsp_status) reports what the camera says about the stream.
seealso:
  - module: sensingcam.ming.sensingcam_security
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: First stream for recording, H.264 1080p at 25 fps, over RTSP
  sensingcam.ming.sensingcam_stream:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    stream: video0
    resolution: 1920x1080
    fps: 25
    codec: h264
    bitrate_class: 8191
    gop: 50
    rtsp_enabled: true
  delegate_to: localhost

- name: Second stream for detection, small and slow
  sensingcam.ming.sensingcam_stream:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    stream: video1
    resolution: 640x360
    fps: 5
  delegate_to: localhost
  register: detect

- name: Hand the RTSP URL to the NVR configuration
  ansible.builtin.debug:
    msg: "{{ detect.rtsp_url }}"
'''

RETURN = r'''
settings:
  description: The options you set, as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {resolution: 1920x1080, fps: 25, codec: h264, bitrate_class: 8191, gop: 50, rtsp_enabled: true}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [fps, gop]
rtsp_url:
  description:
    - RTSP URL of the stream, from the camera's C(RtspPort) and C(Video<n>RtspPath). Never holds credentials; with
      RTSP authentication on, a client adds them itself.
  returned: success
  type: str
  sample: rtsp://192.168.136.100:554/live/0
rtsp_status:
  description: The camera's state of this stream's RTSP server (C(DeviceStatusRTSP<n>)), as the camera reports it.
  returned: success
  type: int
  sample: 1
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402

# What SICK's client scripts use when RtspPort cannot be read.
DEFAULT_RTSP_PORT = 554
STREAM_SETTINGS = ('resolution', 'fps', 'codec', 'bitrate_class', 'gop', 'rtsp_enabled')


class SensingCamStream(FieldSettingsModule):
    argument_spec = dict(
        stream=dict(type='str', choices=['video0', 'video1'], required=True),
        resolution=dict(type='str'),
        fps=dict(type='int'),
        codec=dict(type='str', choices=['h264', 'h265']),
        bitrate_class=dict(type='int'),
        gop=dict(type='int'),
        rtsp_enabled=dict(type='bool'),
        rtsp_authentication=dict(type='bool'),
    )
    settings = STREAM_SETTINGS + ('rtsp_authentication',)

    def option_fields(self):
        group = self.profile.group('streams', self.params['stream'])
        fields = dict((option, group[option]) for option in STREAM_SETTINGS)
        fields['rtsp_authentication'] = self.profile.field('rtsp', 'authentication')
        return fields

    def stream_facts(self):
        """rtsp_url and rtsp_status, read after the settings (RtspPort falls back to 554 as SICK's scripts do)."""
        group = self.profile.group('streams', self.params['stream'])
        port_field = self.profile.field('rtsp', 'port')
        exists, port = self.client.probe(port_field.name)
        port = port_field.decode(port) if exists and port else DEFAULT_RTSP_PORT
        path = self.client.read_field(group['rtsp_path'])
        return {
            'rtsp_url': self.profile.rtsp_url(self.params['host'], port, path),
            'rtsp_status': self.client.read_field(group['rtsp_status']),
        }

    def exit(self, **kwargs):
        kwargs.update(self.stream_facts())
        super(SensingCamStream, self).exit(**kwargs)


def main():
    SensingCamStream().run()


if __name__ == '__main__':
    main()
