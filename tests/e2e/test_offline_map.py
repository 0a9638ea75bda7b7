"""The issue's proof, in the real Flet web client: the walk's map works without any network.

A local TileSource (each zoom its own colour) serves the walk's area once, to the real server,
which prepares the package the phone downloads when the walk starts. Then the source, the server
and the app are stopped, and the app is started again with no tile server at all: once a sync
has told the app there is no network, the walk screen's map still shows the zoom-16 colour
(counted on the screenshot's pixels) with no hint over it, every tile the browser asked for came
from the phone's own server on 127.0.0.1, and nothing else was asked.
Where there is no map (no package, no network) the map shows the hint instead of a grey slab —
on the walk map and on the pin map of a new finding when location was refused.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.support import ServerProcess, free_port, run
from tests.tile_source import ZOOM_COLOURS, TileSource
from walkaudit.store import Store
from walkaudit.ui import widgets

from .browser import PHONE, AppProcess, FletPage, phone_context

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
HINT = "Ingen bakgrundskarta här – ladda ner kartan när du har nät"
LOCAL_TILE = re.compile(r"^http://127\.0\.0\.1:(\d+)/tiles/(\d+)/(\d+)/(\d+)\.png$")
ANY_TILE = re.compile(r"/\d+/\d+/\d+\.(png|jpe?g|webp)\b")


def share_of(path: Path, colour: tuple[int, int, int], box: tuple[int, int, int, int]) -> float:
    """The share of pixels in `box` of the screenshot that have this colour (±8 per channel)."""
    data = Image.open(path).convert("RGB").crop(box).tobytes()
    pixels = list(zip(data[0::3], data[1::3], data[2::3], strict=True))
    near = sum(1 for p in pixels if all(abs(a - b) <= 8 for a, b in zip(p, colour, strict=True)))
    return near / len(pixels)


class Requests:
    """Every request the page made and the status it got (tiles are fetched by the browser)."""

    def __init__(self, page: Any) -> None:
        self.urls: list[str] = []
        self.status: dict[str, int] = {}
        self.failed: list[str] = []
        page.on("request", lambda r: self.urls.append(r.url))
        page.on("response", lambda r: self.status.__setitem__(r.url, r.status))
        page.on("requestfailed", lambda r: self.failed.append(r.url))

    def tiles(self, z: int | None = None) -> list[str]:
        found = [(u, LOCAL_TILE.match(u)) for u in self.urls]
        return [u for u, m in found if m and (z is None or int(m[2]) == z)]


def device(path: Path, tile_url: str) -> Path:
    s = Store.open(path)
    s.set_meta(**{"ui.tile_url": tile_url, "ui.location_explained": "1"})
    s.close()
    return path


def test_the_walk_map_shows_its_area_after_a_restart_with_no_tile_server(
    tmp_path: Path, flet_browser: Any
) -> None:
    source = TileSource()
    server = ServerProcess(
        tmp_path / "server",
        env={"WALKAUDIT_TILE_URL": source.template, "WALKAUDIT_REPORT_INTERVAL_S": "0"},
    ).start()
    # The phone's online map is the same source: before the package, the map comes from there.
    phone = device(tmp_path / "phone", source.template)
    assert run("walkaudit", "--data", phone, "enrol", server.url, server.enrol_code()).code == 0

    # ---- online: the walk starts, the area's map comes to the phone ----
    app = AppProcess(phone).start()
    try:
        context = phone_context(flet_browser)
        ui = FletPage(context.new_page(), "offline-map").open(app.url)
        ui.fill("walk-name", "Kvällsvandring Vivalla")
        ui.click("walk-start")
        ui.wait("new-finding")
        ui.wait_text("Kartan för området finns nu i telefonen", 180)
        ui.page.wait_for_timeout(1500)
        ui.screenshot("online-downloaded")
        context.close()
    finally:
        app.stop()
        server.stop()
        source.close()
    assert sorted((tmp_path / "phone" / "maps").glob("*.mbtiles")), "no package was installed"
    served_once = len(source.requests)
    assert served_once > 0

    # ---- offline: no tile server, no sync server, the app started again ----
    app = AppProcess(phone).start()
    try:
        context = phone_context(flet_browser)  # a fresh browser cache: nothing kept from before
        page = context.new_page()
        seen = Requests(page)
        ui = FletPage(page, "offline-map").open(app.url)
        ui.click("walk-continue")
        ui.wait("new-finding")
        deadline_ms = 30_000
        while deadline_ms > 0 and not any(seen.status.get(u) == 200 for u in seen.tiles(16)):
            ui.page.wait_for_timeout(250)
            deadline_ms -= 250
        # The app knows it has no network (a sync failed): the map is on the phone, so the map
        # still shows it and no "no background map" hint covers it.
        ui.click("sync-now")
        ui.wait_text("Servern nås inte", 60)
        ui.page.wait_for_timeout(2000)  # the tiles fade in
        shot = ui.screenshot("offline-walk-map")
        hint_shown = "map-hint" in ui.ids() or HINT in ui.text()
        context.close()
    finally:
        app.stop()
    assert not hint_shown

    # The map's area of the screen (below the bars, above the big button) shows the z16 tiles.
    map_box = (0, 300, PHONE["width"], 700)
    green = share_of(shot, ZOOM_COLOURS[16], map_box)
    assert green > 0.6, f"only {green:.0%} of the map is the zoom-16 tile colour"
    # Every tile came from the phone's own server, all of them found there, on one port.
    z16 = seen.tiles(16)
    assert z16 and all(seen.status.get(u) == 200 for u in z16)
    assert len({LOCAL_TILE.match(u)[1] for u in seen.tiles()}) == 1  # type: ignore[index]
    # No tile request left the phone: every tile asked for went to its own server (the Flet
    # web client fetches a wasm module of its own from a CDN; that is not a map tile).
    local_tiles = set(seen.tiles())
    elsewhere = [u for u in seen.urls + seen.failed if ANY_TILE.search(u) and u not in local_tiles]
    assert elsewhere == []
    assert f":{source.port}/" not in "\n".join(seen.urls + seen.failed)
    assert len(source.requests) == served_once  # (it is closed: the count cannot have moved)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_where_there_is_no_map_the_map_says_so(
    tmp_path: Path, flet_browser: Any, theme: str
) -> None:
    """No package and no network: the walk map, and the pin map when location was refused."""
    nothing = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"  # nobody listens there
    phone = device(tmp_path / "phone", nothing)
    s = Store.open(phone)
    s.set_meta(**{"ui.enrol_skipped": "1", "ui.theme": theme})
    s.close()
    card = tuple(int(widgets.palette(theme).snack[0][i : i + 2], 16) for i in (1, 3, 5))
    app = AppProcess(phone).start()
    try:
        context = phone_context(flet_browser)
        ui = FletPage(context.new_page(), f"no-map-{theme}").open(app.url)
        ui.fill("walk-name", "Utan nät")
        ui.click("walk-start")
        ui.wait("new-finding")
        ui.wait("map-hint")
        ui.wait_text(HINT)
        ui.page.wait_for_timeout(1000)
        walk_shot = ui.screenshot("walk-hint")
        context.close()

        # Location refused: the walker places the pin by hand, and is told there is no map.
        refused = flet_browser.new_context(viewport=PHONE, permissions=["camera"])
        ui = FletPage(refused.new_page(), f"no-map-{theme}-refused").open(app.url)
        ui.click("walk-continue")
        ui.wait("new-finding")
        ui.click("new-finding")
        ui.wait("move-pin")
        ui.wait_text(HINT)
        hint = ui.node("map-hint")
        hint.scroll_into_view_if_needed()
        ui.page.wait_for_timeout(1000)
        pin_shot = ui.screenshot("pin-map-hint")
        refused.close()
    finally:
        app.stop()
    # The hint card is drawn (the theme's message colours), not only in the semantics tree.
    assert share_of(walk_shot, card, (0, 150, PHONE["width"], 500)) > 0.02  # type: ignore[arg-type]
    whole = (0, 0, PHONE["width"], PHONE["height"])
    assert share_of(pin_shot, card, whole) > 0.01  # type: ignore[arg-type]
