"""Offline map packages (issue 11): the server prepares a walk area's tiles from its own source.

Against `walkaudit-server serve` on loopback with tests/tile_source.py (or a scripted source in
front of its tiles) as WALKAUDIT_TILE_URL: the count and estimate follow the slippy-map formulas
(computed here independently), the file is an MBTiles whose tiles are the source's PNGs with TMS
rows, a second request costs the source nothing, the cap (on the file's real size) and a forbidden
or missing source are refused, a source that is down or failing fails the package with a sentence
and a later request continues from the cache, a 429 pauses every request for its Retry-After,
tiles the source lacks are left out and counted (and a tile the cache cannot hold too, while a
full disk fails the package), one device and the whole server may prepare only so many packages
at once, old packages and tiles are swept, a cut download resumes with Range and If-Range, a
stale package is served while prepared again, and tokens and boxes are checked. The pure
functions (tile math, the source rule, Retry-After) are checked in-process at the end.
"""

from __future__ import annotations

import email.utils
import http.server
import io
import json
import math
import os
import re
import signal
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.field import tile_packages as tp
from tests.server.conftest import TestClient
from tests.server.core.test_faults import TmpfsServer, fill
from tests.support import ServerProcess, TcpProxy, free_port
from tests.tile_source import TILE_PATH, ZOOM_COLOURS, TileSource, tile_png

pytestmark = pytest.mark.slow

# About 1 km² around Örebro (59.27 N, 15.21 E): 1 km north–south, 1 km east–west at 59.27°.
HALF_LAT = 0.5 / 111.2
HALF_LON = 0.5 / (111.32 * math.cos(math.radians(59.27)))
OREBRO = {"south": round(59.27 - HALF_LAT, 4), "west": round(15.21 - HALF_LON, 4),
          "north": round(59.27 + HALF_LAT, 4), "east": round(15.21 + HALF_LON, 4)}  # fmt: skip
MiB = 1024 * 1024
Tile = tuple[int, int, int]


def expected_tiles(south: float, west: float, north: float, east: float) -> set[Tile]:
    """The slippy-map tiles (z, x, y) covering the box at zoom 12..18, edges included — written
    here from the OSM wiki's formulas, not taken from the server's module."""
    tiles = set()
    for z in range(12, 19):
        n = 2**z

        def col(lon: float, n: int = n) -> int:
            return int((lon + 180) / 360 * n)

        def row(lat: float, n: int = n) -> int:
            r = math.radians(lat)
            return int((1 - math.log(math.tan(r) + 1 / math.cos(r)) / math.pi) / 2 * n)

        for x in range(col(west), col(east) + 1):
            for y in range(row(north), row(south) + 1):
                tiles.add((z, x, y))
    return tiles


def start(root: Path, tile_url: str, **env: str) -> ServerProcess:
    return ServerProcess(root, env={"WALKAUDIT_REPORT_INTERVAL_S": "0",
                                    "WALKAUDIT_TILE_URL": tile_url, **env}).start()  # fmt: skip


def device(server: ServerProcess) -> httpx.Client:
    """A client enrolled as a device, with its bearer token."""
    code = server.enrol_code("kartvandrare")
    enrolled = httpx.post(f"{server.url}/v1/enrol", json={"code": code, "device_name": "telefon"})
    assert enrolled.status_code == 201, enrolled.text
    token = enrolled.json()["token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"},
                        timeout=30)  # fmt: skip


def settle(http: httpx.Client, pid: str, limit_s: float = 120) -> dict[str, Any]:
    """Ask for the package's status until it is no longer preparing."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        status = http.get(f"/v1/tiles/packages/{pid}")
        assert status.status_code == 200, status.text
        body: dict[str, Any] = status.json()
        if body["state"] != "preparing":
            return body
        time.sleep(0.1)
    raise AssertionError(f"package {pid} still preparing after {limit_s} s")


def ready(http: httpx.Client, box: dict[str, float]) -> dict[str, Any]:
    answer = http.post("/v1/tiles/packages", json=box)
    assert answer.status_code in (200, 202), answer.text
    body = settle(http, answer.json()["id"])
    assert body["state"] == "ready", body
    return body


def mbtiles(data: bytes, where: Path) -> sqlite3.Connection:
    where.write_bytes(data)
    return sqlite3.connect(where)


def package_rows(db: sqlite3.Connection) -> dict[tuple[int, int, int], bytes]:
    rows = db.execute("SELECT zoom_level, tile_column, tile_row, tile_data FROM tiles")
    return {(z, x, row): bytes(data) for z, x, row, data in rows}


def tms(tiles: set[Tile]) -> set[Tile]:
    return {(z, x, 2**z - 1 - y) for z, x, y in tiles}


@pytest.fixture(scope="module")
def source() -> Iterator[TileSource]:
    with TileSource() as tiles:
        yield tiles


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, source: TileSource) -> Iterator[ServerProcess]:
    s = start(tmp_path_factory.mktemp("tiles") / "server", source.template)
    yield s
    s.stop()
    assert "Traceback" not in s.log.read_text()


@pytest.fixture(scope="module")
def phone(server: ServerProcess) -> Iterator[httpx.Client]:
    with device(server) as http:
        yield http


Answer = tuple[int, dict[str, str], bytes]  # status, headers, body


class ScriptedSource:
    """A tile source on loopback whose answers a test decides, in front of tests/tile_source.py's
    tiles: `answer(tile)` may give (status, headers, body) instead of the tile (None: the tile);
    `missing` tiles are 404. `hold(which)` makes requests for those tiles wait until `release(n)`
    lets n of them go or `open()` all; `asked` logs every request, `held` counts those waiting."""

    def __init__(self, missing: set[Tile] | None = None) -> None:
        self.asked: list[Tile] = []
        self.answered: list[tuple[Tile, int]] = []
        self.answer: Callable[[Tile], Answer | None] = lambda tile: None
        self.missing = missing or set()
        self.held = 0
        self._holding: Callable[[Tile], bool] = lambda tile: False
        self._tickets = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._tiles: dict[Tile, bytes] = {}
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path)
                tile = (int(m[1]), int(m[2]), int(m[3])) if m else (0, 0, 0)
                status, headers, body = outer._handle(tile)
                self.send_response(status)
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def template(self) -> str:
        return f"http://127.0.0.1:{self.port}/{{z}}/{{x}}/{{y}}.png"

    def tile(self, z: int, x: int, y: int) -> bytes:
        with self._lock:
            if (z, x, y) not in self._tiles:
                self._tiles[(z, x, y)] = tile_png(z, x, y)
            return self._tiles[(z, x, y)]

    def hold(self, which: Callable[[Tile], bool]) -> None:
        self._holding = which

    def release(self, n: int) -> None:
        self._tickets.release(n)

    def open(self) -> None:
        self._holding = lambda tile: False
        self._tickets.release(1000)

    def close(self) -> None:
        self.open()
        self.server.shutdown()
        self.server.server_close()

    def _handle(self, tile: Tile) -> Answer:
        with self._lock:
            self.asked.append(tile)
            wait = self._holding(tile)
            self.held += wait
        if wait:
            self._tickets.acquire()
            with self._lock:
                self.held -= 1
        answer = self.answer(tile)
        if answer is None:
            answer = (404, {}, b"") if tile in self.missing else (200, {}, self.tile(*tile))
        with self._lock:
            self.answered.append((tile, answer[0]))
        return answer


def eventually(condition: Callable[[], bool], what: str, limit_s: float = 30) -> None:
    """Wait until `condition()` holds (a server works in the background)."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {limit_s} s")
        time.sleep(0.02)


