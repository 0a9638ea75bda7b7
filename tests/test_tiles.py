"""Map packages on the phone (walkaudit.tiles): real MBTiles files, real HTTP on loopback.

Packages are built here from tests/tile_source.py's tiles (each zoom its own colour), served by
the LocalTileServer over a real socket, and downloaded from a real `walkaudit-server` process
that prepared them from a TileSource, through a proxy that cuts the connection mid-file.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import resource
import shutil
import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.support import ServerProcess, free_port, run
from tests.tile_source import ZOOM_COLOURS, TileSource, tile_png
from walkaudit import tiles
from walkaudit.store import Store
from walkaudit.tiles import download

OREBRO = (59.2743, 15.2066)


def make_package(
    path: Path,
    box: tiles.Box,
    zooms: range = range(12, 19),
    source: Callable[[int, int, int], bytes] = tile_png,
    **meta: str,
) -> int:
    """An MBTiles 1.3 file of `box` with TileSource's tiles (rows in TMS); its tile count."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER,"
        " tile_data BLOB);"
        "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row);"
    )
    values = {
        "name": path.stem,
        "format": "png",
        "bounds": f"{box.west},{box.south},{box.east},{box.north}",
        "minzoom": str(zooms.start),
        "maxzoom": str(zooms.stop - 1),
        "attribution": "test tiles",
        **meta,
    }
    conn.executemany("INSERT INTO metadata VALUES (?, ?)", values.items())
    count = 0
    for z in zooms:
        x0, y0 = tiles.tile_xy(box.north, box.west, z)
        x1, y1 = tiles.tile_xy(box.south, box.east, z)
        for x in range(x0, x1 + 1):
            for y in range(y0, y1 + 1):
                conn.execute(
                    "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, source(z, x, y))
                )
                count += 1
    conn.commit()
    conn.close()
    return count


def colour_of(png: bytes) -> tuple[int, int, int]:
    """The colour in the middle of a tile image."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    r, g, b = img.getpixel((128, 128))  # type: ignore[misc]
    return (r, g, b)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One package around Örebro (zoom 12–18), built once for the module."""
    path = tmp_path_factory.mktemp("built") / "orebro.mbtiles"
    make_package(path, tiles.area_around(*OREBRO))
    return path


@pytest.fixture
def data_dir(tmp_path: Path, built: Path) -> Path:
    """An app data directory holding a copy of that package."""
    (tmp_path / "maps").mkdir()
    shutil.copy(built, tmp_path / "maps" / "orebro.mbtiles")
    return tmp_path


# ---- geometry ------------------------------------------------------------------------------


def test_the_area_around_a_point_is_about_one_and_a_half_km_across() -> None:
    box = tiles.area_around(*OREBRO)
    height_m = (box.north - box.south) * tiles.METRES_PER_DEGREE
    width_m = (box.east - box.west) * tiles.METRES_PER_DEGREE * 0.511  # cos(59.27°)
    assert 1490 < height_m < 1510 and 1490 < width_m < 1510
    assert box.contains(*OREBRO)
    assert not box.contains(OREBRO[0] + 0.01, OREBRO[1])  # 1.1 km north: outside


def test_tile_numbers_follow_the_slippy_map_scheme() -> None:
    # The OpenStreetMap wiki's form of the formula (y counted from the north).
    for lat, lon in (OREBRO, (59.3293, 18.0686), (-33.86, 151.21)):
        for z in (12, 16, 18):
            n = 2**z
            y = (1 - math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) / math.pi) / 2 * n
            assert tiles.tile_xy(lat, lon, z) == (int((lon + 180) / 360 * n), int(y))
            assert tiles.tile_box(z, *tiles.tile_xy(lat, lon, z)).contains(lat, lon)


# ---- packages ------------------------------------------------------------------------------


def test_installed_packages_are_listed_with_bounds_and_size(data_dir: Path) -> None:
    found = tiles.TilePackages(data_dir).packages
    assert [p.id for p in found] == ["orebro"]
    p = found[0]
    assert (p.min_zoom, p.max_zoom, p.format) == (12, 18, "png")
    assert p.bounds == tiles.area_around(*OREBRO)
    assert p.size_bytes == (data_dir / "maps" / "orebro.mbtiles").stat().st_size


