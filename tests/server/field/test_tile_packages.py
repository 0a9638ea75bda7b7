"""Offline map packages (issue 11): the server prepares a walk area's tiles from its own source.

Against `walkaudit-server serve` on loopback with tests/tile_source.py (or a scripted source in
front of its tiles) as WALKAUDIT_TILE_URL: the count and estimate follow the slippy-map formulas
(computed here independently), the file is an MBTiles whose tiles are the source's PNGs with TMS
rows, a second request costs the source nothing, the cap and a forbidden or missing source are
refused, a cut download resumes with Range and If-Range, a stale package is served while prepared
again, and tokens and boxes are checked. A source that fails is test_tile_package_failures.py;
the limits, the sweep and stopping are test_tile_package_limits.py; the pure functions (tile
math, the source rule, Retry-After) are test_tile_area.py; shared helpers tile_packages_support.py.
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from sync_server.field import tile_packages as tp
from tests.server.field.tile_packages_support import (
    OREBRO,
    MiB,
    ScriptedSource,
    device,
    eventually,
    expected_tiles,
    log_lines,
    mbtiles,
    package_rows,
    ready,
    settle,
    start,
    tms,
)
from tests.support import ServerProcess
from tests.tile_source import ZOOM_COLOURS, TileSource

pytestmark = pytest.mark.slow


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