def log_lines(server: ServerProcess, text: str) -> list[str]:
    return [line for line in server.log.read_text().splitlines() if text in line]


# ---- size and tiles -------------------------------------------------------------------------


def test_the_estimate_and_tile_count_follow_the_slippy_map_math(
    phone: httpx.Client, server: ServerProcess
) -> None:
    answer = phone.post("/v1/tiles/packages", json=OREBRO)
    assert answer.status_code in (200, 202), answer.text
    body = answer.json()
    tiles = expected_tiles(**OREBRO)
    assert 200 < len(tiles) < 400  # ~1 km² at z12..18 at 59° N: about 280 tiles
    assert body["tiles"] == len(tiles)
    assert body["estimated_bytes"] == len(tiles) * tp.ESTIMATED_TILE_BYTES
    assert body["max_bytes"] == 50 * MiB  # the default cap
    assert (body["min_zoom"], body["max_zoom"]) == (12, 18)
    assert body["bounds"] == [OREBRO["west"], OREBRO["south"], OREBRO["east"], OREBRO["north"]]
    assert body["attribution"] == "© OpenStreetMap contributors"  # the server's setting
    assert body["state"] in ("preparing", "ready") and body["reason"] is None
    assert settle(phone, body["id"])["done"] == len(tiles)


def test_the_file_is_an_mbtiles_of_exactly_the_sources_tiles_with_tms_rows(
    phone: httpx.Client, server: ServerProcess, source: TileSource, tmp_path: Path
) -> None:
    status = ready(phone, OREBRO)
    answer = phone.get(f"/v1/tiles/packages/{status['id']}/file")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/vnd.sqlite3"
    assert int(answer.headers["content-length"]) == len(answer.content) == status["bytes"]
    assert status["bytes"] <= status["max_bytes"]
    db = mbtiles(answer.content, tmp_path / "package.mbtiles")
    meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    assert meta["format"] == "png"
    assert meta["bounds"] == "15.2012,59.2655,15.2188,59.2745"
    assert (meta["minzoom"], meta["maxzoom"]) == ("12", "18")
    assert meta["attribution"] == "© OpenStreetMap contributors"
    assert "name" in meta and meta["missing_tiles"] == "0"
    unique = db.execute("SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'tiles'")
    assert any("UNIQUE" in sql and "zoom_level, tile_column, tile_row" in sql for (sql,) in unique)
    rows = package_rows(db)
    wanted = expected_tiles(**OREBRO)
    assert set(rows) == tms(wanted)
    for z, x, y in wanted:  # byte for byte what the source serves at z/x/y, stored at its TMS row
        assert rows[(z, x, 2**z - 1 - y)] == source.tile(z, x, y)
    z16 = next(data for (z, _, _), data in rows.items() if z == 16)
    assert Image.open(io.BytesIO(z16)).convert("RGB").getpixel((128, 128)) == ZOOM_COLOURS[16]
    # The source was asked for each tile once, by a User-Agent that says who asks and from where.
    asked = [t for t in source.requests if t in wanted]
    assert sorted(asked) == sorted(wanted)
    assert all("walkaudit-server" in ua and server.url in ua for ua in source.user_agents)


def test_asking_again_for_the_same_area_gives_the_same_package_and_asks_the_source_nothing(
    phone: httpx.Client, source: TileSource
) -> None:
    first = ready(phone, OREBRO)
    asked = len(source.requests)
    again = phone.post("/v1/tiles/packages", json=OREBRO)
    assert again.status_code == 200 and again.json()["state"] == "ready"
    assert again.json()["id"] == first["id"]
    # The same area to 4 decimals (~10 m) is the same package.
    nudged = {k: v + 0.00002 for k, v in OREBRO.items()}
    assert phone.post("/v1/tiles/packages", json=nudged).json()["id"] == first["id"]
    assert phone.get(f"/v1/tiles/packages/{first['id']}/file").status_code == 200
    assert len(source.requests) == asked


