"""Every screen, headless over a real Flet session: what the walker sees and can do."""

from __future__ import annotations

from pathlib import Path

import pytest

from walkaudit import model
from walkaudit.store import Store

from .harness import Harness, explained, play

pytestmark = pytest.mark.timeout(120)


def test_first_start_asks_to_enrol_and_refuses_empty_or_bad_input(tmp_path: Path) -> None:
    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        assert h.app.current == "start" and h.has("enrol-server") and h.has("enrol-code")
        await h.type("enrol-server", "https://")
        await h.click("enrol-submit")
        assert "Fyll i både adress och kod." in h.texts()
        await h.type("enrol-server", "ftp://example")
        await h.type("enrol-code", "ABCD-EFGH")
        await h.click("enrol-submit")
        assert "Adressen ska börja med http:// eller https://" in h.texts()
        await h.type("enrol-server", "http://127.0.0.1:9")  # nothing listens: clear message
        await h.click("enrol-submit")
        assert any(t.startswith("Kunde inte ansluta") for t in h.texts())
        await h.click("enrol-skip")
        assert h.has("walk-name") and h.has("pending-count")
        await h.close()

    play(scenario)


def test_walk_photo_category_save_in_three_taps_and_the_badge_counts_it(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.click("walk-start")
        assert "Ge vandringen ett namn." in str(h.find("walk-name").error)
        await h.type("walk-name", "Kvällsvandring Vivalla")
        await h.click("walk-start")
        assert h.app.current == "walk"
        await h.click("new-finding")
        await h.until(lambda: h.app.photos.ready and h.app.state.last_position is not None)
        taps = 0
        for key in ("take-photo", "category-BEL", "save-finding"):
            await h.click(key)
            taps += 1
        assert taps == 3 and h.app.current == "walk"
        await h.until(lambda: h.app.state.store.findings())
        [row] = h.app.state.store.findings()
        assert (row["category"], row["latitude"], row["longitude"], row["accuracy"]) == (
            "BEL",
            59.2743,
            15.2066,
            4.0,
        )
        assert row["photo_count"] == 1 and row["position_source"] == "gps"
        # The walk (its start), the finding and its photo: one truth about what waits.
        assert h.text_of("pending-count") == "3 väntar på synk"
        await h.close()

    play(scenario)


def test_saving_without_a_category_says_so_and_saves_nothing(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.type("walk-name", "Runda")
        await h.click("walk-start")
        await h.click("new-finding")
        await h.click("save-finding")
        await h.click("save-finding")  # a second tap changes nothing
        assert h.app.current == "new_finding"
        assert h.app.state.store.findings() == [] and h.app.state.inbox.items() == []
        await h.close()

    play(scenario)


def test_refused_location_and_camera_fall_back_to_pin_and_picker(tmp_path: Path) -> None:
    explained(tmp_path)
    from tests.conftest import make_photo

    picked = make_photo(7).jpeg

    def no_camera(args: object) -> object:
        raise RuntimeError("CameraAccessDenied")

    results = {
        ("Geolocator", "request_permission"): "denied",
        ("Camera", "get_available_cameras"): no_camera,
        ("FilePicker", "pick_files"): [{"id": 1, "name": "IMG_1.jpg", "size": len(picked),
                                        "bytes": picked}],
    }  # fmt: skip

    async def scenario() -> None:
        h = await Harness.start(tmp_path, results)
        await h.type("walk-name", "Utan GPS")
        await h.click("walk-start")
        await h.click("new-finding")
        await h.until(lambda: h.app.photos.failed)
        assert not h.visible("take-photo")  # no dead camera button
        await h.click("pick-photo")
        await h.click("category-VEG")
        await h.click("save-finding")
        assert h.app.current == "new_finding"  # no position yet: the pin map is shown
        map_control = next(c for c in h.controls() if type(c).__name__ == "Map" and c.on_tap)
        await h.session.dispatch_event(
            map_control._i, "tap",
            {"coordinates": {"latitude": 59.2750, "longitude": 15.2080}},
        )  # fmt: skip
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


def test_a_nearby_finding_of_the_same_kind_is_offered_as_the_same_thing(tmp_path: Path) -> None:
    explained(tmp_path)
    from tests.conftest import make_finding, make_photo

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        first = h.app.state.store.save_finding(
            make_finding(category="KLO", latitude=59.27431, longitude=15.20661),
            [make_photo(1)])  # fmt: skip
        await h.type("walk-name", "Runda")
        await h.click("walk-start")
        await h.click("new-finding")
        await h.until(lambda: h.app.state.last_position is not None and h.app.photos.ready)
        await h.click("take-photo")
        await h.click("category-KLO")
        await h.until(lambda: h.has(f"same-thing-{first.id}"))
        assert "Liknande fynd inom 25 m – samma sak?" in h.texts()
        await h.click(f"same-thing-{first.id}")
        await h.click("save-finding")
        await h.until(lambda: h.app.state.store.finding(first.id).revision == 2)
        again = h.app.state.store.finding(first.id)
        assert len(again.photos) == 2  # my photo was added to it, no second finding
        assert len(h.app.state.store.findings()) == 1
        await h.close()

    play(scenario)


def test_a_failing_sync_says_nothing_is_lost(tmp_path: Path) -> None:
    explained(tmp_path)
    s = Store.open(tmp_path)
    s.set_meta(server_url="http://127.0.0.1:9", token="wa_x", device_id=model.new_id())
    from tests.conftest import make_finding

    s.save_finding(make_finding())
    s.close()

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.click("sync-now")
        await h.until(lambda: not h.app.syncer.running and h.app.syncer.last_message)
        assert any("Servern nås inte – inget är förlorat, 1 väntar" in t for t in h.texts())
        assert h.app.state.store.pending_counts().findings == 1
        await h.close()

    play(scenario)


def test_language_switch_changes_every_label(tmp_path: Path) -> None:
    explained(tmp_path)

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        assert "Ny vandring" in h.texts()
        await h.click("open-settings")
        await h.click("lang-en")
        await h.click("back")
        assert "New walk" in h.texts() and "Ny vandring" not in h.texts()
        assert h.text_of("pending-count") == "Everything is synced"
        await h.close()

    play(scenario)


def test_findings_list_detail_edit_and_delete_with_confirmation(tmp_path: Path) -> None:
    explained(tmp_path)
    from tests.conftest import make_finding

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        walk = h.app.state.store.start_walk("Runda")
        f = h.app.state.store.save_finding(make_finding(walk_id=walk.id, note="Mörkt"))
        h.app.go("findings", walk_id=walk.id)
        await h.click(f"finding-{f.id}")
        assert h.app.current == "finding" and h.text_of("finding-note") == "Mörkt"
        await h.type("finding-note", "Mörkt vid porten")
        await h.click("finding-save-note")
        assert h.app.state.store.finding(f.id).note == "Mörkt vid porten"
        await h.click("finding-delete")
        await h.click("delete-cancel")
        assert h.app.state.store.findings()
        await h.click("finding-delete")
        await h.click("delete-confirm")
        assert h.app.state.store.findings() == [] and h.app.current == "findings"
        await h.close()

    play(scenario)


def test_end_of_walk_summary_counts_categories(tmp_path: Path) -> None:
    explained(tmp_path)
    from tests.conftest import make_finding

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await h.type("walk-name", "Runda")
        await h.click("walk-start")
        walk = h.app.state.store.active_walk()
        assert walk is not None
        for cat in ("BEL", "BEL", "KLO"):
            h.app.state.store.save_finding(make_finding(walk_id=walk.id, category=cat))
        for i, lat in enumerate((59.2700, 59.2710, 59.2720)):
            h.app.state.store.add_track_point(model.TrackPoint(
                walk_id=walk.id, t=f"2026-11-25T18:0{i}:00+01:00", latitude=lat,
                longitude=15.2))  # fmt: skip
        await h.click("walk-end")
        await h.until(lambda: h.has("walk-end-confirm"))  # *Avsluta* asks first
        await h.click("walk-end-confirm")
        assert h.app.current == "walk_end"
        summary = h.text_of("walk-summary")
        assert summary.startswith("3 fynd · 0.2 km")
        assert "Belysning" in h.texts() and "2" in h.texts()
        await h.close()

    play(scenario)


def test_a_long_findings_list_comes_a_page_at_a_time(tmp_path: Path) -> None:
    explained(tmp_path)
    from tests.conftest import make_finding

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        walk = h.app.state.store.start_walk("Stor runda")
        for i in range(230):
            h.app.state.store.save_finding(make_finding(walk_id=walk.id, note=f"n{i}"))
        h.app.go("findings", walk_id=walk.id)
        shown = [c for c in h.controls() if str(getattr(c, "key", "")).startswith("finding-")]
        assert len(shown) == 100
        assert h.find("findings-more").content == "Visa fler (130 till)"
        await h.click("findings-more")
        await h.click("findings-more")
        shown = [c for c in h.controls() if str(getattr(c, "key", "")).startswith("finding-")]
        assert len(shown) == 230 and not h.has("findings-more")
        await h.close()

    play(scenario)
