"""End to end in a real browser: the Flet web client, a real sync server, chromium's fake camera.

A walker enrols, starts a walk, photographs a defect, picks a category and saves; the sync then
puts that finding on the server at the browser's GPS position with that photo. Recorded while the
server is down, nothing is lost once it is back. Screenshots of every screen (phone size, light
and dark) are saved under tests/_artifacts/screens for a person to look at.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.support import ServerProcess
from walkaudit.store import Store

from .browser import AppProcess, FletPage, TileServer, phone_context

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def prepared_device(path: Path, tiles: TileServer, **meta: str) -> Path:
    s = Store.open(path)
    s.set_meta(**{"ui.tile_url": tiles.template, "ui.location_explained": "1", **meta})
    s.close()
    return path


def test_enrol_walk_photo_category_save_sync_reaches_the_server(
    tmp_path: Path, tiles: TileServer, flet_browser: object
) -> None:
    server = ServerProcess(tmp_path / "server").start()
    app = AppProcess(prepared_device(tmp_path / "phone", tiles)).start()
    try:
        ui = FletPage(phone_context(flet_browser).new_page(), "light", app.log).open(app.url)
        ui.wait("enrol-server")
        ui.screenshot("enrol")
        ui.fill("enrol-server", server.url)
        ui.fill("enrol-code", server.enrol_code())
        ui.click("enrol-submit")
        ui.wait("walk-name")
        ui.screenshot("start")
        ui.fill("walk-name", "Kvällsvandring Vivalla")
        ui.click("walk-start")
        ui.wait("new-finding")
        ui.page.wait_for_timeout(1500)
        ui.screenshot("walk")
        ui.click("new-finding")
        ui.wait("take-photo")
        ui.page.wait_for_timeout(3000)  # the camera starts
        ui.screenshot("new-finding")
        ui.click("take-photo")
        ui.wait("photo-remove-0", 20_000)  # its thumbnail is on the strip
        ui.page.wait_for_timeout(800)  # the strip has moved the tiles: let them settle
        ui.click("category-BEL")
        # The walker sees where the finding goes before saving it (on a loaded machine the
        # browser's position can come late; then a save asks for a pin instead).
        ui.wait_text("Position ±", 60)
        ui.screenshot("new-finding-filled")
        ui.click("save-finding")
        ui.wait("walk-end")
        ui.page.wait_for_timeout(1500)
        ui.screenshot("walk-saved")
        ui.click("sync-now")
        ui.wait_text("Allt finns nu på servern", 60)
        ui.page.wait_for_timeout(1500)
        ui.screenshot("walk-synced")
        [finding] = server.findings()
    finally:
        app.stop()
        server.stop()  # also when the walk failed: no server left running behind the suite
    assert finding["category"] == "BEL"
    assert (finding["latitude"], finding["longitude"]) == (59.2743, 15.2066)
    [photo] = finding["photos"]
    assert photo["stored"] and photo["width"] > 0
    local = Store.open(tmp_path / "phone")
    try:
        blob = local.photo_path(photo["sha256"]).read_bytes()
        assert hashlib.sha256(blob).hexdigest() == photo["sha256"]
    finally:
        local.close()


def test_recorded_while_the_server_is_down_nothing_is_lost(
    tmp_path: Path, tiles: TileServer, flet_browser: object
) -> None:
    from tests.support import run

    server = ServerProcess(tmp_path / "server").start()
    phone = prepared_device(tmp_path / "phone", tiles)
    assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0
    server.stop()
    app = AppProcess(phone).start()
    try:
        ui = FletPage(phone_context(flet_browser).new_page(), "offline").open(app.url)
        ui.fill("walk-name", "Ingen täckning")
        ui.click("walk-start")
        ui.click("new-finding")
        ui.wait("take-photo")
        ui.page.wait_for_timeout(3000)
        ui.click("take-photo")
        ui.page.wait_for_timeout(1500)
        ui.click("category-KLO")
        ui.click("save-finding")
        ui.wait("walk-end")
        ui.click("sync-now")
        ui.wait_text("inget är förlorat", 60)
        ui.screenshot("server-down")
        assert "väntar på synk" in ui.text()
        server.start()
        ui.click("sync-now")
        ui.wait_text("Allt finns nu på servern", 60)
        ui.screenshot("server-back")
    finally:
        app.stop()
        server.stop()
    [finding] = server.findings()
    assert finding["category"] == "KLO" and finding["photos"][0]["stored"]


@pytest.mark.parametrize("theme", ["light", "dark", "contrast"])
def test_every_screen_at_phone_size(
    tmp_path: Path, tiles: TileServer, flet_browser: object, theme: str
) -> None:
    """Screenshots of every screen for a person to look at (and a check that each one opens)."""
    from tests.conftest import make_finding, make_photo
    from tests.support import run
    from walkaudit import model

    server = ServerProcess(tmp_path / "server").start()
    phone = prepared_device(tmp_path / "phone", tiles, **{"ui.theme": theme})
    assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0
    s = Store.open(phone)
    walk = s.start_walk("Kvällsvandring Vivalla", area="Vivalla")
    spots = [("BEL", 0.0, 0.0), ("VEG", 0.0004, 0.0006), ("KLO", -0.0003, 0.0009),
             ("SKR", 0.0006, -0.0004), ("ORD", -0.0005, -0.0007)]  # fmt: skip
    for i, (cat, dlat, dlon) in enumerate(spots):
        s.save_finding(make_finding(walk_id=walk.id, category=cat, latitude=59.2743 + dlat,
                                    longitude=15.2066 + dlon, note=f"Anteckning {i + 1}"),
                       [make_photo(300 + i, size=(1024, 768))])  # fmt: skip
    for i in range(12):
        s.add_track_point(model.TrackPoint(walk_id=walk.id, t=f"2026-11-25T18:{i:02d}:00+01:00",
                                           latitude=59.2738 + i * 0.0001,
                                           longitude=15.2060 + (i % 4) * 0.0002))  # fmt: skip
    s.close()
    assert run("walkaudit", "--data", phone, "sync").code == 0
    s = Store.open(phone)
    s.save_finding(make_finding(walk_id=walk.id, category="TRA", latitude=59.2748,
                                longitude=15.2072, note="Trasigt staket"))  # fmt: skip
    s.close()
    fresh = prepared_device(tmp_path / "fresh", tiles, **{"ui.theme": theme})
    app, first = AppProcess(phone).start(), AppProcess(fresh).start()
    try:
        page = phone_context(flet_browser, dark=theme == "dark").new_page()
        ui = FletPage(page, theme).open(first.url)
        ui.wait("enrol-server")
        ui.screenshot("1-enrol")
        ui.open(app.url)
        ui.wait("walk-continue")
        ui.screenshot("2-start")
        ui.click("walk-continue")
        ui.wait("new-finding")
        ui.page.wait_for_timeout(1500)
        ui.screenshot("3-walk")
        ui.click("new-finding")
        ui.wait("take-photo")
        ui.page.wait_for_timeout(2500)
        ui.screenshot("4-new-finding")
        ui.click("back")
        ui.click("open-findings")
        ui.wait_text("Väntar på synk")
        ui.screenshot("5-findings")
        ui.page.locator("[flt-semantics-identifier^=finding-]").first.click()
        ui.wait("finding-note")
        ui.page.wait_for_timeout(1000)
        ui.screenshot("6-finding")
        ui.click("back")
        ui.click("back")
        ui.click("walk-end")
        ui.wait("walk-end-confirm")
        ui.screenshot("7-walk-end-ask")
        ui.click("walk-end-confirm")
        ui.wait("end-home")
        ui.screenshot("7-walk-end")
        ui.click("end-home")
        ui.click("open-followup")
        ui.fill("followup-area", "Vivalla")
        ui.click("followup-load")
        ui.wait_text("Finns kvar", 30)
        ui.page.wait_for_timeout(1000)
        ui.screenshot("8-followup")
        ui.click("back")
        ui.click("open-settings")
        ui.wait("lang-en")
        ui.screenshot("9-settings")
        ui.click("lang-en")
        ui.click("back")
        ui.wait_text("New walk")
        ui.screenshot("10-start-english")
    finally:
        app.stop()
        first.stop()
        server.stop()