def test_covers_the_walk_area_and_nothing_else(data_dir: Path) -> None:
    packages = tiles.TilePackages(data_dir)
    assert packages.covers(*OREBRO)
    assert packages.covers(*OREBRO, margin_m=300)
    assert not packages.covers(*OREBRO, margin_m=800)  # the package reaches 750 m
    assert not packages.covers(59.3293, 18.0686)  # Stockholm


def test_a_tile_comes_out_as_the_source_drew_it(data_dir: Path) -> None:
    packages = tiles.TilePackages(data_dir)
    for z in (12, 16, 18):
        x, y = tiles.tile_xy(*OREBRO, z)
        png = packages.tile(z, x, y)
        assert png == tile_png(z, x, y)  # the row flip is right: the very same tile
        assert colour_of(png) == ZOOM_COLOURS[z]
    x, y = tiles.tile_xy(*OREBRO, 16)
    assert packages.tile(16, x + 50, y) is None  # outside the area
    assert packages.tile(11, *tiles.tile_xy(*OREBRO, 11)) is None  # outside the zoom range


def test_an_unreadable_file_in_the_folder_is_not_a_package(data_dir: Path) -> None:
    (data_dir / "maps" / "broken.mbtiles").write_bytes(b"not sqlite at all" * 100)
    partial = data_dir / "maps" / tiles.PARTIAL_DIR
    partial.mkdir()
    make_package(partial / "half.mbtiles", tiles.area_around(59.33, 18.07), zooms=range(12, 13))
    assert [p.id for p in tiles.TilePackages(data_dir).packages] == ["orebro"]


def test_a_package_can_be_deleted(data_dir: Path) -> None:
    packages = tiles.TilePackages(data_dir)
    x, y = tiles.tile_xy(*OREBRO, 16)
    assert packages.tile(16, x, y) is not None  # its connection is open now
    packages.delete("orebro")
    assert packages.packages == []
    assert not (data_dir / "maps" / "orebro.mbtiles").exists()
    assert packages.tile(16, x, y) is None


def test_a_file_without_metadata_is_refused_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "bare.mbtiles"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
    conn.execute("INSERT INTO metadata VALUES ('name', 'bare')")
    conn.commit()
    conn.close()
    with pytest.raises(tiles.CorruptPackageError, match="lacks map metadata: format, bounds"):
        tiles.read_package(path)


def test_a_package_the_map_cannot_show_is_not_listed(data_dir: Path) -> None:
    """Someone copies other MBTiles into maps/: vector tiles, or a file claiming zoom 0–99."""
    box = tiles.area_around(*OREBRO)
    make_package(data_dir / "maps" / "vector.mbtiles", box, range(16, 17), format="pbf")
    make_package(data_dir / "maps" / "deep.mbtiles", box, range(16, 17), minzoom="0",
                 maxzoom="99")  # fmt: skip
    packages = tiles.TilePackages(data_dir)
    assert [p.id for p in packages.packages] == ["orebro"]
    assert max(p.max_zoom for p in packages.packages) == 18  # what the map's layer is told
    with pytest.raises(tiles.UnsupportedPackageError, match="holds pbf tiles; only png and jpg"):
        tiles.read_package(data_dir / "maps" / "vector.mbtiles")
    with pytest.raises(tiles.UnsupportedPackageError, match="claims zoom levels 0–99"):
        tiles.read_package(data_dir / "maps" / "deep.mbtiles")


