# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Flux scripts of InfluxDB 2.x tasks, as far as the collection needs to read and write them. Private.

Not a Flux parser: a scanner that knows where string literals, regular-expression literals and comments begin
and end (the places where a naive text search goes wrong), and a few readers on top of it.

- ``scan(flux)``: the script as segments ``(kind, text)``, kind one of code, string, regex, comment. Strings
  follow the Flux spec: double quotes, backslash escapes, line breaks allowed, ``${...}`` interpolation (which
  may hold strings of its own). A ``/`` starts a regular expression where an operand is expected (after an
  operator, ``(``, ``[``, ``{``, ``,``, ``:``, ``=~``, ``!~``, a keyword such as ``and``/``or``/``return``, or at
  the start), otherwise it divides.
- ``normalize_flux(flux)``: the text two scripts are compared on. Outside string and regex literals: line endings
  become LF, trailing white space goes, blank lines go, leading and trailing white space of the script goes.
  Indentation and comments are kept (a changed comment is a change: the server shows the script as written).
  String and regex literals are never touched, not even their line endings.
- ``task_options(flux)`` / ``split_task_options(flux)``: the ``option task = {...}`` record: name and cron as
  decoded strings, every/offset and any other key as their Flux source text; the script without that statement.
- ``task_option_line(name, every=, cron=, offset=)``: the statement the task module writes, strings quoted
  (``"`` and ``\\`` escaped, the ``$`` of ``${`` escaped so it never interpolates, control characters as
  escapes).
- ``flux_buckets(flux)`` / ``bucket_references(flux)``: the bucket names in ``from(bucket: "x")``,
  ``to(bucket: "x")`` and ``wideTo(bucket: "x")``, also package-qualified (``experimental.to``). Limit: only a
  plain string literal is a name; ``bucket: b`` (a variable), ``bucket: "${b}"`` (interpolation) or any other
  expression is reported as unresolved (``bucket_references``), and ``flux_buckets`` refuses it unless told to
  skip it. ``bucketID:`` arguments are IDs, not names, and are ignored. Calls inside comments are ignored.
- ``validate_flux_duration(value, option)``: a Flux duration literal (``1h``, ``1h30m``, ``1mo2w``): one or
  more integer+unit pairs, units y mo w d h m s ms us µs ns, larger units first, none repeated, no leading
  zeros, no sign.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# Units of a Flux duration literal, largest first (the order a literal must follow).
DURATION_UNITS = ('y', 'mo', 'w', 'd', 'h', 'm', 's', 'ms', 'us', 'ns')
_UNIT_RANK = dict((unit, rank) for rank, unit in enumerate(DURATION_UNITS))
_UNIT_RANK['\u00b5s'] = _UNIT_RANK['us']
_DURATION_PAIR = re.compile(r'(\d+)(mo|ms|us|\u00b5s|ns|y|w|d|h|m|s)')
DURATION_EXAMPLES = 'e.g. 1h, 30m, 1h30m, 1d'
TASK_OPTION_KEYS = ('name', 'every', 'cron', 'offset')
# Functions whose ``bucket:`` argument names a bucket read or written.
BUCKET_FUNCTIONS = ('from', 'to', 'wideTo')

# After these code characters (last non-blank one) a '/' begins a regular expression, not a division.
_REGEX_AFTER = set('(,[{:=!~+-*%<>&|^?;')
# ... and after these keywords, which are followed by an operand too (r.a =~ /x/ or r.b =~ /y/).
_REGEX_AFTER_WORDS = ('and', 'or', 'not', 'return', 'if', 'then', 'else', 'exists')
_TRAILING_WORD = re.compile(r'(?<![A-Za-z0-9_.])([A-Za-z_][A-Za-z0-9_]*)\s*$')
_PLACEHOLDER = '\x00%d\x00'
_PLACEHOLDER_RE = re.compile('\x00(\\d+)\x00')
_COMMENT = '\x01%d\x01'
_COMMENT_RE = re.compile('\x01(\\d+)\x01')
_ANY_PLACEHOLDER_RE = re.compile('[\x00\x01](\\d+)[\x00\x01]')


class FluxError(ValueError):
    """A Flux script, or a piece of one, that cannot be read or used; the message names the option."""


# --------------------------------------------------------------------------------------------------------------
# Scanning
# --------------------------------------------------------------------------------------------------------------

def _string_end(text, start):
    """Index just after the string literal that opens at ``text[start] == '"'``; len(text) when unterminated."""
    pos = start + 1
    size = len(text)
    while pos < size:
        char = text[pos]
        if char == '\\':
            pos += 2
        elif char == '"':
            return pos + 1
        elif char == '$' and text.startswith('${', pos):
            pos = _interpolation_end(text, pos + 2)
        else:
            pos += 1
    return size


def _interpolation_end(text, pos):
    """Index just after the ``}`` closing an interpolation whose expression starts at ``pos``."""
    depth = 1
    size = len(text)
    while pos < size:
        char = text[pos]
        if char == '"':
            pos = _string_end(text, pos)
            continue
        if char == '{':
            depth += 1
        elif char == '}':
            depth -= 1
            if depth == 0:
                return pos + 1
        pos += 1
    return size


def _regex_end(text, start):
    """Index just after the regex literal opening at ``text[start] == '/'``, or None when it is not one."""
    pos = start + 1
    size = len(text)
    while pos < size:
        char = text[pos]
        if char == '\\':
            pos += 2
        elif char == '\n':
            return None
        elif char == '/':
            return pos + 1 if pos > start + 1 else None
        else:
            pos += 1
    return None


def _after_keyword(code):
    """Whether the code read so far ends with a keyword after which an operand (so a regex) comes."""
    match = _TRAILING_WORD.search(''.join(code[-16:]))
    return bool(match) and match.group(1) in _REGEX_AFTER_WORDS


def scan(flux):
    """``flux`` as a list of ``(kind, text)`` segments: code, string, regex, comment. Joined, they give ``flux``."""
    segments = []
    code = []
    last = ''  # last non-blank code character, to tell a regex from a division
    pos = 0
    size = len(flux)

    def flush():
        if code:
            segments.append(('code', ''.join(code)))
            del code[:]

    while pos < size:
        char = flux[pos]
        if char == '"':
            end = _string_end(flux, pos)
            flush()
            segments.append(('string', flux[pos:end]))
            last, pos = '"', end
            continue
        if char == '/' and flux.startswith('//', pos):
            end = flux.find('\n', pos)
            end = size if end < 0 else end
            flush()
            segments.append(('comment', flux[pos:end]))
            pos = end
            continue
        if char == '/' and (last == '' or last in _REGEX_AFTER or _after_keyword(code)):
            end = _regex_end(flux, pos)
            if end is not None:
                flush()
                segments.append(('regex', flux[pos:end]))
                last, pos = '/', end
                continue
        code.append(char)
        if not char.isspace():
            last = char
        pos += 1
    flush()
    return segments


def _masked(flux):
    """``(text, literals)``: ``flux`` with every string, regex and comment replaced by a numbered placeholder.

    Strings and regexes become ``\\x00N\\x00``, comments ``\\x01N\\x01``; neither holds a bracket, a quote or a
    line break, so the readers below can work on the text with plain regular expressions.
    """
    parts = []
    literals = []
    for kind, text in scan(flux):
        if kind == 'code':
            parts.append(text)
            continue
        parts.append((_COMMENT if kind == 'comment' else _PLACEHOLDER) % len(literals))
        literals.append(text)
    return ''.join(parts), literals


def _without_comments(text):
    return _COMMENT_RE.sub('', text)


def _unmask(text, literals):
    return _ANY_PLACEHOLDER_RE.sub(lambda match: literals[int(match.group(1))], text)


# --------------------------------------------------------------------------------------------------------------
# Normalising
# --------------------------------------------------------------------------------------------------------------

def normalize_flux(flux):
    """The text two scripts are compared on (see the module docstring); '' for None."""
    if not flux:
        return ''
    text, literals = _masked(flux)
    literals = [literal.rstrip() if literal.startswith('//') else literal for literal in literals]
    text = text.replace('\r\n', '\n').replace('\r', '\n')
    lines = [line.rstrip() for line in text.split('\n')]
    return _unmask('\n'.join(line for line in lines if line), literals)


# --------------------------------------------------------------------------------------------------------------
# Strings and durations
# --------------------------------------------------------------------------------------------------------------

def quote_string(value):
    """``value`` as a Flux string literal."""
    out = ['"']
    for index, char in enumerate(value):
        if char in '"\\' or value.startswith('${', index):
            out.append('\\' + char)
        elif char == '\n':
            out.append('\\n')
        elif char == '\r':
            out.append('\\r')
        elif char == '\t':
            out.append('\\t')
        elif ord(char) < 0x20 or ord(char) == 0x7f:
            out.append('\\x%02x' % ord(char))
        else:
            out.append(char)
    out.append('"')
    return ''.join(out)


_ESCAPES = {'n': '\n', 'r': '\r', 't': '\t', '\\': '\\', '"': '"', '$': '$'}


def unquote_string(literal):
    """The value of a Flux string literal without interpolation; None when it interpolates or is malformed."""
    if len(literal) < 2 or not (literal.startswith('"') and literal.endswith('"')):
        return None
    body = literal[1:-1]
    out = []
    raw = bytearray()
    pos = 0
    while pos < len(body):
        char = body[pos]
        if char == '\\' and body[pos + 1:pos + 2] == 'x' and re.match(r'[0-9a-fA-F]{2}', body[pos + 2:pos + 4]):
            raw.append(int(body[pos + 2:pos + 4], 16))
            pos += 4
            continue
        if raw:
            out.append(raw.decode('utf-8', 'replace'))
            raw = bytearray()
        if char == '\\':
            escaped = body[pos + 1:pos + 2]
            if escaped not in _ESCAPES:
                return None
            out.append(_ESCAPES[escaped])
            pos += 2
        elif char == '$' and body.startswith('${', pos):
            return None
        else:
            out.append(char)
            pos += 1
    if raw:
        out.append(raw.decode('utf-8', 'replace'))
    return ''.join(out)


def validate_flux_duration(value, option='duration'):
    """``value`` stripped when it is a Flux duration literal; raises FluxError naming ``option`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, str):
        raise FluxError('%s=%r is not a Flux duration literal (%s).' % (option, value, DURATION_EXAMPLES))
    text = value.strip()
    if not text:
        raise FluxError('%s is empty; give a Flux duration literal (%s).' % (option, DURATION_EXAMPLES))
    pairs = _DURATION_PAIR.findall(text)
    if not pairs or ''.join(number + unit for number, unit in pairs) != text:
        hint = ''
        if text.isdigit():
            hint = ' A number needs a unit: %ss for seconds.' % text
        elif text.startswith('-'):
            hint = ' A negative duration is not allowed here.'
        raise FluxError("%s='%s' is not a Flux duration literal (%s; units y, mo, w, d, h, m, s, ms, us, ns).%s"
                        % (option, value, DURATION_EXAMPLES, hint))
    ranks = [_UNIT_RANK[unit] for number, unit in pairs]
    if any(ranks[i] >= ranks[i + 1] for i in range(len(ranks) - 1)):
        raise FluxError("%s='%s': Flux wants larger units first and each unit once, e.g. 1h30m, not 30m1h."
                        % (option, value))
    for number, unit in pairs:
        if len(number) > 1 and number.startswith('0'):
            raise FluxError("%s='%s': write %s%s without the leading zero." % (option, value, int(number), unit))
    return text


def duration_is_zero(text):
    """True for a valid duration literal whose every number is 0 (``0s``, ``0m0s``)."""
    return all(int(number) == 0 for number, unit in _DURATION_PAIR.findall(text))


# --------------------------------------------------------------------------------------------------------------
# The option task statement
# --------------------------------------------------------------------------------------------------------------

_OPTION_TASK = re.compile(r'(?m)^[ \t]*option[ \t\r\n]+task[ \t\r\n]*=[ \t\r\n]*\{')


def _closing_brace(text, start):
    """Index of the ``}`` closing the ``{`` at ``start`` (placeholders hold no braces); -1 when missing."""
    depth = 0
    for pos in range(start, len(text)):
        if text[pos] in '{([':
            depth += 1
        elif text[pos] in '})]':
            depth -= 1
            if depth == 0:
                return pos if text[pos] == '}' else -1
    return -1


def _top_level_split(text, separator=','):
    """``text`` split at ``separator`` characters outside brackets."""
    parts, depth, current = [], 0, []
    for char in text:
        if char in '{([':
            depth += 1
        elif char in '})]':
            depth -= 1
        if char == separator and depth == 0:
            parts.append(''.join(current))
            current = []
        else:
            current.append(char)
    parts.append(''.join(current))
    return parts


def split_task_options(flux, option='flux'):
    """``(options, rest)``: the ``option task`` record as a dict and the script without that statement.

    ``options`` is None when there is no ``option task`` statement. name and cron are decoded strings (their
    source text when they interpolate); every other key is its Flux source text. Raises FluxError when there are
    two such statements or the record cannot be read.
    """
    text, literals = _masked(flux or '')
    matches = list(_OPTION_TASK.finditer(text))
    if not matches:
        return None, flux or ''
    if len(matches) > 1:
        raise FluxError('%s holds %d `option task` statements; a task script has one.' % (option, len(matches)))
    match = matches[0]
    end = _closing_brace(text, match.end() - 1)
    if end < 0:
        raise FluxError('%s: the `option task = {...}` record is not closed with }.' % option)
    options = {}
    for part in _top_level_split(_without_comments(text[match.end():end])):
        if not part.strip():
            continue
        key, colon, value = part.partition(':')
        key, value = key.strip(), value.strip()
        if not colon or not re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', key) or not value:
            raise FluxError('%s: cannot read `%s` in the `option task` record; write key: value pairs such as '
                            'name: "downsample", every: 1h.' % (option, _unmask(part.strip(), literals)))
        source = _unmask(value, literals)
        if key in ('name', 'cron'):
            decoded = unquote_string(source)
            options[key] = decoded if decoded is not None else source
        else:
            options[key] = source
    return options, _unmask(text[:match.start()] + text[end + 1:], literals)


def task_options(flux):
    """The keys of the ``option task = {...}`` record (see ``split_task_options``); {} when there is none."""
    options = split_task_options(flux)[0]
    return options or {}


def task_option_line(name, every=None, cron=None, offset=None):
    """The ``option task = {...}`` statement for these options, keys in the order name, every, cron, offset."""
    parts = ['name: %s' % quote_string(name)]
    if every is not None:
        parts.append('every: %s' % every)
    if cron is not None:
        parts.append('cron: %s' % quote_string(cron))
    if offset is not None:
        parts.append('offset: %s' % offset)
    return 'option task = {%s}' % ', '.join(parts)


def task_script(body, name, every=None, cron=None, offset=None):
    """The whole task script: the option statement, a blank line, then ``body`` (without trailing space)."""
    return '%s\n\n%s\n' % (task_option_line(name, every=every, cron=cron, offset=offset), body.strip('\r\n'))


# --------------------------------------------------------------------------------------------------------------
# Buckets
# --------------------------------------------------------------------------------------------------------------

_BUCKET_CALL = re.compile(r'(?<![A-Za-z0-9_])(?:[A-Za-z_][A-Za-z0-9_]*\s*\.\s*)?(%s)\s*\('
                          % '|'.join(BUCKET_FUNCTIONS))
_BUCKET_ARG = re.compile(r'^\s*bucket\s*:\s*(.*?)\s*$', re.S)


def bucket_references(flux):
    """``(names, unresolved)``: bucket names given as plain strings, and the source text of the other
    ``bucket:`` expressions (variables, interpolations), each list in the order of the script."""
    text, literals = _masked(flux or '')
    text = _without_comments(text)
    names, unresolved = [], []
    for match in _BUCKET_CALL.finditer(text):
        open_at = match.end() - 1
        depth, close_at = 0, -1
        for pos in range(open_at, len(text)):
            if text[pos] in '({[':
                depth += 1
            elif text[pos] in ')}]':
                depth -= 1
                if depth == 0:
                    close_at = pos
                    break
        if close_at < 0:
            continue
        for argument in _top_level_split(text[open_at + 1:close_at]):
            found = _BUCKET_ARG.match(argument)
            if not found:
                continue
            source = _unmask(found.group(1), literals)
            value = unquote_string(source) if _PLACEHOLDER_RE.fullmatch(found.group(1)) else None
            if value is None:
                unresolved.append(source)
            else:
                names.append(value)
    return names, unresolved


def flux_buckets(flux, allow_dynamic=False, option='flux'):
    """Sorted bucket names the script reads or writes (see the module docstring for the limits).

    A ``bucket:`` that is not a plain string raises FluxError naming it, unless ``allow_dynamic`` (then it is
    left out).
    """
    names, unresolved = bucket_references(flux)
    if unresolved and not allow_dynamic:
        raise FluxError('%s gives a bucket as %s, not as a plain string such as bucket: "machine_events", so it '
                        'cannot be checked against the buckets the inventory defines. Write the name as a string, '
                        'or allow dynamic bucket names (allow_dynamic=true) and check them yourself.'
                        % (option, ', '.join('bucket: %s' % source for source in unresolved)))
    return sorted(set(names))
