"""The walk's map without network, in the headless app against the real server process.

A walk started while enrolled fetches the map package of its area by itself (estimate, then
progress), and the walk's map then reads its tiles from the phone (the LocalTileServer on
127.0.0.1, asked over real HTTP here). Where there is no background map, the map says so.
What the Flutter client would report (a tile that failed to load) is dispatched as its event.
"""

from __future__ import annotations

import asyncio
import io
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flet_map as ftm
import httpx
import pytest
from PIL import Image

from tests.support import ServerProcess
from tests.test_tiles import make_package, storage_full_after
from tests.tile_source import ZOOM_COLOURS, TileSource
from walkaudit import tiles
from walkaudit.ui import offline_map

from .harness import OREBRO_FIX, Harness, explained, play
from .sync_support import enrolled_phone
from .test_sync_truth import walk_to

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
HINT = "Ingen bakgrundskarta här – ladda ner kartan när du har nät"
HERE = (OREBRO_FIX["latitude"], OREBRO_FIX["longitude"])
STATION = (59.2900, 15.2200)  # about 2 km away: where the phone was enrolled
DONE_HERE = "Kartan för området finns nu i telefonen"
ASKING = "Frågar servern efter kartan för området"


@pytest.fixture
def source() -> Iterator[TileSource]:
    with TileSource(extra_bytes=4000) as s:
        yield s


def serve(tmp_path: Path, template: str, **env: str) -> ServerProcess:
    env = {"WALKAUDIT_TILE_URL": template, "WALKAUDIT_REPORT_INTERVAL_S": "0", **env}
    return ServerProcess(tmp_path / "server", env=env).start()


def sent_texts(h: Harness) -> str:
    """Everything the app has sent to the client so far (each redraw's patches)."""
    return "\n".join(repr(body) for _, body in h.conn.messages)


def tile_layers(h: Harness) -> list[Any]:
    return [c for c in h.controls() if isinstance(c, ftm.TileLayer)]


async def start_walk(h: Harness, name: str = "Kvällsvandring Vivalla") -> None:
    await h.type("walk-name", name)
    await h.click("walk-start")
    await h.until(lambda: h.app.current == "walk")


def test_a_walk_fetches_its_area_and_the_map_then_reads_tiles_from_the_phone(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        # Before the package: the online template, and the button to fetch the map.
        [layer] = tile_layers(h)
        assert layer.url_template == h.app.state.settings.tile_url
        await h.until(lambda: maps.downloads == 1, timeout=120)
        sent = sent_texts(h)
        # The walker saw the estimate while the server prepared, then MB done of the total.
        assert "Servern gör i ordning kartan: " in sent and " kartbitar · ca 10.8 MB" in sent
        assert "Laddar ner kartan: " in sent
        assert "Kartan för området finns nu i telefonen" in h.text_of("map-status")
        assert not h.visible("map-download")  # here is covered now
        # The walk's map now asks the phone, and falls back online only where it has nothing.
        [layer] = tile_layers(h)
        assert layer.url_template.startswith("http://127.0.0.1:")
        assert layer.url_template == maps.server.template
        assert layer.fallback_url == h.app.state.settings.tile_url
        assert not h.visible("map-hint")
        asked_at_source = len(source.requests)
        for z in (12, 16, 18):
            x, y = tiles.tile_xy(*HERE, z)
            r = httpx.get(layer.url_template.format(z=z, x=x, y=y))
            assert r.status_code == 200
            assert Image.open(io.BytesIO(r.content)).getpixel((128, 128)) == ZOOM_COLOURS[z]
        assert len(source.requests) == asked_at_source  # from the phone, not the source
        assert maps.server.served == 3 and maps.server.missing == 0
        # Another start of the same walk's screen does not fetch it again.
        h.app.go("start")
        await h.click("walk-continue")
        await h.until(lambda: h.app.current == "walk")
        assert maps.downloads == 1 and not maps.running
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_an_area_too_large_for_the_server_is_a_calm_message(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template, WALKAUDIT_TILE_PACKAGE_MAX_MB="5")
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.message is not None and not maps.running, timeout=60)
        assert h.text_of("map-status") == (
            "Kartan för området blir för stor: ca 10.8 MB, servern tillåter högst 5 MB."
        )
        assert h.visible("map-download")  # the walker may try again (after the server changes)
        assert maps.packages.packages == []
        # The walk's screen made anew (the language changed, say) does not ask again by itself:
        # the server has answered for this walk.
        asked = sent_texts(h).count(ASKING)
        walk = h.app.state.store.active_walk()
        assert walk is not None and asked == 1
        h.app.forget_views()
        h.app.go("start")
        await h.click("walk-continue")
        await maps.walk_opened(walk.id)  # (also started by the screen; this one is awaited)
        assert sent_texts(h).count(ASKING) == asked and not maps.running
        assert h.text_of("map-status").startswith("Kartan för området blir för stor")
        # Nothing is blocked: the walk goes on.
        await h.click("new-finding")
        await h.until(lambda: h.app.current == "new_finding")
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_no_network_at_the_walks_start_shows_the_hint_over_the_map(tmp_path: Path) -> None:
    server = serve(tmp_path, "")
    phone = enrolled_phone(tmp_path, server)
    server.stop()  # the phone is out of reach from here on

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.message is not None and not maps.running, timeout=90)
        assert h.text_of("map-status") == (
            "Kartan kunde inte laddas ner – ingen kontakt med servern. Försök igen när du har nät."
        )
        assert h.visible("map-hint")  # said at once, before a single tile has failed
        assert HINT in h.texts()
        assert h.visible("map-download")
        await h.close()

    play(scenario)


