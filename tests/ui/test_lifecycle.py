"""The app on a phone that pauses and resumes it, and a cold start that shows the app at once.

Lifecycle events are sent to the page as the Flutter client sends them (inactive, hide, pause;
show, resume); the server is the real one on loopback.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_finding
from tests.support import ServerProcess
from walkaudit.store import Store
from walkaudit.ui import syncer

from .harness import Harness, explained, play
from .sync_support import ServerView, enrolled_phone
from .test_sync_truth import walk_to

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def lifecycle(h: Harness, *states: str) -> None:
    for state in states:
        await h.session.dispatch_event(h.page._i, "app_lifecycle_state_change", {"state": state})
        h.raise_crash()


def geolocator(h: Harness) -> Any:
    return next(c for c in h.controls() if type(c).__name__ == "Geolocator")


def streaming(h: Harness) -> bool:
    """Whether the client is told to deliver position changes (Flutter's stream runs)."""
    return geolocator(h).on_position_change is not None


def test_in_the_background_the_gps_is_off_and_in_front_the_route_goes_on_and_waits_are_synced(
    tmp_path: Path, server: ServerProcess, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(syncer, "IDLE_S", 3600.0)  # no idle look: only the resume can sync
    phone = enrolled_phone(tmp_path, server)
    view = ServerView(server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        store = h.app.state.store
        await h.type("walk-name", "Kvällsvandring Brickebacken")
        await h.click("walk-start")
        await h.until(lambda: h.app.location.tracking_walk is not None)
        walk = store.active_walk()
        assert walk is not None and streaming(h)
        await walk_to(h, 59.2743)
        await walk_to(h, 59.2748)
        await h.until(lambda: store.pending_counts().track_points >= 2)

        fixes_before = h.conn.calls.count(("Geolocator", "get_current_position"))
        # The phone goes into the pocket: the app is paused.
        await lifecycle(h, "inactive", "hide", "pause")
        assert not streaming(h), "the GPS stream must stop in the background"
        assert h.app.location.tracking_walk == walk.id  # the walk itself goes on
        await walk_to(h, 59.2790)  # a fix that was already on its way when the stream stopped
        points = store.query("SELECT count(*) AS n FROM track_points")[0]["n"]
        assert points == 2
        assert view.route_points(walk.id) < points  # nothing has synced the route yet

        # Out of the pocket: the stream is back, a fresh fix is taken, and what waits goes now.
        await lifecycle(h, "show", "resume")
        assert streaming(h)
        assert h.conn.calls.count(("Geolocator", "get_current_position")) > fixes_before
        await h.until(lambda: view.route_points(walk.id) == 2, timeout=60)
        await walk_to(h, 59.2801)
        await h.until(lambda: store.query("SELECT count(*) AS n FROM track_points")[0]["n"] == 3)
        await h.close()

    play(scenario)


def test_a_notification_pulled_down_does_not_stop_the_gps(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.type("walk-name", "Dagvandring")
        await h.click("walk-start")
        await h.until(lambda: h.app.location.tracking_walk is not None)
        await lifecycle(h, "inactive", "resume")
        assert streaming(h)
        await h.close()

    play(scenario)


def test_the_walk_ended_while_paused_does_not_start_the_gps_again(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.type("walk-name", "Kort vandring")
        await h.click("walk-start")
        await h.until(lambda: h.app.location.tracking_walk is not None)
        await lifecycle(h, "inactive", "hide", "pause")
        h.app.location.stop_route()  # ended from elsewhere while in the background
        await lifecycle(h, "show", "resume")
        assert not streaming(h)
        await h.close()

    play(scenario)


CHILD = """
import asyncio, json, sys
from pathlib import Path
from tests.ui import harness
from walkaudit.ui.app import App
seen = {}
_go = App.go
def go(self, name, **params):
    _go(self, name, **params)
    if not seen and self.page.views:
        heavy = ("pydantic", "sqlite_utils", "PIL", "httpx", "geopy", "flet_map", "numpy")
        seen.update(screen=name, ready=self.ready.is_set(),
                    heavy=sorted(m for m in heavy if m in sys.modules))
App.go = go
harness.default_results = lambda: {}
async def main():
    h = await harness.Harness.start(Path(sys.argv[1]))
    seen["keys"] = [k for k in ("walk-continue", "pending-count", "enrol-server") if h.has(k)]
    seen["badge"] = h.text_of("pending-count") if h.has("pending-count") else None
    await h.close()
asyncio.run(main())
print(json.dumps(seen))
"""


def cold_start(data: Path) -> dict[str, Any]:
    """Start the app in a fresh interpreter: what the first view was, and the screen when open."""
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    seen: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return seen


def test_a_first_start_shows_the_enrolment_screen_before_the_heavy_imports(
    tmp_path: Path,
) -> None:
    seen = cold_start(tmp_path / "new-phone")
    assert (seen["screen"], seen["ready"], seen["heavy"]) == ("start", False, [])
    assert seen["keys"] == ["enrol-server"]


def test_a_cold_start_shows_the_start_screen_before_the_heavy_imports(tmp_path: Path) -> None:
    explained(tmp_path)
    s = Store.open(tmp_path)
    walk = s.start_walk("Vandring i Vivalla", "Vivalla")
    s.save_finding(make_finding(walk_id=walk.id))
    s.close()
    seen = cold_start(tmp_path)
    assert (seen["screen"], seen["ready"]) == ("start", False)
    assert seen["heavy"] == []
    # Once open, the same screen has its numbers: the walk (and its finding) wait for a sync.
    assert seen["keys"] == ["walk-continue", "pending-count"]
    assert seen["badge"] == "2 väntar på synk"


def test_a_tap_in_the_first_moment_is_carried_out_when_the_store_is_open(tmp_path: Path) -> None:
    explained(tmp_path)
    s = Store.open(tmp_path)
    walk = s.start_walk("Vandring i Vivalla", "")
    s.close()

    async def scenario() -> None:
        from walkaudit.ui.app import App

        taps: list[str] = []
        original = App._load

        async def slow_load(self: App) -> None:
            # The walker taps *Fortsätt vandringen* on the first screen, before the Store is open.
            await h_click_first(self, taps)
            await original(self)

        App._load = slow_load  # type: ignore[method-assign]
        try:
            h = await Harness.start(tmp_path)
        finally:
            App._load = original  # type: ignore[method-assign]
        assert taps == ["walk-continue"]
        await h.until(lambda: h.app.current == "walk")
        assert h.app.params == {"walk_id": walk.id}
        await h.close()

    play(scenario)


async def h_click_first(app: Any, taps: list[str]) -> None:
    """Tap a control of the first screen by its key, the way the client does."""
    for view in app.page.views:
        for c in _walk(view):
            if getattr(c, "key", None) is not None and str(getattr(c.key, "value", c.key)) == (
                "walk-continue"
            ):
                taps.append("walk-continue")
                await app.page.session.dispatch_event(c._i, "click", None)
                return


def _walk(control: Any) -> list[Any]:
    found = [control]
    for name in ("controls", "content", "appbar"):
        child = getattr(control, name, None)
        for c in child if isinstance(child, list) else [child] if child is not None else []:
            found += _walk(c)
    return found


def test_a_note_typed_just_before_the_pause_is_kept_when_the_app_is_killed_there(
    tmp_path: Path,
) -> None:
    from walkaudit.drafts import DraftBox

    from .test_new_finding import Camera, new_finding, start_walk

    explained(tmp_path)
    camera = Camera()
    note = "Dörren till trapphuset går inte i lås"

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await h.click("category-BEL")
        await h.type("finding-note", note)
        # Into the pocket at once, well inside the pause the autosave waits after typing.
        await lifecycle(h, "inactive", "hide", "pause")
        kept = DraftBox(tmp_path).load()
        assert kept is not None and kept.note == note
        await h.close()  # killed in the background: nothing else runs

        h = await Harness.start(tmp_path, camera.results())
        await h.until(lambda: h.has("draft-resume"))
        assert any(note in t for t in h.texts())
        await h.close()

    play(scenario)


# ---- the moments around a start, and events that overlap -----------------------------------


async def gated_start(data: Path) -> tuple[Any, asyncio.Event, asyncio.Task[Harness]]:
    """Start the app with its Store held closed until `gate` is set: the first screen is up."""
    from walkaudit.ui.app import App

    gate, holder = asyncio.Event(), {}
    original = App._load

    async def held(self: App) -> None:
        holder["app"] = self
        await gate.wait()
        await original(self)

    App._load = held  # type: ignore[method-assign]
    try:
        task = asyncio.create_task(Harness.start(data))
        while "app" not in holder:
            await asyncio.sleep(0.01)
    finally:
        App._load = original  # type: ignore[method-assign]
    return holder["app"], gate, task


def on_screen(app: Any, key: str) -> Any:
    for c in app.page.session.index.values():
        k = getattr(c, "key", None)
        if k is not None and (k == key or getattr(k, "value", None) == key):
            return c
    raise LookupError(key)


def fire(app: Any, control: Any, name: str, data: Any = None) -> asyncio.Task[Any]:
    """An event in a task of its own, as flet's socket server runs each one."""
    return asyncio.create_task(app.page.session.dispatch_event(control._i, name, data))


def test_two_taps_on_start_walk_in_the_first_moment_start_one_walk(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        app, gate, task = await gated_start(tmp_path)
        field = on_screen(app, "walk-name")
        app.page.session.apply_patch(field._i, {"value": "Kvällsvandring"})
        button = on_screen(app, "walk-start")
        taps = [fire(app, button, "click"), fire(app, button, "click")]
        await asyncio.sleep(0.05)
        gate.set()
        h = await task
        await asyncio.gather(*taps)
        await h.until(lambda: h.app.current == "walk")
        assert [w.name for w in h.app.state.store.walks()] == ["Kvällsvandring"]
        h.raise_crash()
        await h.close()

    play(scenario)


def test_put_in_the_pocket_during_the_start_the_walk_waits_without_gps(tmp_path: Path) -> None:
    explained(tmp_path)
    s = Store.open(tmp_path)
    s.start_walk("Vandring i Vivalla", "")
    s.close()

    async def scenario() -> None:
        app, gate, task = await gated_start(tmp_path)
        await fire(app, on_screen(app, "walk-continue"), "click")
        await lifecycle_of(app, "inactive", "hide", "pause")
        gate.set()
        h = await task
        await h.until(lambda: h.app.location.tracking_walk is not None)
        assert not streaming(h)
        await lifecycle(h, "show", "resume")
        assert streaming(h)
        await h.close()

    play(scenario)


async def lifecycle_of(app: Any, *states: str) -> None:
    for state in states:
        await app.page.session.dispatch_event(
            app.page._i, "app_lifecycle_state_change", {"state": state}
        )


@pytest.mark.parametrize("gap_ms", [0, 5, 50])
def test_a_resume_overlapping_a_pause_leaves_gps_and_camera_on(tmp_path: Path, gap_ms: int) -> None:
    from .test_new_finding import Camera, new_finding, start_walk

    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await h.until(lambda: h.app.photos.ready)
        await h.type("finding-note", "Trasig lampa")  # the pause writes the draft: it waits

        def event(state: str) -> asyncio.Task[Any]:
            return fire(h.app, h.page, "app_lifecycle_state_change", {"state": state})

        events = [event(s) for s in ("inactive", "hide", "pause")]
        await asyncio.sleep(gap_ms / 1000)
        events += [event(s) for s in ("show", "resume")]
        await asyncio.gather(*events)
        await h.until(lambda: h.app.photos.ready)
        assert not h.app.location.paused and streaming(h)
        await h.close()

    play(scenario)


def test_location_allowed_in_the_phones_settings_starts_the_route_on_return(
    tmp_path: Path,
) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path, {("Geolocator", "request_permission"): "denied"})
        await h.type("walk-name", "Kvällsvandring")
        await h.click("walk-start")
        await h.until(lambda: h.app.current == "walk" and h.app.location.granted is False)
        assert h.app.location.tracking_walk is None
        await lifecycle(h, "inactive", "hide", "pause")
        # The walker allows location in the phone's settings, and comes back to the app.
        h.conn.results[("Geolocator", "get_permission_status")] = "whileInUse"
        await lifecycle(h, "show", "resume")
        walk = h.app.state.store.active_walk()
        assert walk is not None and h.app.location.tracking_walk == walk.id
        assert streaming(h)
        await h.until(lambda: h.app.state.last_position is not None)
        await h.close()

    play(scenario)
