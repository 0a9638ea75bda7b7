"""One truth about what waits: the badge, the sync loop and `walkaudit status` count the walk.

Headless app (tests/ui/harness.py) against the real server process. No test taps *Synka nu*:
the walk's end starts the sync, and the background loop sends a walk and its route by itself.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import make_finding, make_photo
from tests.support import ServerProcess, run
from walkaudit import model
from walkaudit.store import Store
from walkaudit.ui import syncer

from .harness import OREBRO_FIX, Harness
from .sync_support import ALL_SYNCED, ServerView, enrolled_phone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def walk_to(h: Harness, latitude: float) -> None:
    """The phone's position stream reports a new fix (as the Geolocator does while walking)."""
    geo = next(c for c in h.controls() if type(c).__name__ == "Geolocator")
    fix = OREBRO_FIX | {"latitude": latitude, "timestamp": int(time.time() * 1000)}
    await h.session.dispatch_event(geo._i, "position_change", {"position": fix})
    h.raise_crash()


async def end_walk(h: Harness) -> None:
    """*Avsluta*, and its confirmation when the app asks for one."""
    await h.click("walk-end")
    await h.until(lambda: h.app.current == "walk_end" or h.has("walk-end-confirm"))
    if h.app.current != "walk_end":
        await h.click("walk-end-confirm")
    await h.until(lambda: h.app.current == "walk_end")


def test_ending_a_walk_sends_walk_route_finding_and_photo_without_a_tap(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No idle polling: only the walk's end can have started the sync.
    monkeypatch.setattr(syncer, "IDLE_S", 3600.0)
    phone = enrolled_phone(tmp_path, server)
    view = ServerView(server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        store = h.app.state.store
        await h.type("walk-name", "Kvällsvandring Vivalla")
        await h.click("walk-start")
        await h.until(lambda: h.app.location.tracking_walk is not None)
        walk = store.active_walk()
        assert walk is not None
        for i in range(6):
            await walk_to(h, 59.2743 + i * 0.0002)
        await h.until(lambda: store.pending_counts().track_points == 6)
        # The walker saves a finding: what *Spara* keeps at once is the capture with its photo.
        finding = make_finding(walk_id=walk.id, category="BEL", note="Trasig lampa")
        await h.app.work(h.app.state.inbox.put, finding, [make_photo(7, size=(1600, 1200)).jpeg])
        h.app.refresh()

        waiting = h.app.state.pending()
        assert (waiting.walks, waiting.track_points, waiting.captures) == (1, 6, 1)
        # The walk (start and route together), the finding and its photo.
        assert h.text_of("pending-count") == "3 väntar på synk"
        assert view.walk_ended(walk.id) is None  # nothing has left the phone yet

        await end_walk(h)
        seen_waiting = []
        deadline = time.monotonic() + 60
        while True:
            badge = h.text_of("pending-count")  # read before the server: the claim comes first
            missing = view.missing(store)
            if badge == ALL_SYNCED:
                assert missing == [], f"the badge says all synced while the server lacks {missing}"
                break
            assert badge.endswith("väntar på synk"), badge
            assert not [t for t in h.texts() if re.search(r"(^|\D)0/0 ", t)]  # never "0/0 st"
            if missing:
                seen_waiting.append(h.app.state.pending().walks)
            assert time.monotonic() < deadline, f"after 60 s the server still lacks {missing}"
            await asyncio.sleep(0.05)
        # While the server lacked something, the badge counted the walk among what waited.
        assert seen_waiting and seen_waiting[0] == 1
        await h.until(lambda: not h.app.syncer.running)
        assert h.app.syncer.last_message == ("sync.done", {})

        ended = store.walk(walk.id)
        assert view.walk_ended(walk.id) is True and view.route_points(walk.id) == 6
        [row] = store.findings(walk.id)
        [on_server] = [f for f in server.findings() if f["id"] == row["id"]]
        local = store.finding(row["id"])
        assert [p["sha256"] for p in on_server["photos"]] == [p.sha256 for p in local.photos]
        for p in local.photos:
            assert view.blob_sha256(p.sha256) == p.sha256  # the same bytes, verified by hash
        assert ended.ended_at is not None and store.pending_counts().total == 0
        await h.close()

    asyncio.run(scenario())


def status(data: Path, *args: str) -> str:
    r = run("walkaudit", "--data", data, "status", *args)
    assert r.code == 0, r.err
    return r.out


def test_a_walk_and_its_route_alone_are_synced_by_the_loop_and_shown_by_status(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing but a walk waits (no finding): `status` says so, and the loop sends it."""
    phone = enrolled_phone(tmp_path, server)
    store = Store.open(phone)
    walk = store.start_walk("Kort runda", area="Vivalla")
    t0 = model.utcnow()
    for i in range(3):
        point = model.TrackPoint(
            walk_id=walk.id, t=t0 + timedelta(seconds=i), latitude=59.27 + i / 1e4, longitude=15.2
        )
        store.add_track_point(point)
    store.end_walk()
    store.close()

    before = json.loads(status(phone, "--json"))
    assert before["pending"]["walks"] == 1 and before["pending"]["track_points"] == 3
    assert before["pending"]["total"] == 1  # one walk, with its route
    [waiting] = before["walks_waiting"]
    assert (waiting["id"], waiting["record"], waiting["route_points_waiting"]) == (
        walk.id,
        "waiting",
        3,
    )
    text = status(phone)
    assert "1 walk (with 3 route points) waits for the next sync" in text

    monkeypatch.setattr(syncer, "IDLE_S", 1.0)  # the loop looks often; nobody taps
    view = ServerView(server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        assert h.text_of("pending-count") == "1 väntar på synk"
        await h.until(lambda: h.text_of("pending-count") == ALL_SYNCED, timeout=60)
        await h.until(lambda: not h.app.syncer.running)
        assert view.walk_ended(walk.id) is True and view.route_points(walk.id) == 3
        await h.close()

    asyncio.run(scenario())
    after = json.loads(status(phone, "--json"))
    assert after["pending"]["total"] == 0 and after["walks_waiting"] == []
    assert "nothing — all on the server" in status(phone)


def test_the_progress_line_says_syncing_until_it_knows_what_to_count(tmp_path: Path) -> None:
    from walkaudit.sync import Progress

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        s = h.app.syncer
        s.running = True
        texts = []
        for p in (
            None,  # the worker has not counted yet
            Progress("pull"),  # nothing was waiting: only status changes are fetched
            Progress("push", 0, 1),  # a walk's end, no photo
            Progress("upload", 1, 3, 400_000, 2_000_000),
        ):
            s.progress = p
            texts.append(s.describe()["text"])
        assert texts == ["Synkar…", "Synkar…", "0/1 st", "1/3 st · 0.4/2.0 MB"]
        s.running = False
        await h.close()

    asyncio.run(scenario())