def test_a_tile_that_fails_shows_the_hint_on_the_walk_map(tmp_path: Path) -> None:
    explained(tmp_path)  # not enrolled: nothing is downloaded, the map is the online one

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await start_walk(h)
        assert not h.visible("map-hint")
        assert not h.visible("map-download")  # nowhere to download from
        [layer] = tile_layers(h)
        # The Flutter client reports the tiles it could not load (no network, no package).
        for _ in range(5):
            await h.session.dispatch_event(layer._i, "image_error", "SocketException: failed")
        h.raise_crash()
        assert h.visible("map-hint") and HINT in h.texts()
        await h.close()

    play(scenario)


def test_the_pin_map_says_when_there_is_no_map_and_location_was_refused(tmp_path: Path) -> None:
    """Location refused: the walker places the pin by hand, on a map that is not a blank slab."""
    explained(tmp_path)

    async def scenario() -> None:
        refused = {("Geolocator", "request_permission"): "denied"}
        h = await Harness.start(tmp_path, results=refused)
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: h.app.current == "new_finding" and len(tile_layers(h)) == 2)
        pin_layer = tile_layers(h)[-1]
        await h.session.dispatch_event(pin_layer._i, "image_error", "SocketException: failed")
        h.raise_crash()
        hints = [c for c in h.controls() if getattr(c, "key", None) == "map-hint"]
        assert [c.visible for c in hints] == [False, True]  # the pin map's (the walk's: none)
        await h.close()

    play(scenario)


def test_with_a_package_here_the_pin_map_uses_it_even_without_a_position(tmp_path: Path) -> None:
    from tests.test_tiles import make_package

    explained(tmp_path)
    make_package(tmp_path / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(16, 19))

    async def scenario() -> None:
        refused = {("Geolocator", "request_permission"): "denied"}
        h = await Harness.start(tmp_path, results=refused)
        await start_walk(h)
        await h.click("new-finding")
        await h.until(lambda: h.app.current == "new_finding" and len(tile_layers(h)) == 2)
        pin_map = [c for c in h.controls() if isinstance(c, ftm.Map)][-1]
        centre = pin_map.initial_center
        assert tiles.area_around(*HERE).shrunk(100).contains(centre.latitude, centre.longitude)
        layer = tile_layers(h)[-1]
        assert layer.url_template == offline_map.of(h.app).server.template
        assert not [c for c in h.controls() if getattr(c, "key", None) == "map-hint" and c.visible]
        await h.close()

    play(scenario)