def test_a_package_replaced_under_the_same_name_is_read_anew(tmp_path: Path) -> None:
    """A refreshed download of the same area is moved over the old file (same id, same path):
    the tiles served are the new file's, not those of the connection opened before."""
    box = tiles.area_around(*OREBRO)
    maps = tmp_path / "maps"
    make_package(maps / "p.mbtiles", box, range(16, 17), source=lambda z, x, y: b"\x89PNG old")
    packages = tiles.TilePackages(tmp_path)
    x, y = tiles.tile_xy(*OREBRO, 16)
    assert packages.tile(16, x, y) == b"\x89PNG old"  # its connection is open now
    make_package(
        tmp_path / "new.mbtiles", box, range(16, 17), source=lambda z, x, y: b"\x89PNG new"
    )
    os.replace(tmp_path / "new.mbtiles", maps / "p.mbtiles")  # what a download does
    packages.reload()
    assert packages.tile(16, x, y) == b"\x89PNG new"


# ---- the local tile server -----------------------------------------------------------------


def test_the_local_server_serves_package_tiles_over_http(data_dir: Path) -> None:
    server = tiles.LocalTileServer(tiles.TilePackages(data_dir))
    try:
        assert server.template.startswith("http://127.0.0.1:")
        x, y = tiles.tile_xy(*OREBRO, 16)
        url = server.template.format(z=16, x=x, y=y)
        r = httpx.get(url)
        assert r.status_code == 200
        assert r.headers["content-type"] == "image/png"
        assert r.headers["access-control-allow-origin"] == "*"  # the web client's browser
        assert colour_of(r.content) == ZOOM_COLOURS[16]
        gone = httpx.get(server.template.format(z=16, x=x + 50, y=y))
        assert gone.status_code == 404  # the map falls back to the online template
        assert gone.headers["access-control-allow-origin"] == "*"
        assert httpx.get(server.template.replace("/tiles/", "/other/")).status_code == 404
        assert (server.served, server.missing) == (1, 2)
        # Never kept by the map's own cache: the port is new at each start, and flutter_map's
        # disk cache (keyed by URL) would store the package's tiles a second time each time.
        assert r.headers["cache-control"] == "no-store"
    finally:
        server.close()


def test_the_local_server_is_reachable_from_this_phone_only(data_dir: Path) -> None:
    server = tiles.LocalTileServer(tiles.TilePackages(data_dir))
    try:
        assert server.server.server_address[0] == "127.0.0.1"
        assert server.accepts()
        # Another address of this machine (on Linux all of 127/8 is this machine, so a server
        # bound to every interface answers there): nobody else gets in.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.2", server.port), timeout=2).close()
    finally:
        server.close()


def test_a_server_whose_socket_was_taken_says_so_and_closes(data_dir: Path) -> None:
    """iOS may close the listening socket of a suspended app: `accepts` tells, `close` ends."""
    server = tiles.LocalTileServer(tiles.TilePackages(data_dir))
    server.server.socket.shutdown(socket.SHUT_RDWR)
    assert not server.accepts()
    server.close()
    assert not server._thread.is_alive()


def test_the_local_server_answers_many_requests_at_once(data_dir: Path) -> None:
    """A map asks for a screenful of tiles in parallel: every one must arrive whole."""
    server = tiles.LocalTileServer(tiles.TilePackages(data_dir))
    x, y = tiles.tile_xy(*OREBRO, 17)
    wanted = [(17, x + dx, y + dy) for dx in range(-3, 4) for dy in range(-3, 4)]
    got: dict[tuple[int, int, int], bytes] = {}
    client = httpx.Client(limits=httpx.Limits(max_connections=8))  # a browser's six or so

    def fetch(key: tuple[int, int, int]) -> None:
        got[key] = client.get(server.template.format(z=key[0], x=key[1], y=key[2])).content

    try:
        threads = [threading.Thread(target=fetch, args=(k,)) for k in wanted]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert {k: v for k, v in got.items()} == {k: tile_png(*k) for k in wanted}
        assert server.served == len(wanted) and server.missing == 0
    finally:
        client.close()
        server.close()


# ---- downloading from a real server --------------------------------------------------------


