"""Every role's meta/argument_specs.yml is kept key-for-key with defaults/main.yml, literal defaults agree (the
check prometheus.prometheus runs in its CI) and defaults carry the role prefix. That every variable a role *reads*
is documented (including those with no default) is tested in test_variables_read.py."""

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[3] / "roles"
ROLE_DIRS = sorted(path for path in ROLES.iterdir() if (path / "defaults" / "main.yml").exists())


def load(path):
    return yaml.safe_load(path.read_text()) or {}


def all_options(role):
    """Options of every entry point; an option documented twice must be documented alike."""
    merged = {}
    for entry_point in load(role / "meta" / "argument_specs.yml")["argument_specs"].values():
        for name, spec in entry_point.get("options", {}).items():
            if name in merged and not spec.get("required", False) and not merged[name].get("required", False):
                assert merged[name].get("default") == spec.get("default"), f"{role.name}: {name} defaults differ"
            merged.setdefault(name, spec)
    return merged


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_every_default_is_specified_and_every_option_has_a_default(role):
    defaults = load(role / "defaults" / "main.yml")
    options = all_options(role)
    missing_from_spec = sorted(set(defaults) - set(options))
    missing_from_defaults = sorted(
        name for name, spec in options.items() if name not in defaults and not spec.get("required", False)
    )
    assert missing_from_spec == [], f"{role.name}: document these in meta/argument_specs.yml"
    assert missing_from_defaults == [], f"{role.name}: give these a value in defaults/main.yml or make them required"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_literal_defaults_match_the_spec(role):
    defaults = load(role / "defaults" / "main.yml")
    options = all_options(role)
    for name, value in defaults.items():
        if isinstance(value, str) and "{{" in value:
            continue  # computed from other variables; the spec documents the effective default
        if "default" in options.get(name, {}):
            assert options[name]["default"] == value, f"{role.name}: {name} default differs between spec and defaults"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_variables_carry_the_role_prefix(role):
    for name in load(role / "defaults" / "main.yml"):
        assert name.startswith(role.name + "_"), f"{role.name}: {name} lacks the {role.name}_ prefix"
