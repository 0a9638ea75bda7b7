"""SyncClient in-process against the real app (Starlette's TestClient is an httpx client)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.core.db import Database
from sync_server.field.devices import create_enrol_code
from walkaudit import model
from walkaudit.store import Store
from walkaudit.sync import (
    AuthError,
    Progress,
    RetryPolicy,
    ServerUnreachableError,
    SyncClient,
    enrol,
)

from .conftest import make_finding, make_photo
from .support import free_port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    settings = Settings(data_dir=tmp_path / "server")
    with TestClient(create_app(settings)) as http:
        yield http, settings


def enrolled(store: Store, server: tuple[TestClient, Settings]) -> TestClient:
    http, settings = server
    code = create_enrol_code(Database(settings.database_path), name="test")
    enrol(store, http, "http://testserver", code, "test phone")
    return http


def test_progress_counts_every_byte_and_item_once(store: Store, server) -> None:
    http = enrolled(store, server)
    for i in range(3):
        store.save_finding(make_finding(), [make_photo(i, size=(800, 600), noise=True)])
    total = store.pending_counts().photo_bytes
    seen: list[Progress] = []
    client = SyncClient(
        store,
        http,
        chunk_size=64 * 1024,
        on_progress=lambda p: seen.append(
            Progress(p.phase, p.done_items, p.total_items, p.done_bytes, p.total_bytes)
        ),
    )
    report = client.sync()
    assert report.complete
    done = [p.done_bytes for p in seen]
    assert done == sorted(done), "progress went backwards"
    assert seen[-1].phase == "done"
    assert seen[-1].done_bytes == seen[-1].total_bytes == total
    assert seen[-1].done_items == seen[-1].total_items == 6  # 3 findings + 3 photos
    assert report.photos_uploaded == 3 and report.bytes_uploaded == total


def test_upload_resumes_from_the_servers_offset(store: Store, server) -> None:
    http = enrolled(store, server)
    photo = make_photo(9, size=(1200, 900), noise=True)
    finding = store.save_finding(make_finding(), [photo])
    # Push the record, then send the first 100 kB by hand, as a cut connection would have.
    store.apply_receipt(
        batch := store.outbox_batch(),
        model.PushReceipt.model_validate(
            http.post(
                "/v1/sync/push",
                content=batch.model_dump_json(),
                headers={"Authorization": f"Bearer {store.get_meta('token')}"},
            ).json()
        ),
    )
    head = 100_000
    r = http.put(
        f"/v1/photos/{photo.sha256}",
        content=photo.jpeg[:head],
        headers={
            "Authorization": f"Bearer {store.get_meta('token')}",
            "Content-Range": f"bytes 0-{head - 1}/{len(photo.jpeg)}",
        },
    )
    assert r.status_code == 202
    report = SyncClient(store, http).sync()
    assert report.complete
    assert report.bytes_uploaded == len(photo.jpeg) - head  # only the rest was sent
    _, settings = server
    blob = next((settings.data_dir).rglob(photo.sha256))
    assert hashlib.sha256(blob.read_bytes()).hexdigest() == finding.photos[0].sha256


def test_unreachable_server_is_retried_with_growing_jittered_waits(store: Store) -> None:
    store.set_meta(server_url=f"http://127.0.0.1:{free_port()}", token="wa_x", device_id="d")
    store.save_finding(make_finding(), [make_photo(1)])
    waits: list[float] = []
    policy = RetryPolicy(attempts=6, base_s=0.5, cap_s=4)
    with httpx.Client(timeout=2) as http:
        client = SyncClient(store, http, retry=policy, sleep=waits.append, rng=random.Random(1))
        with pytest.raises(ServerUnreachableError, match="connection refused"):
            client.sync()
    assert len(waits) == 5
    for n, w in enumerate(waits):
        assert 0 <= w <= min(4, 0.5 * 2**n)
    assert len(set(waits)) == 5  # jitter: no two devices (or retries) in lockstep
    assert store.pending_counts().findings == 1


def test_a_wrong_token_is_an_auth_error_and_nothing_is_marked(store: Store, server) -> None:
    http = enrolled(store, server)
    store.set_meta(token="wa_not-the-real-token")
    store.save_finding(make_finding())
    with pytest.raises(AuthError, match="enrol again"):
        SyncClient(store, http).sync()
    assert store.pending_counts().findings == 1


def test_pull_brings_status_changes_and_is_idempotent(store: Store, server) -> None:
    http = enrolled(store, server)
    saved = store.save_finding(make_finding())
    client = SyncClient(store, http)
    assert client.sync().complete
    assert store.findings()[0]["server_status"] == "received"
    assert [e.kind for e in store.history(saved.id)] == [model.EventKind.RECEIVED]
    assert client.pull() == 0  # the cursor moved: nothing is pulled twice


def test_a_walk_its_end_and_its_route_are_synced_and_counted_once(store: Store, server) -> None:
    """The walk counts as one item in the progress, whatever the length of its route."""
    from datetime import timedelta

    http = enrolled(store, server)
    walk = store.start_walk("Kvällsvandring Vivalla", area="Vivalla")
    t0 = model.utcnow()
    for i in range(300):
        store.add_track_point(model.TrackPoint(
            walk_id=walk.id, t=t0 + timedelta(seconds=5 * i), latitude=59.27 + i / 1e5,
            longitude=15.2))  # fmt: skip
    store.save_finding(make_finding(walk_id=walk.id), [make_photo(1)])
    store.end_walk()
    seen: list[Progress] = []
    client = SyncClient(
        store,
        http,
        on_progress=lambda p: seen.append(
            Progress(p.phase, p.done_items, p.total_items, p.done_bytes, p.total_bytes)
        ),
    )
    assert client.sync().complete
    assert store.pending_counts().total == 0
    assert {p.total_items for p in seen} == {3}  # the walk (with its route), finding, photo
    done = [p.done_items for p in seen]
    assert done == sorted(done) and done[-1] == 3
    _, settings = server
    db = Database(settings.database_path)
    on_server = db.query_one("SELECT ended_at FROM walks WHERE id = ?", (walk.id,))
    assert on_server is not None and on_server["ended_at"] is not None
    points = db.query_one("SELECT count(*) AS n FROM track_points WHERE walk_id = ?", (walk.id,))
    assert points == {"n": 300}


def test_a_stopped_sync_sends_nothing_more_and_loses_nothing(store: Store, server) -> None:
    from walkaudit.sync import SyncStopped

    http = enrolled(store, server)
    for i in range(2):
        store.save_finding(make_finding(), [make_photo(i, size=(1200, 900), noise=True)])
    stop = {"now": False}
    pieces = 0

    def activity() -> None:
        nonlocal pieces
        pieces += 1
        if pieces == 8:  # in the middle of the first photo
            stop["now"] = True

    client = SyncClient(store, http, on_activity=activity, should_stop=lambda: stop["now"])
    with pytest.raises(SyncStopped):
        client.sync()
    counts = store.pending_counts()
    # The request in flight finished (the first photo); no new one started (the second).
    assert counts.photos == 1 and counts.findings == 1
    stop["now"] = False
    assert client.sync().complete  # the next sync finishes the job
    assert store.pending_counts().total == 0
