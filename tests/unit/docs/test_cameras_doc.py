"""docs/cameras.md carries a table of every name in the device profile with its verified/assumed status. This test
regenerates that table from profiles/sensingcam/sec100-fw2.yml and fails when the page differs, so the page cannot
drift from the profile. After correcting the profile, rewrite the table with:

    .venv/bin/python tests/unit/docs/test_cameras_doc.py --write
"""

import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
PROFILE = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"
PAGE = REPO / "docs" / "cameras.md"
START, END = "<!-- profile-table:start -->", "<!-- profile-table:end -->"


def rows(node, prefix=""):
    """(profile key, device name or value, status) for every entry that carries a status, in file order."""
    if not isinstance(node, dict):
        return
    if "status" in node:
        if "name" in node:
            shown = node["name"]
        elif "path" in node:
            shown = f"{node['path']} (auth name {node.get('auth_name')})"
        else:
            value = node.get("value")
            shown = ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value
        yield prefix, str(shown), node["status"]
    for key, child in node.items():
        if isinstance(child, dict):
            yield from rows(child, f"{prefix}.{key}" if prefix else str(key))


def table():
    profile = yaml.safe_load(PROFILE.read_text())
    lines = ["| Profile key | Name or value | Status |", "| --- | --- | --- |"]
    lines += [f"| `{key}` | `{shown}` | {status} |" for key, shown, status in rows(profile)]
    return "\n".join(lines)


def page_table():
    text = PAGE.read_text()
    match = re.search(re.escape(START) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    assert match, f"{PAGE} lacks the {START} ... {END} block"
    return match.group(1)


def test_profile_table_in_docs_matches_the_profile():
    assert page_table() == table(), "docs/cameras.md is out of date: run this file with --write"


def test_every_profile_status_is_verified_or_assumed():
    assert {row[-1] for row in rows(yaml.safe_load(PROFILE.read_text()))} <= {"verified", "assumed"}


if __name__ == "__main__" and "--write" in sys.argv:
    text = PAGE.read_text()
    PAGE.write_text(text.replace(page_table(), table(), 1))
    print(f"rewrote the profile table in {PAGE}")
