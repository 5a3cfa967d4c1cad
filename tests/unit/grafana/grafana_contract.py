"""What the Grafana tests share: the data layer as the influxdb role exports it, sample cameras, and readers that
take the names a query uses out of its Flux or InfluxQL text.

``role_schema()`` renders ``__influxdb_schema`` of roles/influxdb/vars/main.yml with the role's defaults through
Ansible's own templating, so the tests check the dashboards against the schema the role really exports (a field
renamed there makes the dashboard tests fail), not against a copy.

The readers are deliberately small and strict: a query the reader does not understand is a failure, not a pass.
"""

import functools
import json
import re
from pathlib import Path

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

from ansible_collections.sensingcam.ming.plugins.filter.grafana_dashboards import (
    grafana_alert_rules,
    grafana_dashboards,
)

ROLE = Path(__file__).resolve().parents[3] / "roles" / "influxdb"
DATASOURCE_UID = "ming-influxdb-test"
FRIGATE_PUBLIC_URL = "https://nvr.plant.example:8971"
STREAM_PROXY_URL = "https://nvr.plant.example:8443"
CAMERAS = [
    {"name": "cam-line1-st10", "line": "line1", "station": "st10"},
    {"name": "cam-line1-st20", "line": "line1", "station": "st20"},
    {"name": "cam-line2-st10", "line": "line2", "station": "st10"},
]
# The Frigate API paths the pipeline stores (roles/nodered/files/ming_pipeline.js: clip_url, snapshot_url).
FRIGATE_LINK = re.compile(r"^https://nvr\.plant\.example:8971/api/events/([A-Za-z0-9._%-]+)/(clip\.mp4|snapshot\.jpg)$")


@functools.cache
def role_variables():
    loader = DataLoader()
    variables = loader.load_from_file(str(ROLE / "defaults" / "main.yml"), trusted_as_template=True)
    variables.update(loader.load_from_file(str(ROLE / "vars" / "main.yml"), trusted_as_template=True))
    return loader, variables


def role_value(name, **overrides):
    """A variable of the influxdb role, rendered with its defaults (and ``overrides``)."""
    loader, variables = role_variables()
    variables = dict(variables, **overrides)
    return Templar(loader=loader, variables=variables).template(variables[name])


@functools.cache
def _rendered_schema():
    return json.dumps(role_value("__influxdb_schema"))


def role_schema():
    """influxdb_data_layer.schema as the role renders it (a fresh copy each call)."""
    return json.loads(_rendered_schema())


def data_layer(api_version):
    """influxdb_data_layer as the role exports it (the keys the filters read)."""
    return {
        "api_version": api_version, "url": "https://data.plant.example:8086", "ca_file": "",
        "org": "ming" if api_version == 2 else "", "database": "ming", "measurement": "machine_events",
        "buckets": ["machine_events", "machine_events_1h"], "schema": role_schema(),
    }


def dashboards(api_version, cameras=None, **extra):
    return grafana_dashboards(data_layer(api_version), CAMERAS if cameras is None else cameras, DATASOURCE_UID,
                              FRIGATE_PUBLIC_URL, STREAM_PROXY_URL, **extra)


def alert_rules(api_version, settings=None):
    return grafana_alert_rules(data_layer(api_version), DATASOURCE_UID, settings or {})


def all_panels(dashboard):
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def all_queries(api_version):
    """(where, query text) of every dashboard target and every rule's data-source query."""
    found = []
    for name, dashboard in dashboards(api_version).items():
        for panel in all_panels(dashboard):
            for target in panel.get("targets", []):
                found.append((f"{name}: {panel['title']}", target["query"]))
    for group in alert_rules(api_version)["groups"]:
        for rule in group["rules"]:
            for step in rule["data"]:
                if step["datasourceUid"] != "__expr__":
                    found.append((f"rule {rule['uid']}", step["model"]["query"]))
    return found


# --- InfluxQL ---------------------------------------------------------------------------------------------------------
_IQL_TOKEN = re.compile(r"""\s*(?:("(?:[^"\\]|\\.)*")|('(?:[^'\\]|\\.)*')|(\$\w+)|([A-Za-z_][A-Za-z0-9_]*)|"""
                        r"""([0-9]+(?:\.[0-9]+)?[smhd]?)|(!=|>=|<=|[-+*/(),.=<>]))""")
_IQL_WORDS = {"select", "from", "where", "and", "or", "as", "group", "by", "order", "desc", "limit", "fill", "time",
              "now", "count", "sum", "last", "true", "false"}


def influxql_tokens(query):
    tokens, position = [], 0
    while position < len(query.rstrip()):
        match = _IQL_TOKEN.match(query, position)
        if not match or match.end() == position:
            raise AssertionError(f"InfluxQL the reader does not understand at {position}: {query[position:]!r}")
        position = match.end()
        kinds = ("ident", "text", "macro", "word", "number", "punct")
        kind = next(kinds[index] for index in range(6) if match.group(index + 1) is not None)
        value = match.group(kinds.index(kind) + 1)
        if kind == "ident" or kind == "text":
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        tokens.append((kind, value))
    return tokens


