"""The stream proxy's nginx.conf (roles/frigate/templates/stream_proxy.conf.j2) and the variables of
roles/frigate/tasks/stream_proxy.yml, rendered by Ansible's own templating engine in-process: which requests the
configuration lets through to go2rtc, how, and with which TLS settings. The real nginx runs the same file in
tests/integration/frigate/test_stream_proxy.py; here each rule is pinned in milliseconds.

Mutations tried (each made the named test fail, then was restored):
- template: the map entry "~^src=<stream>$" without the trailing $ (a second parameter after src) ->
  test_only_the_known_streams_map_to_a_name.
- template: the map without the ^ anchor -> test_only_the_known_streams_map_to_a_name.
- template: proxy_pass ...?$args (the client's query string upstream) ->
  test_each_endpoint_is_proxied_to_go2rtc_with_the_mapped_name_only.
- template: ``location /api/`` prefix proxied to go2rtc -> test_only_the_two_endpoints_are_locations.
- template: the method check removed -> test_each_endpoint_refuses_other_methods_and_unknown_streams.
- template: proxy_buffering on -> test_each_endpoint_is_proxied_to_go2rtc_with_the_mapped_name_only.
- template: proxy_pass_request_headers on -> test_each_endpoint_is_proxied_to_go2rtc_with_the_mapped_name_only.
- template: ssl_protocols with TLSv1.1 -> test_tls_1_2_or_newer_only_and_no_plain_listener.
- template: server_tokens on -> test_headers_are_hardened_and_cors_stays_closed.
- template: add_header Access-Control-Allow-Origin * -> test_headers_are_hardened_and_cors_stays_closed.
- template: limit_conn with a literal 16 -> test_per_client_connection_limit_is_the_variable.
- tasks: the stream list without the _dashboard suffix (the record streams) ->
  test_streams_are_the_dashboard_streams_of_the_cameras_frigate_restreams.
- tasks: the name check's pattern widened to '.*' -> test_a_stream_name_outside_the_safe_characters_fails_the_check.
"""

import re
from pathlib import Path

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
TEMPLATE = REPO / "roles" / "frigate" / "templates" / "stream_proxy.conf.j2"
TASKS = REPO / "roles" / "frigate" / "tasks" / "stream_proxy.yml"
PREFLIGHT = REPO / "roles" / "frigate" / "tasks" / "stream_proxy_preflight.yml"
ROLE_VARS = REPO / "roles" / "frigate" / "vars" / "main.yml"

STREAMS = ["cam-line1-st10_dashboard", "cam-line2-st20_dashboard"]
UPSTREAM = "ming-frigate:1984"


def render(**overrides):
    variables = {
        "ansible_managed": "Ansible managed (test)",
        "frigate_stream_proxy_image": "ming/stream-proxy:lab",
        "frigate_stream_proxy_worker_connections": 512,
        "frigate_stream_proxy_resolver": "127.0.0.11",
        "frigate_stream_proxy_max_connections": 7,
        "__frigate_stream_proxy_streams": STREAMS,
        "__frigate_stream_proxy_upstream": UPSTREAM,
    }
    variables.update(overrides)
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(TEMPLATE.read_text()))


def directives(text):
    """Directive lines without comments, whitespace-normalised."""
    lines = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip() if not line.strip().startswith('"~') else line.strip()
        if line:
            lines.append(re.sub(r"\s+", " ", line))
    return lines


def block(text, opening):
    """The lines of the block that starts with the line ``opening`` (up to its closing brace)."""
    lines = directives(text)
    start = lines.index(opening)
    depth, body = 0, []
    for line in lines[start:]:
        depth += line.count("{") - line.count("}")
        body.append(line)
        if depth == 0:
            return body
    raise AssertionError(f"{opening} is not closed")


def stream_proxy_vars():
    tasks = yaml.safe_load(TASKS.read_text())
    return next(task for task in tasks if task.get("name") == "Stream proxy")["vars"]


def evaluate(expression_name, variables):
    """Evaluate one of the block's or the role's vars, as Ansible would, with ``variables`` and the other vars."""
    block_vars = dict(yaml.safe_load(ROLE_VARS.read_text()), **stream_proxy_vars())
    context = {name: trust_as_template(value) if isinstance(value, str) else value
               for name, value in block_vars.items()}
    context.update(variables)
    return Templar(loader=DataLoader(), variables=context).template(trust_as_template(block_vars[expression_name]))


def test_only_the_known_streams_map_to_a_name():
    text = render()
    body = block(text, "map $args $stream_proxy_src {")
    assert body[1] == 'default "";'
    assert body[2:-1] == [f'"~^src={stream}$" {stream};' for stream in STREAMS]
    patterns = [re.compile(line.split('"')[1][1:]) for line in body[2:-1]]
    for query in ("src=cam-line1-st10_dashboard&src=other", "src=cam-line1-st10_dashboard&width=4000",
                  "x=1&src=cam-line1-st10_dashboard", "src=CAM-LINE1-ST10_DASHBOARD", "src=cam-line1-st10",
                  "src=rtsp://cam/x", "src=cam-line1-st10_dashboardx"):
        assert not any(pattern.search(query) for pattern in patterns), query
    assert any(pattern.search("src=cam-line2-st20_dashboard") for pattern in patterns)


def test_no_stream_at_all_refuses_everything():
    body = block(render(__frigate_stream_proxy_streams=[]), "map $args $stream_proxy_src {")
    assert body == ["map $args $stream_proxy_src {", 'default "";', "}"]


