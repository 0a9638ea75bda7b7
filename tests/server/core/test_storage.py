"""The database (migrations, pragmas) and the blob store, below the HTTP layer."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from sync_server.core.blobs import (
    BlobBusy,
    BlobHashMismatch,
    BlobNotFound,
    BlobOffsetMismatch,
    DiskBlobStore,
)
from sync_server.core.db import Database
from sync_server.core.errors import DatabaseTooNew
from sync_server.core.migrations import MIGRATIONS


def test_migrations_are_idempotent_and_tracked(tmp_path: Path) -> None:
    db = Database(tmp_path / "w.db")
    assert db.migrate() == len(MIGRATIONS)
    assert db.migrate() == len(MIGRATIONS)
    conn = db.conn()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert {"devices", "findings", "events", "photos", "photo_refs"} <= set(conn.table_names())
    db.close()
    again = Database(tmp_path / "w.db")
    assert again.migrate() == len(MIGRATIONS)
    again.close()


def test_a_database_from_a_newer_server_is_refused(tmp_path: Path) -> None:
    db = Database(tmp_path / "w.db")
    db.migrate()
    db.conn().execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    with pytest.raises(DatabaseTooNew, match="upgrade walkaudit-server"):
        db.migrate()
    db.close()


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(tmp_path / "w.db")
    db.migrate()
    with pytest.raises(RuntimeError), db.write() as tx:
        tx.execute("INSERT INTO photos VALUES ('x', 1, 1, 1, 'now')")
        raise RuntimeError("boom")
    assert db.conn().execute("SELECT count(*) FROM photos").fetchone()[0] == 0
    db.close()


DATA = bytes(range(256)) * 1000
SHA = hashlib.sha256(DATA).hexdigest()


def test_blob_append_resume_and_finalize(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    assert store.partial_size(SHA) == 0 and not store.exists(SHA)
    assert store.append(SHA, 0, [DATA[:1000], DATA[1000:5000]]) == 5000
    assert store.partial_size(SHA) == 5000
    with pytest.raises(BlobOffsetMismatch) as info:
        store.append(SHA, 4000, [b"x"])
    assert info.value.current == 5000
    assert store.append(SHA, 5000, [DATA[5000:]]) == len(DATA)
    path = store.finalize(SHA)
    assert path == tmp_path / "blobs" / SHA[:2] / SHA[2:4] / SHA
    assert store.exists(SHA) and store.partial_size(SHA) == 0
    with store.open(SHA) as stream:
        assert stream.read() == DATA


def test_bytes_written_before_an_error_are_kept(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)

    def cut() -> object:
        yield DATA[:3000]
        raise ConnectionError("cut")

    with pytest.raises(ConnectionError):
        store.append(SHA, 0, cut())  # type: ignore[arg-type]
    assert store.partial_size(SHA) == 3000


def test_blob_hash_mismatch_discards_the_partial(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    store.append(SHA, 0, [DATA[:-1] + b"\x00"])
    with pytest.raises(BlobHashMismatch):
        store.finalize(SHA)
    assert store.partial_size(SHA) == 0 and not store.exists(SHA)
    with pytest.raises(BlobNotFound):
        store.finalize(SHA)


def test_one_writer_per_partial(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    with store.writer(SHA, 0) as writer:
        writer.write(DATA[:10])
        with pytest.raises(BlobBusy):
            store.writer(SHA, 10)
    assert store.partial_size(SHA) == 10


def test_blob_names_must_be_hashes(tmp_path: Path) -> None:
    store = DiskBlobStore(tmp_path)
    with pytest.raises(ValueError):
        store.path("../../etc/passwd")
    with pytest.raises(ValueError):
        store.partial_size("A" * 64)