class Relay:
    """A TCP relay to the server that can cut the download or damage the file on its way.

    `cut_every`: the connection is aborted (a reset, as when the signal drops) each time that
    many bytes have come down from the server, `cuts` times. `damage`: the SQLite header of
    the file is overwritten on its way down. `asked` keeps every request line and Range header.
    """

    MAGIC = b"SQLite format 3\x00"

    def __init__(self, upstream: int, cut_every: int = 0, cuts: int = 0, damage: bool = False):
        import socket

        self.upstream, self.cut_every, self.cuts, self.damage = upstream, cut_every, cuts, damage
        self.down = 0  # bytes that came down
        self.asked: list[str] = []
        self._budget = cut_every
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._sock.close()

    def _accept(self) -> None:
        import socket

        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self._up, args=(client, server), daemon=True).start()
            threading.Thread(target=self._down, args=(server, client), daemon=True).start()

    def _up(self, client: object, server: object) -> None:
        import socket

        assert isinstance(client, socket.socket) and isinstance(server, socket.socket)
        try:
            while data := client.recv(65536):
                with self._lock:
                    for line in data.decode("latin-1").split("\r\n"):
                        if line.startswith(("GET ", "POST ", "Range:", "range:")):
                            self.asked.append(line)
                server.sendall(data)
        except OSError:
            pass
        finally:
            _abort(server)

    def _down(self, server: object, client: object) -> None:
        import socket

        assert isinstance(client, socket.socket) and isinstance(server, socket.socket)
        carry = b""  # the header may arrive split across two reads
        server.settimeout(0.05)
        try:
            while True:
                try:
                    data = server.recv(65536)
                except TimeoutError:
                    data = None
                if data == b"":
                    break
                buf = carry + (data or b"")
                if self.damage:
                    buf = buf.replace(self.MAGIC, b"Not a database!\x00")
                    keep = len(self.MAGIC) - 1 if data else 0  # idle: send everything
                    buf, carry = buf[: len(buf) - keep], buf[len(buf) - keep :]
                if not buf:
                    continue
                buf, cut = self._account(buf)
                client.sendall(buf)
                if cut:
                    _abort(client)
                    _abort(server)
                    return
        except OSError:
            pass
        finally:
            _abort(client)

    def _account(self, data: bytes) -> tuple[bytes, bool]:
        with self._lock:
            if not self.cuts or len(data) < self._budget:
                self._budget -= len(data)
                self.down += len(data)
                return data, False
            head = data[: self._budget]
            self.down += len(head)
            self.cuts -= 1
            self._budget = self.cut_every
            return head, True


def _abort(s: object) -> None:
    import contextlib
    import socket
    import struct

    assert isinstance(s, socket.socket)
    with contextlib.suppress(OSError):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        s.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        s.close()


@pytest.fixture
def source() -> Iterator[TileSource]:
    """The server's tile source: tiles of about 4 KB, so a package is a few MB."""
    with TileSource(extra_bytes=4000) as s:
        yield s


def start_server(tmp_path: Path, template: str, **env: str) -> ServerProcess:
    env = {"WALKAUDIT_TILE_URL": template, "WALKAUDIT_REPORT_INTERVAL_S": "0", **env}
    return ServerProcess(tmp_path / "server", env=env).start()


def phone_of(tmp_path: Path, server: ServerProcess) -> tuple[str, str]:
    """Enrol a phone with the real server; its (server_url, token)."""
    data = tmp_path / "phone"
    r = run("walkaudit", "--data", data, "enrol", server.url, server.enrol_code())
    assert r.code == 0, r.err
    store = Store.open(data)
    try:
        return str(store.get_meta("server_url")), str(store.get_meta("token"))
    finally:
        store.close()


