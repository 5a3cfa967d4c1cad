# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Compare a device profile (profile_format 2, parsed YAML) with what a camera showed: a probe report of
``sensingcam.ming.sensingcam_probe``, the camera's own API description (``deviceDescription.yaml``), or another
profile (the probe's candidate profile). The result is a list of findings; an empty list means identical.

Documentation: the sidecar file ``sensingcam_profile_lint.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

KINDS = ('report', 'description', 'profile')
# JSON types a wire value of each codec type may have (profile header: bool is 0/1, enum an integer, ipv4 a list).
CODEC_JSON_TYPES = {
    'bool': ('integer', 'boolean'),
    'string': ('string',),
    'int': ('integer',),
    'enum': ('integer',),
    'ipv4': ('array',),
    'scaled': ('integer', 'number'),
    'object': ('object',),
    'list': ('array',),
}
MISSING_LEVEL = 'missing'
HOW_TO_CALL = (
    'call it as "{{ profile_data | sensingcam.ming.sensingcam_profile_lint(against, kind=...) }}" with the parsed '
    'profile YAML and, for kind=report, the probe report (or the registered sensingcam_probe result), for '
    'kind=description the parsed deviceDescription.yaml, for kind=profile another parsed profile')


def _fail(message):
    raise AnsibleFilterError('sensingcam_profile_lint: %s' % message)


def _codec(entry, codecs):
    """The entry's codec as a dict (a named codec resolved through ``codecs:``); {} when it has none."""
    codec = entry.get('codec')
    if isinstance(codec, str):
        codec = codecs.get(codec)
    return dict(codec) if isinstance(codec, Mapping) else {}


def profile_entries(profile_data):
    """{dotted key: entry} of every variable of a parsed profile (keys as under ``variables:``), plus the firmware
    update state (``firmware.state``) when it names a variable."""
    if not isinstance(profile_data, Mapping) or not isinstance(profile_data.get('variables'), Mapping):
        _fail('the profile has no `variables:` mapping (expected a parsed profile_format 2 file); %s.' % HOW_TO_CALL)
    found = {}

    def walk(node, prefix):
        for key, child in node.items():
            dotted = '%s.%s' % (prefix, key) if prefix else str(key)
            if isinstance(child, Mapping) and isinstance(child.get('name'), str):
                found[dotted] = child
            elif isinstance(child, Mapping):
                walk(child, dotted)

    walk(profile_data['variables'], '')
    state = (profile_data.get('firmware') or {}).get('state') if isinstance(profile_data.get('firmware'), Mapping) \
        else None
    if isinstance(state, Mapping) and isinstance(state.get('name'), str):
        found['firmware.state'] = state
    return found


def _codecs(profile_data):
    codecs = profile_data.get('codecs')
    return codecs if isinstance(codecs, Mapping) else {}


def _value(node):
    return node.get('value') if isinstance(node, Mapping) and 'value' in node else node


METHOD_SETTINGS = (('auth', 'challenge_method'), ('firmware', 'start_method'), ('backup', 'create_method'),
                   ('backup', 'restore_method'), ('persistence', 'save_method'))


def profile_methods(profile_data):
    """{dotted key: device name} of every method the profile calls: ``methods:`` and the settings that name one
    (login challenge, firmware start, backup create/restore, save method when set)."""
    found = {}
    for key, method in (profile_data.get('methods') or {}).items():
        if isinstance(method, Mapping) and isinstance(method.get('name'), str):
            found['methods.%s' % key] = method['name']
    for section, key in METHOD_SETTINGS:
        node = profile_data.get(section)
        value = _value(node.get(key)) if isinstance(node, Mapping) else None
        if isinstance(value, str) and value:
            found['%s.%s' % (section, key)] = value
    return found


def profile_names(profile_data):
    """Every device name the profile knows besides its variables: its methods and the backup path's last part."""
    names = set(profile_methods(profile_data).values())
    backup = profile_data.get('backup')
    path = _value(backup.get('path')) if isinstance(backup, Mapping) else None
    if isinstance(path, str) and path.strip('/'):
        names.add(path.rstrip('/').rsplit('/', 1)[-1])
    return names


def _finding(key, name, problem, detail):
    return {'key': key, 'name': name, 'problem': problem, 'detail': detail}


def _type_finding(key, entry, codec, observed, source):
    expected = CODEC_JSON_TYPES.get(codec.get('type'))
    if not expected or not observed or observed == 'null' or observed in expected:
        return []
    return [_finding(key, entry['name'], 'type_mismatch',
                     'the profile decodes %s with the codec type %s (JSON %s), but %s has JSON %s'
                     % (entry['name'], codec.get('type'), ' or '.join(expected), source, observed))]


def _report_variables(against):
    variables = against.get('variables') if isinstance(against, Mapping) else None
    if not isinstance(variables, Mapping):
        _fail('kind=report needs a probe report with `variables` (the JSON the probe wrote, or the registered '
              'sensingcam_probe result); %s.' % HOW_TO_CALL)
    return variables


def lint_report(profile_data, against):
    entries, codecs = profile_entries(profile_data), _codecs(profile_data)
    probed = _report_variables(against)
    by_name = dict((item.get('name'), item) for item in probed.values() if isinstance(item, Mapping))
    findings = []
    for key, entry in sorted(entries.items()):
        name = entry['name']
        item = probed.get(key)
        if isinstance(item, Mapping) and item.get('name') != name:
            findings.append(_finding(key, name, 'renamed', 'the probe read this key as %s, the profile names %s'
                                     % (item.get('name'), name)))
            item = by_name.get(name)
            if item is None:
                continue
        if not isinstance(item, Mapping):
            item = by_name.get(name)
        if not isinstance(item, Mapping):
            findings.append(_finding(key, name, 'not_probed', 'the probe report has neither this key nor %s' % name))
            continue
        if item.get('exists') is False:
            findings.append(_finding(key, name, 'missing_on_camera', 'the camera does not know %s (HTTP 404 or '
                                     'status not found)' % name))
        elif item.get('exists') is not True:
            findings.append(_finding(key, name, 'probe_error', 'the probe could not tell whether %s exists: %s'
                                     % (name, item.get('error') or 'no answer recorded')))
        else:
            findings.extend(_type_finding(key, entry, _codec(entry, codecs), item.get('json_type'), 'the camera'))
    return findings


def _resolve(schema, document):
    """``schema`` with local ``$ref`` links (``#/components/...``) followed."""
    for _depth in range(8):
        ref = schema.get('$ref') if isinstance(schema, Mapping) else None
        if not (isinstance(ref, str) and ref.startswith('#/')):
            return schema
        node = document
        for part in ref[2:].split('/'):
            node = node.get(part) if isinstance(node, Mapping) else None
        schema = node
    return None


def _schema_type(schema, name, document):
    """The JSON type of a variable's value in a response schema: the schema itself, or ``<name>`` in its
    properties, or in the properties of its ``data`` (the reply envelope); None when it says nothing."""
    for _depth in range(8):
        schema = _resolve(schema, document)
        if not isinstance(schema, Mapping):
            return None
        properties = schema.get('properties')
        if isinstance(properties, Mapping) and name in properties:
            inner = _resolve(properties[name], document)
            return inner.get('type') if isinstance(inner, Mapping) else None
        if isinstance(properties, Mapping) and 'data' in properties and 'header' in properties:
            schema = properties['data']
            continue
        if isinstance(properties, Mapping) and set(properties) == {'data'}:
            schema = properties['data']
            continue
        return schema.get('type') if isinstance(schema.get('type'), str) else None
    return None


def description_names(description, api_prefix='/api'):
    """{device name: JSON type or None} of an API description: an OpenAPI document (``paths``, names after the API
    prefix), a mapping with ``variables`` (names to ``{type}``) or a list of names."""
    if isinstance(description, Mapping) and isinstance(description.get('paths'), Mapping):
        prefix = '/' + str(api_prefix or '/api').strip('/') + '/'
        names = {}
        for path, operations in description['paths'].items():
            path = str(path)
            if not path.startswith(prefix):
                continue
            name = path[len(prefix):].strip('/')
            if not name or '/' in name or '{' in name:
                continue
            json_type = None
            get = operations.get('get') if isinstance(operations, Mapping) else None
            responses = get.get('responses') if isinstance(get, Mapping) else None
            answer = None
            if isinstance(responses, Mapping):
                answer = responses.get('200', responses.get(200))
            if isinstance(answer, Mapping):
                schemas = [answer.get('schema')]
                content = answer.get('content')
                if isinstance(content, Mapping):
                    schemas.extend(media.get('schema') for media in content.values() if isinstance(media, Mapping))
                for schema in schemas:
                    json_type = json_type or _schema_type(schema, name, description)
            names[name] = json_type
        return names
    if isinstance(description, Mapping) and 'variables' in description:
        description = description['variables']
    if isinstance(description, Mapping):
        return dict((str(name), spec.get('type') if isinstance(spec, Mapping) else None)
                    for name, spec in description.items())
    if isinstance(description, (list, tuple)):
        return dict((str(name), None) for name in description)
    _fail('kind=description needs the parsed API description (an OpenAPI document with `paths`, a mapping of '
          'names, or a list of names), got %s; %s.' % (type(description).__name__, HOW_TO_CALL))


def lint_description(profile_data, against):
    entries, codecs = profile_entries(profile_data), _codecs(profile_data)
    api_prefix = _value((profile_data.get('transport') or {}).get('api_prefix')) or '/api'
    offered = description_names(against, api_prefix)
    findings = []
    for key, entry in sorted(entries.items()):
        name = entry['name']
        if name not in offered:
            findings.append(_finding(key, name, 'missing_on_camera', 'the API description has no %s' % name))
        else:
            findings.extend(_type_finding(key, entry, _codec(entry, codecs), offered[name], 'the API description'))
    for key, name in sorted(profile_methods(profile_data).items()):
        if name not in offered:
            findings.append(_finding(key, name, 'missing_on_camera', 'the API description has no method %s' % name))
    findings.sort(key=lambda finding: finding['key'])
    known = set(entry['name'] for entry in entries.values()) | profile_names(profile_data)
    for name in sorted(set(offered) - known):
        findings.append(_finding(None, name, 'not_in_profile', 'the API description offers %s, the profile does not '
                                 'name it' % name))
    return findings


def _shape(entry, codecs):
    return {'name': entry.get('name'), 'access': entry.get('access', 'read'), 'secret': entry.get('secret') is True,
            'codec': _codec(entry, codecs), 'missing': entry.get('level') == MISSING_LEVEL}


def lint_profile(profile_data, against):
    mine, theirs = profile_entries(profile_data), profile_entries(against)
    my_codecs, their_codecs = _codecs(profile_data), _codecs(against)
    findings = []
    for key in sorted(set(mine) | set(theirs)):
        if key not in theirs:
            findings.append(_finding(key, mine[key]['name'], 'not_in_other', 'the other profile has no %s' % key))
            continue
        if key not in mine:
            findings.append(_finding(key, theirs[key]['name'], 'not_in_profile', 'only the other profile has %s'
                                     % key))
            continue
        a, b = _shape(mine[key], my_codecs), _shape(theirs[key], their_codecs)
        if a['name'] != b['name']:
            findings.append(_finding(key, a['name'], 'renamed', 'the other profile names it %s' % b['name']))
        if a['missing'] != b['missing']:
            side = 'this profile' if a['missing'] else 'the other profile'
            findings.append(_finding(key, a['name'], 'missing_on_camera', '%s marks %s level: missing'
                                     % (side, a['name'])))
        for attribute, problem in (('codec', 'codec_differs'), ('access', 'access_differs'),
                                   ('secret', 'secret_differs')):
            if a[attribute] != b[attribute]:
                findings.append(_finding(key, a['name'], problem, '%s %r here, %r in the other profile'
                                         % (attribute, a[attribute], b[attribute])))
    return findings


def sensingcam_profile_lint(profile_data, against, kind='report'):
    """Findings ``{key, name, problem, detail}`` of ``profile_data`` against ``against``; [] when identical."""
    if kind not in KINDS:
        _fail('kind=%r is not one of %s; %s.' % (kind, ', '.join(KINDS), HOW_TO_CALL))
    if kind == 'report':
        return lint_report(profile_data, against)
    if kind == 'description':
        return lint_description(profile_data, against)
    if not isinstance(against, Mapping):
        _fail('kind=profile needs another parsed profile (a mapping), got %s; %s.'
              % (type(against).__name__, HOW_TO_CALL))
    return lint_profile(profile_data, against)


class FilterModule(object):
    """Device profile lint filter."""

    def filters(self):
        return {
            'sensingcam_profile_lint': sensingcam_profile_lint,
        }
