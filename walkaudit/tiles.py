"""Map tiles without network: packages of the walk's area on the phone, served to the map locally.

A package is an MBTiles file (SQLite) the server prepared from its configured tile source
(sync_server/field/tile_packages.py; the contract is in the server's PROTOCOL.md) and the phone
downloaded into DATA/maps/. Phones never fetch tiles in bulk from a public tile server: only the
server does, from a source that allows it.

flet_map's TileLayer fetches tiles over HTTP only, so `LocalTileServer` serves the packages on
127.0.0.1 from this process (Flutter's image loading reaches loopback on Android and iOS; in web
mode the browser does, hence the CORS header). Tiles no package holds answer 404, and the map
falls back to the online template.

No flet here, and httpx is imported only where a package is downloaded: this module is loaded
when a map is first shown, never for the first screen.

A download cut short (the app killed, the signal lost) leaves its bytes in maps/.partial with
the area it was asked for beside them; the next download whose area that one still covers takes
it up again (the same area gives the same package id on the server), and half files nobody will
resume are removed after a day.

Errors: TileError
          ├── PackageTooLargeError        the area's package is over the server's cap (413)
          ├── NoTileSourceError           the server has no tile source it may bulk-fetch (503)
          ├── TileServerUnreachableError  no network, or the server does not answer
          ├── PackageRefusedError         the server refused the request and said why (4xx)
          ├── PackageFailedError          the server could not prepare the package
          │     └── ServerBusyError       it answers, but has too much to prepare now (429)
          ├── CorruptPackageError         the file is not a readable MBTiles of that area
          │     └── UnsupportedPackageError  readable, but not raster tiles a map can show
          ├── StorageError                the phone could not write the package
          │     └── NoRoomError           the phone's storage has no room for it
          └── DownloadStopped             the caller asked the download to stop
"""

from __future__ import annotations

import contextlib
import errno
import http.server
import json
import logging
import math
import os
import re
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("walkaudit.tiles")

MAPS_DIR = "maps"  # under the app's data directory
PARTIAL_DIR = ".partial"  # downloads under way: never listed as installed
SUFFIX = ".mbtiles"
AREA_RADIUS_M = 750.0  # a walk's area: 1.5 km across, well inside the server's 25 km² cap
METRES_PER_DEGREE = 111_320.0
TILE_PATH = re.compile(r"^/tiles/(\d{1,2})/(\d{1,7})/(\d{1,7})\.png$")
REQUIRED_METADATA = ("name", "format", "bounds", "minzoom", "maxzoom")
FORMATS = ("png", "jpg", "jpeg")  # raster tiles flutter_map can draw; vector (pbf) it cannot
MAX_ZOOM = 22  # deeper than any raster source: a larger maxzoom is a broken or foreign file
COVER_MARGIN_M = 300.0  # a package covers "here" when it reaches this far around the position
FREE_RESERVE_BYTES = 100 * 1024 * 1024  # left free for the walk's photos: a map never takes it
PARTIAL_MAX_AGE_S = 24 * 3600.0  # a half download of another area, untouched this long, goes
ROOM_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}  # the file system has no room
POLL_S = 0.5  # how often a package being prepared is asked after
PREPARE_STALL_S = 120.0  # no tile fetched for this long: the server has stopped preparing
RETRIES = 5  # tries per request (and per cut of the file download without progress)
RETRY_AFTER_MAX_S = 30.0  # the longest wait a server's Retry-After gets between two tries
PIECE = 64 * 1024
MIB = 1024 * 1024


class TileError(Exception):
    """Base of the tile package errors; the message is a sentence a person can act on."""


