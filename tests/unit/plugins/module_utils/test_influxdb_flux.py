"""Reading and writing the Flux of InfluxDB tasks (module_utils/influxdb_flux.py). Pure functions; no server involved.

The expected values are written out by hand from the Flux spec (string escapes, duration literals, comments) and
InfluxData's task-options page, never computed with the functions under test.

Mutations tried (each made a test here fail, then was undone): the scanner without string handling (a ``//``
inside a string read as a comment); without regex literals (a quote inside ``/"/`` opened a string); the regex
rule without the division case (``a / b / c`` read as a regex); no regex after ``or``/``return`` (a quote in it
opened a string); ``${...}`` interpolation not nested (the string
ended at the inner quote); normalising without protecting literals (blank lines and trailing spaces inside a
multi-line string dropped); normalising that kept blank lines; CR line endings not converted; ``quote_string``
without escaping the ``$`` of ``${`` (it would interpolate) and without escaping ``"``; the duration order check
removed (``30m1h`` accepted); the leading-zero check removed; ``mo`` missing from the unit pattern (``1mo`` refused);
the duplicate ``option task`` check removed; comments inside a call's arguments kept (``bucket: // note`` then
``"out"`` read as an expression); a variable ``bucket:`` silently dropped instead of failing.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_flux import (
    FluxError,
    bucket_references,
    duration_is_zero,
    flux_buckets,
    normalize_flux,
    quote_string,
    scan,
    split_task_options,
    task_option_line,
    task_options,
    task_script,
    unquote_string,
    validate_flux_duration,
)

DOWNSAMPLE = (
    'option task = {name: "machine_events_1h", every: 1h, offset: 5m}\n'
    '\n'
    'from(bucket: "machine_events")\n'
    '  |> range(start: -task.every)\n'
    '  |> filter(fn: (r) => r._measurement == "machine_event")\n'
    '  |> aggregateWindow(every: 1h, fn: count, createEmpty: false)\n'
    '  |> to(bucket: "machine_events_1h")\n'
)


# -- scanning ----------------------------------------------------------------------------------------------------

def test_segments_join_back_to_the_script():
    script = DOWNSAMPLE + '// done\nx = "a // b" + /c"d/\n'
    assert ''.join(text for kind, text in scan(script)) == script


def test_a_double_slash_inside_a_string_is_no_comment():
    assert scan('x = "http://plant" // note') == [
        ('code', 'x = '), ('string', '"http://plant"'), ('code', ' '), ('comment', '// note')]


def test_a_quote_inside_a_regex_opens_no_string():
    assert scan('r.a =~ /"/ and r.b == "x"') == [
        ('code', 'r.a =~ '), ('regex', '/"/'), ('code', ' and r.b == '), ('string', '"x"')]


def test_a_regex_after_a_keyword_is_a_regex():
    assert scan('f(fn: (r) => r.a =~ /x/ or r.b =~ /"/)') == [
        ('code', 'f(fn: (r) => r.a =~ '), ('regex', '/x/'), ('code', ' or r.b =~ '), ('regex', '/"/'), ('code', ')')]
    assert scan('g = () => {\n  return /"//\n}') == [
        ('code', 'g = () => {\n  return '), ('regex', '/"/'), ('code', '/\n}')]
    assert scan('y = color / 2') == [('code', 'y = color / 2')]


def test_an_escaped_slash_ends_no_regex():
    assert scan('f(re: /a\\/b/)') == [('code', 'f(re: '), ('regex', '/a\\/b/'), ('code', ')')]


def test_a_slash_after_an_operand_divides():
    assert scan('y = a / b / c') == [('code', 'y = a / b / c')]
    assert scan('y = (a) / 2') == [('code', 'y = (a) / 2')]


def test_escaped_quotes_and_nested_interpolation_stay_in_one_string():
    assert scan('s = "a \\"q\\" ${r.x + "}"} end" + t') == [
        ('code', 's = '), ('string', '"a \\"q\\" ${r.x + "}"} end"'), ('code', ' + t')]


def test_a_string_may_span_lines():
    assert scan('s = "a\n\n  b"\n') == [('code', 's = '), ('string', '"a\n\n  b"'), ('code', '\n')]


# -- normalising -------------------------------------------------------------------------------------------------

def test_line_endings_trailing_space_and_blank_lines_do_not_count():
    messy = ('\r\n\r\nfrom(bucket: "raw")   \r\n\r\n\r\n  |> range(start: -1h)\t\r\n'
             '  |> to(bucket: "out") // keep   \r\n\n')
    assert normalize_flux(messy) == ('from(bucket: "raw")\n  |> range(start: -1h)\n'
                                     '  |> to(bucket: "out") // keep')


def test_an_old_mac_line_ending_counts_as_a_line_break():
    assert normalize_flux('a = 1\rb = 2\r') == 'a = 1\nb = 2'


def test_indentation_and_comments_count():
    assert normalize_flux('  a = 1') != normalize_flux('a = 1')
    assert normalize_flux('a = 1 // one') != normalize_flux('a = 1 // two')


def test_string_literals_are_never_changed():
    script = 'x = "line one   \r\n\r\n\r\n   last"\n\n\ny = 1'
    assert normalize_flux(script) == 'x = "line one   \r\n\r\n\r\n   last"\ny = 1'
    assert normalize_flux('x = "a  "') != normalize_flux('x = "a"')


def test_nothing_normalises_to_empty_text():
    assert normalize_flux(None) == ''
    assert normalize_flux(' \r\n\t\n') == ''


# -- strings -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('value, literal', [
    ('machine_events_1h', '"machine_events_1h"'),
    ('say "hi"', '"say \\"hi\\""'),
    ('C:\\data', '"C:\\\\data"'),
    ('cost ${x}', '"cost \\${x}"'),
    ('a $ b $', '"a $ b $"'),
    ('two\nlines\tand\r', '"two\\nlines\\tand\\r"'),
    ('bell\x07', '"bell\\x07"'),
    ('Grüße', '"Grüße"'),
])
def test_strings_are_quoted_for_flux(value, literal):
    assert quote_string(value) == literal
    assert unquote_string(literal) == value


def test_unquoting_refuses_interpolation_and_unknown_escapes():
    assert unquote_string('"${prefix}_1h"') is None
    assert unquote_string('"a\\qb"') is None
    assert unquote_string('bare') is None
    assert unquote_string('"\\xc3\\xa4"') == '\u00e4'


# -- durations ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('text', ['1h', '5m', '1h30m', '1mo2w', '1y', '90s', '100ms', '1us', '1\u00b5s', '10ns', '0s',
                                  '1d12h', '2w3d4h5m6s7ms8us9ns'])
def test_flux_duration_literals_are_accepted(text):
    assert validate_flux_duration(f' {text} ', 'every') == text


@pytest.mark.parametrize('value, words', [
    ('30m1h', "every='30m1h': Flux wants larger units first and each unit once"),
    ('1h1h', "every='1h1h': Flux wants larger units first"),
    ('01h', "every='01h': write 1h without the leading zero"),
    ('60', "every='60' is not a Flux duration literal"),
    ('60', 'A number needs a unit: 60s for seconds'),
    ('-5m', 'A negative duration is not allowed here'),
    ('1.5h', "every='1.5h' is not a Flux duration literal"),
    ('1 h', "every='1 h' is not a Flux duration literal"),
    ('1H', "every='1H' is not a Flux duration literal"),
    ('hourly', "every='hourly' is not a Flux duration literal"),
    ('', 'every is empty'),
    (3600, 'every=3600 is not a Flux duration literal'),
    (True, 'every=True is not a Flux duration literal'),
])
def test_bad_durations_name_the_option_and_the_value(value, words):
    with pytest.raises(FluxError) as raised:
        validate_flux_duration(value, 'every')
    assert words in str(raised.value)


def test_zero_durations_are_recognised():
    assert duration_is_zero('0s') and duration_is_zero('0m0s')
    assert not duration_is_zero('0m1ns')


# -- the option task statement -----------------------------------------------------------------------------------

def test_the_option_statement_is_written_in_a_fixed_order():
    assert task_option_line('ds', every='1h', offset='5m') == 'option task = {name: "ds", every: 1h, offset: 5m}'
    assert task_option_line('ds "x"', cron='5 * * * *') == 'option task = {name: "ds \\"x\\"", cron: "5 * * * *"}'


def test_a_task_script_is_the_statement_a_blank_line_and_the_body():
    assert task_script('\nfrom(bucket: "a")\n  |> to(bucket: "b")\n\n', 'ds', every='1h') == (
        'option task = {name: "ds", every: 1h}\n\nfrom(bucket: "a")\n  |> to(bucket: "b")\n')


def test_the_options_are_read_back():
    assert task_options(DOWNSAMPLE) == {'name': 'machine_events_1h', 'every': '1h', 'offset': '5m'}
    assert task_options(task_option_line('a "b" ${c}', cron='0 * * * *')) == {
        'name': 'a "b" ${c}', 'cron': '0 * * * *'}


def test_a_multi_line_record_with_comments_and_a_trailing_comma_is_read():
    script = ('// hourly\noption task = {\n    name: "ds", // the name\n    every: 1h30m,\n'
              '    concurrency: 2,\n    retry: 0,\n}\nfrom(bucket: "a")')
    options, rest = split_task_options(script)
    assert options == {'name': 'ds', 'every': '1h30m', 'concurrency': '2', 'retry': '0'}
    assert rest == '// hourly\n\nfrom(bucket: "a")'


def test_a_script_without_the_statement_has_no_options():
    assert task_options('from(bucket: "a") |> range(start: -1h)') == {}
    assert split_task_options('x = 1') == (None, 'x = 1')
    assert task_options('// option task = {name: "commented", every: 1h}\nx = 1') == {}
    assert task_options('s = "option task = {name: \\"quoted\\"}"') == {}


def test_the_rest_keeps_everything_but_the_statement():
    options, rest = split_task_options(DOWNSAMPLE)
    assert options['name'] == 'machine_events_1h'
    assert normalize_flux(rest) == normalize_flux(DOWNSAMPLE.split('\n', 1)[1])


@pytest.mark.parametrize('script, words', [
    ('option task = {name: "a", every: 1h}\noption task = {name: "b", every: 1h}', 'holds 2 `option task`'),
    ('option task = {name: "a", every: 1h', 'is not closed with }'),
    ('option task = {name "a"}', 'cannot read `name "a"`'),
])
def test_unreadable_option_statements_name_the_option(script, words):
    with pytest.raises(FluxError) as raised:
        split_task_options(script, option='influxdb_tasks[0].flux')
    assert str(raised.value).startswith('influxdb_tasks[0].flux')
    assert words in str(raised.value)


# -- buckets -----------------------------------------------------------------------------------------------------

def test_buckets_of_from_and_to_are_listed_sorted_and_once():
    script = DOWNSAMPLE + 'from(bucket: "machine_events") |> experimental.to(org: "ming", bucket: "audit")\n'
    assert flux_buckets(script) == ['audit', 'machine_events', 'machine_events_1h']


def test_buckets_over_several_lines_and_after_other_arguments():
    script = ('to(\n  org: "ming", // the plant\n  bucket: // downsampled\n    "out",\n'
              '  fieldFn: (r) => ({r with v: "x"}),\n)')
    assert flux_buckets(script) == ['out']
    assert flux_buckets('influxdb.wideTo(bucket: "wide")') == ['wide']


def test_calls_in_comments_and_strings_and_other_functions_do_not_count():
    script = ('// to(bucket: "old")\nx = "from(bucket: \\"quoted\\")"\nbuckets() |> filter(fn: (r) => r.name == "b")\n'
              'from(bucketID: "0a1b") |> myto(bucket: "not_a_call_of_to")\nfrom(bucket: "real")')
    assert flux_buckets(script) == ['real']


def test_a_bucket_given_by_an_expression_is_unresolved():
    script = 'from(bucket: src) |> to(bucket: "${prefix}_1h") |> to(bucket: "ok")'
    assert bucket_references(script) == (['ok'], ['src', '"${prefix}_1h"'])
    with pytest.raises(FluxError) as raised:
        flux_buckets(script, option='influxdb_tasks[1].flux')
    message = str(raised.value)
    assert message.startswith('influxdb_tasks[1].flux gives a bucket as bucket: src, bucket: "${prefix}_1h"')
    assert 'allow_dynamic' in message
    assert flux_buckets(script, allow_dynamic=True) == ['ok']


def test_no_script_names_no_bucket():
    assert flux_buckets('') == []
    assert flux_buckets(None) == []
