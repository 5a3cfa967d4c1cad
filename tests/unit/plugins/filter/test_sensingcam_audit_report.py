"""The sensingcam_audit_report filter: every report field from a fleet audit result and the cameras' inventory
variables, the RTSP note's branches, and bad input named with what to pass.

The filter's place in the real run (playbooks/firmware_audit.yml against the camera simulator) is tested in
tests/integration/cameras/test_camera_playbooks.py.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_audit_report import (
    FilterModule,
    rtsp_notes,
    sensingcam_audit_report,
)

PROFILE = "/srv/ming/profiles/sensingcam/sec100-fw2.yml"
RTSP_ISSUE = {"below": "2.6.0", "level": "assumed",
              "summary": "RTSP connections reported to drop intermittently (third-party report); workaround RTSP "
                         "over TCP"}
OTHER_ISSUE = {"below": "2.6.0", "level": "observed", "summary": "Event clips lose their first second."}


def camera(name, verdict, version, **extra):
    entry = {"name": name, "host": f"10.20.1.{int(name[-1])}", "reachable": verdict != "unreachable",
             "version": version, "verdict": verdict, "update_available": False, "known_issues": [], "error": None}
    entry.update(extra)
    return entry


def audit(*cameras, newest_available=None):
    summary = {"total": len(cameras), "approved": 0, "below_minimum": 0, "unknown": 0, "unreachable": 0}
    for entry in cameras:
        summary[entry["verdict"]] += 1
    result = {"changed": False, "cameras": list(cameras), "summary": summary}
    if newest_available is not None:
        result["newest_available"] = newest_available
    return result


HOSTVARS = {
    "cam1": {"sensingcam_port": 18101, "sensingcam_line": "line1", "sensingcam_station": "st10",
             "sensingcam_ingest": "rtsp", "sensingcam_password": "not-in-the-report"},
    "cam2": {"sensingcam_line": "line2", "sensingcam_station": "st10", "sensingcam_ingest": "rtsp"},
    "cam3": {"sensingcam_ingest": "websocket"},
    "cam4": {"sensingcam_ingest": "rtsp"},
}


def report(result, hostvars=None, **options):
    options.setdefault("rtsp_from", "2.6.0")
    return sensingcam_audit_report(result, HOSTVARS if hostvars is None else hostvars, PROFILE, **options)


def test_report_fields_summary_violations_and_not_audited():
    result = audit(camera("cam1", "approved", "2.6.2"),
                   camera("cam2", "below_minimum", "2.5.1", known_issues=[RTSP_ISSUE]),
                   camera("cam3", "unknown", None, error="The camera refused the login"),
                   camera("cam4", "unreachable", None, error="Cannot reach the camera at 10.20.1.4"),
                   newest_available="2.7.0")
    shaped = report(result, minimum_version="2.6.0", generated_at="2025-01-01T02:00:00Z", check_mode=True)
    assert {key: shaped[key] for key in shaped if key != "cameras"} == {
        "report": "sensingcam firmware audit", "generated_at": "2025-01-01T02:00:00Z", "check_mode": True,
        "profile": PROFILE, "minimum_version": "2.6.0", "newest_available": "2.7.0",
        "summary": {"total": 4, "approved": 1, "below_minimum": 1, "unknown": 1, "unreachable": 1},
        "violations": ["cam2"], "not_audited": ["cam3", "cam4"]}
    assert [row["name"] for row in shaped["cameras"]] == ["cam1", "cam2", "cam3", "cam4"], "the audit's order"
    assert shaped["cameras"][0] == {
        "name": "cam1", "host": "10.20.1.1", "port": 18101, "line": "line1", "station": "st10", "ingest": "rtsp",
        "version": "2.6.2", "version_source": None, "version_strings": {}, "version_parts": None, "suffix": None,
        "verdict": "approved", "reachable": True, "update_available": False, "known_issues": [], "notes": [],
        "error": None}
    assert shaped["cameras"][1]["known_issues"] == [RTSP_ISSUE]
    assert shaped["cameras"][3]["error"] == "Cannot reach the camera at 10.20.1.4"
    assert "not-in-the-report" not in repr(shaped), "only the shown inventory variables are copied"


def test_rtsp_note_for_a_camera_on_rtsp_below_the_profiles_rtsp_version():
    shaped = report(audit(camera("cam2", "below_minimum", "2.5.1")))
    assert shaped["cameras"][0]["notes"] == [
        "ingest is rtsp but firmware 2.5.1 is below 2.6.0, which is reported to drop RTSP: update the camera or set "
        "sensingcam_ingest: websocket"]


@pytest.mark.parametrize("name, version, rtsp_from", [
    ("cam1", "2.6.2", "2.6.0"),    # at or above the RTSP version
    ("cam1", "2.6.0", "2.6.0"),    # exactly the RTSP version
    ("cam3", "2.5.1", "2.6.0"),    # below, but ingest is websocket
    ("cam2", "2.5.1", ""),         # the profile names no RTSP version
    ("cam2", "2.5.1", None),
], ids=["above", "equal", "websocket", "no-rtsp-version", "rtsp-version-none"])
def test_no_rtsp_note(name, version, rtsp_from):
    shaped = report(audit(camera(name, "approved", version)), rtsp_from=rtsp_from)
    assert shaped["cameras"][0]["notes"] == []


def test_versions_compare_as_versions_not_strings():
    assert rtsp_notes("2.10.0", "rtsp", "2.6.0") == []
    assert rtsp_notes("2.5.10", "rtsp", "2.6.0") != []


@pytest.mark.parametrize("version, below", [
    ("2.4.2.0R", True), ("2.6.0R", False), ("2.6.0.0A", False), ("2.5.9-beta+local_build", True),
    ("2.6.0-beta+local_build", True), ("2.10.0.0R", False),
], ids=["sick-R-below", "sick-R-equal", "sick-A-four-part", "prerelease-build", "prerelease-of-2.6", "2.10-R"])
def test_rtsp_note_reads_sicks_firmware_forms(version, below):
    """SICK's forms (2.4.2.0R, 1.0.0.0A, 0.1.0-beta+local_build) compare on the numeric part: a letter suffix
    neither lowers nor raises a version, a pre-release sorts below its release (mutation: LooseVersion back ->
    2.6.0-beta+local_build is not below 2.6.0 and its camera gets no note)."""
    assert (rtsp_notes(version, "rtsp", "2.6.0") != []) is below


def test_report_keeps_the_version_parts_source_and_strings_of_the_audit():
    parts = {"release": "2.4.2.0", "suffix": "R", "prerelease": None, "build": None}
    strings = {"FirmwareVersion": "unreleased", "ExtendedFirmwareVersion": "local", "DeviceIdent.Version": "2.4.2.0R"}
    shaped = report(audit(camera("cam1", "approved", "2.4.2.0R", version_parts=parts,
                                 version_source="DeviceIdent.Version", version_strings=strings)))
    row = shaped["cameras"][0]
    assert row["version_parts"] == parts and row["suffix"] == "R"
    assert row["version_source"] == "DeviceIdent.Version" and row["version_strings"] == strings


def test_known_issues_keep_their_level():
    shaped = report(audit(camera("cam3", "below_minimum", "2.5.1", known_issues=[RTSP_ISSUE, OTHER_ISSUE])))
    assert [issue["level"] for issue in shaped["cameras"][0]["known_issues"]] == ["assumed", "observed"]


def test_rtsp_note_from_a_known_rtsp_issue_without_rtsp_from():
    """The format-2 profile has no RTSP version: a camera on RTSP gets one note per known issue that mentions RTSP,
    with its level (mutation: the issue-based branch removed -> no note)."""
    shaped = report(audit(camera("cam2", "below_minimum", "2.5.1", known_issues=[RTSP_ISSUE, OTHER_ISSUE])),
                    rtsp_from=None)
    assert shaped["cameras"][0]["notes"] == [
        "ingest is rtsp but firmware 2.5.1 has a known RTSP issue (level assumed): RTSP connections reported to drop "
        "intermittently (third-party report); workaround RTSP over TCP. Update the camera or set sensingcam_ingest: "
        "websocket"]


@pytest.mark.parametrize("name, issues", [
    ("cam3", [RTSP_ISSUE]),        # ingest websocket
    ("cam2", [OTHER_ISSUE]),       # no RTSP issue
    ("cam2", []),                  # no issue at all
], ids=["websocket", "other-issue", "no-issue"])
def test_no_rtsp_note_from_known_issues(name, issues):
    shaped = report(audit(camera(name, "below_minimum", "2.5.1", known_issues=issues)), rtsp_from="")
    assert shaped["cameras"][0]["notes"] == []


def test_rtsp_from_wins_over_the_known_issues():
    shaped = report(audit(camera("cam2", "approved", "2.6.2", known_issues=[RTSP_ISSUE])), rtsp_from="2.6.0")
    assert shaped["cameras"][0]["notes"] == []


@pytest.mark.parametrize("verdict", ["unknown", "unreachable"])
def test_unknown_or_unreachable_camera_gets_no_note_and_is_not_audited(verdict):
    shaped = report(audit(camera("cam2", verdict, None, error="no answer")))
    assert shaped["cameras"][0]["notes"] == [] and shaped["cameras"][0]["version"] is None
    assert shaped["not_audited"] == ["cam2"] and shaped["violations"] == []


def test_unreadable_version_string_gets_no_note():
    assert rtsp_notes("unreleased-build", "rtsp", "2.6.0") == []
    assert report(audit(camera("cam2", "unknown", "unreleased-build")))["cameras"][0]["notes"] == []


def test_camera_without_inventory_variables_gets_nulls():
    shaped = report(audit(camera("cam5", "approved", "2.6.2"), camera("cam3", "approved", "2.6.2")),
                    hostvars={"cam3": {}})
    for row in shaped["cameras"]:
        assert (row["port"], row["line"], row["station"], row["ingest"], row["notes"]) == (None, None, None, None, [])


def test_hostvars_entry_that_is_not_a_mapping_counts_as_missing():
    """Ansible's hostvars answers an unknown host with an undefined marker, not a KeyError."""
    shaped = report(audit(camera("cam1", "approved", "2.6.2")), hostvars={"cam1": object()})
    assert shaped["cameras"][0]["line"] is None


