"""Walk map benchmark: drawing the walk's map from the phone's tile package vs from the network.

Usage: python bench/bench_map_tiles.py [--quick]

Real parts: the app (`walkaudit app --web`, the real Flet web client) in Debian's chromium at
phone size, driven by Playwright. Two phones with an active walk at the same place:
  local     a map package of the walk's area (zoom 12–18, tiles of about 20 KB, as real map
            tiles are) in DATA/maps; the online template points at a closed port, so every
            tile the map shows came from the app's LocalTileServer on 127.0.0.1
  online    no package; tiles from a TileSource on loopback with 30 ms latency per request
            (the baseline: a tile server across the internet on a good mobile connection)
Measured in the browser (Resource Timing): from the tap on "continue the walk" until the last
tile of the first screenful has arrived (no new tile for 700 ms). Fresh browser context (no
HTTP cache) per run; the variants alternate; medians of REPEAT runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _report

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.*

from tests.e2e.browser import AppProcess, FletPage, launch, phone_context  # noqa: E402
from tests.support import free_port  # noqa: E402
from tests.test_tiles import make_package  # noqa: E402
from tests.tile_source import TileSource  # noqa: E402
from walkaudit import tiles  # noqa: E402
from walkaudit.store import Store  # noqa: E402

OREBRO = (59.2743, 15.2066)
REPEAT = 7
LATENCY_S = 0.03
TILE_BYTES = 20_000
QUIET_MS = 700  # no new tile for this long: the screenful is in
TILES_SEEN = """(t0) => performance.getEntriesByType('resource')
    .filter(e => /\\/\\d+\\/\\d+\\/\\d+\\.png$/.test(e.name) && e.startTime >= t0)
    .map(e => [e.startTime, e.responseEnd])"""


def phone(path: Path, tile_url: str) -> Path:
    """A data directory past the first-run steps with an active walk."""
    store = Store.open(path)
    store.set_meta(
        **{"ui.tile_url": tile_url, "ui.location_explained": "1", "ui.enrol_skipped": "1"}
    )
    store.start_walk("Kvällsvandring Vivalla")
    store.close()
    return path


@dataclass
class Run:
    total_ms: float  # the tap → the screenful's last tile in
    tiles_ms: float  # the first tile asked for → the last one in
    tiles: int


def one_run(browser: Any, app: AppProcess) -> Run:
    """One tap on *Fortsätt vandringen*, in a fresh browser context."""
    context = phone_context(browser)
    ui = FletPage(context.new_page(), "bench").open(app.url)
    ui.wait("walk-continue")
    page = ui.page
    t0 = float(page.evaluate("() => performance.now()"))
    ui.node("walk-continue").click()
    seen: list[tuple[float, float]] = []
    quiet = 0
    while quiet < QUIET_MS:
        page.wait_for_timeout(100)
        now = page.evaluate(TILES_SEEN, t0)
        if len(now) != len(seen):
            seen, quiet = now, 0
        elif seen:
            quiet += 100
        if page.evaluate("() => performance.now()") - t0 > 60_000:
            raise RuntimeError("no tiles within a minute")
    context.close()
    first, last = min(s for s, _ in seen), max(e for _, e in seen)
    return Run(last - t0, last - first, len(seen))


def per_tile_ms(template: str, keys: list[tuple[int, int, int]]) -> float:
    """Median ms per tile, asked one after the other on one kept-alive connection."""
    import httpx

    times = []
    with httpx.Client() as client:
        for z, x, y in keys:
            start = time.perf_counter()
            assert client.get(template.format(z=z, x=x, y=y)).status_code == 200
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="two runs each")
    args = parser.parse_args()
    repeat = 2 if args.quick else REPEAT
    with tempfile.TemporaryDirectory() as tmp, TileSource(LATENCY_S, TILE_BYTES) as source:
        # http.server sends headers and body in two writes: with Nagle's algorithm on, a
        # kept-alive connection waits ~40 ms for the client's delayed ACK on every tile, which
        # would make the baseline look slower than its 30 ms latency.
        source.server.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        closed = f"http://127.0.0.1:{free_port()}/{{z}}/{{x}}/{{y}}.png"
        local = phone(Path(tmp) / "local", closed)
        make_package(
            local / "maps" / "vivalla.mbtiles",
            tiles.area_around(*OREBRO),
            source=lambda z, x, y: source.tile(z, x, y, extra_bytes=TILE_BYTES),
        )
        package_mb = sum(p.stat().st_size for p in (local / "maps").glob("*.mbtiles")) / 2**20
        online = phone(Path(tmp) / "online", source.template)
        x, y = tiles.tile_xy(*OREBRO, 17)
        keys = [(17, x + dx, y + dy) for dx in range(-5, 5) for dy in range(-5, 5)]
        served = tiles.LocalTileServer(tiles.TilePackages(local))
        raw = {
            "local": per_tile_ms(served.template, keys),
            "online": per_tile_ms(source.template, keys),
        }
        served.close()
        apps = {"local": AppProcess(local).start(), "online": AppProcess(online).start()}
        runs: dict[str, list[Run]] = {"local": [], "online": []}
        try:
            with sync_playwright() as p:
                browser = launch(p)
                for app in apps.values():  # warm-up: the first view of each app process
                    one_run(browser, app)
                for _ in range(repeat):
                    for name, app in apps.items():
                        runs[name].append(one_run(browser, app))
                browser.close()
        finally:
            for app in apps.values():
                app.stop()
    rows = []
    medians = {}
    before = statistics.median(r.total_ms - r.tiles_ms for rs in runs.values() for r in rs)
    for name, label in (("local", "the phone's package (LocalTileServer)"),
                        ("online", f"online baseline: a tile server {LATENCY_S * 1000:.0f} ms "
                                   "away")):  # fmt: skip
        total = [r.total_ms for r in runs[name]]
        medians[name] = statistics.median(total)
        phase = statistics.median(r.tiles_ms for r in runs[name])
        count = statistics.median(r.tiles for r in runs[name])
        rows.append(f"| {label} | {count:.0f} | {medians[name]:,.0f} ({min(total):,.0f}–"
                    f"{max(total):,.0f}) | {phase:,.0f} | {raw[name]:.1f} |")  # fmt: skip
    markdown = f"""## Walk map from the phone's tiles (`bench/bench_map_tiles.py`)

