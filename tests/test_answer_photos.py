"""The owner's fix photo reaches the device after a sync: in-process against the real app.

A photo the server cannot give yet (not stored, or the server away) is that photo's problem: the
sync and the rest go on, and it arrives after a later sync. The small copy is kept apart from the
walker's own photos, so the start-up clean-up never touches it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.core.history import add_server_event
from sync_server.field.devices import create_enrol_code
from sync_server.owners.page import store_photo
from walkaudit import answers, model
from walkaudit.media import process_photo
from walkaudit.remote import RemotePhotos
from walkaudit.store import Store
from walkaudit.sync import RetryPolicy, SyncClient, enrol

from .conftest import make_finding, make_photo
from .support import free_port


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path / "server")
    with TestClient(create_app(settings)) as http:
        yield http, settings


def test_a_fix_photo_the_server_lacks_comes_with_a_later_sync(
    store: Store, app: tuple[TestClient, Settings], tmp_path: Path
) -> None:
    http, settings = app
    db = Database(settings.database_path)
    enrol(store, http, "http://testserver", create_enrol_code(db, name="t"), "phone")
    finding = store.save_finding(make_finding(), [make_photo(1)])
    client = SyncClient(store, http, retry=RetryPolicy(attempts=1))
    assert client.sync().complete

    stored = process_photo(make_photo(2, size=(1600, 1200)).jpeg, name="fix.jpg")
    missing = process_photo(make_photo(3, size=(1600, 1200)).jpeg, name="later.jpg")
    blobs = http.app.state.services.blobs
    store_photo(db, blobs, stored.jpeg, stored.sha256)
    with db.write() as tx:
        add_server_event(tx, finding.id, model.EventKind.FIXED, actor="owner:x",
                         note="Bytt", photos=[stored.to_photo(), missing.to_photo()])  # fmt: skip

    # The sync pulls the answer; one photo is there, the other the server does not have yet.
    assert client.sync().complete
    assert answers.fetch_answer_photos(store, client) == 1
    photos = RemotePhotos(store)
    assert photos.has(stored.sha256) and not photos.has(missing.sha256)
    with Image.open(io.BytesIO(photos.read(stored.sha256) or b"")) as im:
        assert 360 <= max(im.size) <= 480  # a small copy (a JPEG decode may land below 480)
    assert photos.wanted() == [missing.sha256]

    # Nothing new, nothing arrived: nothing fetched again but the one still wanted.
    assert answers.fetch_answer_photos(store, client) == 0
    store_photo(db, blobs, missing.jpeg, missing.sha256)
    assert answers.fetch_answer_photos(store, client) == 1
    assert photos.has(missing.sha256) and photos.wanted() == []

    # A restart's clean-up of unreferenced photo files leaves the small copies alone.
    store.clean_leftovers(grace_s=0)
    assert photos.has(stored.sha256) and photos.has(missing.sha256)
    [answer] = answers.answers_of(store, finding.id)
    assert answer.comment == "Bytt" and answer.photos == [stored.sha256, missing.sha256]


def test_a_server_out_of_reach_never_fails_the_answer_photos(
    store: Store, app: tuple[TestClient, Settings]
) -> None:
    http, settings = app
    db = Database(settings.database_path)
    enrol(store, http, "http://testserver", create_enrol_code(db, name="t"), "phone")
    finding = store.save_finding(make_finding(), [make_photo(1)])
    client = SyncClient(store, http, retry=RetryPolicy(attempts=1))
    client.sync()
    fix = process_photo(make_photo(4).jpeg, name="fix.jpg")
    store_photo(db, http.app.state.services.blobs, fix.jpeg, fix.sha256)
    with db.write() as tx:
        add_server_event(tx, finding.id, model.EventKind.FIXED, actor="owner:x",
                         photos=[fix.to_photo()])  # fmt: skip
    client.pull()
    # The signal is gone right after the pull: nothing answers on this port.
    store.set_meta(server_url=f"http://127.0.0.1:{free_port()}")
    with httpx.Client(timeout=2) as away:
        offline = SyncClient(store, away, retry=RetryPolicy(attempts=1))
        assert answers.fetch_answer_photos(store, offline) == 0  # no exception
    assert RemotePhotos(store).wanted() == [fix.sha256]
    store.set_meta(server_url="http://testserver")
    assert answers.fetch_answer_photos(store, client) == 1