def test_defaults_without_minimum_archive_or_time():
    shaped = sensingcam_audit_report(audit(camera("cam1", "unknown", "2.6.2")), HOSTVARS, PROFILE,
                                     minimum_version="")
    assert shaped["minimum_version"] is None and shaped["newest_available"] is None
    assert shaped["check_mode"] is False and shaped["generated_at"] is None
    assert shaped["cameras"][0]["notes"] == [], "no rtsp_from given and no known issue"


def test_empty_fleet():
    shaped = report(audit())
    assert shaped["cameras"] == [] and shaped["violations"] == [] and shaped["summary"]["total"] == 0


def test_known_issues_missing_becomes_an_empty_list():
    entry = camera("cam1", "approved", "2.6.2")
    del entry["known_issues"]
    assert report(audit(entry))["cameras"][0]["known_issues"] == []


@pytest.mark.parametrize("result, message", [
    ("not a dict", "expected the audit result (a dict), got str"),
    ({"failed": True, "msg": "Cannot read the profile"}, "the audit task failed (Cannot read the profile)"),
    ({"summary": {}}, 'no "cameras" list'),
    ({"cameras": [], "summary": {"total": 0}}, 'no "summary" with total, approved'),
    ({"cameras": [{"verdict": "approved"}], "summary": audit()["summary"]}, "cameras[0] of the audit result has no "
                                                                            "camera name"),
    ({"cameras": [{"name": "cam1", "verdict": "fine"}], "summary": audit()["summary"]},
     "camera cam1 has the verdict 'fine'; expected one of approved, below_minimum, unknown, unreachable"),
], ids=["not-a-dict", "failed-task", "no-cameras", "no-summary", "no-name", "bad-verdict"])
def test_bad_input_fails_saying_what_to_pass(result, message):
    with pytest.raises(AnsibleFilterError) as error:
        report(result)
    assert str(error.value).startswith("sensingcam_audit_report: ")
    assert message in str(error.value)


def test_single_camera_result_is_refused_with_how_to_call():
    single = {"changed": False, "name": "cam1", "version": "2.6.2", "verdict": "approved"}
    with pytest.raises(AnsibleFilterError, match="sensingcam_firmware_info run with cameras"):
        report(single)


def test_bad_hostvars_and_rtsp_version():
    with pytest.raises(AnsibleFilterError, match="second argument must be hostvars"):
        sensingcam_audit_report(audit(), ["cam1"], PROFILE)
    with pytest.raises(AnsibleFilterError, match="rtsp_from must be a version string"):
        sensingcam_audit_report(audit(), HOSTVARS, PROFILE, rtsp_from=2.6)


def test_filter_is_registered():
    assert FilterModule().filters() == {"sensingcam_audit_report": sensingcam_audit_report}
