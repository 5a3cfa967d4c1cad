# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One atomic file write, for modules and action plugins alike (the camera modules' secret state and probe
reports, the InfluxDB token store on the controller)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_file_atomically(path, data, mode):
    """Replace ``path`` with the bytes ``data`` in one step (a new file in the same directory, created private by
    mkstemp, given ``mode``, then renamed over ``path``); nothing is left behind when it fails."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or '.', prefix='.%s.' % os.path.basename(path))
    try:
        with os.fdopen(handle, 'wb') as out:
            out.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
