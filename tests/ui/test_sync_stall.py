"""A stalled server (paused: connections accepted, no reply) still gets the walker an answer.

Headless app against the real server process, paused with SIGSTOP in the middle of a sync that
is busy with large photos. The walker must hear "nothing lost" within 45 s; after SIGCONT the
app's own retry (no tap) delivers everything, and the server holds each finding and photo once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_finding, make_photo
from tests.support import ServerProcess
from walkaudit import model
from walkaudit.store import Store
from walkaudit.ui import syncer

from .harness import Harness
from .sync_support import ALL_SYNCED, NOTHING_LOST, ServerView, enrolled_phone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
PHOTOS = 10


def a_walk_with_large_photos(data: Path, photos: int = PHOTOS) -> None:
    """An ended walk with its route and findings, each with a camera-sized photo (~2 MB)."""
    store = Store.open(data)
    walk = store.start_walk("Kvällsvandring Vivalla", area="Vivalla")
    t0 = model.utcnow()
    for i in range(40):
        t = t0 + timedelta(seconds=5 * i)
        point = model.TrackPoint(walk_id=walk.id, t=t, latitude=59.27 + i / 1e4, longitude=15.2)
        store.add_track_point(point)
    for i in range(photos):
        store.save_finding(
            make_finding(walk_id=walk.id, latitude=59.27 + i / 1e3),
            [make_photo(500 + i, size=(2048, 1536), noise=True)],
        )
    store.end_walk()
    store.close()


async def pause_mid_sync_then_resume(phone: Path, server: ServerProcess) -> tuple[str, Any]:
    """Tap *Synka nu*, SIGSTOP the server while photos flow, wait for the walker's answer
    (at most 45 s), SIGCONT, and wait for the app's own retry to deliver everything."""
    assert server.proc is not None
    pid = server.proc.pid
    view = ServerView(server)
    h = await Harness.start(phone)
    store = h.app.state.store
    # The tap's handler runs the whole sync: let it run while the test watches.
    tap = asyncio.ensure_future(h.click("sync-now"))

    def uploading() -> bool:
        p = h.app.syncer.progress
        return p is not None and p.phase == "upload" and p.done_bytes > 0

    await h.until(uploading, timeout=60)
    os.kill(pid, signal.SIGSTOP)
    paused_at = time.monotonic()
    try:
        assert not tap.done(), "the sync finished before the server could be paused"
        # The walker sees the answer, with how much waits, and can tap again.
        await h.until(
            lambda: any(NOTHING_LOST in t for t in h.texts()) and not h.app.syncer.running,
            timeout=45,
        )
        told_after = time.monotonic() - paused_at
        waiting = h.app.state.pending_items()
        assert waiting > 0
        assert any(f"{NOTHING_LOST}, {waiting} väntar" in t for t in h.texts()), h.texts()
        assert not h.find("sync-now").disabled  # *Synka nu* is no longer greyed
        assert view.missing(store), "the whole sync went through before the pause"
        told = h.app.syncer.last_message
        assert told is not None
    finally:
        os.kill(pid, signal.SIGCONT)
    await tap

    # The app tries again by itself (backoff); nobody taps.
    resumed_at = time.monotonic()
    await h.until(lambda: h.text_of("pending-count") == ALL_SYNCED, timeout=120)
    await h.until(lambda: not h.app.syncer.running)
    arrived_after = time.monotonic() - resumed_at
    assert view.missing(store) == []
    assert_each_once(server, view, store)
    await h.close()
    print(f"\nstalled server: told after {told_after:.1f} s ({told}); "
          f"after SIGCONT all on the server in {arrived_after:.1f} s")  # fmt: skip
    return told


def assert_each_once(server: ServerProcess, view: ServerView, store: Store) -> None:
    """Each finding once at its first revision, each photo once with the same bytes."""
    on_server = server.findings()
    local = {r["id"]: store.finding(r["id"]) for r in store.findings()}
    assert sorted(f["id"] for f in on_server) == sorted(local)
    assert {f["revision"] for f in on_server} == {1}
    for f in on_server:
        mine = local[f["id"]]
        assert [p["sha256"] for p in f["photos"]] == [p.sha256 for p in mine.photos]
        assert all(p["stored"] for p in f["photos"])
        for p in mine.photos:
            assert view.blob_sha256(p.sha256) == p.sha256
    photo_rows = Counter(r[0] for r in view.rows("SELECT sha256 FROM finding_photos"))
    assert len(photo_rows) == len(local) and set(photo_rows.values()) == {1}
    assert len(view.stored_photos()) == len(local)
    [(walks,)] = view.rows("SELECT count(*) FROM walks")
    assert walks == 1


def test_a_stalled_server_is_told_within_45_s_and_nothing_arrives_twice(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app's real timeouts: the walker hears of it, and a later sync finishes the job."""
    monkeypatch.setattr(syncer, "IDLE_S", 3600.0)  # syncs come from the tap and the backoff only
    phone = enrolled_phone(tmp_path, server)
    a_walk_with_large_photos(phone)
    key, _ = asyncio.run(pause_mid_sync_then_resume(phone, server))
    assert key in ("sync.stalled", "sync.offline")  # the watchdog's or the requests' timeout


def test_the_watchdog_gives_up_when_the_requests_themselves_would_wait_much_longer(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The backstop: with a read timeout far beyond the stall limit, the watchdog answers the
    walker, and the abandoned worker neither sends anything more nor overlaps the next sync."""
    monkeypatch.setattr(syncer, "IDLE_S", 3600.0)
    monkeypatch.setattr(syncer, "READ_TIMEOUT_S", 600.0)
    monkeypatch.setattr(syncer, "STALL_S", 8.0)
    phone = enrolled_phone(tmp_path, server)
    a_walk_with_large_photos(phone, photos=5)
    key, _ = asyncio.run(pause_mid_sync_then_resume(phone, server))
    assert key == "sync.stalled"