def test_two_requests_for_a_new_area_prepare_it_once(tmp_path: Path) -> None:
    with TileSource(latency_s=0.02) as slow:
        server = start(tmp_path / "server", slow.template)
        try:
            with device(server) as http:
                box = {"south": 59.2800, "west": 15.1900, "north": 59.2850, "east": 15.2000}
                first = http.post("/v1/tiles/packages", json=box)
                second = http.post("/v1/tiles/packages", json=box)
                assert first.status_code == 202 and second.status_code == 202
                assert first.json()["id"] == second.json()["id"]
                assert settle(http, first.json()["id"])["state"] == "ready"
        finally:
            server.stop()
        assert len(slow.requests) == len(set(slow.requests)) == len(expected_tiles(**box))


def test_a_ready_package_outlives_a_restart_of_the_server(tmp_path: Path) -> None:
    source = TileSource()
    server = start(tmp_path / "server", source.template)
    try:
        with device(server) as http:
            before = ready(http, OREBRO)
        server.stop()
        asked = len(source.requests)
        server.start()
        with device(server) as http:
            assert http.get(f"/v1/tiles/packages/{before['id']}").json() == before
            again = http.post("/v1/tiles/packages", json=OREBRO)
            assert again.status_code == 200 and again.json() == before
            assert (
                len(http.get(f"/v1/tiles/packages/{before['id']}/file").content) == before["bytes"]
            )
        assert len(source.requests) == asked
    finally:
        server.stop()
        source.close()


# ---- refusals -------------------------------------------------------------------------------


def test_an_area_whose_estimate_exceeds_the_cap_is_refused_with_both_sizes(
    tmp_path: Path, source: TileSource
) -> None:
    server = start(tmp_path / "server", source.template, WALKAUDIT_TILE_PACKAGE_MAX_MB="2")
    try:
        with device(server) as http:
            asked = len(source.requests)
            answer = http.post("/v1/tiles/packages", json=OREBRO)
            assert answer.status_code == 413
            estimate = len(expected_tiles(**OREBRO)) * tp.ESTIMATED_TILE_BYTES / MiB
            detail = answer.json()["detail"]
            assert f"about {estimate:,.1f} MB" in detail and "the 2 MB this server allows" in detail
            assert "smaller area" in detail
            assert len(source.requests) == asked
    finally:
        server.stop()


@pytest.mark.parametrize(
    ("tile_url", "said"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "tile.openstreetmap.org"),
        ("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", "a.tile.openstreetmap.org"),
        ("", "WALKAUDIT_TILE_URL is empty"),
    ],
)
def test_without_a_source_that_allows_packages_the_server_says_how_to_get_one(
    tmp_path: Path, tile_url: str, said: str
) -> None:
    server = start(tmp_path / "server", tile_url)
    try:
        with device(server) as http:
            answer = http.post("/v1/tiles/packages", json=OREBRO)
        assert answer.status_code == 503
        detail = answer.json()["detail"]
        assert said in detail
        assert "Lantmäteriet" in detail and "municipality" in detail
    finally:
        server.stop()


