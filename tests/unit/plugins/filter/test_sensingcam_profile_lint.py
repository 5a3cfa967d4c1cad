"""The sensingcam_profile_lint filter: every problem it reports, against a probe report, an API description (OpenAPI
as the camera simulator serves it, and as SICK's family specs write it with an envelope and $ref), and another
profile; bad input named with what to pass.

Pure data: the shipped profile (profiles/sensingcam/sec100-fw2.yml) and reports built here. The probe's own report
against the fake camera is linted in tests/unit/plugins/modules/test_sensingcam_probe.py, against the camera
simulator in tests/integration/cameras/test_camera_probe.py.
"""

import copy

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from sensingcam_fake_camera import PROFILE_PATH

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_profile_lint import (
    FilterModule,
    description_names,
    profile_entries,
    sensingcam_profile_lint,
)

with open(PROFILE_PATH) as handle:
    SHIPPED = yaml.safe_load(handle)

WIRE_TYPE = {"bool": "integer", "string": "string", "int": "integer", "enum": "integer", "ipv4": "array",
             "scaled": "integer", "object": "object", "list": "array"}


def codec_type(entry):
    codec = entry["codec"]
    return (SHIPPED["codecs"][codec] if isinstance(codec, str) else codec)["type"]


def report(profile=SHIPPED):
    """A probe report of a camera that knows every name with the type its codec expects."""
    return {"variables": {key: {"name": entry["name"], "exists": True, "json_type": WIRE_TYPE[codec_type(entry)]}
                          for key, entry in profile_entries(profile).items()}}


def openapi(profile=SHIPPED, extra=(), prefix="/api/"):
    """An API description the way the camera simulator writes it (responses.200.schema is the wire value)."""
    paths = {}
    for entry in profile_entries(profile).values():
        paths[prefix + entry["name"]] = {"get": {"responses": {"200": {"schema": {
            "type": WIRE_TYPE[codec_type(entry)]}}}}}
    for method in profile["methods"].values():
        paths[prefix + method["name"]] = {"post": {}}
    for name in ("getChallenge", "RunFirmwareUpdate", "CreateParameterBackup", "RestoreParameterBackup",
                 "parameterbackup") + tuple(extra):
        paths[prefix + name] = {"post": {}}
    paths["/file/download/{fileName}"] = {"post": {}}
    return {"openapi": "3.0.3", "paths": paths}


def edited(change):
    profile = copy.deepcopy(SHIPPED)
    change(profile)
    return profile


def test_profile_entries_cover_every_variable_and_the_update_state():
    entries = profile_entries(SHIPPED)
    assert entries["streams.video0.fps"]["name"] == "Video0FrameRate"
    assert entries["firmware.state"]["name"] == "UpdateState"
    assert "streams.video0" not in entries and "codecs" not in entries


@pytest.mark.parametrize("kind, against", [
    ("report", report()), ("description", openapi()), ("profile", SHIPPED),
], ids=["report", "description", "profile"])
def test_identical_gives_no_findings(kind, against):
    assert sensingcam_profile_lint(SHIPPED, against, kind=kind) == []


def test_levels_do_not_count_between_profiles_except_missing():
    probed = edited(lambda p: p["variables"]["identity"]["serial_number"].update(level="probed"))
    assert sensingcam_profile_lint(probed, SHIPPED, kind="profile") == []
    missing = edited(lambda p: p["variables"]["identity"]["serial_number"].update(level="missing"))
    assert sensingcam_profile_lint(SHIPPED, missing, kind="profile") == [
        {"key": "identity.serial_number", "name": "SerialNumber", "problem": "missing_on_camera",
         "detail": "the other profile marks SerialNumber level: missing"}]


