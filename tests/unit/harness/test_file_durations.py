"""The pytest stage's file order (tests/file_durations.py): the longest files first, each file kept together."""

import json

import file_durations


class Item:
    def __init__(self, nodeid):
        self.nodeid = nodeid


def test_longest_files_first_and_each_file_kept_together_in_its_order():
    """The order the two workers take files in: by the table's seconds, longest first; unknown integration files
    count 30 s, other unknown files 1 s; a file's tests stay together and in their order (module fixtures).

    Mutation tried: sorting shortest first: this test failed; sorting by test name: this test failed."""
    items = [Item(n) for n in (
        "tests/unit/a.py::t1", "tests/unit/a.py::t2",
        "tests/integration/x/test_short.py::t1",
        "tests/integration/x/test_long.py::t2", "tests/integration/x/test_long.py::t1",
        "tests/integration/x/test_new.py::t1",
    )]
    table = {"tests/integration/x/test_long.py": 700.0, "tests/integration/x/test_short.py": 5.0}
    ordered = [item.nodeid for item in file_durations.longest_first(items, table)]
    assert ordered == [
        "tests/integration/x/test_long.py::t2", "tests/integration/x/test_long.py::t1",
        "tests/integration/x/test_new.py::t1",
        "tests/integration/x/test_short.py::t1",
        "tests/unit/a.py::t1", "tests/unit/a.py::t2",
    ]


def test_the_committed_table_names_existing_files_with_positive_seconds():
    """A renamed or deleted test file must leave the table, or its weight would silently go to the default.

    Mutation tried: a table entry for a file that does not exist: this test failed."""
    table = json.loads(file_durations.TABLE.read_text())
    root = file_durations.TABLE.parents[1]
    assert table
    assert [name for name in table if not (root / name).is_file()] == []
    assert all(seconds > 0 for seconds in table.values())