def test_a_wrong_or_missing_token_is_refused(phone: httpx.Client, server: ServerProcess) -> None:
    pid = ready(phone, OREBRO)["id"]
    for headers in ({"Authorization": "Bearer wa_not-a-token"}, {}):
        with httpx.Client(base_url=server.url, headers=headers) as stranger:
            for answer in (
                stranger.post("/v1/tiles/packages", json=OREBRO),
                stranger.get(f"/v1/tiles/packages/{pid}"),
                stranger.get(f"/v1/tiles/packages/{pid}/file"),
            ):
                assert answer.status_code == 401, answer.text
                assert "token" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ('{"south": NaN, "west": 15.2, "north": 59.28, "east": 15.22}', "south: must be a finite"),
        ('{"south": 59.27, "west": 15.2, "north": Infinity, "east": 15.22}', "north: must be"),
        (json.dumps(OREBRO | {"south": 59.28}), "south (59.28) must be less than north (59.2745)"),
        (json.dumps(OREBRO | {"north": OREBRO["south"]}), "must be less than north"),
        (json.dumps(OREBRO | {"west": 15.3}), "west (15.3) must be less than east (15.2188)"),
        (json.dumps({"south": 59.2, "west": 15.1, "north": 59.3, "east": 15.3}),
         "more than the 25 km²"),
        (json.dumps(OREBRO | {"north": 86.0}), "north: must be ≤ 85 (got 86)"),
        (json.dumps(OREBRO | {"east": 181}), "east: must be ≤ 180 (got 181)"),
        (json.dumps({k: v for k, v in OREBRO.items() if k != "east"}), "east: is required"),
        ("[1, 2, 3, 4]", "JSON object"),
    ],
)  # fmt: skip
def test_a_box_that_is_no_area_is_refused_with_a_sentence(
    phone: httpx.Client, body: str, said: str
) -> None:
    answer = phone.post(
        "/v1/tiles/packages", content=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 422, answer.text
    assert said in answer.json()["detail"]


def test_an_unknown_package_is_404_and_a_malformed_id_422(phone: httpx.Client) -> None:
    for path in ("/v1/tiles/packages/0123456789abcdef01234567",
                 "/v1/tiles/packages/0123456789abcdef01234567/file"):  # fmt: skip
        answer = phone.get(path)
        assert answer.status_code == 404 and "POST /v1/tiles/packages" in answer.json()["detail"]
    assert phone.get("/v1/tiles/packages/..%2Fwalkaudit.db").status_code in (404, 422)
    assert phone.get("/v1/tiles/packages/NOT-AN-ID/file").status_code == 422


# ---- a source that fails --------------------------------------------------------------------


def test_a_source_that_is_down_fails_the_package_and_a_later_request_succeeds(
    tmp_path: Path,
) -> None:
    gone = TileSource()
    gone.close()  # nothing listens there any more
    proxy = TcpProxy(gone.port)  # the server's one tile address, whatever serves behind it
    server = start(tmp_path / "server", f"{proxy.url}/{{z}}/{{x}}/{{y}}.png")
    try:
        with device(server) as http:
            first = http.post("/v1/tiles/packages", json=OREBRO)
            assert first.status_code == 202
            failed = settle(http, first.json()["id"])
            assert failed["state"] == "failed"
            assert failed["reason"].startswith("the map tile source cannot be reached")
            assert "asking for the package again continues" in failed["reason"]
            file = http.get(f"/v1/tiles/packages/{failed['id']}/file")
            assert file.status_code == 409 and "failed" in file.json()["detail"]
            with TileSource() as back:
                proxy.upstream_port = back.port
                again = http.post("/v1/tiles/packages", json=OREBRO)
                assert again.status_code == 202 and again.json()["id"] == failed["id"]
                done = settle(http, failed["id"])
                assert done["state"] == "ready" and done["reason"] is None
                assert http.get(f"/v1/tiles/packages/{done['id']}/file").status_code == 200
    finally:
        server.stop()
        proxy.close()
    assert "Traceback" not in server.log.read_text()


def test_tiles_the_source_lacks_are_left_out_and_tiles_it_fails_on_fail_the_package(
    tmp_path: Path,
) -> None:
    wanted = sorted(expected_tiles(**OREBRO))
    missing = set([t for t in wanted if t[0] == 18][:3])
    broken = set([t for t in wanted if t[0] == 17][:2])
    source = ScriptedSource(missing=missing)
    mended = threading.Event()
    source.answer = lambda tile: (
        (500, {}, b"tile renderer crashed") if tile in broken and not mended.is_set() else None
    )
    server = start(tmp_path / "server", source.template)
    try:
        with device(server) as http:
            first = http.post("/v1/tiles/packages", json=OREBRO).json()
            failed = settle(http, first["id"])
            # A 500 passes: the package is not made ready with holes a later try would fill.
            assert failed["state"] == "failed" and failed["done"] == len(wanted)
            assert failed["reason"].startswith(
                "the map tile source is overloaded or failing (HTTP 500; 2 tiles could not be "
                "fetched)"
            )
            assert "asking for the package again in a few minutes continues" in failed["reason"]
            assert http.get(f"/v1/tiles/packages/{first['id']}/file").status_code == 409
            # A 404 is an answer (asked once); a 500 is worth another try before giving up.
            assert all(source.asked.count(t) == 1 for t in missing)
            assert all(source.asked.count(t) == tp.ATTEMPTS for t in broken)
            before = len(source.asked)
            mended.set()
            status = ready(http, OREBRO)
            assert status["id"] == first["id"] and status["done"] == status["tiles"]
            data = http.get(f"/v1/tiles/packages/{status['id']}/file").content
        # The second try asked only for what the cache lacked: the failed and the absent tiles.
        assert sorted(source.asked[before:]) == sorted(missing | broken)
    finally:
        server.stop()
        source.close()
    db = mbtiles(data, tmp_path / "package.mbtiles")
    assert set(package_rows(db)) == tms(set(wanted) - missing)
    meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    assert meta["missing_tiles"] == str(len(missing))
    for z, x, y in missing:
        assert log_lines(server, f"tile {z}/{x}/{y} left out: HTTP 404")
    assert len(log_lines(server, "not fetched: HTTP 500")) == len(broken)


def test_a_429_pauses_every_request_for_its_retry_after_and_the_package_is_whole(
    tmp_path: Path,
) -> None:
    wanted = expected_tiles(**OREBRO)
    source = ScriptedSource()
    window = {"until": 0.0}

    def polite(tile: Tile) -> Answer | None:
        # Past 60 requests the source asks for a 3 s pause, and answers 429 until it is over.
        if len(source.asked) > 60 and not window["until"]:
            window["until"] = time.monotonic() + 3
        if time.monotonic() < window["until"]:
            return 429, {"Retry-After": "3"}, b"slow down"
        return None

    source.answer = polite
    server = start(tmp_path / "server", source.template)
    try:
        with device(server) as http:
            status = ready(http, OREBRO)
            data = http.get(f"/v1/tiles/packages/{status['id']}/file").content
    finally:
        server.stop()
        source.close()
    refused = [tile for tile, code in source.answered if code == 429]
    # Only the requests already under way when the pause began met it; none came during it.
    assert 1 <= len(refused) <= tp.FETCH_CONCURRENCY
    db = mbtiles(data, tmp_path / "package.mbtiles")
    assert set(package_rows(db)) == tms(wanted)  # no hole where a 429 was
    assert dict(db.execute("SELECT name, value FROM metadata").fetchall())["missing_tiles"] == "0"
    assert len(log_lines(server, "answered 429 (too many requests); no request to it for 3 s")) == 1


def test_a_tile_the_cache_cannot_hold_is_left_out_and_counted_the_rest_kept(
    tmp_path: Path, source: TileSource
) -> None:
    # The cache's folder for zoom 16 is a file: every tile there fails to be written (as on a
    # damaged disk), and the fetch threads must go on with the other tiles.
    root = tmp_path / "server"
    blocked = root / "tiles" / "cache" / tp.source_key(source.template) / "16"
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    wanted = expected_tiles(**OREBRO)
    z16 = {t for t in wanted if t[0] == 16}
    server = start(root, source.template)
    try:
        with device(server) as http:
            status = ready(http, OREBRO)
            assert status["done"] == status["tiles"] == len(wanted)
            data = http.get(f"/v1/tiles/packages/{status['id']}/file").content
    finally:
        server.stop()
    db = mbtiles(data, tmp_path / "package.mbtiles")
    assert set(package_rows(db)) == tms(wanted - z16)
    meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
    assert meta["missing_tiles"] == str(len(z16))
    said = log_lines(server, "left out: it cannot be kept in the tile cache (NotADirectoryError")
    assert len(said) == min(len(z16), tp.LOGGED_LEFT_OUT)
    assert "Traceback" not in server.log.read_text()


def test_a_full_disk_fails_the_package_with_a_sentence_and_a_later_request_completes_it(
    tmp_path: Path,
) -> None:
    source = ScriptedSource()
    source.hold(lambda tile: tile[0] >= 16)  # zoom 12–15 come at once, the rest when let go
    env = {"WALKAUDIT_REPORT_INTERVAL_S": "0", "WALKAUDIT_MIN_FREE_MB": "1",
           "WALKAUDIT_TILE_URL": source.template}  # fmt: skip
    server = TmpfsServer(tmp_path / "data", 24, env).start()
    wanted = expected_tiles(**OREBRO)
    try:
        with device(server) as http:
            pid = http.post("/v1/tiles/packages", json=OREBRO).json()["id"]
            eventually(lambda: source.held >= 1, "the server asks for a tile at zoom 16")
            filler = server.inside / "filler"
            fill(filler)  # the disk is full for a moment...
            source.release(1)  # ...as one tile arrives

            def failed_or_half_written() -> bool:
                answer = http.get(f"/v1/tiles/packages/{pid}")
                stuck = list((server.inside / "tiles" / "cache").rglob(".*.tmp"))
                return bool(stuck) or (answer.status_code == 200 and
                                       answer.json()["state"] != "preparing")  # fmt: skip

            eventually(failed_or_half_written, "the tile's write fails")
            filler.unlink()  # ...and then there is room again
            source.open()
            failed = settle(http, pid)
            assert failed["state"] == "failed" and failed["reason"] == tp.STORAGE_FULL
            assert "disk is full" in failed["reason"] and "freed space" in failed["reason"]
            assert http.get(f"/v1/tiles/packages/{pid}/file").status_code == 409
            assert not list((server.inside / "tiles").rglob("*.tmp"))  # nothing half-written
            asked = len(source.asked)
            status = ready(http, OREBRO)
            data = http.get(f"/v1/tiles/packages/{pid}/file").content
        assert all(z >= 16 for z, _, _ in source.asked[asked:])  # zoom 12–15 from the cache
    finally:
        server.stop()
        source.close()
    assert status["done"] == len(wanted)
    db = mbtiles(data, tmp_path / "package.mbtiles")
    assert set(package_rows(db)) == tms(wanted)
    assert "Traceback" not in server.log.read_text()


def test_a_tile_too_large_is_left_out_and_said_to_be_too_large(tmp_path: Path) -> None:
    wanted = expected_tiles(**OREBRO)
    huge = min(t for t in wanted if t[0] == 18)
    source = ScriptedSource()
    oversize = b"\x89PNG\r\n\x1a\n" + b"\0" * (tp.MAX_TILE_BYTES + 1)
    source.answer = lambda tile: (200, {}, oversize) if tile == huge else None
    server = start(tmp_path / "server", source.template)
    try:
        with device(server) as http:
            status = ready(http, OREBRO)
            data = http.get(f"/v1/tiles/packages/{status['id']}/file").content
    finally:
        server.stop()
        source.close()
    db = mbtiles(data, tmp_path / "package.mbtiles")
    assert set(package_rows(db)) == tms(wanted - {huge})
    z, x, y = huge
    [said] = log_lines(server, f"tile {z}/{x}/{y} left out")
    assert said.endswith("the answer is larger than 2 MB, too large for a map tile")


# ---- limits: packages at once, the cap, the disk --------------------------------------------


def small_area(i: int) -> dict[str, float]:
    """The i-th of many distinct areas of about 50 m × 30 m north of Örebro."""
    south = round(59.30 + i * 0.001, 4)
    return {"south": south, "west": 15.30, "north": round(south + 0.0005, 4), "east": 15.3005}


def threads(server: ServerProcess) -> int:
    assert server.proc is not None
    return len(os.listdir(f"/proc/{server.proc.pid}/task"))


def test_one_device_and_the_whole_server_prepare_only_so_many_packages_at_once(
    tmp_path: Path,
) -> None:
    source = ScriptedSource()
    source.hold(lambda tile: True)  # nothing is ready until the test lets the source answer
    server = start(tmp_path / "server", source.template)
    phones = [device(server) for _ in range(tp.MAX_AT_ONCE // tp.MAX_PER_DEVICE + 1)]
    try:
        idle = threads(server)
        answers = [phones[0].post("/v1/tiles/packages", json=small_area(i)) for i in range(200)]
        codes = Counter(a.status_code for a in answers)
        assert codes == {202: tp.MAX_PER_DEVICE, 429: 200 - tp.MAX_PER_DEVICE}
        refused = answers[-1]
        assert refused.headers["Retry-After"] == str(tp.BUSY_RETRY_S)
        assert refused.json()["detail"] == (
            "this device already has 2 map packages being prepared, as many as it may at once; "
            f"ask for this one again when one of them is ready (in about {tp.BUSY_RETRY_S} "
            "seconds)"
        )
        # A fixed pool prepares them: no thread per package.
        assert threads(server) <= idle + tp.MAX_PREPARING + tp.FETCH_CONCURRENCY + 2
        # Other devices may start theirs, up to the server's limit.
        started = [a.json()["id"] for a in answers if a.status_code == 202]
        for n, phone in enumerate(phones[1:-1], start=1):
            for i in range(tp.MAX_PER_DEVICE):
                answer = phone.post("/v1/tiles/packages", json=small_area(1000 + 10 * n + i))
                assert answer.status_code == 202, answer.text
                started.append(answer.json()["id"])
        assert len(started) == tp.MAX_AT_ONCE
        last = phones[-1].post("/v1/tiles/packages", json=small_area(2000))
        assert last.status_code == 429 and last.headers["Retry-After"] == str(tp.BUSY_RETRY_S)
        assert last.json()["detail"].startswith(
            f"the server is preparing {tp.MAX_AT_ONCE} map packages right now"
        )
        # Those beyond the first two wait their turn: "preparing" with nothing done, and the
        # log says they are queued (the contract has no state for it).
        queued = started[tp.MAX_PREPARING :]
        assert all(phones[0].get(f"/v1/tiles/packages/{pid}").json()["done"] == 0
                   for pid in queued)  # fmt: skip
        assert len(log_lines(server, "queued:")) == len(queued)
        source.open()
        assert all(settle(phones[0], pid)["state"] == "ready" for pid in started)
        again = phones[0].post("/v1/tiles/packages", json=small_area(3000))
        assert again.status_code == 202
        assert settle(phones[0], again.json()["id"])["state"] == "ready"
    finally:
        for phone in phones:
            phone.close()
        server.stop()
        source.close()
    assert "Traceback" not in server.log.read_text()


def test_a_thread_that_cannot_start_fails_the_package_instead_of_leaving_it_preparing(
    tmp_path: Path, source: TileSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    packages = tp.TilePackages(Settings(data_dir=tmp_path, tile_url=source.template))
    box = tp.Box(**OREBRO)

    def refuse(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    try:
        with monkeypatch.context() as patched:
            patched.setattr(threading.Thread, "start", refuse)
            status = packages.request(box, "device-1")
        assert status["state"] == "failed"
        assert status["reason"] == (
            "the server could not start preparing the package (it is short of threads or "
            "memory); ask for it again in a few minutes"
        )
        assert packages.request(box, "device-1")["state"] == "preparing"  # tried again
        deadline = time.monotonic() + 60
        while packages.status(status["id"])["state"] == "preparing":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert packages.status(status["id"])["state"] == "ready"
    finally:
        packages.close()


def test_the_cap_counts_the_files_real_size_not_only_its_tiles(tmp_path: Path) -> None:
    wanted = expected_tiles(**OREBRO)
    cap_mb = 6
    # Every tile padded so that the tiles together just fit the cap (and the estimate is under
    # it); the file, with SQLite's pages and index around them, does not.
    size = cap_mb * MiB // len(wanted)
    assert len(wanted) * tp.ESTIMATED_TILE_BYTES < cap_mb * MiB < len(wanted) * (size + 1)
    source = ScriptedSource()
    source.answer = lambda tile: (200, {}, source.tile(*tile).ljust(size, b"\0"))
    server = start(tmp_path / "server", source.template, WALKAUDIT_TILE_PACKAGE_MAX_MB=str(cap_mb))
    try:
        with device(server) as http:
            first = http.post("/v1/tiles/packages", json=OREBRO)
            assert first.status_code == 202
            status = settle(http, first.json()["id"])
    finally:
        server.stop()
        source.close()
    assert status["state"] == "failed", status
    assert re.fullmatch(
        r"the map package for this area came to 6\.\d\d MB, more than the 6 MB this server "
        r"allows for a package \(the estimate was 5\.3 MB\); choose a smaller area around the walk",
        status["reason"],
    )
    assert not list((tmp_path / "server" / "tiles" / "packages").iterdir())


def test_tiles_far_larger_than_estimated_stop_the_package_before_all_are_fetched(
    tmp_path: Path,
) -> None:
    source = ScriptedSource()
    source.answer = lambda tile: (200, {}, source.tile(*tile).ljust(150_000, b"\0"))
    server = start(tmp_path / "server", source.template, WALKAUDIT_TILE_PACKAGE_MAX_MB="6")
    try:
        with device(server) as http:
            status = settle(http, http.post("/v1/tiles/packages", json=OREBRO).json()["id"])
    finally:
        server.stop()
        source.close()
    assert status["state"] == "failed"
    assert status["reason"].startswith(
        "the tiles of this area add up to more than the 6 MB this server allows for a package ("
    )
    assert status["reason"].endswith("estimate was 5.3 MB); choose a smaller area around the walk")
    assert len(source.asked) < len(expected_tiles(**OREBRO)) // 2  # it stopped asking


def test_old_packages_and_old_cached_tiles_are_swept_at_start_up(tmp_path: Path) -> None:
    source = ScriptedSource()
    root = tmp_path / "server"
    other = {"south": 59.2800, "west": 15.1900, "north": 59.2850, "east": 15.2000}
    server = start(root, source.template)
    long_ago = time.time() - 100 * 86400  # beyond the 90 days packages are kept unused
    stale = time.time() - 40 * 86400  # beyond the 30 days a cached tile is used
    try:
        with device(server) as http:
            unused, used = ready(http, OREBRO)["id"], ready(http, other)["id"]
            packages = root / "tiles" / "packages"
            for pid in (unused, used):
                os.utime(packages / f"{pid}.mbtiles", (long_ago, long_ago))
            # Downloading a package marks it used (without changing its ETag).
            etag = http.get(f"/v1/tiles/packages/{used}/file").headers["etag"]
            assert http.get(f"/v1/tiles/packages/{used}/file").headers["etag"] == etag
        cache = root / "tiles" / "cache" / tp.source_key(source.template)
        z18 = list((cache / "18").rglob("*"))
        for path in z18:
            os.utime(path, (stale, stale))
        server.stop()
        server.start()
        eventually(lambda: not (packages / f"{unused}.mbtiles").exists(), "the sweep at start-up")
        eventually(lambda: not (cache / "18").exists(), "the old tiles swept")
        kept = (packages / f"{used}.mbtiles").stat().st_mtime
        assert kept == pytest.approx(long_ago, abs=0.01)  # kept, as it was
        assert (cache / "17").is_dir()  # the fresh tiles stay
        assert log_lines(server, "map packages: removed 1 packages unused for 90 days and")
        with device(server) as http:
            gone = http.get(f"/v1/tiles/packages/{unused}")
            assert gone.status_code == 404 and "POST /v1/tiles/packages" in gone.json()["detail"]
            asked = len(source.asked)
            ready(http, OREBRO)  # prepared again: only the swept tiles are asked for
        assert sorted(source.asked[asked:]) == sorted(t for t in expected_tiles(**OREBRO)
                                                       if t[0] == 18)  # fmt: skip
    finally:
        server.stop()
        source.close()


def test_the_sweep_runs_again_and_again_while_the_server_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tp, "SWEEP_EVERY_S", 0.05)
    app = create_app(Settings(data_dir=tmp_path, tile_package_keep_days=1, report_interval_s=0))
    with TestClient(app):
        packages = tmp_path / "tiles" / "packages"
        packages.mkdir(parents=True)
        old = packages / "0123456789abcdef01234567.mbtiles"
        old.write_bytes(b"SQLite format 3\0")
        young = packages / "89abcdef0123456789abcdef.mbtiles"
        young.write_bytes(b"SQLite format 3\0")
        two_days_ago = time.time() - 2 * 86400
        os.utime(old, (two_days_ago, two_days_ago))
        eventually(lambda: not old.exists(), "the next sweep")
        assert young.exists()


# ---- a ready package, later -----------------------------------------------------------------


def test_a_ready_package_whose_file_was_removed_is_said_to_be_gone_and_prepared_again(
    phone: httpx.Client, server: ServerProcess
) -> None:
    area = {"south": 59.2600, "west": 15.2300, "north": 59.2630, "east": 15.2350}
    pid = ready(phone, area)["id"]
    (server.data / "tiles" / "packages" / f"{pid}.mbtiles").unlink()
    for path in (f"/v1/tiles/packages/{pid}", f"/v1/tiles/packages/{pid}/file"):
        answer = phone.get(path)
        assert answer.status_code == 404
        assert answer.json()["detail"] == (
            f"map package {pid} is no longer on this server (its file was removed); ask for "
            "the area's package again with POST /v1/tiles/packages"
        )
    again = phone.post("/v1/tiles/packages", json=area)
    assert again.status_code == 202 and again.json()["id"] == pid
    assert settle(phone, pid)["state"] == "ready"
    assert phone.get(f"/v1/tiles/packages/{pid}/file").status_code == 200


def test_a_stale_package_is_served_while_prepared_again_and_its_etag_changes_when_replaced(
    tmp_path: Path,
) -> None:
    source = ScriptedSource()
    root = tmp_path / "server"
    server = start(root, source.template)
    month_ago = time.time() - 31 * 86400  # older than a package and a tile are used

    def age_everything() -> None:
        for path in (root / "tiles").rglob("*"):
            if path.is_file():
                os.utime(path, (month_ago, month_ago))

    try:
        with device(server) as http:
            pid = ready(http, OREBRO)["id"]
            age_everything()
            old = http.get(f"/v1/tiles/packages/{pid}/file")
            source.hold(lambda tile: True)
            again = http.post("/v1/tiles/packages", json=OREBRO)
            assert again.status_code == 202 and again.json()["state"] == "preparing"
            eventually(lambda: source.held >= 1, "the package is prepared again")
            # Meanwhile the last file is served as it was, whole or from where a cut left it.
            meanwhile = http.get(f"/v1/tiles/packages/{pid}/file")
            assert meanwhile.status_code == 200 and meanwhile.content == old.content
            assert meanwhile.headers["etag"] == old.headers["etag"]
            rest = http.get(
                f"/v1/tiles/packages/{pid}/file",
                headers={"Range": "bytes=1000-", "If-Range": old.headers["etag"]},
            )
            assert rest.status_code == 206 and rest.content == old.content[1000:]  # fmt: skip
            source.open()
            assert settle(http, pid)["state"] == "ready"
            new = http.get(
                f"/v1/tiles/packages/{pid}/file",
                headers={"Range": "bytes=1000-", "If-Range": old.headers["etag"]},
            )
            # Another file now: the old ETag no longer matches, so the whole new file comes.
            assert new.status_code == 200 and new.headers["etag"] != old.headers["etag"]
            assert int(new.headers["content-length"]) == len(new.content)
            # Preparing again can fail (the source breaks): the last file stays ready.
            age_everything()
            source.answer = lambda tile: (503, {}, b"down for maintenance")
            assert http.post("/v1/tiles/packages", json=OREBRO).status_code == 202
            kept = settle(http, pid)
            assert kept["state"] == "ready" and kept["reason"] is None
            assert http.get(f"/v1/tiles/packages/{pid}/file").content == new.content
    finally:
        server.stop()
        source.close()
    assert log_lines(server, "preparing it again failed, its last file stays ready: the map tile")


# ---- download -------------------------------------------------------------------------------


def test_a_cut_download_resumes_with_range(phone: httpx.Client) -> None:
    pid = ready(phone, OREBRO)["id"]
    whole = phone.get(f"/v1/tiles/packages/{pid}/file")
    etag = whole.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")  # strong: it may be used to resume
    got = bytearray()
    with phone.stream("GET", f"/v1/tiles/packages/{pid}/file") as cut:
        assert cut.headers["etag"] == etag
        for chunk in cut.iter_bytes(4096):
            got += chunk
            if len(got) >= 10_000:
                break  # the connection is dropped here, as in a tunnel
    rest = phone.get(
        f"/v1/tiles/packages/{pid}/file", headers={"Range": f"bytes={len(got)}-", "If-Range": etag}
    )
    assert rest.status_code == 206 and rest.headers["etag"] == etag
    assert rest.headers["content-range"] == f"bytes {len(got)}-{len(whole.content) - 1}/" \
                                            f"{len(whole.content)}"  # fmt: skip
    assert bytes(got) + rest.content == whole.content
    beyond = phone.get(f"/v1/tiles/packages/{pid}/file", headers={"Range": "bytes=999999999-"})
    assert beyond.status_code == 416 and "from the start" in beyond.json()["detail"]
    garbled = phone.get(f"/v1/tiles/packages/{pid}/file", headers={"Range": "bytes=abc"})
    assert garbled.status_code == 200 and garbled.content == whole.content


def test_if_range_decides_whether_the_range_counts_and_of_several_ranges_the_first_is_served(
    phone: httpx.Client,
) -> None:
    pid = ready(phone, OREBRO)["id"]
    url = f"/v1/tiles/packages/{pid}/file"
    whole = phone.get(url)
    size, etag = len(whole.content), whole.headers["etag"]

    def get(range_: str, if_range: str | None = None) -> httpx.Response:
        headers = {"Range": range_} | ({"If-Range": if_range} if if_range else {})
        return phone.get(url, headers=headers)

    # The phone has it all already: with the matching ETag as without, nothing lies beyond.
    for answer in (get(f"bytes={size}-"), get(f"bytes={size}-", etag)):
        assert answer.status_code == 416, answer.status_code
        assert answer.headers["content-range"] == f"bytes */{size}"
    # Another version of the file (an old ETag, a weak one, a date): the whole file, 200.
    for other in ('"0-0-0"', f"W/{etag}", whole.headers["last-modified"]):
        answer = get("bytes=100-", other)
        assert answer.status_code == 200 and answer.content == whole.content, other
        assert answer.headers["etag"] == etag
    # Several ranges: the first the file can satisfy, as one 206.
    answer = get(f"bytes={size + 10}-, 10-19, 30-39", etag)
    assert answer.status_code == 206 and answer.content == whole.content[10:20]
    assert answer.headers["content-range"] == f"bytes 10-19/{size}"
    answer = get("bytes=-100")
    assert answer.status_code == 206 and answer.content == whole.content[-100:]
    answer = get(f"bytes=0-{size * 2}")
    assert answer.status_code == 206 and answer.content == whole.content
    assert answer.headers["content-range"] == f"bytes 0-{size - 1}/{size}"


# ---- stopping -------------------------------------------------------------------------------


def test_stopping_the_server_while_a_package_prepares_is_clean(tmp_path: Path) -> None:
    with TileSource(latency_s=0.2) as slow:
        server = start(tmp_path / "server", slow.template)
        with device(server) as http:
            answer = http.post("/v1/tiles/packages", json=OREBRO)
            assert answer.status_code == 202
            while not slow.requests:
                time.sleep(0.05)
        server.stop()
        assert server.proc is not None and server.proc.returncode != -signal.SIGKILL
        asked = len(slow.requests)
        time.sleep(0.5)
        assert len(slow.requests) == asked  # nothing asks the source once the server is gone
    assert asked < len(expected_tiles(**OREBRO))
    assert not list((tmp_path / "server" / "tiles" / "packages").iterdir())  # no .part left
    log = server.log.read_text()
    assert "failed: the server stopped while preparing the package" in log
    assert "Application shutdown complete" in log and "Traceback" not in log


# ---- the pure functions, in-process ---------------------------------------------------------


def test_tile_math_at_known_points() -> None:
    for z in (12, 16, 18):
        half = 2 ** (z - 1)
        assert (tp.tile_x(0.0001, z), tp.tile_y(0.0001, z)) == (half, half - 1)
        assert (tp.tile_x(-180, z), tp.tile_y(85.0511, z)) == (0, 0)
        assert (tp.tile_x(180, z), tp.tile_y(-85.0511, z)) == (2**z - 1, 2**z - 1)
        assert tp.tms_row(z, 0) == 2**z - 1
    box = tp.Box(**OREBRO)
    assert {t for r in tp.plan(box) for t in r.tiles()} == expected_tiles(**OREBRO)
    assert tp.Box(0, 0, 1, 1).area_km2 == pytest.approx(111.19**2, rel=1e-3)
    assert tp.Box(**OREBRO).area_km2 == pytest.approx(1.0, rel=0.02)


def test_the_package_id_is_the_rounded_area_and_the_source() -> None:
    box = tp.check_box(tp.Box(**OREBRO))
    template = "https://tiles.example.se/{z}/{x}/{y}.png"
    nudged = tp.check_box(tp.Box(*(v + 0.00003 for v in (box.south, box.west, box.north,
                                                          box.east))))  # fmt: skip
    assert tp.package_id(box, template) == tp.package_id(nudged, template)
    assert tp.package_id(box, template) != tp.package_id(box, template.replace("tiles", "maps"))
    moved = tp.check_box(tp.Box(box.south + 0.001, box.west, box.north + 0.001, box.east))
    assert tp.package_id(moved, template) != tp.package_id(box, template)


def test_which_sources_allow_packages() -> None:
    for allowed in ("https://tiles.orebro.se/{z}/{x}/{y}.png",
                    "http://127.0.0.1:8080/{z}/{x}/{y}.png",
                    "https://{s}.tiles.example.se/{z}/{x}/{-y}.jpg"):  # fmt: skip
        assert tp.check_source(allowed) == allowed
    for refused in ("", "  ", "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "https://c.tile.openstreetmap.org/{z}/{x}/{y}.png",
                    "https://TILE.OpenStreetMap.org./{z}/{x}/{y}.png",
                    "ftp://tiles.example.se/{z}/{x}/{y}.png",
                    "https://tiles.example.se/tiles.png"):  # fmt: skip
        with pytest.raises(tp.NoAllowedSource):
            tp.check_source(refused)
    url = tp.tile_url("https://{s}.t.se/{z}/{x}/{-y}{r}.png", 16, 35571, 18900)
    assert url == f"https://{'abc'[(35571 + 18900) % 3]}.t.se/16/35571/{2**16 - 1 - 18900}.png"


def test_retry_after_is_read_as_seconds_or_a_date_and_kept_within_a_minute() -> None:
    now = 1_800_000_000.0
    assert tp.retry_after_s("3") == 3
    assert tp.retry_after_s("120") == tp.MAX_PAUSE_S == 60  # a source's hour is not waited out
    assert tp.retry_after_s("0") == 1
    in_ten = email.utils.formatdate(now + 10, usegmt=True)
    assert tp.retry_after_s(in_ten, now=now) == pytest.approx(10)
    for unusable in (None, "", "soon", "-5"):
        assert tp.retry_after_s(unusable, now=now) == tp.DEFAULT_PAUSE_S
