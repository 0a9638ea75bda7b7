"""The start screen's glance says what the Store says, without the Store's imports."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.conftest import make_finding
from walkaudit import glance, store
from walkaudit.store import Store


def test_the_glance_reads_the_stores_file_and_keys() -> None:
    assert glance.DB_NAME == store.DB_NAME


def test_the_glance_says_what_the_store_says(tmp_path: Path) -> None:
    s = Store.open(tmp_path)
    s.set_meta(**{"ui.lang": "en", "ui.theme": "dark", "token": "t0k", "server_url": "http://x"})
    for i in range(3):
        walk = s.start_walk(f"Vandring {i}", "Vivalla" if i else "")
        for _ in range(i + 1):
            s.save_finding(make_finding(walk_id=walk.id))
        if i < 2:
            s.end_walk()
    # An edited finding is one finding with two revisions: counted once, as the Store does.
    edited = s.findings(walk.id)[0]
    s.revise_finding(edited["id"], note="Lampan är trasig sedan i våras")
    assert s.query("SELECT count(*) AS n FROM findings")[0]["n"] == 7  # six findings
    active = s.active_walk()
    assert active is not None

    seen = glance.read(tmp_path)
    assert seen is not None
    assert (seen.lang, seen.theme, seen.enrolled, seen.server_url) == (
        "en",
        "dark",
        True,
        "http://x",
    )
    assert [(w.id, w.name, w.area, w.started_at, w.ended_at) for w in seen.walks] == [
        (w.id, w.name, w.area, w.started_at, w.ended_at) for w in s.walks()
    ]
    assert [w.findings for w in seen.walks] == [len(s.findings(w.id)) for w in s.walks()]
    assert seen.active_walk is not None and seen.active_walk.id == active.id
    s.close()


def test_an_active_walk_older_than_the_listed_ones_is_still_found(tmp_path: Path) -> None:
    s = Store.open(tmp_path)
    first = s.start_walk("Den första", "")
    s.save_finding(make_finding(walk_id=first.id))
    # 31 later walks, written straight into the table: the active one falls off the list.
    with s.transaction() as db:
        for i in range(glance.MAX_WALKS + 1):
            db.execute(
                "INSERT INTO walks(id, name, area, started_at) VALUES (?, ?, '', ?)",
                [f"w{i:02d}", f"Senare {i}", f"2030-01-01T00:{i:02d}:00+00:00"],
            )
    seen = glance.read(tmp_path)
    assert seen is not None and seen.active_walk is not None
    assert (seen.active_walk.id, seen.active_walk.findings) == (first.id, 1)
    s.close()


def test_no_store_or_an_unknown_one_sends_the_app_the_long_way(tmp_path: Path) -> None:
    assert glance.read(tmp_path) is None  # first start: nothing here yet
    assert not (tmp_path / glance.DB_NAME).exists()  # and the glance created nothing
    conn = sqlite3.connect(tmp_path / glance.DB_NAME)
    conn.execute("CREATE TABLE something_else (x)")
    conn.commit()
    conn.close()
    assert glance.read(tmp_path) is None
    (tmp_path / glance.DB_NAME).write_bytes(b"not a database at all" * 100)
    assert glance.read(tmp_path) is None


def test_what_main_py_imports_before_the_first_screen_holds_no_heavy_package() -> None:
    code = (
        "import sys; from walkaudit import glance; from walkaudit.paths import default_data_dir; "
        "import walkaudit.ui.app; "
        "print(sorted(m for m in ('pydantic', 'sqlite_utils', 'PIL', 'httpx', 'geopy', "
        "'walkaudit.model', 'walkaudit.store') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
