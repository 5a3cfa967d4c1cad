#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_stream
short_description: Set codec, resolution, frame rate and bit rate of a SICK sensingCam stream
version_added: 0.1.0
description:
  - Sets the primary or secondary stream profile of a SICK sensingCam (SEC100 family).
  - Values are checked against the profile's C(streams.allowed) before anything is sent.
  - Only the options you set are compared; the stream variable is written whole, with the other fields as read.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  stream:
    description:
      - Which stream profile to set.
    type: str
    choices: [primary, secondary]
    required: true
  codec:
    description:
      - Video codec; one of the profile's C(streams.allowed.codec) (V(h264), V(h265), V(mjpeg) for SEC100 fw 2.x).
    type: str
  width:
    description:
      - Picture width in pixels.
    type: int
  height:
    description:
      - Picture height in pixels.
    type: int
  fps:
    description:
      - Frames per second, within the profile's C(streams.allowed.fps).
    type: int
  bitrate_kbps:
    description:
      - Target bit rate in kbit/s, within the profile's C(streams.allowed.bitrate_kbps).
    type: int
  gop:
    description:
      - Frames between key frames (group of pictures), within the profile's C(streams.allowed.gop).
    type: int
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Primary stream for Frigate recording, H.264 1080p at 15 fps
  sensingcam.ming.sensingcam_stream:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    stream: primary
    codec: h264
    width: 1920
    height: 1080
    fps: 15
    bitrate_kbps: 4096
    gop: 30
  delegate_to: localhost

- name: Secondary stream for detection
  sensingcam.ming.sensingcam_stream:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    stream: secondary
    width: 640
    height: 480
    fps: 5
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: The stream's settings as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {codec: h264, width: 1920, height: 1080, fps: 15, bitrate_kbps: 4096, gop: 30}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [fps, gop]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import (  # noqa: E402
    StructuredSettingsModule,
    check_allowed,
)


class SensingCamStream(StructuredSettingsModule):
    argument_spec = dict(
        stream=dict(type='str', choices=['primary', 'secondary'], required=True),
        codec=dict(type='str'),
        width=dict(type='int'),
        height=dict(type='int'),
        fps=dict(type='int'),
        bitrate_kbps=dict(type='int'),
        gop=dict(type='int'),
    )
    settings = ('codec', 'width', 'height', 'fps', 'bitrate_kbps', 'gop')

    def entry_keys(self):
        return ('streams', self.params['stream'])

    def validate(self, wanted):
        allowed = dict(self.profile.entry('streams', 'allowed', default={}) or {})
        allowed.setdefault('width', {'min': 1})
        allowed.setdefault('height', {'min': 1})
        problems = check_allowed(allowed, wanted)
        if problems:
            self.fail('Not allowed by the device profile %s (streams.allowed): %s.'
                      % (self.profile.path, '; '.join(problems)))


def main():
    SensingCamStream().run()


if __name__ == '__main__':
    main()