def test_report_missing_renamed_type_error_not_probed():
    probed = report()
    probed["variables"]["health.temperature"]["exists"] = False
    probed["variables"]["rtsp.port"]["json_type"] = "string"
    probed["variables"]["time.ntp_server"]["json_type"] = "string"
    probed["variables"]["health.operating_hours"]["json_type"] = "number"   # scaled: integer or number
    probed["variables"]["streams.video0.rtsp_enabled"]["json_type"] = "boolean"  # bool: 0/1 or true/false
    probed["variables"]["identity.vendor"]["json_type"] = "null"  # a null value says nothing about the type
    probed["variables"]["identity.device_name"].update(exists=None, error="out of connections")
    del probed["variables"]["snapshot.mode"]
    findings = sensingcam_profile_lint(SHIPPED, probed)
    assert [(f["key"], f["name"], f["problem"]) for f in findings] == [
        ("health.temperature", "CurrentTemperature", "missing_on_camera"),
        ("identity.device_name", "DeviceName", "probe_error"),
        ("rtsp.port", "RtspPort", "type_mismatch"),
        ("snapshot.mode", "SnapshotMode", "not_probed"),
        ("time.ntp_server", "TSCTCSrvAddr", "type_mismatch")]
    by_key = {f["key"]: f["detail"] for f in findings}
    assert by_key["rtsp.port"] == ("the profile decodes RtspPort with the codec type int (JSON integer), but the "
                                   "camera has JSON string")
    assert by_key["identity.device_name"].endswith("out of connections")


def test_report_of_a_renamed_profile_entry():
    """The report was made with the shipped profile; the profile linted renames one entry: reported as renamed, and
    as missing on the camera when the report does not hold the new name."""
    renamed = edited(lambda p: p["variables"]["streams"]["video0"]["fps"].update(name="Video0Framerate"))
    assert sensingcam_profile_lint(renamed, report()) == [
        {"key": "streams.video0.fps", "name": "Video0Framerate", "problem": "renamed",
         "detail": "the probe read this key as Video0FrameRate, the profile names Video0Framerate"}]
    # A report that probed the new name under another key: matched by name.
    probed = report()
    probed["variables"]["extra.fps"] = {"name": "Video0Framerate", "exists": False, "json_type": None}
    assert [f["problem"] for f in sensingcam_profile_lint(renamed, probed)] == ["renamed", "missing_on_camera"]


def test_description_missing_extra_and_type():
    description = openapi(extra=("EnableLiveView", "WriteEeprom"))
    del description["paths"]["/api/CurrentTemperature"]
    description["paths"]["/api/RtspPort"]["get"]["responses"]["200"]["schema"] = {"type": "string"}
    description["paths"]["/api/EtherIPAddress"] = {"get": {"responses": {"200": {"schema": {"type": "array"}}}}}
    findings = sensingcam_profile_lint(SHIPPED, description, kind="description")
    assert [(f["key"], f["name"], f["problem"]) for f in findings] == [
        ("health.temperature", "CurrentTemperature", "missing_on_camera"),
        ("rtsp.port", "RtspPort", "type_mismatch"),
        (None, "EnableLiveView", "not_in_profile"),
        (None, "EtherIPAddress", "not_in_profile"),
        (None, "WriteEeprom", "not_in_profile")]


def test_description_with_envelope_content_and_refs():
    """SICK's family specs: content/application/json, the reply envelope {header, data: {<Name>: ...}}, $ref."""
    document = {
        "openapi": "3.0.1",
        "components": {"schemas": {
            "Port": {"type": "object", "properties": {"header": {"type": "object"}, "data": {
                "type": "object", "properties": {"RtspPort": {"$ref": "#/components/schemas/PortValue"}}}}},
            "PortValue": {"type": "string"}}},
        "paths": {"/api/RtspPort": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Port"}}}}}}},
            "/api/OpHours": {"get": {"responses": {"200": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"data": {"type": "object", "properties": {
                    "OpHours": {"type": "integer"}}}}}}}}}}},
            "/api/{name}": {"get": {}}, "/other/Thing": {"get": {}}}}
    assert description_names(document) == {"RtspPort": "string", "OpHours": "integer"}


@pytest.mark.parametrize("description, names", [
    ({"variables": {"RtspPort": {"type": "integer"}, "OpHours": None}}, {"RtspPort": "integer", "OpHours": None}),
    (["RtspPort", "OpHours"], {"RtspPort": None, "OpHours": None}),
], ids=["variables-mapping", "list-of-names"])
def test_simpler_description_forms(description, names):
    assert description_names(description) == names


