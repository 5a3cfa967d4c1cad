"""Every variable a role reads is accounted for: each public ``<role>_*`` name its tasks, templates and vars read is
an option of meta/argument_specs.yml, and every other name is one the role defines itself (vars/main.yml, a
``register``, a ``set_fact``, a task's ``vars``, a loop variable), a collection-wide ``ming_*`` variable listed in
docs/variables.md, another role's documented option or output, or one of Ansible's own.

The names read are found by Jinja's own parser (``jinja2.meta.find_undeclared_variables``) over every templated
string of the role's YAML files, every bare condition (``when``, ``that``, ``changed_when``, ...) and every template
file, so a variable read only in a template or a condition counts as well. Real files and the real parser; no
double.
"""

import re
from pathlib import Path

import jinja2
import jinja2.meta
import pytest
import yaml

# Regular expressions inside Jinja string literals (e.g. '\\s') make Jinja's lexer warn; the parse is unaffected.
pytestmark = pytest.mark.filterwarnings("ignore:invalid escape sequence:DeprecationWarning")

REPO = Path(__file__).resolve().parents[3]
ROLES = REPO / "roles"
ROLE_DIRS = sorted(path for path in ROLES.iterdir() if (path / "meta" / "argument_specs.yml").exists())

# Keys whose value is a bare Jinja expression (no braces), as Ansible evaluates them.
CONDITION_KEYS = {"when", "that", "changed_when", "failed_when", "until"}
# Names Ansible itself provides (magic variables, facts namespace, lookups in expressions).
ANSIBLE_NAMES = {
    "ansible_check_mode", "ansible_diff_mode", "ansible_facts", "ansible_host", "ansible_play_hosts",
    "ansible_play_batch", "ansible_playbook_python", "ansible_managed", "ansible_loop", "ansible_parent_role_names",
    "ansible_role_name", "ansible_run_tags", "ansible_version", "ansible_connection", "ansible_user",
    "group_names", "groups", "hostvars", "inventory_dir", "inventory_hostname", "inventory_hostname_short",
    "item", "lookup", "omit", "play_hosts", "playbook_dir", "query", "q", "role_path", "now", "undef",
}


class AnyName(dict):
    """Filters and tests for parsing only: Jinja's code generator checks that each named filter and test exists,
    and the names read do not depend on what they do, so every name exists here."""

    def __contains__(self, name):
        return True

    def __missing__(self, name):
        return lambda *args, **kwargs: None

    def get(self, name, default=None):
        return self[name]


def jinja_environment():
    environment = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
    environment.filters = AnyName(environment.filters)
    environment.tests = AnyName(environment.tests)
    return environment


ENV = jinja_environment()


def names_in_template(text):
    return set(jinja2.meta.find_undeclared_variables(ENV.parse(text)))


def names_in_expression(expression):
    return names_in_template("{{ " + str(expression) + " }}")


class RoleReads:
    """What a role's files read and what they define for themselves."""

    def __init__(self, role):
        self.role = role
        self.read = {}       # name -> first file that reads it
        self.defined = set()
        self.refused = set()
        for path in sorted((role / "vars").glob("*.yml")) + sorted((role / "defaults").glob("*.yml")):
            document = yaml.safe_load(path.read_text()) or {}
            self.defined.update(document)
            self.walk(document, path)
        for path in sorted((role / "tasks").glob("*.yml")):
            self.walk(yaml.safe_load(path.read_text()) or [], path)
        for path in sorted((role / "templates").glob("*")):
            self.note(names_in_template(path.read_text()), path)

    def note(self, names, path):
        where = path.relative_to(self.role.parent).as_posix()
        for name in names:
            self.read.setdefault(name, where)

    def walk(self, node, path):
        if isinstance(node, dict):
            self.collect_definitions(node)
            for key, value in node.items():
                if key in CONDITION_KEYS:
                    for expression in value if isinstance(value, list) else [value]:
                        refused = re.fullmatch(r"\s*([a-z_][a-z0-9_]*) is not defined\s*", str(expression))
                        if refused and key == "that":
                            self.refused.add(refused.group(1))  # a retired name the role refuses, not a read
                        elif isinstance(expression, str):
                            self.note(names_in_expression(expression), path)
                        elif isinstance(expression, bool):
                            continue
                        else:
                            raise AssertionError(f"{path}: {key} is no expression nor boolean: {expression!r}")
                else:
                    self.walk(value, path)
        elif isinstance(node, list):
            for value in node:
                self.walk(value, path)
        elif isinstance(node, str) and ("{{" in node or "{%" in node):
            self.note(names_in_template(node), path)

    def collect_definitions(self, task):
        if isinstance(task.get("register"), str):
            self.defined.add(task["register"])
        for key in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(key), dict):
                self.defined.update(name for name in task[key] if name != "cacheable")
        if isinstance(task.get("vars"), dict):
            self.defined.update(task["vars"])
        loop_control = task.get("loop_control")
        if isinstance(loop_control, dict):
            self.defined.update(loop_control[key] for key in ("loop_var", "index_var")
                                if isinstance(loop_control.get(key), str))


