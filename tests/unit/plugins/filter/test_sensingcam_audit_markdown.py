"""sensingcam_audit_markdown: the Markdown page of the firmware audit report.

Real code only: the filter with a report dict as sensingcam_audit_report shapes it.

Mutations tried (each fails a test here): the '|' replacement in cells removed; the line-break replacement
removed; the fallback version source left out of the remarks; the known issue's level left out; the check-mode
remark dropped.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_audit_markdown import sensingcam_audit_markdown

REPORT = {
    "generated_at": "2026-12-04T22:00:00Z", "check_mode": True, "profile": "/p/sec100-fw2.yml",
    "minimum_version": "2.6.0", "newest_available": None,
    "summary": {"total": 2, "approved": 1, "below_minimum": 0, "unknown": 0, "unreachable": 1},
    "cameras": [
        {"name": "cam1", "line": "line1", "station": "st10", "ingest": "rtsp", "version": "2.6.2.0R",
         "verdict": "approved", "version_source": "DeviceIdent.Version",
         "version_parts": {"release": "2.6.2.0", "suffix": "R"},
         "known_issues": [{"summary": "RTSP drops", "level": "assumed"}], "notes": [], "error": None,
         "update_available": True},
        {"name": "cam2", "line": None, "station": None, "ingest": None, "version": None, "verdict": "unreachable",
         "version_source": None, "version_parts": None, "known_issues": [], "notes": [],
         "error": "Cannot reach | the camera\nat 10.0.0.2", "update_available": False},
    ],
}


def test_header_and_one_row_per_camera():
    page = sensingcam_audit_markdown(REPORT)
    lines = page.splitlines()
    assert lines[0] == "# Camera firmware audit"
    assert "- Generated: 2026-12-04T22:00:00Z (check mode: cameras were only read, as always)" in lines
    assert "- Newest firmware in the archive: no archive given" in lines
    assert "- Cameras: 2 in total, 1 approved, 0 below minimum, 0 unknown, 1 unreachable" in lines
    rows = [line for line in lines if line.startswith("| cam")]
    assert rows[0] == ("| cam1 | line1 | st10 | rtsp | 2.6.2.0R | approved | RTSP drops (level assumed); version from "
                       "DeviceIdent.Version; firmware suffix R (compared on 2.6.2.0); newer firmware in the archive |")
    assert rows[1] == "| cam2 | - | - | - | - | unreachable | Cannot reach / the camera at 10.0.0.2 |"
    assert page.endswith("|\n")


def test_not_a_report_says_what_to_pass():
    with pytest.raises(AnsibleFilterError, match="report of sensingcam_audit_report"):
        sensingcam_audit_markdown({"cameras": []})