def test_settings_list_the_maps_on_the_phone_and_delete_them(tmp_path: Path) -> None:
    from tests.test_tiles import make_package

    explained(tmp_path)
    make_package(tmp_path / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(16, 17))

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        h.app.go("settings")
        assert any(t.startswith("Område kring 59.2743, 15.2066 · ") for t in h.texts())
        await h.click("map-delete-vivalla")
        await h.until(lambda: "Inga kartor i telefonen än." in h.texts())
        assert not (tmp_path / "maps" / "vivalla.mbtiles").exists()
        await h.close()

    play(scenario)


def test_a_server_without_a_tile_source_keeps_quiet_until_asked(tmp_path: Path) -> None:
    """The default tile source (OpenStreetMap's) forbids packages: a walk's start says nothing,
    the map stays online; asked for in settings, the walker learns why there is none."""
    server = serve(tmp_path, "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.no_source and not maps.running, timeout=60)
        assert not h.visible("map-download") and h.text_of("map-status") == ""
        assert not h.visible("map-hint")
        h.app.go("settings")
        await h.click("settings-map-here")
        await h.until(lambda: "kartkälla" in h.text_of("map-status"))
        assert h.text_of("map-status").startswith(
            "Servern har ingen kartkälla som får laddas ner. Be samordnaren ställa in en"
        )
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_enrolling_where_the_phone_knows_its_position_fetches_that_areas_map(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template)
    phone = explained(tmp_path / "phone")  # walked without a server so far

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        await h.until(lambda: h.app.state.last_position is not None)
        await h.click("back")
        await h.click("open-settings")
        await h.click("settings-reconnect")
        await h.type("enrol-server", server.url)
        await h.type("enrol-code", server.enrol_code())
        await h.click("enrol-submit")
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.downloads == 1, timeout=120)
        assert maps.packages.covers(*HERE)
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_a_download_for_where_the_phone_was_does_not_take_the_walks_place(
    tmp_path: Path,
) -> None:
    """Enrolled at the station, the phone fetches that area's map; the walk starts elsewhere
    while it is still coming. The walk's area comes after it, and no sentence says the walk's
    map is on the phone before it is."""
    source = TileSource(latency_s=0.02, extra_bytes=4000)
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        maps = offline_map.of(h.app)
        h.app.page.run_task(maps.download_here, STATION, False)  # what enrol.py does
        await h.until(lambda: maps.running)
        await start_walk(h)
        assert maps.running and maps.downloads == 0  # the station's is still coming
        await h.until(lambda: maps.downloads == 2 and not maps.running, timeout=120)
        assert maps.packages.covers(*STATION)
        assert maps.packages.covers(*HERE, margin_m=offline_map.COVER_MARGIN_M)
        sent = sent_texts(h)
        said = re.search(
            r"Kartan kring 59\.2900, 15\.2200 finns nu i telefonen \(\d+\.\d MB\) – den "
            r"täcker inte platsen där du står\.",
            sent,
        )
        assert said is not None and said.start() < sent.index(DONE_HERE)
        assert sent.count(DONE_HERE) == 1  # said once: when the walk's area was in
        assert h.text_of("map-status").startswith(DONE_HERE)
        assert not h.visible("map-download")
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()
        source.close()