def test_only_the_two_endpoints_are_locations():
    text = render()
    locations = [line for line in directives(text) if line.startswith("location ")]
    assert locations == ["location = /api/stream.mjpeg {", "location = /api/frame.jpeg {",
                         "location @stream_proxy_upstream_error {", "location / {"]
    assert block(text, "location / {")[1:-1] == ["return 404;"]
    assert block(text, "location @stream_proxy_upstream_error {")[1:-1] == ["return 502;"]
    # Only the two exact locations reach go2rtc.
    assert len([line for line in directives(text) if line.startswith("proxy_pass ")]) == 2


@pytest.mark.parametrize("endpoint", ["stream.mjpeg", "frame.jpeg"])
def test_each_endpoint_refuses_other_methods_and_unknown_streams(endpoint):
    body = block(render(), f"location = /api/{endpoint} {{")
    assert body[1:7] == ["if ($request_method !~ ^(GET|HEAD)$) {", "return 405;", "}",
                         'if ($stream_proxy_src = "") {', "return 404;", "}"]


@pytest.mark.parametrize("endpoint", ["stream.mjpeg", "frame.jpeg"])
def test_each_endpoint_is_proxied_to_go2rtc_with_the_mapped_name_only(endpoint):
    body = block(render(), f"location = /api/{endpoint} {{")
    assert [line for line in body if line.startswith("proxy_pass ")] == [
        f"proxy_pass http://{UPSTREAM}/api/{endpoint}?src=$stream_proxy_src;"]
    for line in ("proxy_buffering off;", "proxy_request_buffering off;", "proxy_pass_request_headers off;",
                 "proxy_pass_request_body off;", 'proxy_set_header Authorization "";', 'proxy_set_header Cookie "";',
                 "proxy_intercept_errors on;", "proxy_hide_header Access-Control-Allow-Origin;",
                 "proxy_hide_header Set-Cookie;"):
        assert line in body, line
    error_page = next(line for line in body if line.startswith("error_page "))
    codes = error_page.split()[1:-2]
    assert error_page.split()[-2:] == ["=502", "@stream_proxy_upstream_error;"]
    # Our own refusals (404, 405) and the connection limit (429) keep their status; go2rtc's errors become 502.
    assert not {"404", "405", "429"} & set(codes)
    assert {"500", "502", "503", "401", "403"} <= set(codes)


def test_tls_1_2_or_newer_only_and_no_plain_listener():
    lines = directives(render())
    assert [line for line in lines if line.startswith("listen ")] == ["listen 8443 ssl default_server;"]
    assert "ssl_protocols TLSv1.2 TLSv1.3;" in lines
    ciphers = next(line for line in lines if line.startswith("ssl_ciphers ")).split()[1].rstrip(";").split(":")
    assert ciphers
    assert all(cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher) for cipher in ciphers)
    assert "ssl_certificate /config/tls/server.crt;" in lines
    assert "ssl_certificate_key /config/tls/server.key;" in lines
    assert "ssl_session_tickets off;" in lines


def test_headers_are_hardened_and_cors_stays_closed():
    lines = directives(render())
    assert "server_tokens off;" in lines
    assert "add_header X-Content-Type-Options nosniff always;" in lines
    assert "add_header Cache-Control no-store always;" in lines
    assert not [line for line in lines if line.startswith("add_header Access-Control-")]
    assert not [line for line in lines if "Cross-Origin-Resource-Policy" in line]


def test_per_client_connection_limit_is_the_variable():
    lines = directives(render(frigate_stream_proxy_max_connections=3))
    assert "limit_conn stream_proxy_per_client 3;" in lines
    assert "limit_conn_zone $binary_remote_addr zone=stream_proxy_per_client:1m;" in lines
    assert "limit_conn_status 429;" in lines


def test_writable_paths_are_all_under_tmp():
    lines = directives(render())
    assert "pid /tmp/nginx.pid;" in lines
    paths = [line.split()[1] for line in lines if line.split()[0].endswith("_temp_path")]
    assert len(paths) == 5 and all(path.startswith("/tmp/") for path in paths)


def test_streams_are_the_dashboard_streams_of_the_cameras_frigate_restreams():
    variables = {"__frigate_rtsp_camera_hosts": ["cam-line1-st10", "cam-line2-st20"],
                 "frigate_stream_proxy_streams": []}
    assert evaluate("__frigate_stream_proxy_streams", variables) == STREAMS
    variables["frigate_stream_proxy_streams"] = ["yard_dashboard"]
    assert evaluate("__frigate_stream_proxy_streams", variables) == ["yard_dashboard"]


def test_a_stream_name_outside_the_safe_characters_fails_the_check():
    tasks = yaml.safe_load(PREFLIGHT.read_text())
    check = next(task for task in tasks if task["name"] == "Check the stream names the proxy admits")
    condition = check["ansible.builtin.assert"]["that"][0]
    templar = Templar(loader=DataLoader(), variables={})
    for streams, expected in ((STREAMS, True), (["cam.line1_dashboard"], False), (['x";return 200;#'], False),
                              (["cam line_dashboard"], False)):
        templar.available_variables = {"__frigate_stream_proxy_streams": streams}
        assert templar.evaluate_expression(trust_as_template(condition)) is expected, streams


def test_validation_runs_nginx_t_of_the_image_without_network_or_capabilities():
    command = " ".join(stream_proxy_vars()["__frigate_stream_proxy_validate_command"].split())
    assert command.startswith("docker run --rm --network none --cap-drop ALL --cap-add DAC_READ_SEARCH --cap-add CHOWN "
                              "--security-opt no-new-privileges:true --read-only ")
    assert "--volume %s:/config/nginx.conf:ro" in command
    assert command.endswith("{{ frigate_stream_proxy_image }} /usr/sbin/nginx -t -q -e stderr -c /config/nginx.conf")
