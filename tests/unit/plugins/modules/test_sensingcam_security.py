"""sensingcam_security against the in-process fake camera (a test double, not a real SEC100, not the camera
simulator).

Real: the module's main() and the collection's module_utils with the shipped device profile. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py).
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_security


@pytest.fixture
def network(monkeypatch):
    return install_network(monkeypatch)


@pytest.fixture
def camera(network):
    return network.add("cam1")


def run(run_module, check=False, diff=False, **options):
    return run_module(sensingcam_security.main, module_args(**options), check_mode=check, diff=diff)


def plain_http_warnings(result):
    return [warning for warning in result["warnings"] if 'signs only "POST:<name>"' in warning]


def test_without_options_the_authentication_free_api_is_switched_off(run_module, camera):
    """check -> apply -> idempotent: a camera with the unauthenticated endpoints open gets them closed."""
    camera.variables["SetAuthenticationFreeApiEnabled"] = 1
    failed, checked = run(run_module, check=True, diff=True)
    assert not failed and checked["changed"] and camera.writes() == []
    assert checked["diff"] == {"before": {"authentication_free_api": True}, "after": {"authentication_free_api": False}}
    failed, applied = run(run_module)
    assert not failed and applied["changed"] and camera.writes() == [("SetAuthenticationFreeApiEnabled", 0)]
    failed, again = run(run_module)
    assert not failed and not again["changed"] and len(camera.writes()) == 1


def test_turning_it_on_takes_an_explicit_true_and_rtsp_authentication_changes(run_module, camera):
    failed, result = run(run_module, authentication_free_api=True, rtsp_authentication=False)
    assert not failed and result["changed"]
    assert sorted(camera.writes()) == [("RtspAuthenticationEnabled", 0), ("SetAuthenticationFreeApiEnabled", 1)]
    failed, result = run(run_module, authentication_free_api=True, rtsp_authentication=True)
    assert not failed and result["changed_settings"] == ["rtsp_authentication"]


def test_plain_http_is_reported_and_warned_once(run_module, camera):
    failed, result = run(run_module, rtsp_authentication=False)
    assert not failed
    assert result["transport"] == {"https": False, "certificate_validated": False, "login_signs_body": False,
                                   "login_signs": "POST:<name>"}
    assert len(plain_http_warnings(result)) == 1, "one warning per run, not one per write"
    assert "not the request body" in plain_http_warnings(result)[0]


def test_https_with_a_checked_certificate_gives_no_warning(run_module, network):
    network.add("cam1", port=443)
    failed, result = run(run_module, use_tls=True)
    assert not failed and result["transport"]["https"] is True and result["transport"]["certificate_validated"]
    assert result["warnings"] == []


def test_https_without_certificate_check_warns_about_that(run_module, network):
    network.add("cam1", port=443)
    failed, result = run(run_module, use_tls=True, validate_certs=False)
    assert not failed and result["transport"]["certificate_validated"] is False
    assert plain_http_warnings(result) == []
    assert len(result["warnings"]) == 1 and "validate_certs: false" in result["warnings"][0]


def test_a_non_boolean_is_refused_before_any_request(run_module, camera):
    failed, result = run(run_module, authentication_free_api="sometimes")
    assert failed and "authentication_free_api" in result["msg"]
    assert camera.requests == []


def test_warn_plain_http_false_keeps_the_report_but_not_the_warning(run_module, camera):
    """The role warns once per run: only the first plain-HTTP camera of a play gets warn_plain_http true."""
    failed, result = run(run_module, warn_plain_http=False)
    assert not failed and result["warnings"] == [] and result["transport"]["https"] is False
