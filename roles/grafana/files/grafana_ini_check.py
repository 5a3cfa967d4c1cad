# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Checks a rendered grafana.ini before it replaces the live one (the grafana role's `validate:`).

Usage: python3 grafana_ini_check.py <candidate> <secret key> [<secret key> ...]
It must parse as INI (no duplicate section or key), keep HTTPS, anonymous access off and the HTML sanitizer on,
and every secret key given (section.key) must be absent or a $__file{} reference into /etc/grafana/secrets: a
literal secret is refused. No secret value is passed to this script, and it prints none.
"""

import configparser
import re
import sys

SECRET_REFERENCE = re.compile(r'^\$__file\{/etc/grafana/secrets/[A-Za-z0-9_.-]+\}$')
REQUIRED = {
    ('server', 'protocol'): 'https',
    ('auth.anonymous', 'enabled'): 'false',
    ('panels', 'disable_sanitize_html'): 'false',
    ('security', 'cookie_secure'): 'true',
}


def problems(path, secret_keys):
    parser = configparser.ConfigParser(interpolation=None, strict=True, comment_prefixes=(';', '#'),
                                       inline_comment_prefixes=None)
    try:
        with open(path, encoding='utf-8') as handle:
            parser.read_file(handle)
    except (configparser.Error, UnicodeDecodeError) as exc:
        return [f'not a valid INI file: {str(exc).splitlines()[0]}']
    found = []
    for (section, key), value in REQUIRED.items():
        actual = parser.get(section, key, fallback=None)
        if actual != value:
            found.append(f'[{section}] {key} must be {value}, is {actual}')
    for name in secret_keys:
        section, _dot, key = name.rpartition('.')
        value = parser.get(section, key, fallback=None)
        if value is not None and not SECRET_REFERENCE.match(value):
            found.append(f'[{section}] {key} is no $__file{{/etc/grafana/secrets/...}} reference (a literal secret?)')
    return found


def main(argv):
    if len(argv) < 2:
        sys.stderr.write('usage: grafana_ini_check.py <candidate> [<section.key> ...]\n')
        return 2
    found = problems(argv[1], argv[2:])
    for problem in found:
        sys.stderr.write(f'grafana.ini: {problem}\n')
    return 1 if found else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
