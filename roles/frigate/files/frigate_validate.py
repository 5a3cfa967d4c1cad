# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Check a candidate Frigate config with the image's own ``--validate-config`` and read its output.

Usage (the frigate role's template ``validate:``, run as root on the NVR host):
    python3 frigate_validate.py --image IMAGE --secrets-dir DIR [--timeout S] CANDIDATE

The candidate is mounted read-only at /config/config.yml (a writable file would be migrated first, and root ignores
0444), the secret directory read-only at /run/secrets as in the service; no network, no capabilities.

The exit code of ``--validate-config`` is not enough: Frigate 0.17.x and 0.18.0 print the validation errors, fall
back to safe mode and still print "Your config file is valid." with exit code 0 (``frigate/__main__.py``). A missing
``{FRIGATE_*}`` variable ends in a bare ``KeyError`` traceback. So the verdict reads the output: it fails on the
validation-error banner, on safe mode, on a traceback or KeyError, on a non-zero exit code, and when the "valid"
line is missing. Exit 0 only for a valid config; otherwise exit 1 with the reason and the relevant output lines.
"""

import argparse
import subprocess
import sys

# (text in the output, why it fails); case-insensitive.
FAILURE_MARKERS = (
    ('keyerror', 'a {FRIGATE_*} variable is missing (KeyError): its secret file is not in the secrets directory'),
    ('config validation errors', 'Frigate reports config validation errors'),
    ('your config file is not valid', 'Frigate says the config file is not valid'),
    ('safe mode', 'Frigate fell back to safe mode (0.17+ then exits 0 on an invalid config)'),
    ('traceback (most recent call last)', 'Frigate crashed while loading the config'),
)
VALID_MARKER = 'your config file is valid'


def verdict(output, returncode):
    """(ok, reason) for the combined output and exit code of ``python3 -m frigate --validate-config``."""
    text = (output or '').lower()
    for marker, reason in FAILURE_MARKERS:
        if marker in text:
            return False, reason
    if returncode != 0:
        return False, f'frigate --validate-config exited with {returncode}'
    if VALID_MARKER not in text:
        return False, 'Frigate did not say "Your config file is valid."'
    return True, 'Frigate validated the config'


def relevant_lines(output, limit=40):
    """The lines worth showing (keys, messages, errors; never the Value lines, which could hold a value)."""
    keep = []
    for line in (output or '').splitlines():
        low = line.lower()
        if any(word in low for word in ('key ', 'message', 'error', 'line #', 'safe mode', 'valid')):
            keep.append(line.rstrip())
    return keep[-limit:]


def command(image, secrets_dir, candidate):
    return [
        'docker', 'run', '--rm', '--network', 'none', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges:true',
        '--entrypoint', 'python3', '--workdir', '/opt/frigate',
        '--volume', f'{candidate}:/config/config.yml:ro',
        '--volume', f'{secrets_dir}:/run/secrets:ro',
        '--tmpfs', '/tmp/cache', '--shm-size', '256m',  # noqa: S108 - a path inside the container
        image, '-u', '-m', 'frigate', '--validate-config',
    ]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--image', required=True)
    parser.add_argument('--secrets-dir', required=True)
    parser.add_argument('--timeout', type=int, default=120)
    parser.add_argument('candidate')
    args = parser.parse_args(argv)
    try:
        argv_run = command(args.image, args.secrets_dir, args.candidate)
        pipe, merged = subprocess.PIPE, subprocess.STDOUT
        proc = subprocess.run(argv_run, stdout=pipe, stderr=merged, timeout=args.timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        print(f'frigate --validate-config did not finish within {args.timeout} s (frigate_validate_timeout)')
        return 1
    output = proc.stdout.decode('utf-8', 'replace')
    ok, reason = verdict(output, proc.returncode)
    print(reason)
    if not ok:
        for line in relevant_lines(output):
            print(line)
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
