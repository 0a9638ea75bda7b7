"""The server's migrations run through the runner the phone uses (walkaudit.migrations), in
`Database.write()` transactions: a trigger's body and a string may hold `;`, and a step that
fails leaves neither its tables nor its version behind."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlite_utils

from sync_server.core import db as db_module
from sync_server.core.db import Database
from sync_server.core.migrations import MIGRATIONS
from walkaudit.migrations import Step, run_script

SCRIPT = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);  -- notes; one a row
CREATE TABLE log (note_id INTEGER, what TEXT);
CREATE TRIGGER notes_logged AFTER INSERT ON notes BEGIN
    INSERT INTO log VALUES (NEW.id, 'added; first');
    INSERT INTO log VALUES (NEW.id, 'added; second');
END;
INSERT INTO notes (text) VALUES ('Lampan är trasig; ring -- gatuenheten');
"""


def _step(script: str) -> Step:
    def step(tx: sqlite_utils.Database) -> None:
        run_script(tx, script)

    return step


def test_a_trigger_and_a_string_holding_a_semicolon_survive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "MIGRATIONS", [*MIGRATIONS, _step(SCRIPT)])
    db = Database(tmp_path / "w.db")
    assert db.migrate() == len(MIGRATIONS) + 1
    conn = db.conn()
    assert conn.execute("SELECT text FROM notes").fetchall() == [
        ("Lampan är trasig; ring -- gatuenheten",)
    ]
    with db.write() as tx:
        tx.execute("INSERT INTO notes (text) VALUES ('x')")
    assert [r[0] for r in conn.execute("SELECT what FROM log ORDER BY rowid")] == [
        "added; first",
        "added; second",
    ] * 2
    db.close()


def test_a_failing_step_leaves_nothing_and_keeps_its_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(tmp_path / "w.db")
    assert db.migrate() == len(MIGRATIONS)
    broken = SCRIPT + "INSERT INTO nowhere VALUES (1);"
    monkeypatch.setattr(db_module, "MIGRATIONS", [*MIGRATIONS, _step(broken)])
    with pytest.raises(Exception, match="nowhere"):
        db.migrate()
    conn = db.conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert "notes" not in conn.table_names()  # run_script committed nothing on its own
    db.close()