def test_no_network_at_the_start_then_a_sync_that_gets_through_brings_the_walks_map(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)
    server.stop()

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.message is not None and not maps.running, timeout=90)
        assert maps.offline and h.visible("map-hint")
        server.start()  # the walker is back in coverage
        h.app.syncer.wake()  # the walk waits to be sent: the sync loop's next look
        await h.until(lambda: h.app.syncer.last_ok is True, timeout=60)
        assert not h.visible("map-hint")  # the online map loads again
        await h.until(lambda: maps.downloads == 1, timeout=120)
        assert maps.packages.covers(*HERE, margin_m=offline_map.COVER_MARGIN_M)
        assert h.text_of("map-status").startswith(DONE_HERE)
        [layer] = tile_layers(h)
        assert layer.url_template == maps.server.template
        assert not h.visible("map-hint")
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_a_walk_started_before_the_first_fix_fetches_its_area_when_the_fix_comes(
    tmp_path: Path, source: TileSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cold GPS at night: no fix while the walk's start waits for one."""
    monkeypatch.setattr(offline_map, "POSITION_WAIT_S", 0.5)
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)

    def no_fix(args: Any) -> Any:
        raise TimeoutError("no fix yet")

    async def scenario() -> None:
        h = await Harness.start(phone, results={("Geolocator", "get_current_position"): no_fix})
        await start_walk(h)
        maps = offline_map.of(h.app)
        walk = h.app.state.store.active_walk()
        assert walk is not None
        await maps.walk_opened(walk.id)  # waited for a fix, gave up
        assert h.app.state.last_position is None and maps.downloads == 0
        await walk_to(h, HERE[0])  # the first fix, from the position stream
        await h.until(lambda: maps.downloads == 1, timeout=120)
        assert maps.packages.covers(*HERE, margin_m=offline_map.COVER_MARGIN_M)
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_a_tile_that_failed_elsewhere_does_not_keep_the_hint_where_the_package_covers(
    tmp_path: Path,
) -> None:
    explained(tmp_path)
    make_package(tmp_path / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(12, 19))

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await start_walk(h)
        await h.until(lambda: h.app.state.last_position is not None)
        [layer] = tile_layers(h)
        assert layer.url_template == offline_map.of(h.app).server.template
        assert not h.visible("map-hint")
        # Zoomed out below the package's zoom 12 once, without network: that tile failed.
        await h.session.dispatch_event(layer._i, "image_error", "404 z11")
        h.raise_crash()
        assert h.visible("map-hint")
        h.app.refresh()  # the next fix or sync: the package holds the walker
        assert not h.visible("map-hint")
        # Walked out of the package (3 km north): a failed tile there keeps the hint up.
        await walk_to(h, HERE[0] + 0.03)
        await h.session.dispatch_event(layer._i, "image_error", "SocketException: failed")
        h.app.refresh()
        assert h.visible("map-hint")
        await h.close()

    play(scenario)


def test_offline_where_the_package_covers_the_walker_there_is_no_hint(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)
    server.stop()
    make_package(phone / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(12, 19))

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.click("sync-now")
        await h.until(lambda: h.app.syncer.last_ok is False, timeout=60)
        assert "Servern nås inte" in " ".join(h.texts())
        assert maps.offline_now()
        h.app.refresh()
        assert not h.visible("map-hint")  # the map is on the phone: it shows
        await walk_to(h, HERE[0] + 0.03)  # out of the package, no network: no map there
        assert h.visible("map-hint")
        await h.close()

    play(scenario)


def test_a_phone_full_during_the_download_is_told_so_once_and_keeps_no_half_file(
    tmp_path: Path, source: TileSource
) -> None:
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        maps = offline_map.of(h.app)
        h.app.go("settings")
        with storage_full_after(1_000_000):
            assert not await maps.download_here(HERE)
        assert h.text_of("map-status") == (
            "Telefonens minne är fullt – kartan sparades inte. Frigör utrymme och försök igen; "
            "dina fynd och foton finns kvar."
        )
        partial = phone / "maps" / tiles.PARTIAL_DIR
        assert list(partial.iterdir()) == [] and maps.packages.packages == []
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_deleting_a_map_in_settings_redraws_the_walk_map_on_the_event_loop(
    tmp_path: Path,
) -> None:
    """The walk's screen is kept while settings are open; Flet's page is not thread-safe."""
    explained(tmp_path)
    make_package(tmp_path / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(16, 17))

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await start_walk(h)
        [layer] = tile_layers(h)
        assert layer.url_template.startswith("http://127.0.0.1:")
        threads: list[str] = []
        update = h.page.update

        def watched_update(*controls: Any) -> None:
            threads.append(threading.current_thread().name)
            update(*controls)

        h.page.update = watched_update  # type: ignore[method-assign]
        await h.click("back")
        await h.click("open-settings")
        threads.clear()
        await h.click("map-delete-vivalla")
        await h.until(lambda: "Inga kartor i telefonen än." in h.texts())
        assert threads and set(threads) == {threading.main_thread().name}
        await h.click("back")
        await h.click("walk-continue")
        [layer] = tile_layers(h)
        assert layer.url_template == h.app.state.settings.tile_url  # online again
        await h.close()

    play(scenario)


