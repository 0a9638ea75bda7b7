"""Offline map packages (issue 11) within limits: one device and the whole server prepare only so
many packages at once, a thread that cannot start fails the package, the cap counts the file's real
size, old packages and tiles are swept (at start-up and again while the server runs), and stopping
the server while a package prepares is clean.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from sync_server.app import create_app
from sync_server.config import Settings
from sync_server.field import tile_packages as tp
from tests.server.conftest import CHEAP_HASHER, TestClient
from tests.server.field.tile_packages_support import (
    OREBRO,
    MiB,
    ScriptedSource,
    device,
    eventually,
    expected_tiles,
    log_lines,
    ready,
    settle,
    small_area,
    start,
    threads,
)
from tests.tile_source import TileSource

pytestmark = pytest.mark.slow


# ---- limits: packages at once, the cap, the disk --------------------------------------------


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
    settings = Settings(data_dir=tmp_path, tile_package_keep_days=1, report_interval_s=0)
    app = create_app(settings, hasher=CHEAP_HASHER)
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
