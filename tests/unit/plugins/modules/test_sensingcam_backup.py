"""sensingcam_backup against the in-process fake camera (not a real SEC100, not the camera simulator)."""

import json
import os

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_backup


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def backups(directory):
    return sorted(p for p in os.listdir(directory) if not p.endswith("-latest.json"))


def test_export_then_idempotent_then_new_on_change(run_module, camera, tmp_path):
    dest = tmp_path / "backups"
    failed, first = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and first["changed"]
    assert os.path.basename(first["backup_file"]).startswith("line3_cam-")
    latest = dest / "line3_cam-latest.json"
    assert latest.read_bytes() == camera.config
    assert os.path.islink(latest) and os.path.realpath(latest) == first["backup_file"]
    assert oct(os.stat(first["backup_file"]).st_mode & 0o777) == "0o600"

    failed, second = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and not second["changed"]
    assert len(backups(dest)) == 1

    camera.config = json.dumps({"Ntp": {"Enabled": False}, "LocationName": "factory-default"}).encode()
    failed, reordered = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not reordered["changed"], "same JSON content in another key order is not a change"

    camera.config = json.dumps({"LocationName": "line3"}).encode()
    failed, third = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"), diff=True)
    assert not failed and third["changed"]
    assert len(backups(dest)) == 2
    assert latest.read_bytes() == camera.config
    assert "line3" in third["diff"]["after"] and "factory-default" in third["diff"]["before"]


def test_export_check_mode_writes_nothing(run_module, camera, tmp_path):
    dest = tmp_path / "b"
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(dest)), check_mode=True)
    assert not failed and result["changed"] and result["backup_file"].startswith(str(dest))
    assert not dest.exists()


def test_name_defaults_to_host(run_module, camera, tmp_path):
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path)))
    assert os.path.basename(result["latest_file"]) == "cam1-latest.json"


def test_restore_only_on_difference(run_module, camera, tmp_path):
    same = tmp_path / "same.json"
    same.write_bytes(camera.config)
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(same)))
    assert not failed and not result["changed"]
    assert camera.calls("POST", "/file/upload/configuration") == []

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"LocationName": "restored"}))
    failed, check = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)),
                               check_mode=True, diff=True)
    assert not failed and check["changed"]
    assert camera.calls("POST", "/file/upload/configuration") == []
    assert "restored" in check["diff"]["after"]

    failed, applied = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not failed and applied["changed"]
    assert len(camera.calls("POST", "/file/upload/configuration")) == 1
    assert json.loads(camera.config) == {"LocationName": "restored"}

    failed, again = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not again["changed"]


def test_required_paths(run_module, camera):
    failed, result = run_module(sensingcam_backup.main, module_args())
    assert failed and "dest" in result["msg"]
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored"))
    assert failed and "src" in result["msg"]


def test_export_endpoint_unknown(run_module, camera, tmp_path):
    camera.status_override["/file/download/configuration"] = 404
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path)))
    assert failed and "files.config_export.path" in result["msg"]
