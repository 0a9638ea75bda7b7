"""*Avsluta* asks first and can be undone: headless app, real store, and a real server.

The walker taps *Avsluta*: the app says what the walk holds and what still waits, and ends the
walk only on *Avsluta vandringen*. For 15 minutes the end screen can take the walk up again; the
server follows (ongoing again, then ended again).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import make_finding, make_photo
from tests.support import ServerProcess, run
from walkaudit import model

from .harness import Harness, explained, play

pytestmark = pytest.mark.timeout(180)


def open_dialogs(h: Harness) -> list[Any]:
    return [d for d in h.page._dialogs.controls if d.open]


async def client_closes_dialogs(h: Harness) -> None:
    """What the Flutter client does once a dialog has closed: it reports the dismissal."""
    for d in list(h.page._dialogs.controls):
        if not d.open:
            await h.session.dispatch_event(d._i, "dismiss", None)
    h.raise_crash()


async def walk_with_findings(h: Harness) -> model.Walk:
    """A walk started on screen, two findings (three photos) and a short route."""
    await h.type("walk-name", "Kvällsvandring Vivalla")
    await h.click("walk-start")
    walk = h.app.state.store.active_walk()
    assert walk is not None and h.app.current == "walk"
    store = h.app.state.store
    store.save_finding(make_finding(walk_id=walk.id), [make_photo(1), make_photo(2)])
    store.save_finding(make_finding(walk_id=walk.id, category="KLO"), [make_photo(3)])
    for i, lat in enumerate((59.2700, 59.2710, 59.2720)):
        store.add_track_point(model.TrackPoint(walk_id=walk.id, t=f"2026-11-25T18:0{i}:00+01:00",
                                               latitude=lat, longitude=15.2))  # fmt: skip
    return walk


def test_avsluta_asks_with_what_the_walk_holds_and_keep_walking_keeps_it_going(
    tmp_path: Path,
) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        walk = await walk_with_findings(h)
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))
        assert h.text_of("walk-end-holds") == "Fynd: 2 · Foton: 3 · 0 min · 0.2 km"
        waiting = h.app.state.pending_items()
        assert waiting > 0
        assert h.text_of("walk-end-waiting") == (
            f"{waiting} väntar på synk – skickas så fort servern nås."
        )
        await h.click("walk-end")  # a second tap while the question is up: still one question
        assert len(open_dialogs(h)) == 1

        await h.click("walk-end-cancel")
        await client_closes_dialogs(h)
        assert open_dialogs(h) == []
        assert h.app.current == "walk"
        active = h.app.state.store.active_walk()
        assert active is not None and active.id == walk.id and active.ended_at is None

        await h.click("walk-end")  # asks again after "Fortsätt gå"
        await h.until(lambda: len(open_dialogs(h)) == 1)
        await h.close()

    play(scenario)


def test_confirm_ends_the_walk_and_the_end_screen_takes_it_up_again(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        walk = await walk_with_findings(h)
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))
        confirm = h.find("walk-end-confirm")
        await h.click("walk-end-confirm")
        await h.session.dispatch_event(confirm._i, "click", None)  # a second tap: harmless
        h.raise_crash()
        await client_closes_dialogs(h)
        assert h.app.current == "walk_end"
        ended = h.app.state.store.walk(walk.id)
        assert ended.ended_at is not None and h.app.state.store.active_walk() is None
        assert h.text_of("walk-summary").startswith("2 fynd · 0.2 km")
        assert h.visible("walk-reopen")
        until = (ended.ended_at + timedelta(minutes=15)).astimezone(ZoneInfo("Europe/Stockholm"))
        assert f"Avslutad av misstag? Du kan återuppta den till kl. {until:%H:%M}." in h.texts()

        reopen = h.find("walk-reopen")
        await h.click("walk-reopen")
        await h.session.dispatch_event(reopen._i, "click", None)  # a second tap: harmless
        h.raise_crash()
        assert h.app.current == "walk" and h.has("walk-end") and h.has("new-finding")
        again = h.app.state.store.active_walk()
        assert again is not None and again.id == walk.id and again.ended_at is None
        await h.until(lambda: h.app.location.tracking_walk == walk.id)  # the route goes on
        assert len(h.app.state.store.walks()) == 1  # the same walk, not a new one

        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm") and open_dialogs(h))
        [dialog] = open_dialogs(h)
        confirm = next(a for a in dialog.actions if a.identifier == "walk-end-confirm")
        await h.session.dispatch_event(confirm.content._i, "click", None)
        h.raise_crash()
        assert h.app.current == "walk_end"
        assert h.app.state.store.walk(walk.id).ended_at is not None
        assert h.app.location.tracking_walk is None
        await h.close()

    play(scenario)


def test_no_way_back_after_fifteen_minutes_or_once_a_new_walk_has_started(
    tmp_path: Path,
) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        walk = await walk_with_findings(h)
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))
        await h.click("walk-end-confirm")
        assert h.visible("walk-reopen")
        store = h.app.state.store

        def ended_ago(minutes: int) -> None:
            at = model.utcnow() - timedelta(minutes=minutes)
            with store.transaction() as db:
                db.execute("UPDATE walks SET ended_at = ? WHERE id = ?", [at.isoformat(), walk.id])

        # The screen was left open: after 16 minutes a tap says why nothing happens.
        ended_ago(16)
        await h.click("walk-reopen")
        assert any(t.startswith("Vandringen kan inte längre återupptas") for t in h.texts())
        assert not h.visible("walk-reopen")
        assert h.app.current == "walk_end" and store.active_walk() is None

        # Coming back to the end screen later: no offer at all.
        h.app.go("walk_end", walk_id=walk.id)
        assert not h.visible("walk-reopen")

        # Within the window but another walk has started: no offer either.
        ended_ago(2)
        h.app.go("walk_end", walk_id=walk.id)
        assert h.visible("walk-reopen")
        store.start_walk("Nästa")
        h.app.go("walk_end", walk_id=walk.id)
        assert not h.visible("walk-reopen")
        await h.close()

    play(scenario)


@pytest.mark.slow
def test_the_server_follows_the_walk_ended_reopened_and_ended_again(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "server").start()
    phone = explained(tmp_path / "phone")
    assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0

    def on_server(walk_id: str) -> list[tuple[Any, ...]]:
        with sqlite3.connect(server.data / "walkaudit.db") as db:
            return list(db.execute("SELECT ended_at FROM walks WHERE id = ?", [walk_id]))

    async def scenario() -> None:
        h = await Harness.start(phone)
        walk = await walk_with_findings(h)
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))
        await h.click("walk-end-confirm")
        # Ending starts a sync at once: no tap on *Synka nu*.
        await h.until(lambda: on_server(walk.id) and on_server(walk.id)[0][0] is not None, 60)
        await h.until(lambda: not h.app.syncer.running)

        await h.click("walk-reopen")
        await h.until(lambda: on_server(walk.id) == [(None,)], 60)  # ongoing again on /c/walks
        await h.until(lambda: not h.app.syncer.running)

        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm") and open_dialogs(h))
        [dialog] = open_dialogs(h)
        confirm = next(a for a in dialog.actions if a.identifier == "walk-end-confirm")
        await h.session.dispatch_event(confirm.content._i, "click", None)
        h.raise_crash()
        await h.until(lambda: on_server(walk.id) != [(None,)], 60)
        await h.until(lambda: not h.app.syncer.running)
        ended = h.app.state.store.walk(walk.id).ended_at
        assert ended is not None
        [(server_ended,)] = on_server(walk.id)
        assert datetime.fromisoformat(server_ended) == ended  # the second end, not the first
        assert h.app.state.store.pending_counts().walks == 0  # the server confirmed all three
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()
