"""At rest, the data is its user's alone (issue 10, case 10): folders 0700, files 0600.

On the server: a real `walkaudit-server serve` on a data directory an older version left readable
(0755/0644), a walk with a photo sent by the real `walkaudit` CLI, and a report written to the
outbox by `send-reports`. On the phone: the same walk's data directory and a draft with a photo.
Other users of the machine must be able to read none of it: photos, notes, owner links, tokens.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from sync_server.core.db import Database
from tests.conftest import make_photo
from tests.support import ServerProcess, field, owner_square, run
from walkaudit import model
from walkaudit.drafts import Draft, DraftBox
from walkaudit.store import Store

PHOTO = Path(__file__).resolve().parent / "data" / "photos" / "phone" / "HMD_Nokia_8.3_5G.jpg"
AREA = owner_square()  # the walk's finding lies in it


def modes(root: Path) -> dict[str, str]:
    """Every folder and file under root (root included) with its permission bits, in octal."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def not_private(root: Path) -> dict[str, str]:
    """What is not 0700 (a folder) or 0600 (a file) — should be nothing."""
    return {
        name: mode
        for name, mode in modes(root).items()
        if mode != ("0o700" if (root / name).is_dir() else "0o600")
    }


def old_server_data(data: Path) -> None:
    """A data directory as an older server left it: readable by everyone."""
    os.umask(old := os.umask(0o022))
    try:
        data.mkdir(mode=0o755)
        db = Database(data / "walkaudit.db")
        db.migrate()
        db.close()
        (data / "outbox").mkdir(mode=0o755)
        (data / "outbox" / "old-report.eml").write_text("To: drift@example.se\n\nold\n")
    finally:
        os.umask(old)
    assert not_private(data)  # the starting point really is readable by others


def test_the_server_keeps_its_data_directory_private(tmp_path: Path) -> None:
    data = tmp_path / "server"
    old_server_data(data)
    server = ServerProcess(data, env={"WALKAUDIT_REPORT_INTERVAL_S": "0"}).start()
    try:
        geo = tmp_path / "owners.geojson"
        geo.write_text(json.dumps(AREA), encoding="utf-8")
        assert server.cli("owners", "import", str(geo)).code == 0
        phone = tmp_path / "phone"
        field(phone, "enrol", server.url, server.enrol_code())
        field(phone, "walk", "start", "Kvällsvandring Vivalla")
        field(phone, "add", "--category", "BEL", "--lat", "59.2743", "--lon", "15.2066",
              "--note", "Gatlampan är trasig", "--photo", PHOTO)  # fmt: skip
        field(phone, "walk", "end")
        field(phone, "sync")
        r = run("walkaudit-server", "--data", data, "send-reports")
        assert r.code == 0, r.err

        found = modes(data)
        assert any(name.startswith("photos/blobs/") for name in found)  # the photo is there
        assert len(list((data / "outbox").glob("*.eml"))) >= 2  # and the new report
        assert "walkaudit.db-wal" in found
        assert not_private(data) == {}

        assert not_private(phone) == {}  # the field CLI's data directory too
    finally:
        server.stop()


def test_the_phone_keeps_its_data_private(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    field(phone, "walk", "start", "Kvällsvandring Vivalla")
    field(phone, "add", "--category", "KLO", "--lat", "59.2743", "--lon", "15.2066",
          "--note", "Klotter på elskåpet", "--photo", PHOTO)  # fmt: skip
    box = DraftBox(phone)  # what the new-finding screen keeps while a finding is written
    assert box.save(
        Draft(category="BEL", note="Mörkt vid tunneln", raw_photos=[make_photo(3).jpeg])
    )

    found = modes(phone)
    assert any(name.startswith("photos/") and name.endswith(".jpg") for name in found)
    assert any(name.startswith("drafts/") and name.endswith(".raw") for name in found)
    assert not_private(phone) == {}


def test_an_older_phone_directory_is_mended_when_opened(tmp_path: Path) -> None:
    phone = tmp_path / "phone"
    store = Store.open(phone)
    walk = store.start_walk("Kvällsvandring")
    finding = model.Finding(id=model.new_id(), walk_id=walk.id, category="BEL",
                            latitude=59.27, longitude=15.2, captured_at=model.utcnow())  # fmt: skip
    store.save_finding(finding, [make_photo(4)])
    store.close()
    for folder, _, files in os.walk(phone):  # as an older version left it
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(Path(folder) / name, 0o644)
    assert not_private(phone)

    Store.open(phone).close()
    assert not_private(phone) == {}