def options_of(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {name for entry in specs.values() for name in entry.get("options", {})}


def all_role_options():
    return {role.name: options_of(role) for role in ROLE_DIRS}


def documented_ming_variables():
    """The collection-wide variables docs/variables.md documents (each in a table row: | `ming_x` | ...)."""
    text = (REPO / "docs" / "variables.md").read_text()
    return set(re.findall(r"^\|\s*`(ming_[a-z0-9_]+)`", text, flags=re.MULTILINE))


# What one role may read of another: the options it passes (include_role vars are checked against that role's spec
# by Ansible itself) and the outputs a role documents for its callers.
ROLE_OUTPUTS = {"compose_project": {"compose_project_services", "compose_project_certificates",
                                    "compose_project_render_only", "compose_project_render_only_reason"}}


def allowed_from_other_roles(role):
    names = set()
    for other, options in all_role_options().items():
        if other != role.name:
            names |= options
            names |= ROLE_OUTPUTS.get(other, set())
    names |= ROLE_OUTPUTS.get(role.name, set())
    return names


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_every_public_variable_the_role_reads_is_an_argument_spec_option(role):
    reads = RoleReads(role)
    options = options_of(role)
    prefix = role.name + "_"
    undocumented = sorted(f"{name} (read in {where})" for name, where in reads.read.items()
                          if name.startswith(prefix) and name not in options and name not in reads.defined
                          and name not in ROLE_OUTPUTS.get(role.name, set()))
    assert undocumented == [], f"{role.name}: document these in meta/argument_specs.yml: {undocumented}"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda path: path.name)
def test_every_other_variable_the_role_reads_is_known(role):
    reads = RoleReads(role)
    known = (options_of(role) | reads.defined | ANSIBLE_NAMES | documented_ming_variables()
             | allowed_from_other_roles(role))
    unknown = sorted(f"{name} (read in {where})" for name, where in reads.read.items()
                     if name not in known and not name.startswith(role.name + "_"))
    assert unknown == [], (f"{role.name} reads variables nobody documents: {unknown}. Collection-wide ones belong "
                           "in docs/variables.md, the role's own in meta/argument_specs.yml with the role prefix.")


def test_the_scan_sees_reads_in_templates_conditions_and_task_arguments(tmp_path):
    """The scanner itself: a read in a template, a bare condition and a task argument is found; a registered name
    and a task var count as defined (so the two tests above cannot pass by seeing nothing)."""
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "templates").mkdir()
    (role / "tasks" / "main.yml").write_text(
        "- name: A\n  ansible.builtin.command: echo {{ demo_argument }}\n  register: demo_result\n"
        "  when: demo_condition | bool and demo_result is defined\n"
        "- name: B\n  ansible.builtin.debug:\n    msg: '{{ local_value }}'\n  vars:\n    local_value: 1\n")
    (role / "templates" / "x.j2").write_text("{% for line in demo_lines %}{{ line }}{% endfor %}\n")
    reads = RoleReads(role)
    assert {"demo_argument", "demo_condition", "demo_lines", "demo_result", "local_value"} <= set(reads.read)
    assert {"demo_result", "local_value"} <= reads.defined
    assert "line" not in reads.read


def test_a_retired_name_the_preflight_refuses_is_not_a_read(tmp_path):
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "tasks" / "preflight.yml").write_text(
        "- name: Refuse the renamed variable\n  ansible.builtin.assert:\n    that:\n      - demo_old is not defined\n"
        "      - demo_new | length > 0\n    fail_msg: demo_old was renamed to demo_new\n")
    reads = RoleReads(role)
    assert reads.refused == {"demo_old"}
    assert "demo_old" not in reads.read and "demo_new" in reads.read
