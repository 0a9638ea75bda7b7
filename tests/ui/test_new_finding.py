"""The new-finding screen, headless over a real Flet session: a photo for every finding, several
photos each, a camera that comes back after every capture and every trip to the background, a
draft that survives a kill, a back gesture that asks, and the "same thing?" prompt in sight.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import flet as ft
import pytest

from tests.conftest import make_finding, make_photo
from walkaudit.drafts import DraftBox
from walkaudit.ui.views.new_finding import MAX_PHOTOS

from .harness import OREBRO_FIX, Harness, explained, play

pytestmark = pytest.mark.timeout(180)


class Camera:
    """A camera that gives a different real JPEG on every shot (and can be told to fail)."""

    def __init__(self, sizes: list[tuple[int, int]] | None = None) -> None:
        self.shots = 0
        self.sizes = sizes
        self.fail_next_shot = False

    def take_picture(self, args: Any) -> bytes:
        if self.fail_next_shot:
            self.fail_next_shot = False
            raise RuntimeError("CameraException(Uninitialized CameraController)")
        self.shots += 1
        size = self.sizes[self.shots - 1] if self.sizes else (800, 600)
        return make_photo(1000 + self.shots, size=size).jpeg

    def results(self) -> dict[tuple[str, str], Any]:
        return {("Camera", "take_picture"): self.take_picture, ("View", "confirm_pop"): None}


def initialised(h: Harness) -> int:
    """How often the app has asked the camera to start (flet-camera's initialize())."""
    return h.conn.calls.count(("Camera", "initialize"))


def open_dialogs(h: Harness) -> list[ft.AlertDialog]:
    return [c for c in h.controls() if isinstance(c, ft.AlertDialog) and c.open]


async def dismissed(h: Harness) -> None:
    """What the Flutter client does after a dialog closes: report the dismissal (unmounts it)."""
    for d in [c for c in h.controls() if isinstance(c, ft.AlertDialog) and not c.open]:
        await h.session.dispatch_event(d._i, "dismiss", None)
    h.raise_crash()


async def press(h: Harness, key: str) -> None:
    """Tap a button in the open dialog, and let the dialog go as the client would."""
    await h.click(key)
    await dismissed(h)


async def back(h: Harness) -> None:
    """Tap the top screen's arrow (the walk screen below keeps its own "back" mounted)."""
    view = h.page.views[-1]
    arrow = next(c for c in h.controls() if getattr(c, "key", None) == "back"
                 and _top_level(view, c, none_if_elsewhere=True) is not None)  # fmt: skip
    await h.session.dispatch_event(arrow._i, "click", None)
    h.raise_crash()


async def start_walk(h: Harness, name: str = "Kvällsvandring") -> None:
    await h.type("walk-name", name)
    await h.click("walk-start")
    assert h.app.current == "walk"


async def new_finding(h: Harness) -> None:
    await h.click("new-finding")
    assert h.app.current == "new_finding"
    await h.until(lambda: h.app.photos.ready and h.app.state.last_position is not None)


async def take_photos(h: Harness, n: int) -> None:
    for _ in range(n):
        before = len(strip_keys(h))
        await h.click("take-photo")
        await h.until(lambda b=before: len(strip_keys(h)) == b + 1)  # type: ignore[misc]


def strip_keys(h: Harness) -> list[str]:
    """The thumbnails on screen (each has its remove button)."""
    keys = [str(getattr(c, "key", "")) for c in h.controls()]
    return sorted(k for k in keys if k.startswith("photo-remove-"))


def saved_photo_widths(h: Harness, finding_id: str) -> list[int]:
    return sorted(p.width for p in h.app.state.store.finding(finding_id).photos)


def test_ten_findings_in_one_session_each_saved_with_all_its_photos(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        wanted = {}
        for i in range(10):
            await new_finding(h)
            assert initialised(h) == i + 1  # a fresh camera on every visit to the screen
            n = 1 + i % 3
            await take_photos(h, n)
            assert h.visible("take-photo")  # still there after each shot: the preview stays
            await h.click("category-BEL" if i % 2 else "category-KLO")
            await h.click("save-finding")
            assert h.app.current == "walk"
            await h.until(lambda k=i: len(h.app.state.store.findings()) == k + 1)  # type: ignore[misc]
            wanted[i] = n
        rows = h.app.state.store.findings()
        assert sorted(r["photo_count"] for r in rows) == sorted(wanted.values())
        shas = [p.sha256 for r in rows for p in h.app.state.store.finding(r["id"]).photos]
        assert len(shas) == sum(wanted.values()) == camera.shots == 19
        assert len(set(shas)) == 19  # every photo is its own, none saved twice
        assert not DraftBox(tmp_path).exists()  # every saved finding took its draft with it
        await h.close()

    play(scenario)


def test_a_photo_can_be_removed_before_saving(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera(sizes=[(640, 480), (800, 600), (1024, 768)])

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 3)
        assert strip_keys(h) == ["photo-remove-0", "photo-remove-1", "photo-remove-2"]
        assert "3 foton" in h.texts()
        remove = h.find("photo-remove-1")
        await h.click("photo-remove-1")
        await h.session.dispatch_event(remove._i, "click", None)  # a second tap: nothing more
        assert strip_keys(h) == ["photo-remove-0", "photo-remove-1"] and "2 foton" in h.texts()
        await h.click("category-BEL")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert saved_photo_widths(h, row["id"]) == [640, 1024]  # the middle one is gone
        await h.close()

    play(scenario)


def test_the_photo_limit_is_said_and_kept(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, MAX_PHOTOS)
        limit = f"Högst {MAX_PHOTOS} foton per fynd – ta bort ett för att ta ett nytt."
        assert limit in h.texts()
        await h.click("take-photo")
        assert camera.shots == MAX_PHOTOS and len(strip_keys(h)) == MAX_PHOTOS
        await h.click("photo-remove-0")
        await take_photos(h, 1)  # room again
        assert camera.shots == MAX_PHOTOS + 1
        await h.close()

    play(scenario)


def test_saving_without_a_photo_asks_once(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await h.click("category-VEG")
        await h.click("save-finding")
        await h.click("save-finding")  # a second tap: the same question, not a second one
        [dialog] = open_dialogs(h)
        assert "Spara utan foto?" in str(dialog.title.value)  # type: ignore[union-attr]
        assert h.app.state.inbox.items() == [] and h.app.current == "new_finding"
        await press(h, "save-take-photo")  # "Ta foto": the photo is taken, nothing saved yet
        assert strip_keys(h) == ["photo-remove-0"] and not open_dialogs(h)
        await h.click("save-finding")  # with a photo: no question
        await h.until(lambda: h.app.state.store.findings())
        assert h.app.current == "walk"

        await new_finding(h)
        await h.click("category-KLO")
        await h.click("save-finding")
        assert len(open_dialogs(h)) == 1
        await press(h, "save-without-photo")  # "Spara ändå"
        await h.until(lambda: len(h.app.state.store.findings()) == 2)
        assert sorted(r["photo_count"] for r in h.app.state.store.findings()) == [0, 1]
        await h.close()

    play(scenario)


def test_back_with_unsaved_work_asks_and_both_answers_work(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await back(h)  # nothing entered: straight back, no question
        assert h.app.current == "walk" and not open_dialogs(h)

        await new_finding(h)
        await take_photos(h, 1)
        await h.click("category-BEL")
        await h.type("finding-note", "Lampan blinkar")
        await back(h)
        [dialog] = open_dialogs(h)
        assert "Släng fyndet?" in str(dialog.title.value)  # type: ignore[union-attr]
        await press(h, "discard-cancel")  # "Fortsätt skriva": all still there
        assert h.app.current == "new_finding" and strip_keys(h) == ["photo-remove-0"]
        assert h.text_of("finding-note") == "Lampan blinkar"

        # The system back (Android's back gesture asks the view; an older path pops the view).
        view = h.page.views[-1]
        await h.session.dispatch_event(view._i, "confirm_pop", None)
        h.raise_crash()
        assert len(open_dialogs(h)) == 1 and h.app.current == "new_finding"
        await press(h, "discard-cancel")
        await h.session.dispatch_event(h.page._i, "view_pop", {"route": view.route})
        h.raise_crash()
        assert len(open_dialogs(h)) == 1 and h.app.current == "new_finding"
        await press(h, "discard-confirm")  # "Släng"
        assert h.app.current == "walk"
        await h.until(lambda: not DraftBox(tmp_path).exists())
        assert h.app.state.store.findings() == [] and h.app.state.inbox.items() == []

        await new_finding(h)  # the next finding starts empty, and nothing is offered
        assert strip_keys(h) == [] and not open_dialogs(h)
        await h.close()

    play(scenario)


def test_a_draft_survives_a_kill_and_is_offered_back_at_the_next_start(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera(sizes=[(640, 480), (1024, 768)])
    note = "Buskaget skymmer lampan vid gångtunneln"

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 2)
        await h.click("category-VEG")
        await h.click("severity-high")
        await h.type("finding-note", note)  # typed, never left: kept after a pause in typing
        box = DraftBox(tmp_path)
        await h.until(lambda: (d := box.load()) is not None and d.note == note)
        await h.close()  # the app is killed here: no save, no back, nothing tidied up

        h = await Harness.start(tmp_path, camera.results())
        await h.until(lambda: h.has("draft-resume"))
        [dialog] = open_dialogs(h)
        assert any(note in t for t in h.texts()) and any("2 foton" in t for t in h.texts())
        await press(h, "draft-resume")
        assert h.app.current == "new_finding"
        await h.until(lambda: strip_keys(h) == ["photo-remove-0", "photo-remove-1"])
        assert h.text_of("finding-note") == note
        assert h.find("category-VEG").bgcolor == ft.Colors.PRIMARY_CONTAINER  # chosen again
        await h.click("save-finding")  # photos, category and note are all there: one tap
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert (row["category"], row["note"], row["severity"]) == ("VEG", note, "high")
        assert saved_photo_widths(h, row["id"]) == [640, 1024]
        assert h.app.state.store.walk(row["walk_id"]).name == "Kvällsvandring"
        await h.until(lambda: not DraftBox(tmp_path).exists())
        await h.close()

        h = await Harness.start(tmp_path, camera.results())  # a saved draft is not offered
        await asyncio.sleep(0.2)
        assert not h.has("draft-resume") and not open_dialogs(h)
        await h.close()

    play(scenario)


def test_a_kept_draft_can_be_thrown_away(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 1)
        await h.until(lambda: DraftBox(tmp_path).exists())
        await h.close()

        h = await Harness.start(tmp_path, camera.results())
        await h.until(lambda: h.has("draft-discard"))
        await press(h, "draft-discard")
        assert h.app.current == "start" and not DraftBox(tmp_path).exists()
        await h.click("walk-continue")
        await new_finding(h)
        assert strip_keys(h) == [] and not open_dialogs(h)
        await h.close()

    play(scenario)


def test_the_camera_is_released_in_the_background_and_started_again_in_front(
    tmp_path: Path,
) -> None:
    explained(tmp_path)
    camera = Camera()

    async def lifecycle(h: Harness, state: str) -> None:
        await h.session.dispatch_event(h.page._i, "app_lifecycle_state_change", {"state": state})
        h.raise_crash()

    def cameras_on_screen(h: Harness) -> int:
        return sum(type(c).__name__ == "Camera" for c in h.controls())

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 1)
        assert initialised(h) == 1 and cameras_on_screen(h) == 1
        await lifecycle(h, "inactive")  # a notification pulled down: the camera stays
        await lifecycle(h, "hide")
        await lifecycle(h, "pause")
        assert not h.app.photos.ready and cameras_on_screen(h) == 0  # released: light off
        await lifecycle(h, "show")
        await lifecycle(h, "resume")
        await h.until(lambda: h.app.photos.ready)
        assert initialised(h) == 2 and cameras_on_screen(h) == 1
        await take_photos(h, 1)
        assert strip_keys(h) == ["photo-remove-0", "photo-remove-1"]

        # A camera that lost its controller without telling: the shot starts it again.
        camera.fail_next_shot = True
        await take_photos(h, 1)
        assert initialised(h) == 3 and len(strip_keys(h)) == 3
        await h.close()

    play(scenario)


def test_a_camera_that_cannot_start_says_so_with_a_retry_and_the_gallery(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()
    refusals = {"left": 1}

    def cameras(args: Any) -> Any:
        if refusals["left"]:
            refusals["left"] -= 1
            raise RuntimeError("CameraException(cameraNotReadable)")
        return [{"name": "back", "lens_direction": "back", "sensor_orientation": 90}]

    picked = make_photo(7).jpeg
    results = camera.results() | {
        ("Camera", "get_available_cameras"): cameras,
        ("FilePicker", "pick_files"): [{"id": 1, "name": "IMG_1.jpg", "size": len(picked),
                                        "bytes": picked}],
    }  # fmt: skip

    async def scenario() -> None:
        h = await Harness.start(tmp_path, results)
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: h.app.photos.failed)
        assert not h.visible("take-photo") and h.visible("camera-retry") and h.visible("pick-photo")
        assert any(t.startswith("Kameran kunde inte starta.") for t in h.texts())
        await h.click("pick-photo")  # the gallery meanwhile
        assert strip_keys(h) == ["photo-remove-0"]
        await h.click("camera-retry")
        await h.until(lambda: h.app.photos.ready)
        assert h.visible("take-photo") and not h.has("camera-retry")
        await take_photos(h, 1)
        assert strip_keys(h) == ["photo-remove-0", "photo-remove-1"]
        await h.close()

    play(scenario)


def test_the_same_thing_prompt_is_near_the_top_with_its_whole_note(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()
    note = "Klotter på elskåpet vid lekplatsen, ingen har tagit bort det sedan i somras"

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        first = h.app.state.store.save_finding(
            make_finding(category="KLO", latitude=59.27431, longitude=15.20661, note=note),
            [make_photo(1)])  # fmt: skip
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 1)
        await h.click("category-KLO")
        await h.until(lambda: h.has(f"same-thing-{first.id}"))
        view = h.page.views[-1]
        tiles = _top_level(view, h.find("category-KLO"))
        prompt = _top_level(view, h.find(f"same-thing-{first.id}"))
        # Right under the photos (view.controls[0]), above the fifteen category tiles.
        assert view.controls.index(prompt) == 1 < view.controls.index(tiles)
        assert any(t.endswith(f"m · {note}") for t in h.texts())  # the whole note, not 40 chars
        await h.click(f"same-thing-{first.id}")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.finding(first.id).revision == 2)
        assert len(h.app.state.store.finding(first.id).photos) == 2
        await h.close()

    play(scenario)


def test_a_very_long_note_in_the_prompt_is_cut_at_a_word() -> None:
    from walkaudit.ui.widgets import NOTE_LINE_CHARS, shorten_note

    long = "Trasig belysning längs hela gångvägen " * 10
    cut = shorten_note(long)
    assert len(cut) <= NOTE_LINE_CHARS and cut.endswith(" …")
    assert long.startswith(cut.removesuffix(" …")) and cut.removesuffix(" …").split()[-1] in (
        long.split()
    )


def _top_level(view: ft.View, control: Any, none_if_elsewhere: bool = False) -> Any:
    """The direct child of the view that holds `control` (the app bar counts as one)."""
    while control is not None and control.parent is not view:
        control = control.parent
    if control is None and not none_if_elsewhere:
        raise LookupError("not in this view")
    return control


def test_a_photo_taken_the_instant_the_screen_opens_waits_for_the_camera(tmp_path: Path) -> None:
    """A quick thumb: *Ta foto* before the camera has even begun to start still takes the photo."""
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await h.click("new-finding")
        await h.click("take-photo")  # no waiting for the camera to be ready
        await h.until(lambda: len(strip_keys(h)) == 1)
        assert camera.shots == 1
        assert not any("inte tillgänglig" in text for text in h.texts())
        await h.close()

    play(scenario)


def test_a_save_the_disk_refuses_says_so_and_keeps_everything(tmp_path: Path) -> None:
    """A full phone: the walker is told, stays on the screen with the photo, and can save later."""
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 1)
        await h.click("category-TRA")
        inbox = h.app.state.inbox
        put = inbox.put

        def disk_full(*args: Any) -> None:
            raise OSError(28, "No space left on device")

        inbox.put = disk_full  # type: ignore[method-assign]  # the one fault injected
        await h.click("save-finding")
        assert h.app.current == "new_finding" and strip_keys(h) == ["photo-remove-0"]
        assert any("kunde inte sparas" in text for text in h.texts())
        inbox.put = put  # type: ignore[method-assign]  # room again
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert row["category"] == "TRA" and row["photo_count"] == 1
        await h.close()

    play(scenario)


def test_same_thing_without_a_photo_asks_for_one(tmp_path: Path) -> None:
    explained(tmp_path)
    camera = Camera()

    async def scenario() -> None:
        h = await Harness.start(tmp_path, camera.results())
        await start_walk(h)
        await new_finding(h)
        await take_photos(h, 1)
        await h.click("category-KLO")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.findings())
        [first] = h.app.state.store.findings()
        await new_finding(h)
        await h.click("category-KLO")
        await h.until(lambda: h.has(f"same-thing-{first['id']}"))
        await h.click(f"same-thing-{first['id']}")
        await h.click("save-finding")
        assert h.app.current == "new_finding" and h.app.state.inbox.items() == []
        assert any("Ta ett foto att lägga till" in text for text in h.texts())
        await h.close()

    play(scenario)