class PackageTooLargeError(TileError):
    """The area's package would exceed the server's cap.

    `estimated_mb` and `max_mb` are read from the server's sentence ("about 61.2 MB … the
    50 MB this server allows"), None when it says it otherwise.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        about = re.search(r"about ([\d,.]+) MB", message)
        cap = re.search(r"the ([\d,.]+) MB", message)
        self.estimated_mb = float(about[1].replace(",", "")) if about else None
        self.max_mb = float(cap[1].replace(",", "")) if cap else None


class NoTileSourceError(TileError):
    """The server has no tile source that allows packages."""


class TileServerUnreachableError(TileError):
    """No network, or the server did not answer after retrying."""


class PackageRefusedError(TileError):
    """The server refused the request (a bad area, an unknown device) and said why."""


class PackageFailedError(TileError):
    """The server could not prepare the package (its tile source failed)."""


class ServerBusyError(PackageFailedError):
    """The server answered, but has as many packages to prepare as it may (429, after
    retrying): not a missing network."""


class CorruptPackageError(TileError):
    """The downloaded file is not a readable MBTiles package of the expected kind."""


class UnsupportedPackageError(CorruptPackageError):
    """A readable MBTiles file the map cannot show (vector tiles, an impossible zoom range)."""


class StorageError(TileError):
    """The package could not be written on the phone (the operating system's reason)."""


class NoRoomError(StorageError):
    """The phone's storage has no room for the package.

    `needed_bytes` and `free_bytes` are known when the check before the download refused it;
    None when a write failed on the way (the half file is removed: it takes the room photos need).
    """

    def __init__(
        self, message: str, needed_bytes: int | None = None, free_bytes: int | None = None
    ) -> None:
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.free_bytes = free_bytes


class DownloadStopped(TileError):
    """The caller asked the download to stop; what arrived is kept for a resume."""


# ---- geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """An area in WGS84 degrees."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    @property
    def middle(self) -> tuple[float, float]:
        return ((self.south + self.north) / 2, (self.west + self.east) / 2)

    def shrunk(self, metres: float) -> Box:
        """The box with `metres` taken off each side (empty boxes stay empty)."""
        dlat = metres / METRES_PER_DEGREE
        mid = math.radians((self.south + self.north) / 2)
        dlon = metres / (METRES_PER_DEGREE * max(0.01, math.cos(mid)))
        return Box(self.south + dlat, self.west + dlon, self.north - dlat, self.east - dlon)

    def as_json(self) -> dict[str, float]:
        return {"south": self.south, "west": self.west, "north": self.north, "east": self.east}


def area_around(lat: float, lon: float, radius_m: float = AREA_RADIUS_M) -> Box:
    """The square box reaching `radius_m` from the point in each direction."""
    dlat = radius_m / METRES_PER_DEGREE
    dlon = radius_m / (METRES_PER_DEGREE * max(0.01, math.cos(math.radians(lat))))
    return Box(
        round(max(-85.0, lat - dlat), 5),
        round(max(-180.0, lon - dlon), 5),
        round(min(85.0, lat + dlat), 5),
        round(min(180.0, lon + dlon), 5),
    )


def tile_xy(lat: float, lon: float, z: int) -> tuple[int, int]:
    """The slippy-map tile (x, y) holding the point at zoom z."""
    n = 2**z
    x = int((lon + 180.0) / 360.0 * n)
    rad = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


def tile_box(z: int, x: int, y: int) -> Box:
    """The area of tile z/x/y."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return Box(lat(y + 1), x / n * 360.0 - 180.0, lat(y), (x + 1) / n * 360.0 - 180.0)


# ---- packages on the phone -----------------------------------------------------------------


@dataclass(frozen=True)
class Package:
    """One installed MBTiles file."""

    path: Path
    name: str
    bounds: Box
    min_zoom: int
    max_zoom: int
    format: str
    attribution: str
    size_bytes: int

    @property
    def id(self) -> str:
        return self.path.stem

    def holds(self, z: int, x: int, y: int) -> bool:
        """Whether tile z/x/y can be in this package (its zoom range, overlapping its bounds)."""
        if not self.min_zoom <= z <= self.max_zoom:
            return False
        t, b = tile_box(z, x, y), self.bounds
        return t.west < b.east and t.east > b.west and t.south < b.north and t.north > b.south


def read_package(path: Path, check: bool = False) -> Package:
    """The package's metadata; CorruptPackageError when it is no readable MBTiles file.

    `check` also runs SQLite's quick_check and looks for at least one tile (a download).
    """
    try:
        conn = _open_ro(path)
    except sqlite3.Error as exc:
        raise CorruptPackageError(f"{path.name} cannot be opened as a map package: {exc}") from exc
    try:
        if check:
            verdict = conn.execute("PRAGMA quick_check").fetchone()
            if not verdict or verdict[0] != "ok":
                raise CorruptPackageError(f"{path.name} is damaged ({verdict and verdict[0]})")
        meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
        missing = [k for k in REQUIRED_METADATA if not meta.get(k)]
        if missing:
            raise CorruptPackageError(f"{path.name} lacks map metadata: {', '.join(missing)}")
        w, s, e, n = (float(v) for v in str(meta["bounds"]).split(","))
        fmt = str(meta["format"]).strip().lower()
        if fmt not in FORMATS:
            raise UnsupportedPackageError(
                f"{path.name} holds {fmt} tiles; only png and jpg map packages can be shown"
            )
        min_zoom, max_zoom = int(meta["minzoom"]), int(meta["maxzoom"])
        if not 0 <= min_zoom <= max_zoom <= MAX_ZOOM:
            raise UnsupportedPackageError(
                f"{path.name} claims zoom levels {min_zoom}–{max_zoom}; a map package has "
                f"levels between 0 and {MAX_ZOOM}"
            )
        if check and conn.execute("SELECT 1 FROM tiles LIMIT 1").fetchone() is None:
            raise CorruptPackageError(f"{path.name} holds no map tiles")
        return Package(
            path=path,
            name=str(meta["name"]),
            bounds=Box(s, w, n, e),
            min_zoom=min_zoom,
            max_zoom=max_zoom,
            format=fmt,
            attribution=str(meta.get("attribution") or ""),
            size_bytes=path.stat().st_size,
        )
    except (sqlite3.Error, ValueError) as exc:
        raise CorruptPackageError(f"{path.name} is not a readable map package: {exc}") from exc
    finally:
        conn.close()


def _open_ro(path: Path) -> sqlite3.Connection:
    # Read-only: a package is never written here, and a half-copied file is never "repaired".
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    conn.execute("PRAGMA query_only = 1")
    return conn


def _stamp(path: Path) -> tuple[int, int, int] | None:
    """Which file is at `path` now (a package refreshed in place is another inode)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass
class _Held:
    """An open package: its connection, the lock around it, and which file it opened."""

    conn: sqlite3.Connection
    lock: threading.Lock
    stamp: tuple[int, int, int] | None


class TilePackages:
    """The packages in DATA/maps; `tile()` is safe from any thread (the local server's)."""

    def __init__(self, data_dir: Path) -> None:
        self.folder = Path(data_dir) / MAPS_DIR
        self._lock = threading.Lock()
        self._packages: list[Package] = []
        self._conns: dict[Path, _Held] = {}
        self.reload()

    @property
    def packages(self) -> list[Package]:
        with self._lock:
            return list(self._packages)

    def reload(self) -> list[Package]:
        """Look at the folder again (after a download or a delete); unreadable files are skipped.

        A package whose file was replaced (a refreshed download under the same name) is opened
        again: the connection held so far would go on reading the old file.
        """
        found = []
        if self.folder.is_dir():
            for path in sorted(self.folder.glob(f"*{SUFFIX}")):
                try:
                    found.append(read_package(path))
                except UnsupportedPackageError as exc:
                    log.warning("skipping map package %s: %s", path, exc)
                except CorruptPackageError:
                    log.warning("skipping unreadable map package %s", path, exc_info=True)
        with self._lock:
            self._packages = found
            keep = {p.path for p in found}
            gone = [
                self._conns.pop(p)
                for p in list(self._conns)
                if p not in keep or self._conns[p].stamp != _stamp(p)
            ]
        for held in gone:
            _close(held)
        return list(found)

    def covers(self, lat: float, lon: float, margin_m: float = 0.0) -> bool:
        """Whether a package holds the point (and `margin_m` around it)."""
        return any(p.bounds.shrunk(margin_m).contains(lat, lon) for p in self.packages)

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """Tile z/x/y (XYZ numbering) from the first package that has it."""
        row = 2**z - 1 - y  # MBTiles rows are TMS: counted from the south
        for package in self.packages:
            if not package.holds(z, x, y):
                continue
            held = self._connection(package.path)
            with held.lock:
                found = held.conn.execute(
                    "SELECT tile_data FROM tiles"
                    " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                    (z, x, row),
                ).fetchone()
            if found is not None:
                return bytes(found[0])
        return None

    def delete(self, package_id: str) -> None:
        """Remove an installed package (its connection is closed first)."""
        path = self.folder / f"{package_id}{SUFFIX}"
        with self._lock:
            self._packages = [p for p in self._packages if p.path != path]
            held = self._conns.pop(path, None)
        if held is not None:
            _close(held)
        path.unlink(missing_ok=True)
        self.reload()

    def close(self) -> None:
        with self._lock:
            held, self._conns = list(self._conns.values()), {}
        for h in held:
            _close(h)

    def _connection(self, path: Path) -> _Held:
        with self._lock:
            held = self._conns.get(path)
            if held is None:
                stamp = _stamp(path)  # before opening: a file replaced in between is seen
                held = self._conns[path] = _Held(_open_ro(path), threading.Lock(), stamp)
            return held


def _close(held: _Held) -> None:
    """Close a package's connection once no thread is reading from it."""
    with held.lock:
        held.conn.close()


# ---- the map's tile server on loopback -----------------------------------------------------


class LocalTileServer:
    """GET /tiles/{z}/{x}/{y}.png from the packages on 127.0.0.1, in a daemon thread.

    Only loopback: no other device on the network reaches the walker's maps. Every answer is
    `no-store`: the port is new at each start, and flutter_map's disk cache (keyed by URL) would
    keep a second copy of the package's tiles after every restart.

    `served` and `missing` count the answers (200 and 404), for the tests and the benchmark.
    """

    def __init__(self, packages: TilePackages) -> None:
        self.packages = packages
        self.served = 0
        self.missing = 0
        self._count_lock = threading.Lock()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="walkaudit-tiles", daemon=True
        )
        self._thread.start()

    @property
    def template(self) -> str:
        """The XYZ template the map's TileLayer uses."""
        return f"http://127.0.0.1:{self.port}/tiles/{{z}}/{{x}}/{{y}}.png"

    def accepts(self, timeout_s: float = 1.0) -> bool:
        """Whether the server still takes connections (iOS may close a suspended app's socket)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout_s):
                return True
        except OSError:
            return False

    def close(self) -> None:
        if self._thread.is_alive():  # its loop may have ended already (its socket was taken)
            self.server.shutdown()
        self.server.server_close()

    def _count(self, found: bool) -> None:
        with self._count_lock:
            if found:
                self.served += 1
            else:
                self.missing += 1

    def _handler(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a screenful of tiles on few connections
            # Headers and body go out in two writes; with Nagle on, the second waits for the
            # client's delayed ACK: 40 ms per tile on a kept-alive connection.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                m = TILE_PATH.match(self.path.split("?", 1)[0])
                data = None
                if m:
                    try:
                        data = owner.packages.tile(int(m[1]), int(m[2]), int(m[3]))
                    except sqlite3.Error:  # a package deleted meanwhile: as if absent
                        log.warning("tile %s failed", self.path, exc_info=True)
                owner._count(data is not None)
                self.send_response(200 if data is not None else 404)
                # The web client loads tiles from the browser, on another port: a CORS request.
                self.send_header("Access-Control-Allow-Origin", "*")
                if data is None:
                    self.send_header("Content-Length", "0")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    return
                self.send_header("Content-Type", _content_type(data))
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")  # the phone has it already
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _content_type(data: bytes) -> str:
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"


# ---- downloading a package from the server -------------------------------------------------


@dataclass(frozen=True)
class PackageStatus:
    """The server's PackageStatus (the fields the phone uses)."""

    id: str
    state: str  # preparing | ready | failed
    tiles: int
    done: int
    estimated_bytes: int
    bytes: int | None
    max_bytes: int
    reason: str | None

    @classmethod
    def of(cls, body: dict[str, Any]) -> PackageStatus:
        return cls(
            id=str(body["id"]),
            state=str(body["state"]),
            tiles=int(body.get("tiles") or 0),
            done=int(body.get("done") or 0),
            estimated_bytes=int(body.get("estimated_bytes") or 0),
            bytes=int(body["bytes"]) if body.get("bytes") is not None else None,
            max_bytes=int(body.get("max_bytes") or 0),
            reason=body.get("reason"),
        )


