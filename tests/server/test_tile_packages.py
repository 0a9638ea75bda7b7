"""Offline map packages (issue 11): the server prepares a walk area's tiles from its own source.

Against `walkaudit-server serve` on loopback with tests/tile_source.py as WALKAUDIT_TILE_URL: the
count and estimate follow the slippy-map formulas (computed here independently), the file is an
MBTiles whose tiles are the source's PNGs with TMS rows, a second request costs the source
nothing, the cap and a forbidden or missing source are refused, a source that is down fails the
package with a sentence and a later request succeeds, tiles the source lacks are left out and
counted, a cut download resumes with Range, and tokens and boxes are checked. The pure functions
(tile math, the source rule) are checked in-process at the end.
"""

from __future__ import annotations

import http.server
import io
import json
import math
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from sync_server import tile_packages as tp
from tests.support import ServerProcess, TcpProxy, free_port
from tests.tile_source import TILE_PATH, ZOOM_COLOURS, TileSource

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


class FaultySource:
    """In front of a TileSource: answers 500 for `broken` tiles, passes everything else on."""

    def __init__(self, upstream: TileSource, broken: set[Tile]) -> None:
        self.asked: list[Tile] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path)
                key = (int(m[1]), int(m[2]), int(m[3])) if m else (0, 0, 0)
                outer.asked.append(key)
                if key in broken:
                    answer = httpx.Response(500, content=b"tile renderer crashed")
                else:
                    answer = httpx.get(upstream.template.format(z=key[0], x=key[1], y=key[2]))
                self.send_response(answer.status_code)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            def log_message(self, *args: Any) -> None:
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_tiles_the_source_lacks_or_fails_on_are_left_out_and_counted_the_rest_kept(
    tmp_path: Path,
) -> None:
    wanted = sorted(expected_tiles(**OREBRO))
    missing = set([t for t in wanted if t[0] == 18][:3])
    broken = set([t for t in wanted if t[0] == 17][:2])
    with TileSource(missing=missing) as upstream:
        faulty = FaultySource(upstream, broken)
        server = start(tmp_path / "server", f"http://127.0.0.1:{faulty.port}/{{z}}/{{x}}/{{y}}.png")
        try:
            with device(server) as http:
                status = ready(http, OREBRO)
                assert status["done"] == status["tiles"] == len(wanted)
                data = http.get(f"/v1/tiles/packages/{status['id']}/file").content
        finally:
            server.stop()
            faulty.close()
        db = mbtiles(data, tmp_path / "package.mbtiles")
        assert set(package_rows(db)) == tms(set(wanted) - missing - broken)
        meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
        assert meta["missing_tiles"] == str(len(missing) + len(broken))
        # A 404 is an answer (asked once); a 500 is worth another try before giving up.
        assert all(faulty.asked.count(t) == 1 for t in missing)
        assert all(faulty.asked.count(t) == tp.ATTEMPTS for t in broken)
        log = server.log.read_text()
        assert sum("left out: HTTP 404" in line for line in log.splitlines()) == len(missing)
        assert sum("left out: HTTP 500" in line for line in log.splitlines()) == len(broken)


# ---- download -------------------------------------------------------------------------------


def test_a_cut_download_resumes_with_range(phone: httpx.Client) -> None:
    pid = ready(phone, OREBRO)["id"]
    whole = phone.get(f"/v1/tiles/packages/{pid}/file")
    got = bytearray()
    with phone.stream("GET", f"/v1/tiles/packages/{pid}/file") as cut:
        etag = cut.headers["etag"]
        for chunk in cut.iter_bytes(4096):
            got += chunk
            if len(got) >= 10_000:
                break  # the connection is dropped here, as in a tunnel
    rest = phone.get(
        f"/v1/tiles/packages/{pid}/file", headers={"Range": f"bytes={len(got)}-", "If-Range": etag}
    )
    assert rest.status_code == 206
    assert rest.headers["content-range"] == f"bytes {len(got)}-{len(whole.content) - 1}/" \
                                            f"{len(whole.content)}"  # fmt: skip
    assert bytes(got) + rest.content == whole.content
    beyond = phone.get(f"/v1/tiles/packages/{pid}/file", headers={"Range": "bytes=999999999-"})
    assert beyond.status_code == 416 and "from the start" in beyond.json()["detail"]
    garbled = phone.get(f"/v1/tiles/packages/{pid}/file", headers={"Range": "bytes=abc"})
    assert garbled.status_code == 200 and garbled.content == whole.content


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
