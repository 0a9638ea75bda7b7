"""The migration runner (walkaudit.migrations), as the phone uses it: each step with its version
in one transaction, and scripts cut where SQLite says a statement ends — a trigger's body and a
string may hold `;`. The server runs the same runner (tests/server/core/test_migrations.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from walkaudit.migrations import (
    MIGRATIONS,
    MigrationError,
    apply_migrations,
    migrate,
    run_script,
    split_statements,
    user_version,
)

# A trigger whose body holds two statements, a string holding `;` and `--`, a comment with `;`.
SCRIPT = """
CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);  -- notes; one a row
CREATE TABLE log (note_id INTEGER, what TEXT);
CREATE TRIGGER notes_logged AFTER INSERT ON notes BEGIN
    INSERT INTO log VALUES (NEW.id, 'added; first');
    INSERT INTO log VALUES (NEW.id, 'added; second');
END;
INSERT INTO notes (text) VALUES ('Lampan är trasig; ring -- gatuenheten');
"""


def _too_new(version: int) -> MigrationError:
    return MigrationError(f"schema {version} is newer")


def test_statements_are_cut_where_sqlite_says_they_end() -> None:
    statements = split_statements(SCRIPT)
    assert len(statements) == 4
    assert statements[2].startswith("CREATE TRIGGER") and statements[2].endswith("END;")
    assert "ring -- gatuenheten');" in statements[3]
    assert split_statements("CREATE TABLE a (x)") == ["CREATE TABLE a (x)"]  # no final `;`
    assert split_statements(" ;\n; ") == []


def test_a_trigger_and_a_string_holding_a_semicolon_survive(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "w.db")
    steps = [lambda tx: run_script(tx, SCRIPT)]
    assert apply_migrations(db.atomic, steps, _too_new) == 1
    assert db.execute("SELECT text FROM notes").fetchall() == [
        ("Lampan är trasig; ring -- gatuenheten",)
    ]
    assert db.execute("SELECT what FROM log ORDER BY rowid").fetchall() == [
        ("added; first",),
        ("added; second",),
    ]
    db.execute("INSERT INTO notes (text) VALUES ('x')")  # the trigger is whole: it fires twice
    assert db.execute("SELECT count(*) FROM log").fetchone()[0] == 4


def test_a_failing_step_leaves_nothing_and_keeps_its_version(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "w.db")
    broken = SCRIPT + "INSERT INTO nowhere VALUES (1);"
    with pytest.raises(Exception, match="nowhere"):
        apply_migrations(db.atomic, [lambda tx: run_script(tx, broken)], _too_new)
    assert user_version(db) == 0
    assert db.table_names() == []  # run_script committed nothing on its own


def test_the_device_schema_migrates_once_and_a_newer_one_is_refused(tmp_path: Path) -> None:
    db = sqlite_utils.Database(tmp_path / "walkaudit.db")
    assert migrate(db) == len(MIGRATIONS)
    assert migrate(db) == len(MIGRATIONS)
    assert {"meta", "findings", "captures"} <= set(db.table_names())
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(MigrationError, match="newer walkaudit"):
        migrate(db)


def test_processes_opening_a_new_folder_at_once_all_get_the_schema(tmp_path: Path) -> None:
    """The CLI and the app starting on one data folder: the second waits, then finds it done."""
    import threading

    path = tmp_path / "walkaudit.db"
    results: list[object] = []
    start = threading.Barrier(4)

    def open_and_migrate() -> None:
        db = sqlite_utils.Database(sqlite3.connect(path, timeout=10, check_same_thread=False))
        start.wait()
        try:
            results.append(migrate(db))
        except Exception as exc:  # what the test must not see
            results.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=open_and_migrate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [len(MIGRATIONS)] * 4
