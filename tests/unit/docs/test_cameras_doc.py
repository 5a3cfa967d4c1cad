"""docs/cameras.md against the code it describes, so the page cannot drift:

- the profile table (between the profile-table markers) is generated from profiles/sensingcam/sec100-fw2.yml: one
  row per entry that carries a `level:` (profile format 2), with its profile key, device name or value, and level;
- the page's table of evidence levels names exactly the levels the profile loader accepts;
- every camera module has a section on the page, and every option a ```yaml example passes to a camera module
  exists in that module's documentation (or the connection doc fragment).

After correcting the profile, rewrite the generated table with:

    .venv/bin/python tests/unit/docs/test_cameras_doc.py --write
"""

import ast
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
PROFILE = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"
PAGE = REPO / "docs" / "cameras.md"
MODULES = REPO / "plugins" / "modules"
FRAGMENT = REPO / "plugins" / "doc_fragments" / "sensingcam.py"
PROFILE_CODE = REPO / "plugins" / "module_utils" / "sensingcam_profile.py"
START, END = "<!-- profile-table:start -->", "<!-- profile-table:end -->"
LEVELS_START, LEVELS_END = "<!-- levels-table:start -->", "<!-- levels-table:end -->"
MODULE_PREFIX = "sensingcam.ming."


def shown(value):
    """A profile value as YAML flow text (null, false, [4, 10], {0: ok}); `|` escaped for the Markdown table."""
    text = yaml.safe_dump(value, default_flow_style=True, width=10000).strip()
    if text.endswith("\n..."):
        text = text[:-4].strip()
    return text.replace("|", "\\|")


def describe(node):
    """What a `level:` entry names: the device name of a variable or method (with its argument), a known issue's
    version bound and summary, or the value of a setting."""
    if isinstance(node.get("name"), str):
        text = node["name"]
    elif "summary" in node:
        bounds = ", ".join(f"{bound} {node[bound]}" for bound in ("from", "below") if node.get(bound) is not None)
        text = f"{bounds}: {node['summary']}" if bounds else str(node["summary"])
    else:
        text = shown(node.get("value"))
    if node.get("argument"):
        text += f" (argument {node['argument']})"
    return text.replace("|", "\\|")


def rows(node, prefix=""):
    """(profile key, device name or value, level) for every entry that carries a `level:`, in file order; list
    items (known issues) are keyed `<list>[<index>]`."""
    if isinstance(node, dict):
        if "level" in node and prefix:
            yield prefix, describe(node), node["level"]
        for key, child in node.items():
            yield from rows(child, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            yield from rows(child, f"{prefix}[{index}]")


def profile_rows():
    return list(rows(yaml.safe_load(PROFILE.read_text())))


def table():
    lines = ["| Profile key | Device name or value | Level |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | `{name}` | {level} |" for key, name, level in profile_rows()]
    return "\n".join(lines)


def block(start, end):
    text = PAGE.read_text()
    match = re.search(re.escape(start) + r"\n(.*?)\n" + re.escape(end), text, re.S)
    assert match, f"{PAGE} lacks the {start} ... {end} block"
    return match.group(1)


def loader_levels():
    """LEVELS of plugins/module_utils/sensingcam_profile.py, read from its source (no Ansible import needed)."""
    for statement in ast.parse(PROFILE_CODE.read_text()).body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", None) == "LEVELS" for t in statement.targets):
            return tuple(ast.literal_eval(statement.value))
    raise AssertionError(f"{PROFILE_CODE} defines no LEVELS")


def module_doc(path):
    """The DOCUMENTATION of a module file, parsed."""
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.Assign) and any(getattr(t, "id", None) == "DOCUMENTATION"
                                                     for t in statement.targets):
            return yaml.safe_load(ast.literal_eval(statement.value))
    raise AssertionError(f"{path} has no DOCUMENTATION")


def fragment_options():
    """Options of every part of the sensingcam doc fragment (connection options, secret_state_dir)."""
    options = set()
    for statement in ast.walk(ast.parse(FRAGMENT.read_text())):
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            options.update((yaml.safe_load(statement.value.value) or {}).get("options") or {})
    return options


def camera_modules():
    return sorted(path.stem for path in MODULES.glob("sensingcam_*.py"))


def yaml_examples():
    return re.findall(r"```yaml\n(.*?)```", PAGE.read_text(), re.S)


def module_calls(node):
    """(module name, its options) of every task in a parsed YAML example, at any depth (plays, blocks)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and key.startswith(MODULE_PREFIX + "sensingcam_") and isinstance(value, dict):
                yield key[len(MODULE_PREFIX):], value
            else:
                yield from module_calls(value)
    elif isinstance(node, list):
        for item in node:
            yield from module_calls(item)


def test_profile_table_in_docs_matches_the_profile():
    assert block(START, END) == table(), "docs/cameras.md is out of date: run this file with --write"


def test_the_table_has_a_row_for_every_level_entry_of_the_profile():
    """Counts `level:` in the profile text itself, so a walker that skips a kind of entry cannot pass."""
    written = [line for line in PROFILE.read_text().splitlines()
               if not line.lstrip().startswith("#") for _match in re.findall(r"\blevel:", line)]
    assert len(profile_rows()) == len(written) > 0


def test_every_profile_level_is_one_the_loader_accepts():
    assert {level for _key, _name, level in profile_rows()} <= set(loader_levels())
    assert set(loader_levels()) == {"verified", "observed", "family", "assumed", "probed"}


def test_the_page_explains_exactly_the_levels_the_loader_accepts():
    explained = re.findall(r"^\| `(\w+)` \|", block(LEVELS_START, LEVELS_END), re.M)
    assert explained == list(loader_levels()), "docs/cameras.md's level table and LEVELS differ"


def test_every_camera_module_has_a_section():
    headings = set(re.findall(r"^### `(sensingcam_\w+)`", PAGE.read_text(), re.M))
    assert headings == set(camera_modules())


def test_examples_are_yaml_and_pass_only_documented_options():
    examples = yaml_examples()
    assert examples, "docs/cameras.md has no ```yaml examples"
    common = fragment_options()
    called = set()
    for text in examples:
        for module, options in module_calls(yaml.safe_load(text)):
            assert module in camera_modules(), f"docs/cameras.md calls {module}, which does not exist"
            documented = set(module_doc(MODULES / f"{module}.py").get("options") or {}) | common
            unknown = set(options) - documented
            assert not unknown, f"docs/cameras.md passes {sorted(unknown)} to {module}, which has no such option"
            called.add(module)
    missing = set(camera_modules()) - called
    assert not missing, f"docs/cameras.md has no example task for {sorted(missing)}"


if __name__ == "__main__" and "--write" in sys.argv:
    text = PAGE.read_text()
    PAGE.write_text(text.replace(block(START, END), table(), 1))
    print(f"rewrote the profile table in {PAGE}")