def installed(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.mbtiles"))


def test_a_walk_area_is_prepared_by_the_server_and_installed(
    tmp_path: Path, source: TileSource
) -> None:
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        seen: list[tiles.Progress] = []
        with tiles.device_client(url, token) as http:
            package = tiles.download_package(
                http, tiles.area_around(*OREBRO), folder, on_progress=seen.append
            )
        phases = [p.phase for p in seen]
        assert phases[0] == "asking" and phases[-1] == "done"
        # The estimate is known (and shown) before a byte of the file comes down.
        first_download = phases.index("downloading")
        assert seen[first_download - 1].phase == "preparing"
        assert seen[first_download - 1].estimated_bytes > 1_000_000
        assert seen[first_download - 1].tiles == 566  # zoom 12–18 over 1.5 km × 1.5 km
        assert seen[-1].bytes_done == seen[-1].bytes_total == package.size_bytes
        assert installed(folder) == [package.path.name]
        assert list((folder / tiles.PARTIAL_DIR).iterdir()) == []
        # The phone now has the source's tiles for the area: the same bytes, every zoom.
        packages = tiles.TilePackages(tmp_path / "phone")
        assert packages.covers(*OREBRO, margin_m=500)
        for z in range(12, 19):
            x, y = tiles.tile_xy(*OREBRO, z)
            assert packages.tile(z, x, y) == source.tile(z, x, y, extra_bytes=4000)
        # The source was asked by the server only, once per tile.
        asked = len(source.requests)
        assert asked == len(set(source.requests)) == 566
        # Asked again (another phone, or this one after a reinstall): the server's cache serves
        # it, the source hears nothing, and an installed package is not downloaded twice.
        seen.clear()
        with tiles.device_client(url, token) as http:
            again = tiles.download_package(
                http, tiles.area_around(*OREBRO), folder, on_progress=seen.append
            )
        assert again.path == package.path and "downloading" not in [p.phase for p in seen]
        assert len(source.requests) == asked
    finally:
        server.stop()


def test_a_download_cut_twice_resumes_where_it_stopped(tmp_path: Path, source: TileSource) -> None:
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with tiles.device_client(url, token) as http:  # prepared (and its size known) first
            whole = tiles.download_package(http, tiles.area_around(*OREBRO), tmp_path / "first")
        size = whole.size_bytes
        relay = Relay(server.port, cut_every=size // 3, cuts=2)
        seen: list[tiles.Progress] = []
        with tiles.device_client(relay.url, token) as http:
            package = tiles.download_package(
                http, tiles.area_around(*OREBRO), folder, on_progress=seen.append
            )
        relay.close()
        assert relay.cuts == 0  # both cuts happened
        ranges = [line for line in relay.asked if line.lower().startswith("range:")]
        # Resumed twice, each time from further on than the last: what arrived before a cut
        # is kept (a reset may throw away what sat unread in the phone's socket buffer, so the
        # offsets are not exactly the relay's cut points).
        starts = [int(line.split("=")[1].split("-")[0]) for line in ranges]
        assert len(starts) == 2 and 0 < starts[0] < starts[1] < size, ranges
        assert relay.down < size * 2  # never downloaded again from the start
        assert package.path.read_bytes() == whole.path.read_bytes()
        done = [p.bytes_done for p in seen if p.phase == "downloading"]
        assert done == sorted(done)  # the bar never went backwards
    finally:
        server.stop()


def test_a_resume_after_the_server_made_the_package_anew_takes_the_new_file_whole(
    tmp_path: Path, source: TileSource
) -> None:
    # A download cut in an earlier session; meanwhile the server prepared the package again (a
    # stale one is refreshed). Resuming must not splice the old file's start onto the new one.
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with tiles.device_client(url, token) as http:
            whole = tiles.download_package(http, tiles.area_around(*OREBRO), tmp_path / "first")
            old = http.get(f"/v1/tiles/packages/{whole.id}/file")
        assert old.status_code == 200 and old.headers["ETag"]
        partial = folder / tiles.PARTIAL_DIR
        partial.mkdir(parents=True)
        part = partial / f"{whole.id}{tiles.SUFFIX}.part"
        part.write_bytes(old.content[: len(old.content) // 3])
        (partial / f"{part.name}.etag").write_text(old.headers["ETag"], encoding="ascii")
        # The server's package changes under the same id (a refreshed preparation).
        [on_server] = (server.data / "tiles" / "packages").glob(f"{whole.id}.mbtiles")
        db = sqlite3.connect(on_server)
        db.execute(
            "INSERT OR REPLACE INTO metadata(name, value) VALUES ('description', ?)", ["x" * 5000]
        )
        db.commit()
        db.close()
        new = on_server.read_bytes()
        assert new != old.content

        with tiles.device_client(url, token) as http:
            package = tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        assert package.path.read_bytes() == new
        assert not part.exists() and list(partial.iterdir()) == []
    finally:
        server.stop()


def test_a_damaged_file_is_not_installed(tmp_path: Path, source: TileSource) -> None:
    server = start_server(tmp_path, source.template)
    relay = Relay(server.port, damage=True)
    try:
        _, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with (
            tiles.device_client(relay.url, token) as http,
            pytest.raises(tiles.CorruptPackageError, match="not a readable map package|opened"),
        ):
            tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        assert installed(folder) == []
        assert list((folder / tiles.PARTIAL_DIR).iterdir()) == []  # not resumed from, either
        assert tiles.TilePackages(tmp_path / "phone").packages == []
    finally:
        relay.close()
        server.stop()


def test_an_area_over_the_cap_is_refused_with_its_size(tmp_path: Path, source: TileSource) -> None:
    server = start_server(tmp_path, source.template, WALKAUDIT_TILE_PACKAGE_MAX_MB="5")
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with (
            tiles.device_client(url, token) as http,
            pytest.raises(tiles.PackageTooLargeError) as refused,
        ):
            tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        assert refused.value.max_mb == 5
        assert refused.value.estimated_mb is not None and refused.value.estimated_mb > 5
        assert installed(folder) == [] and source.requests == []
    finally:
        server.stop()


def test_a_server_without_an_allowed_source_says_so(tmp_path: Path) -> None:
    server = start_server(tmp_path, "https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    try:
        url, token = phone_of(tmp_path, server)
        with (
            tiles.device_client(url, token) as http,
            pytest.raises(tiles.NoTileSourceError, match="forbids downloading"),
        ):
            tiles.download_package(http, tiles.area_around(*OREBRO), tmp_path / "maps")
    finally:
        server.stop()


def test_no_network_is_said_plainly_and_leaves_nothing(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with (
        tiles.device_client(closed, "token") as http,
        pytest.raises(tiles.TileServerUnreachableError, match="no network"),
    ):
        tiles.download_package(
            http, tiles.area_around(*OREBRO), tmp_path / "maps", sleep=lambda s: None
        )
    assert installed(tmp_path / "maps") == []


def _half_download(http: httpx.Client, box: tiles.Box, folder: Path, stop_at: int) -> None:
    """A download killed when `stop_at` bytes are in (DownloadStopped stands in for the kill)."""
    seen: list[tiles.Progress] = []
    with pytest.raises(tiles.DownloadStopped):
        tiles.download_package(
            http,
            box,
            folder,
            on_progress=seen.append,
            should_stop=lambda: any(p.bytes_done > stop_at for p in seen),
        )


def test_a_download_killed_half_way_resumes_after_a_restart_a_few_steps_away(
    tmp_path: Path, source: TileSource
) -> None:
    """The app is killed during the download; at the next start the first fix is 15 m away,
    so the area around it is another box: the half file is taken up again all the same."""
    moved = (OREBRO[0] + 15 / tiles.METRES_PER_DEGREE, OREBRO[1])
    assert tiles.area_around(*moved) != tiles.area_around(*OREBRO)
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with tiles.device_client(url, token) as http:
            _half_download(http, tiles.area_around(*OREBRO), folder, stop_at=1_500_000)
            [part] = (folder / tiles.PARTIAL_DIR).glob("*.part")
            had = part.stat().st_size
            seen: list[tiles.Progress] = []
            package = tiles.download_package(
                http, tiles.area_around(*moved), folder, on_progress=seen.append
            )
        first = next(p.bytes_done for p in seen if p.phase == "downloading")
        assert first > had  # went on from where it was, not from the start
        assert installed(folder) == [f"{part.name.removesuffix('.part')}"]
        assert package.bounds.shrunk(tiles.COVER_MARGIN_M).contains(*moved)
        assert list((folder / tiles.PARTIAL_DIR).iterdir()) == []  # nothing left half
    finally:
        server.stop()


def test_half_downloads_nobody_resumes_are_removed_after_a_day(
    tmp_path: Path, source: TileSource
) -> None:
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        stockholm = tiles.area_around(59.3293, 18.0686)
        with tiles.device_client(url, token) as http:
            _half_download(http, stockholm, folder, stop_at=300_000)
        partial = folder / tiles.PARTIAL_DIR
        old = sorted(p.name for p in partial.iterdir())
        assert len(old) == 3  # the half file, its ETag, its area
        (partial / "feedbeef.mbtiles.part").write_bytes(b"x" * 1000)  # another, from today
        two_days_ago = time.time() - 2 * 24 * 3600
        for name in old:
            os.utime(partial / name, (two_days_ago, two_days_ago))
        with tiles.device_client(url, token) as http:
            tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        assert sorted(p.name for p in partial.iterdir()) == ["feedbeef.mbtiles.part"]
    finally:
        server.stop()


@contextlib.contextmanager
def storage_full_after(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes in a file fail with an OSError, as on a full phone (this
    process only: RLIMIT_FSIZE; the server started before keeps its own limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an error, not the signal's kill
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old)


def test_a_phone_that_fills_up_during_the_download_is_told_so_and_keeps_no_half_file(
    tmp_path: Path, source: TileSource
) -> None:
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        with (
            tiles.device_client(url, token) as http,
            storage_full_after(1_000_000),
            pytest.raises(tiles.NoRoomError, match="storage is full; the map was not kept") as full,
        ):
            tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        assert full.value.needed_bytes is None  # found out on the way, not before
        # The half megabyte would take the room the walk's photos need.
        assert installed(folder) == [] and list((folder / tiles.PARTIAL_DIR).iterdir()) == []
    finally:
        server.stop()


def test_a_map_that_would_eat_the_room_kept_for_photos_is_refused_before_it_comes_down(
    tmp_path: Path, source: TileSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start_server(tmp_path, source.template)
    try:
        url, token = phone_of(tmp_path, server)
        folder = tmp_path / "phone" / "maps"
        free = shutil.disk_usage(tmp_path).free
        monkeypatch.setattr(download, "FREE_RESERVE_BYTES", free)  # all the room there is
        relay = Relay(server.port)
        with (
            tiles.device_client(relay.url, token) as http,
            pytest.raises(
                tiles.NoRoomError, match=r"the map needs \d+\.\d MB and the phone has"
            ) as refused,
        ):
            tiles.download_package(http, tiles.area_around(*OREBRO), folder)
        relay.close()
        assert refused.value.needed_bytes is not None and refused.value.needed_bytes > 1_000_000
        assert refused.value.free_bytes is not None
        assert not [line for line in relay.asked if "/file" in line]  # not a byte of the file
        assert installed(folder) == [] and not list((folder / tiles.PARTIAL_DIR).glob("*.part"))
    finally:
        server.stop()


def test_a_server_busy_with_this_phones_other_packages_is_not_taken_for_no_network(
    tmp_path: Path,
) -> None:
    """The server prepares a few packages per phone at once and answers 429 beyond that: the
    phone waits as it is told, and then says the server is busy (not that there is no network,
    which would put the "no background map" hint over a map that loads fine)."""
    with TileSource(latency_s=0.5) as slow:  # preparing takes minutes: both stay "preparing"
        server = start_server(tmp_path, slow.template)
        try:
            url, token = phone_of(tmp_path, server)
            folder = tmp_path / "phone" / "maps"
            waits: list[float] = []
            with tiles.device_client(url, token) as http:
                for lat in (59.30, 59.32):  # two other areas this phone asked for
                    body = tiles.area_around(lat, 15.2).as_json()
                    assert http.post("/v1/tiles/packages", json=body).status_code == 202
                with pytest.raises(tiles.ServerBusyError, match="as many as it may"):
                    tiles.download_package(
                        http, tiles.area_around(*OREBRO), folder, sleep=waits.append
                    )
            assert len(waits) == tiles.RETRIES - 1
            assert max(waits) == tiles.RETRY_AFTER_MAX_S  # the server's Retry-After, capped
            assert installed(folder) == []
        finally:
            server.stop()