class SlowGps:
    """A GPS with no answer for its first `silent` asks (a cold start under trees), then a fix;
    `permission_errors` first asks for permission fail on the client side (not a refusal)."""

    def __init__(self, silent: int, permission_errors: int = 0) -> None:
        self.silent, self.permission_errors = silent, permission_errors
        self.asks = 0

    def position(self, args: Any) -> dict[str, Any]:
        self.asks += 1
        if self.asks <= self.silent:
            raise RuntimeError("TimeoutException: no position yet")
        return OREBRO_FIX

    def permission(self, args: Any) -> str:
        if self.permission_errors:
            self.permission_errors -= 1
            raise RuntimeError("PlatformException(no answer from the location service)")
        return "whileInUse"

    def results(self) -> dict[tuple[str, str], Any]:
        return {
            ("Geolocator", "get_current_position"): self.position,
            ("Geolocator", "request_permission"): self.permission,
        }


def where_text(h: Harness) -> str:
    return " ".join(x for x in h.texts() if x.startswith(("Position", "Ingen position")))


def pin_map_shown(h: Harness) -> bool:
    return any(type(c).__name__ == "Map" and c.on_tap and c.visible for c in h.controls())


def test_a_position_that_comes_late_still_lands_on_the_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No fix at first: the pin map is offered and the app keeps asking; when the GPS answers,
    the finding gets its position without a tap (the walker did not place a pin meanwhile)."""
    monkeypatch.setattr("walkaudit.ui.views.new_finding.FIX_RETRY_S", 0.05)
    explained(tmp_path)
    gps = SlowGps(silent=3, permission_errors=1)

    async def scenario() -> None:
        h = await Harness.start(tmp_path, gps.results())
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: "Ingen position" in where_text(h) and pin_map_shown(h))
        await h.until(lambda: "Position ±4 m" in where_text(h))
        assert gps.asks == 4  # three without an answer, then the fix
        await h.click("take-photo")
        await h.until(lambda: len(strip_keys(h)) == 1)
        await h.click("category-BEL")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert (row["latitude"], row["longitude"], row["position_source"]) == (
            OREBRO_FIX["latitude"],
            OREBRO_FIX["longitude"],
            "gps",
        )
        await h.close()

    play(scenario)


def test_a_late_position_does_not_move_a_pin_the_walker_placed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("walkaudit.ui.views.new_finding.FIX_RETRY_S", 0.2)
    explained(tmp_path)
    gps = SlowGps(silent=2)

    async def scenario() -> None:
        h = await Harness.start(tmp_path, gps.results())
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: pin_map_shown(h))
        map_control = next(c for c in h.controls() if type(c).__name__ == "Map" and c.on_tap)
        await h.session.dispatch_event(
            map_control._i, "tap", {"coordinates": {"latitude": 59.2750, "longitude": 15.2080}}
        )
        await h.until(lambda: gps.asks >= 3)  # the GPS has answered by now
        await asyncio.sleep(0.3)
        assert where_text(h) == "Position satt med nål"  # not "Position ±4 m (GPS)"
        await h.click("take-photo")
        await h.until(lambda: len(strip_keys(h)) == 1)
        await h.click("category-VEG")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert (row["latitude"], row["longitude"], row["position_source"]) == (
            59.2750,
            15.2080,
            "pin",
        )
        await h.close()

    play(scenario)


def test_a_refusal_that_is_not_final_still_gives_the_finding_its_position(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A browser answers the permission request "denied" when its first fix fails (a loaded
    machine), and a walker may allow location in the settings with the screen open: the pin map
    is offered, and once the status says allowed, the fix lands without a tap."""
    monkeypatch.setattr("walkaudit.ui.views.new_finding.FIX_RETRY_S", 0.05)
    explained(tmp_path)
    statuses = iter(["denied", "denied", "whileInUse"])

    async def scenario() -> None:
        h = await Harness.start(tmp_path, {
            ("Geolocator", "request_permission"): "denied",
            ("Geolocator", "get_permission_status"): lambda args: next(statuses, "whileInUse"),
        })  # fmt: skip
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: "Ingen position" in where_text(h) and pin_map_shown(h))
        asked = h.conn.calls.count(("Geolocator", "request_permission"))
        await h.until(lambda: "Position ±4 m" in where_text(h))
        # Checked quietly meanwhile: no permission dialog again and again.
        assert h.conn.calls.count(("Geolocator", "request_permission")) == asked
        await h.close()

    play(scenario)