@dataclass(frozen=True)
class Progress:
    """Where a download is: what the phone's progress bar shows."""

    phase: str  # asking | preparing | downloading | checking | done
    estimated_bytes: int = 0
    tiles: int = 0
    tiles_done: int = 0
    bytes_done: int = 0
    bytes_total: int = 0


ProgressCallback = Callable[[Progress], None]


def device_client(server_url: str, token: str) -> httpx.Client:
    """An httpx client for the device API (base URL and bearer token set, bounded timeouts)."""
    import httpx

    return httpx.Client(
        base_url=server_url.rstrip("/"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=httpx.Timeout(15.0, connect=5.0),
    )


def download_package(
    http: httpx.Client,
    box: Box,
    folder: Path,
    *,
    on_progress: ProgressCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Package:
    """Ask the server for the area's package, wait while it prepares, download and install it.

    `folder` is DATA/maps. The file is written under folder/.partial and renamed into place
    only after it proved to be a readable MBTiles file of the size the server announced; a cut
    connection resumes with an HTTP Range request, also in a later call whose area a cut
    download still covers (the walker restarted the app a few steps away): that one's area is
    asked for again, so the server names the same file. Before the file comes down, the
    phone must have room for it and FREE_RESERVE_BYTES more (NoRoomError otherwise).
    """
    job = _Download(http, folder, on_progress, should_stop, sleep)
    return job.run(box)


class _Download:
    def __init__(
        self,
        http: httpx.Client,
        folder: Path,
        on_progress: ProgressCallback | None,
        should_stop: Callable[[], bool] | None,
        sleep: Callable[[float], None],
    ) -> None:
        self.http = http
        self.folder = folder
        self.on_progress = on_progress
        self.should_stop = should_stop
        self.sleep = sleep
        self._sent_size: int | None = None  # the file's size as the server sent it

    def run(self, box: Box) -> Package:
        self._tell(Progress("asking"))
        pending = self._pending(box)
        if pending is not None:
            log.info("resuming the cut download of %s (its area covers this one)", pending[0])
            box = pending[1]
        self._prune(keep=pending[0] if pending else None)
        status = PackageStatus.of(self._json("POST", "/v1/tiles/packages", json=box.as_json()))
        status = self._wait_ready(status)
        installed = self.folder / f"{status.id}{SUFFIX}"
        if installed.exists() and installed.stat().st_size == status.bytes:
            return read_package(installed)  # this area is here already
        part = self.folder / PARTIAL_DIR / f"{status.id}{SUFFIX}.part"
        try:
            self._remember_area(part, box)
            self._fetch(status, part)
            package = self._install(status, part, installed)
        except OSError as exc:
            raise self._storage_failed(exc, part) from exc
        self._tell(Progress("done", status.estimated_bytes, status.tiles, status.tiles,
                            package.size_bytes, package.size_bytes))  # fmt: skip
        return package

    def _install(self, status: PackageStatus, part: Path, installed: Path) -> Package:
        """Check the whole file and move it into place (a damaged one is thrown away)."""
        self._tell(Progress("checking", status.estimated_bytes, status.tiles, status.tiles,
                            part.stat().st_size, part.stat().st_size))  # fmt: skip
        try:
            # The size the server said when it sent the file (the status may be older).
            expected = self._sent_size or status.bytes
            if expected is not None and part.stat().st_size != expected:
                raise CorruptPackageError(
                    f"the map package arrived with {part.stat().st_size} bytes of "
                    f"{expected}; it will be downloaded again"
                )
            read_package(part, check=True)
        except CorruptPackageError:
            part.unlink(missing_ok=True)  # never resumed from: it is wrong, not short
            raise
        finally:
            _drop_sidecars(part)
        os.replace(part, installed)
        return read_package(installed)

    # -- a cut download taken up again, half files nobody resumes --

    def _pending(self, box: Box) -> tuple[str, Box] | None:
        """(id, area) of a cut download whose area still covers this one's middle, if any.

        The same size of area is asked (a smaller one would leave the walker short); of
        several, the one with most bytes here.
        """
        partial = self.folder / PARTIAL_DIR
        found: list[tuple[int, str, Box]] = []
        for area_file in partial.glob(f"*{SUFFIX}.part.area"):
            part = area_file.with_name(area_file.name.removesuffix(".area"))
            try:
                size = part.stat().st_size if part.exists() else 0
                said = json.loads(area_file.read_text(encoding="utf-8"))
                other = Box(*(float(said[k]) for k in ("south", "west", "north", "east")))
            except (OSError, ValueError, TypeError, KeyError):
                continue  # a note from something else: that half file is pruned in time
            big_enough = (other.north - other.south) >= 0.9 * (box.north - box.south) and (
                other.east - other.west
            ) >= 0.9 * (box.east - box.west)
            if size and big_enough and other.shrunk(COVER_MARGIN_M).contains(*box.middle):
                found.append((size, part.name.removesuffix(f"{SUFFIX}.part"), other))
        if not found:
            return None
        _, package_id, other = max(found, key=lambda f: f[0])
        return package_id, other

    def _prune(self, keep: str | None) -> None:
        """Remove half files (and their notes) untouched for PARTIAL_MAX_AGE_S: nobody resumes
        them, and each can be tens of MB of the phone's storage."""
        partial = self.folder / PARTIAL_DIR
        if not partial.is_dir():
            return
        cutoff = time.time() - PARTIAL_MAX_AGE_S
        for path in partial.iterdir():
            if keep is not None and path.name.startswith(f"{keep}{SUFFIX}.part"):
                continue
            with contextlib.suppress(OSError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    log.info("removed a half downloaded map nobody resumed: %s", path.name)

    def _remember_area(self, part: Path, box: Box) -> None:
        """Write down the area beside the half file: a later start nearby asks for it again."""
        part.parent.mkdir(parents=True, exist_ok=True)
        area = part.with_name(part.name + ".area")
        area.write_text(json.dumps(box.as_json()), encoding="utf-8")

    def _storage_failed(self, exc: OSError, part: Path) -> StorageError:
        """The phone could not write the file: the half file goes (it holds the room photos
        need), and the walker is told whether the storage is full."""
        part.unlink(missing_ok=True)
        _drop_sidecars(part)
        if exc.errno in ROOM_ERRNOS:
            return NoRoomError(
                "the phone's storage is full; the map was not kept. Free some space and try again"
            )
        return StorageError(f"the map could not be saved on the phone ({exc.strerror or exc})")

    # -- preparing --

    def _wait_ready(self, status: PackageStatus) -> PackageStatus:
        last_done, last_change = status.done, time.monotonic()
        while True:
            self._tell(Progress("preparing", status.estimated_bytes, status.tiles, status.done))
            if status.state == "ready":
                return status
            if status.state == "failed":
                raise PackageFailedError(
                    status.reason or "the server could not prepare the map package; try later"
                )
            if status.done != last_done:
                last_done, last_change = status.done, time.monotonic()
            elif time.monotonic() - last_change > PREPARE_STALL_S:
                raise TileServerUnreachableError(
                    "the server has stopped preparing the map package; try again later"
                )
            self._pause(POLL_S)
            status = PackageStatus.of(self._json("GET", f"/v1/tiles/packages/{status.id}"))

    # -- the file --

    def _fetch(self, status: PackageStatus, part: Path) -> Path:
        total = status.bytes or 0
        self._check_room(part, total or status.estimated_bytes)
        tries = 0
        while True:
            have = part.stat().st_size if part.exists() else 0
            if total and have == total:
                return part
            if total and have > total:  # a different file than the one announced
                part.unlink()
                have = 0
            self._check_stop()
            try:
                if self._fetch_from(status, part, have, total):
                    return part
            except (_Transient, _transport_errors()) as exc:
                grew = (part.stat().st_size if part.exists() else 0) > have
                tries = 0 if grew else tries + 1  # a cut after progress is not a failure
                if tries >= RETRIES:
                    raise _gave_up(exc) from exc
                self._pause(_wait(exc, tries))

    def _check_room(self, part: Path, total: int) -> None:
        """Refuse before a byte comes down when the file would eat into FREE_RESERVE_BYTES."""
        have = part.stat().st_size if part.exists() else 0
        need = max(0, total - have)
        free = shutil.disk_usage(part.parent).free
        if need and need + FREE_RESERVE_BYTES > free:  # (a complete half file is installed)
            raise NoRoomError(
                f"the map needs {need / MIB:.1f} MB and the phone has {free / MIB:.0f} MB free, "
                f"of which {FREE_RESERVE_BYTES / MIB:.0f} MB stay free for photos",
                needed_bytes=need,
                free_bytes=free,
            )

    def _fetch_from(self, status: PackageStatus, part: Path, have: int, total: int) -> bool:
        """Stream the file from byte `have`; True when it is complete."""
        tag = part.with_name(part.name + ".etag")  # which file the bytes so far came from
        headers = {}
        if have:
            headers["Range"] = f"bytes={have}-"
            if tag.exists():
                # The server may have prepared the package again since (a stale one is
                # refreshed): If-Range makes it send the whole new file instead of splicing.
                headers["If-Range"] = tag.read_text(encoding="ascii").strip()
        url = f"/v1/tiles/packages/{status.id}/file"
        with self.http.stream("GET", url, headers=headers) as r:
            if r.status_code == 416 and have:
                if total and have == total:  # nothing after `have`: the file is complete
                    return True
                part.unlink()  # bytes of some other file: start again
                raise _Transient("the file on the server is not the one being resumed")
            self._raise_for(r)
            if r.status_code == 200:
                have = 0  # the whole file (the first request, or another file than before)
                etag = r.headers.get("ETag", "")
                if etag and not etag.startswith("W/"):
                    tag.write_text(etag, encoding="ascii")
                else:
                    tag.unlink(missing_ok=True)
            elif r.status_code == 206 and not r.headers.get("Content-Range", "").startswith(
                f"bytes {have}-"
            ):
                raise _Transient("the server answered another part of the file than asked")
            # The size of the file being sent now (the status may describe an older one).
            whole = r.headers.get("Content-Range", "").rpartition("/")[2]
            if whole.isdigit():
                total = int(whole)
            elif r.status_code == 200 and r.headers.get("Content-Length", "").isdigit():
                total = int(r.headers["Content-Length"])
            self._sent_size = total or None
            with open(part, "r+b" if have else "wb") as out:
                out.seek(have)
                out.truncate()
                done = have
                for piece in r.iter_bytes(PIECE):
                    self._check_stop()
                    out.write(piece)
                    done += len(piece)
                    self._tell(Progress("downloading", status.estimated_bytes, status.tiles,
                                        status.tiles, done, total))  # fmt: skip
                out.flush()
                os.fsync(out.fileno())
        return not total or done >= total

    # -- HTTP --

    def _json(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        tries = 0
        while True:
            self._check_stop()
            try:
                r = self.http.request(method, path, **kw)
                self._raise_for(r)
                body = r.json()
                if not isinstance(body, dict) or "id" not in body:
                    raise _Transient(f"{method} {path}: the server's answer is not a package")
                return body
            except (_Transient, _transport_errors()) as exc:
                tries += 1
                if tries >= RETRIES:
                    raise _gave_up(exc) from exc
                self._pause(_wait(exc, tries))

    def _raise_for(self, r: httpx.Response) -> None:
        """Turn a refusal into this module's error; 5xx and 429 are worth another try."""
        code = r.status_code
        if code < 400:
            return
        if not r.is_stream_consumed:
            r.read()
        detail = _detail(r)
        if code == 413:
            raise PackageTooLargeError(detail or "the map package for this area is too large")
        if code == 503 and detail:
            raise NoTileSourceError(detail)
        if code == 429 or code >= 500:
            wait = r.headers.get("Retry-After", "")
            raise _Transient(
                detail or f"the server answered HTTP {code}",
                status=code,
                retry_after=float(wait) if wait.isdigit() else None,
            )
        raise PackageRefusedError(detail or f"the server refused the map package (HTTP {code})")

    def _tell(self, progress: Progress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    def _check_stop(self) -> None:
        if self.should_stop is not None and self.should_stop():
            raise DownloadStopped("the map download was stopped; it goes on from here next time")

    def _pause(self, seconds: float) -> None:
        self._check_stop()
        self.sleep(seconds)
        self._check_stop()


class _Transient(Exception):
    """An answer worth another try (5xx, 429, an odd reply); `status` when the server sent one."""

    def __init__(
        self, message: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _wait(exc: Exception, tries: int) -> float:
    """Backoff between two tries; a server's Retry-After (within reason) is honoured."""
    backoff = min(8.0, 0.5 * 2**tries)
    after = getattr(exc, "retry_after", None)
    return max(backoff, min(RETRY_AFTER_MAX_S, after)) if after else backoff


def _gave_up(exc: Exception) -> TileError:
    """The error after the last try: a server that answered is busy or failing, not absent."""
    if isinstance(exc, _Transient) and exc.status == 429:
        return ServerBusyError(str(exc))
    if isinstance(exc, _Transient) and exc.status is not None:
        return PackageFailedError(f"{str(exc).rstrip('.')}; try again later")
    return TileServerUnreachableError(_unreachable(exc))


def _drop_sidecars(part: Path) -> None:
    """The notes beside a half file: which file it came from (ETag), which area it is."""
    for suffix in (".etag", ".area"):
        part.with_name(part.name + suffix).unlink(missing_ok=True)


def _transport_errors() -> type[Exception]:
    import httpx

    return httpx.TransportError


def _detail(r: httpx.Response) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        detail = r.json().get("detail")
        if isinstance(detail, str):
            return detail
    return ""


def _unreachable(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectError):
        return "the server cannot be reached (no network?); try again when you have a connection"
    if isinstance(exc, httpx.TimeoutException):
        return "the server did not answer in time; try again when the connection is better"
    return f"the map package could not be downloaded ({exc}); try again later"
