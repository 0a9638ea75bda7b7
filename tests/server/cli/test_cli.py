"""`walkaudit-server` commands, called in-process through `sync_server.cli.main`."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sync_server.app import create_app
from sync_server.cli import main
from sync_server.cli.demo_data import seed_demo
from sync_server.config import Settings
from sync_server.core.blobs import DiskBlobStore
from sync_server.core.db import Database
from sync_server.field import devices
from tests.server.conftest import CHEAP_HASHER, Server, finding_json, make_jpeg, photo_json

CODE = re.compile(r"[2-9A-HJKMNP-Z]{4}-[2-9A-HJKMNP-Z]{4}")


def run(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_enrol_code_prints_only_the_code(tmp_path: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "--data", tmp_path, "enrol-code", "--name", "Anna")
    assert code == 0
    assert CODE.fullmatch(out.rstrip("\n")) and out.count("\n") == 1
    assert "walkaudit --data" in err and "enrol" in err
    db = Database(tmp_path / "walkaudit.db")
    device, _ = devices.enrol(db, out.strip())
    assert device.name == "Anna"
    db.close()


def test_data_dir_from_the_environment(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WALKAUDIT_DATA_DIR", str(tmp_path / "env"))
    assert run(capsys, "enrol-code")[0] == 0
    assert (tmp_path / "env" / "walkaudit.db").exists()


def test_missing_data_dir_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    code, out, err = run(capsys, "--data", tmp_path / "nope", "findings")
    assert code == 1 and out == ""
    assert "no server data" in err and "--data" in err


def test_devices_list_and_revoke(server: Server, capsys: Any) -> None:
    data = server.services.settings.data_dir
    device = server.enrol("Kommunpolis")
    code, out, _ = run(capsys, "--data", data, "devices", "list", "--json")
    (listed,) = json.loads(out)
    assert listed["id"] == device.id and listed["state"] == "active"
    code, out, _ = run(capsys, "--data", data, "devices", "list")
    assert code == 0 and device.id in out and "Kommunpolis" in out

    code, _, err = run(capsys, "--data", data, "devices", "revoke", device.id)
    assert code == 0 and "Revoked" in err
    assert server.client.get("/v1/sync/pull", headers=device.headers).status_code == 401
    code, out, _ = run(capsys, "--data", data, "devices", "list", "--json")
    assert json.loads(out)[0]["state"] == "revoked"

    code, _, err = run(capsys, "--data", data, "devices", "revoke", "no-such-device")
    assert code == 1 and "no device has the id" in err


def test_findings_json_shape(server: Server, capsys: Any) -> None:
    device = server.enrol()
    jpeg = make_jpeg(seed=5)
    finding = finding_json(photos=[photo_json(jpeg), photo_json(make_jpeg(seed=6))])
    server.push(device, findings=[finding])
    digest = finding["photos"][0]["sha256"]
    assert server.upload(device, jpeg) == 201

    code, out, _ = run(capsys, "--data", server.services.settings.data_dir, "findings", "--json")
    assert code == 0
    (row,) = json.loads(out)
    assert set(row) >= {"id", "revision", "category", "severity", "latitude", "longitude",
                        "accuracy", "walk_id", "device_id", "status", "captured_at",
                        "received_at", "photos"}  # fmt: skip
    assert (row["id"], row["device_id"], row["status"]) == (finding["id"], device.id, "received")
    assert (row["latitude"], row["longitude"]) == (finding["latitude"], finding["longitude"])
    assert row["photos"] == [
        {"sha256": digest, "size": len(jpeg), "width": 320, "height": 240, "stored": True},
        finding["photos"][1] | {"stored": False},
    ]
    code, out, _ = run(capsys, "--data", server.services.settings.data_dir, "findings")
    assert code == 0 and finding["id"] in out and "1/2" in out


def test_demo_seeding_is_idempotent(tmp_path: Path, capsys: Any) -> None:
    db = Database(tmp_path / "walkaudit.db")
    db.migrate()
    blobs = DiskBlobStore(tmp_path / "photos")
    tables = ("devices", "walks", "findings", "finding_revisions", "events", "track_points",
              "photos", "photo_refs", "finding_photos")  # fmt: skip

    def counts() -> list[int]:
        return [db.conn().execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables]

    first = seed_demo(db, blobs)
    after_first = counts()
    second = seed_demo(db, blobs)
    assert first == second and counts() == after_first
    assert first.findings >= 8 and first.photos >= 4
    db.close()

    code, out, _ = run(capsys, "--data", tmp_path, "findings", "--json")
    rows = json.loads(out)
    assert len(rows) == first.findings
    assert len({r["category"] for r in rows}) >= 6
    assert all(p["stored"] for r in rows for p in r["photos"])
    assert all(abs(r["latitude"] - 59.2743) < 0.01 and abs(r["longitude"] - 15.2066) < 0.02
               for r in rows)  # fmt: skip
    assert {r["status"] for r in rows} > {"received"}  # some have follow-ups


def test_demo_assets_are_small_metadata_free_jpegs() -> None:
    from PIL import Image

    from sync_server.core.files import DEMO_PHOTOS as ASSETS

    files = sorted(ASSETS.glob("demo-*.jpg"))
    assert 4 <= len(files) <= 6
    assert (ASSETS / "ATTRIBUTION.md").exists()
    for path in files:
        assert path.stat().st_size <= 150_000
        with Image.open(path) as image:
            assert image.format == "JPEG" and max(image.size) <= 1024
            assert "exif" not in image.info and not image.getexif()
        assert b"Exif" not in path.read_bytes() and b"GPS" not in path.read_bytes()


def test_bad_settings_exit_2(tmp_path: Path, capsys: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("WALKAUDIT_PORT", "not a port")
    code, _, err = run(capsys, "--data", tmp_path, "findings")
    assert code == 2 and "port" in err


def test_create_app_on_a_fresh_dir(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path / "a" / "b"), hasher=CHEAP_HASHER)
    assert (tmp_path / "a" / "b" / "walkaudit.db").exists()
    assert app.openapi()["paths"]