def influxql_names(query):
    """{sources: [(db, rp, measurement)], columns, group_by, aliases, words, macros} of an InfluxQL statement."""
    tokens = influxql_tokens(query)
    names = {"sources": [], "columns": set(), "group_by": set(), "aliases": set(), "words": set(), "macros": set(),
             "texts": []}
    index, in_group = 0, False
    while index < len(tokens):
        kind, value = tokens[index]
        if (kind == "ident" and index + 4 < len(tokens) and tokens[index + 1] == ("punct", ".")
                and tokens[index + 3] == ("punct", ".")):
            names["sources"].append((value, tokens[index + 2][1], tokens[index + 4][1]))
            index += 5
            continue
        if kind == "word":
            names["words"].add(value.lower())
            if value.lower() == "group":
                in_group = True
            elif value.lower() in ("where", "order", "limit", "from", "select"):
                in_group = False
            if value.lower() == "as":
                names["aliases"].add(tokens[index + 1][1])
                index += 2
                continue
        elif kind == "punct" and value == ")":
            in_group = False
        elif kind == "ident":
            names["columns"].add(value)
            if in_group:
                names["group_by"].add(value)
        elif kind == "macro":
            names["macros"].add(value)
        elif kind == "text":
            names["texts"].append(value)
        index += 1
    return names


def influxql_problems(query, layer):
    """What an InfluxQL statement names that the data layer's schema does not define (empty: fine)."""
    schema = layer["schema"]
    series = {schema["retention_policy"]: (set(schema["fields"]), set(schema["tags"]))}
    if schema.get("rollup"):
        series[schema["rollup"]["retention_policy"]] = (set(schema["rollup"]["fields"]), set(schema["rollup"]["tags"]))
    names = influxql_names(query)
    problems = []
    if len(names["sources"]) != 1:
        return [f"names {len(names['sources'])} sources, not one database.rp.measurement"]
    database, rp, measurement = names["sources"][0]
    if database != layer["database"]:
        problems.append(f"database {database}")
    if measurement != schema["measurement"]:
        problems.append(f"measurement {measurement}")
    if rp not in series:
        return problems + [f"retention policy {rp}"]
    fields, tags = series[rp]
    for column in sorted(names["columns"] - fields - tags - names["aliases"]):
        problems.append(f"column {column} (neither a field nor a tag of {rp})")
    for column in sorted(names["group_by"] - tags - {"time"}):
        problems.append(f"GROUP BY {column} (not a tag of {rp})")
    for word in sorted(names["words"] - _IQL_WORDS):
        problems.append(f"unquoted word {word}")
    for macro in sorted(names["macros"] - {"$timeFilter", "$__interval"}):
        problems.append(f"macro {macro}")
    if not names["columns"] & fields:
        problems.append("names no field")
    return problems


# --- Flux ----------------------------------------------------------------------------------------------------
_FLUX_BUILTIN_COLUMNS = {"_time", "_value", "_field", "_measurement", "_start", "_stop"}


def flux_names(query):
    names = {
        "buckets": re.findall(r'from\(bucket: "([^"]*)"\)', query),
        "measurements": re.findall(r'r\._measurement == "([^"]*)"', query),
        "fields": set(re.findall(r'r\._field == "([^"]*)"', query)),
        "columns": set(re.findall(r"\br\.([A-Za-z_][A-Za-z0-9_]*)", query)) - {"_field", "_measurement"},
        "pivot": "pivot(" in query,
        "defined": set(),
    }
    names["columns"] |= set(re.findall(r'\br\["([^"]*)"\]', query))
    for listing in re.findall(r"(?:columns|rowKey|columnKey): \[([^\]]*)\]", query):
        names["columns"] |= set(re.findall(r'"([^"]*)"', listing))
    names["columns"] |= set(re.findall(r'\bcolumn: "([^"]*)"', query))
    for record in re.findall(r"identity: \{([^}]*)\}", query):
        names["defined"] |= set(re.findall(r"([A-Za-z_]\w*):", record))
    for record in re.findall(r"\(\{(?:r with )?(.*?)\}\)", query, flags=re.S):
        names["defined"] |= set(re.findall(r"(?<![\w.])([A-Za-z_]\w*):(?!=)", record)) - {"v"}
    if re.search(r"\$\{|\bimport\b|\bto\(|\bhttp\.|\bsql\.|\bexperimental", query):
        names["forbidden"] = True
    return names


def flux_problems(query, layer):
    schema = layer["schema"]
    rollup = schema.get("rollup") or {}
    series = {schema["bucket"]: (set(schema["fields"]), set(schema["tags"]))}
    if rollup:
        series[rollup["bucket"]] = (set(rollup["fields"]), set(rollup["tags"]))
    names = flux_names(query)
    problems = []
    if names.get("forbidden"):
        problems.append("uses interpolation, imports or writes")
    if len(names["buckets"]) != 1:
        return [f"names {len(names['buckets'])} buckets, not one"]
    bucket = names["buckets"][0]
    if bucket not in series:
        return [f"bucket {bucket}"]
    if names["measurements"] != [schema["measurement"]]:
        problems.append(f"measurements {names['measurements']}")
    fields, tags = series[bucket]
    if not names["fields"]:
        problems.append("selects no field")
    for field in sorted(names["fields"] - fields):
        problems.append(f"field {field} (not a field of {bucket})")
    readable = tags | _FLUX_BUILTIN_COLUMNS | names["defined"] | (names["fields"] if names["pivot"] else set())
    for column in sorted(names["columns"] - readable):
        problems.append(f"column {column} (not a tag of {bucket}, a builtin column, a field the query selects "
                        "before its pivot, nor a name the query defines)")
    return problems


def query_problems(query, layer):
    return flux_problems(query, layer) if layer["api_version"] == 2 else influxql_problems(query, layer)