def test_a_tile_server_closed_in_the_background_is_started_again_on_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """iOS may close the listening socket of a suspended app."""
    monkeypatch.setattr(offline_map, "SERVER_CHECK_S", 0.0)
    explained(tmp_path)
    make_package(tmp_path / "maps" / "vivalla.mbtiles", tiles.area_around(*HERE), range(16, 17))

    async def scenario() -> None:
        h = await Harness.start(tmp_path)
        await start_walk(h)
        [layer] = tile_layers(h)
        before = layer.url_template
        x, y = tiles.tile_xy(*HERE, 16)
        assert httpx.get(before.format(z=16, x=x, y=y)).status_code == 200
        for state in ("inactive", "hide", "pause"):
            await h.session.dispatch_event(h.page._i, "app_lifecycle_state_change",
                                           {"state": state})  # fmt: skip
        offline_map.of(h.app).server.server.socket.shutdown(socket.SHUT_RDWR)
        for state in ("show", "resume"):
            await h.session.dispatch_event(h.page._i, "app_lifecycle_state_change",
                                           {"state": state})  # fmt: skip
        h.raise_crash()
        await h.until(lambda: tile_layers(h)[0].url_template != before)
        r = httpx.get(tile_layers(h)[0].url_template.format(z=16, x=x, y=y))
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
        await h.close()

    play(scenario)


def test_a_walker_who_leaves_the_maps_on_the_phone_gets_the_area_around_them(
    tmp_path: Path, source: TileSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)
    away = HERE[0] + 0.02  # 2.2 km north: out of the walk's area

    async def scenario() -> None:
        h = await Harness.start(phone)
        await start_walk(h)
        maps = offline_map.of(h.app)
        await h.until(lambda: maps.downloads == 1 and not maps.running, timeout=120)
        # Not again within FOLLOW_EVERY_S of the last one.
        await walk_to(h, away)
        for _ in range(5):
            await asyncio.sleep(0)
        assert not maps.running and maps.downloads == 1
        monkeypatch.setattr(offline_map, "FOLLOW_EVERY_S", 0.0)  # minutes later
        await walk_to(h, away + 0.0001)
        await h.until(lambda: maps.downloads == 2 and not maps.running, timeout=120)
        assert maps.packages.covers(away, HERE[1], margin_m=offline_map.COVER_MARGIN_M)
        assert h.text_of("map-status").startswith(DONE_HERE)
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()


def test_a_map_arriving_switches_a_findings_map_that_is_open(
    tmp_path: Path, source: TileSource
) -> None:
    from tests.conftest import make_finding

    server = serve(tmp_path, source.template)
    phone = enrolled_phone(tmp_path, server)

    async def scenario() -> None:
        h = await Harness.start(phone)
        f = h.app.state.store.save_finding(make_finding(latitude=HERE[0], longitude=HERE[1]))
        h.app.go("finding", finding_id=f.id)
        [layer] = tile_layers(h)
        assert layer.url_template == h.app.state.settings.tile_url
        maps = offline_map.of(h.app)
        assert await maps.download_here(HERE)
        [layer] = tile_layers(h)
        assert layer.url_template == maps.server.template
        await h.close()

    try:
        play(scenario)
    finally:
        server.stop()