def test_description_under_another_api_prefix():
    profile = edited(lambda p: p["transport"]["api_prefix"].update(value="/rest/v2/"))
    assert sensingcam_profile_lint(profile, openapi(prefix="/rest/v2/"), kind="description") == []
    findings = sensingcam_profile_lint(profile, openapi(), kind="description")
    assert len(findings) == len(profile_entries(SHIPPED)) + len(SHIPPED["methods"]) + 4, \
        "every variable and method (4 named in settings) is missing; paths outside the prefix do not count"
    assert {f["problem"] for f in findings} == {"missing_on_camera"}


def test_description_without_a_method_of_the_profile():
    """Open question 3 of sec100.md: does the camera have the family's start method? A method the profile calls
    but the description lacks is reported under its profile key (mutation: methods not checked -> no finding)."""
    description = openapi()
    del description["paths"]["/api/RunFirmwareUpdate"]
    del description["paths"]["/api/RebootDevice"]
    with_save = edited(lambda p: p["persistence"]["save_method"].update(value="WriteEeprom"))
    findings = sensingcam_profile_lint(with_save, description, kind="description")
    assert [(f["key"], f["name"], f["problem"]) for f in findings] == [
        ("firmware.start_method", "RunFirmwareUpdate", "missing_on_camera"),
        ("methods.reboot", "RebootDevice", "missing_on_camera"),
        ("persistence.save_method", "WriteEeprom", "missing_on_camera")]


def test_profile_against_profile_every_difference():
    other = copy.deepcopy(SHIPPED)
    other["variables"]["streams"]["video0"]["fps"]["name"] = "Video0Framerate"
    other["variables"]["streams"]["video0"]["gop"]["codec"] = {"type": "int", "min": 1, "max": 300}
    other["variables"]["identity"]["location_name"]["access"] = "read"
    other["variables"]["offload"]["password"]["secret"] = False
    other["variables"]["system"]["new_switch"] = {"name": "NewSwitch", "access": "read", "level": "assumed",
                                                  "codec": "flag"}
    del other["variables"]["snapshot"]
    findings = sensingcam_profile_lint(SHIPPED, other, kind="profile")
    assert [(f["key"], f["problem"]) for f in findings] == [
        ("identity.location_name", "access_differs"),
        ("offload.password", "secret_differs"),
        ("snapshot.mode", "not_in_other"),
        ("streams.video0.fps", "renamed"),
        ("streams.video0.gop", "codec_differs"),
        ("system.new_switch", "not_in_profile")]


def test_a_named_codec_equals_the_same_codec_inline():
    same = {"type": "int", "min": 1, "max": 60}
    inline = edited(lambda p: p["variables"]["streams"]["video0"]["fps"].update(codec=same))
    assert sensingcam_profile_lint(SHIPPED, inline, kind="profile") == []


@pytest.mark.parametrize("profile, against, kind, message", [
    ({"variables": {}}, {}, "guess", "kind='guess' is not one of report, description, profile"),
    ("not a profile", {}, "report", "the profile has no `variables:` mapping"),
    ({"profile_format": 2}, {}, "report", "the profile has no `variables:` mapping"),
    (SHIPPED, {"cameras": []}, "report", "kind=report needs a probe report with `variables`"),
    (SHIPPED, 42, "description", "kind=description needs the parsed API description"),
    (SHIPPED, ["x"], "profile", "kind=profile needs another parsed profile (a mapping), got list"),
], ids=["bad-kind", "profile-not-a-mapping", "profile-without-variables", "report-without-variables",
        "description-number", "profile-list"])
def test_bad_input_says_what_to_pass(profile, against, kind, message):
    with pytest.raises(AnsibleFilterError) as error:
        sensingcam_profile_lint(profile, against, kind=kind)
    assert str(error.value).startswith("sensingcam_profile_lint: ") and message in str(error.value)
    assert "sensingcam.ming.sensingcam_profile_lint(against, kind=...)" in str(error.value)


def test_filter_is_registered():
    assert FilterModule().filters() == {"sensingcam_profile_lint": sensingcam_profile_lint}
