"""The grafana_role_mapping filter (plugins/filter/grafana_role_mapping.py): the real ``jmespath`` library compiles
the expression and evaluates it on each sample, as the grafana role's preflight uses it. Pure Python, no double.

Mutations tried (each made a test here fail, then was undone):
- the compile error returned as a problem removed (the exception let through)
  -> test_an_invalid_expression_is_one_problem
- ``role != expect`` not compared (any valid role accepted) -> test_a_sample_with_another_role_is_a_problem
- GrafanaAdmin always valid (``allow_grafana_admin`` ignored) -> test_grafana_admin_counts_only_when_allowed
- a ``deny`` sample not checked -> test_a_deny_sample_must_get_no_valid_role
- the empty-samples problem removed -> test_no_sample_is_a_problem
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter import grafana_role_mapping as module
from ansible_collections.sensingcam.ming.plugins.filter.grafana_role_mapping import FilterModule, grafana_role_mapping

PATH = ("contains(groups[*], 'grafana-admins') && 'Admin' || contains(groups[*], 'line-engineers') && 'Editor'"
        " || 'Viewer'")
SAMPLES = [
    {"claims": {"sub": "a1", "groups": ["grafana-admins"]}, "expect": "Admin"},
    {"claims": {"sub": "e1", "groups": ["line-engineers", "staff"]}, "expect": "Editor"},
    {"claims": {"sub": "v1", "groups": ["staff"]}, "expect": "Viewer"},
]


def test_the_filter_is_registered():
    assert FilterModule().filters() == {"grafana_role_mapping": grafana_role_mapping}


def test_a_mapping_that_gives_each_expected_role_has_no_problem():
    assert grafana_role_mapping(PATH, SAMPLES) == []


def test_an_invalid_expression_is_one_problem():
    problems = grafana_role_mapping("contains(groups[*], 'admins' && 'Admin'", SAMPLES)
    assert len(problems) == 1
    assert problems[0].startswith("grafana_oidc.role_attribute_path is not valid JMESPath (")


def test_the_problem_names_the_variable_given():
    problems = grafana_role_mapping("groups[", SAMPLES, False, "my_var")
    assert problems[0].startswith("my_var is not valid JMESPath")


def test_an_empty_expression_is_a_problem():
    assert "is empty" in grafana_role_mapping("  ", SAMPLES)[0]


def test_a_sample_with_another_role_is_a_problem():
    problems = grafana_role_mapping(PATH, [{"claims": {"groups": ["staff"]}, "expect": "Editor"}])
    assert problems == ["grafana_oidc.role_samples[0]: grafana_oidc.role_attribute_path gives Viewer, but the sample "
                        "expects Editor"]


def test_a_result_that_is_no_role_is_a_problem():
    problems = grafana_role_mapping("groups[0]", [{"claims": {"groups": ["staff"]}, "expect": "Viewer"}])
    assert len(problems) == 1 and "gives 'staff', which is no valid role" in problems[0]
    # null (a missing claim) too: role_attribute_strict denies that login
    problems = grafana_role_mapping("role", [{"claims": {}, "expect": "Viewer"}])
    assert "gives None, which is no valid role" in problems[0]


def test_grafana_admin_counts_only_when_allowed():
    expression = "contains(groups[*], 'root') && 'GrafanaAdmin' || 'Viewer'"
    sample = [{"claims": {"groups": ["root"]}, "expect": "GrafanaAdmin"}]
    assert grafana_role_mapping(expression, sample, True) == []
    problems = grafana_role_mapping(expression, sample, False)
    assert len(problems) == 1 and "allow_assign_grafana_admin" in problems[0]


def test_a_deny_sample_must_get_no_valid_role():
    expression = "contains(groups[*], 'staff') && 'Viewer' || 'nobody'"
    assert grafana_role_mapping(expression, [{"claims": {"groups": ["guest"]}, "expect": "deny"}]) == []
    problems = grafana_role_mapping(expression, [{"claims": {"groups": ["staff"]}, "expect": "deny"}])
    assert problems == ["grafana_oidc.role_samples[0]: grafana_oidc.role_attribute_path gives 'Viewer', but the "
                        "sample expects the login to be denied"]


def test_no_sample_is_a_problem():
    problems = grafana_role_mapping(PATH, [])
    assert len(problems) == 1 and problems[0].startswith("grafana_oidc.role_samples is empty")


@pytest.mark.parametrize("sample, words", [
    ({"expect": "Viewer"}, "needs claims"),
    ({"claims": {"groups": []}}, "has no expect"),
    ({"claims": {"groups": []}, "expect": "Superuser"}, "no role Grafana assigns"),
    ("text", "needs claims"),
])
def test_a_malformed_sample_is_a_problem_naming_it(sample, words):
    problems = grafana_role_mapping(PATH, [SAMPLES[0], sample])
    assert len(problems) == 1 and problems[0].startswith("grafana_oidc.role_samples[1]") and words in problems[0]


def test_samples_that_are_no_list_are_a_problem():
    assert "must be a list" in grafana_role_mapping(PATH, {"claims": {}})[0]


def test_a_missing_jmespath_fails_with_the_install_hint(monkeypatch):
    monkeypatch.setattr(module, "HAS_JMESPATH", False)
    with pytest.raises(AnsibleFilterError) as raised:
        grafana_role_mapping(PATH, SAMPLES)
    assert "jmespath==1.0.1" in str(raised.value)
