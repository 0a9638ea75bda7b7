"""Offline map packages (issue 11) when the tile source fails: a source that is down or failing
fails the package with a sentence and a later request continues from the cache, a 429 pauses every
request for its Retry-After, tiles the source lacks (or answers too large) are left out and
counted, a tile the cache cannot hold too, while a full disk fails the package.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from sync_server.field import tile_packages as tp
from tests.server.core.test_faults import TmpfsServer, fill
from tests.server.field.tile_packages_support import (
    OREBRO,
    Answer,
    ScriptedSource,
    Tile,
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
from tests.support import TcpProxy
from tests.tile_source import TileSource

pytestmark = pytest.mark.slow


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