Machine: {_report.machine(("playwright", "flet"))}; Debian chromium, headless.

The walk screen of the real Flet web client at 412×915, zoom 16. From the tap on *Fortsätt
vandringen* until the last tile of the first screenful has arrived (browser Resource Timing; no
new tile for {QUIET_MS} ms after it). Tiles of about {TILE_BYTES // 1000} KB; the package of the
1.5 km × 1.5 km area (zoom 12–18) is {package_mb:.1f} MB. Fresh browser context per run, the two
variants alternating; {repeat} runs each. Milliseconds.

| tiles from | tiles | tap → last tile, median (min–max) | 1st tile asked → last in | 1 tile |
|---|---:|---:|---:|---:|
{chr(10).join(rows)}

"1 tile" is the median time of one tile asked from Python on a kept-alive connection
(100 tiles at zoom 17): what the server itself costs. From the package the screenful is in after
{medians["local"]:,.0f} ms against {medians["online"]:,.0f} ms online. About {before:,.0f} ms of
either passes before the first tile is asked for (the app building the walk screen, the browser
laying it out); the rest is the tiles arriving, on a shared 2-core machine where chromium, its
software GL and the app's Python (which also serves the local tiles) compete. The online figure
is a best case — a real tile server adds DNS, TLS and a mobile network's jitter — and without
network it shows nothing at all, which is what the package is for.
"""
    print(markdown)
    if not args.quick:
        _report.write_section("map_tiles", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
