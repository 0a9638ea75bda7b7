"""Offline map packages: the tiles of a walk's area at zoom 12–18 in one MBTiles file for a phone.

Phones must not bulk-download from a public tile server (OpenStreetMap's tile usage policy forbids
it), so the server prepares each package from its one configured source, `tile_url`, and refuses
(NoAllowedSource) when that is OpenStreetMap's or empty. It asks politely: at most
FETCH_CONCURRENCY requests at once for the whole server, a User-Agent naming walkaudit-server and
its address, a few retries with backoff on 5xx and network errors, and when the source answers 429
every request to it waits as long as its Retry-After says (at most MAX_PAUSE_S). Every tile
fetched is kept in an on-disk cache, so an overlapping area, or a package asked for again after a
failure, costs the source only the tiles not yet held.

Preparation runs in the background, on a fixed pool of threads (MAX_PREPARING packages at once,
FETCH_CONCURRENCY requests): `request()` answers at once with the package's status, and a package
that waits its turn is "preparing" with `done` 0 (the contract has no "queued" state; the log says
it waits). At most MAX_PER_DEVICE packages of one device and MAX_AT_ONCE in all may be preparing
or waiting; beyond that a request is refused (TooManyPackages, with a time to wait).

The same area (rounded to 4 decimals, ~10 m) with the same source is the same package: a second
request while one prepares joins it, a ready one is served as it is, a failed one is prepared
again, and a ready one older than PACKAGE_MAX_AGE_S is prepared again while its last file is still
served; the new file replaces it in one rename (so its ETag changes then), and if preparing again
fails the last file stays ready.

What a package holds: every tile covering the area, except those the source does not have (404 or
another 4xx, an answer that is no PNG or JPEG or too large for a tile, or a tile the cache cannot
store): those are left out and counted (`missing_tiles`). A tile that failed for a reason that
passes (429, 5xx, a network error, after ATTEMPTS tries) is not left out quietly: the package
fails as a whole with a sentence saying the source is overloaded or cannot be reached, and asking
again later fetches only what the cache lacks. So a "ready" package never has holes that a later
try would fill. It also fails when the server's disk is full, when the source gives no tile at
all, or when the file would be larger than the cap (its real size on disk is what counts).

The file is written as `.part` and renamed when complete, so a file under its final name is always
a whole package; tiles go from the cache into SQLite one at a time, so memory stays flat whatever
the package's size.

Disk stays bounded by `sweep()` (at start-up and every SWEEP_EVERY_S, see api.field.tiles):
it removes packages not asked for or downloaded for `tile_package_keep_days`, and cached tiles a
package would no longer use (older than CACHE_MAX_AGE_S, plus a day).

Layout under {data_dir}/tiles/:
    cache/{source}/{z}/{x}/{y}   tiles as the source sent them (PNG or JPEG); {source} is
                                 source_key(tile_url), so a new tile_url never serves old tiles
    packages/{id}.mbtiles        ready packages (MBTiles 1.3, tile_row in TMS order); the file's
                                 access time is when it was last asked for or downloaded

Errors (TilePackageError, a ServerError; sync_server.api.field.tiles maps them to HTTP):
    BadArea          the box is no usable area (not finite, out of range, empty, too large) → 422
    PackageTooLarge  the estimated package exceeds tile_package_max_mb                     → 413
    TooManyPackages  the device (or the server) has as many packages preparing as it may   → 429
    NoAllowedSource  tile_url is empty, no XYZ template, or a source forbidding bulk use   → 503
    UnknownPackage   no package has this id (any more)                                     → 404
    PackageNotReady  the file of a package still preparing, or failed                     → 409
"""

from __future__ import annotations

import contextlib
import email.utils
import functools
import hashlib
import logging
import math
import os
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO, Literal
from urllib.parse import urlsplit

import httpx

from sync_server.config import MiB, Settings
from sync_server.core.blobs import FULL_ERRNOS
from sync_server.core.errors import ServerError

log = logging.getLogger("walkaudit.server")
THREAD_PREFIX = "tiles-"  # the name of every thread that prepares packages


def _not_per_tile(record: logging.LogRecord) -> bool:
    # httpx logs every request at INFO: a package would write thousands of lines. Only the
    # requests of the threads here are dropped; tiles left out are logged below, once each.
    return not threading.current_thread().name.startswith(THREAD_PREFIX)


logging.getLogger("httpx").addFilter(_not_per_tile)

MIN_ZOOM, MAX_ZOOM = 12, 18
MAX_LATITUDE = 85.0  # Web Mercator ends at ±85.05°; beyond it there are no tiles
MAX_AREA_KM2 = 25.0  # a walk covers a neighbourhood, not a town
# What one tile weighs for the estimate: a town's raster tiles are 15–40 KB at z16–18 and far
# less at low zooms, where a package has few tiles anyway.
ESTIMATED_TILE_BYTES = 20_000
FETCH_CONCURRENCY = 4  # requests to the source at once, for the whole server (the fetch threads)
FETCH_WINDOW = 2 * FETCH_CONCURRENCY  # tiles of one package handed to the fetch threads at once
MAX_PREPARING = 2  # packages prepared at once (the preparing threads); more wait their turn
MAX_PER_DEVICE = 2  # packages one device may have preparing or waiting at once
MAX_AT_ONCE = 8  # packages preparing or waiting, for the whole server
BUSY_RETRY_S = 30  # Retry-After when a request is refused for one of the two limits above
ATTEMPTS = 3  # per tile, on a network error, 5xx or 429
BACKOFF_S = 0.5  # before the 2nd attempt; doubles, with jitter
MAX_PAUSE_S = 60  # the longest Retry-After of a 429 that is honoured
DEFAULT_PAUSE_S = 5  # the pause after a 429 without a usable Retry-After
GIVE_UP_AFTER = 4  # tiles in a row that failed (network, 5xx, 429): the source is down
LOGGED_LEFT_OUT = 20  # tiles left out that are logged one by one, per package
MAX_TILE_BYTES = 2 * MiB  # a "tile" larger than this is not one
CACHE_MAX_AGE_S = 30 * 86400  # maps change: older tiles are fetched again
PACKAGE_MAX_AGE_S = 30 * 86400  # and a package older than this is prepared again when asked for
# The sweep spares a day more than the age above: a tile found fresh a moment ago by a package
# being prepared is still there when the package's file is written.
SWEEP_GRACE_S = 86400
SWEEP_EVERY_S = 6 * 3600  # how often the server sweeps (sync_server.api.field.tiles)
ROUND = 4  # decimals of the box that make a package's identity (~10 m)
EARTH_RADIUS_KM = 6371.0088
FORBIDDEN_HOSTS = ("tile.openstreetmap.org",)  # and their subdomains (a.tile…, b.tile…)
ALLOWED_SOURCES = (
    "the deployment's own tile server, the municipality's, or Lantmäteriet's open topographic map"
)
STORAGE_FULL = (
    "the server's disk is full, so the map package cannot be stored; the tiles fetched so far are "
    "kept, and asking for the package again once whoever runs the server has freed space "
    "continues from them"
)

State = Literal["preparing", "ready", "failed"]
Tile = tuple[int, int, int]  # z, x, y (y from the north, as in the source's URLs)


class TilePackageError(ServerError):
    """Base of what map packages refuse."""


class BadArea(TilePackageError):
    """The box cannot be a package's area."""


class PackageTooLarge(TilePackageError):
    """The estimated package is larger than the server's cap."""


class TooManyPackages(TilePackageError):
    """The device, or the whole server, has as many packages preparing as it may."""

    def __init__(self, message: str, retry_after: int = BUSY_RETRY_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NoAllowedSource(TilePackageError):
    """The server has no tile source that allows preparing packages."""


class UnknownPackage(TilePackageError):
    """No package has this id (or its file has been removed)."""


class PackageNotReady(TilePackageError):
    """The package's file does not exist (yet): it is preparing, or it failed."""


# ---- the area and its tiles -----------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    """A WGS84 box in degrees."""

    south: float
    west: float
    north: float
    east: float

    def rounded(self) -> Box:
        """The box as a package knows it: each edge to ROUND decimals."""
        return Box(*(round(v, ROUND) for v in (self.south, self.west, self.north, self.east)))

    @property
    def area_km2(self) -> float:
        """The area on the sphere: R² · Δλ · (sin φn − sin φs)."""
        band = math.sin(math.radians(self.north)) - math.sin(math.radians(self.south))
        return EARTH_RADIUS_KM**2 * math.radians(self.east - self.west) * band

    @property
    def bounds(self) -> list[float]:
        """[west, south, east, north], as MBTiles and the API give them."""
        return [self.west, self.south, self.east, self.north]


@dataclass(frozen=True)
class TileRange:
    """The tiles of one zoom level that cover a box: columns x0..x1, rows y0..y1 (inclusive)."""

    z: int
    x0: int
    x1: int
    y0: int
    y1: int

    @property
    def count(self) -> int:
        return (self.x1 - self.x0 + 1) * (self.y1 - self.y0 + 1)

    def tiles(self) -> Iterator[Tile]:
        for x in range(self.x0, self.x1 + 1):
            for y in range(self.y0, self.y1 + 1):
                yield self.z, x, y


def tile_x(lon: float, z: int) -> int:
    """The slippy-map column of a longitude at zoom z."""
    n = 2**z
    return min(n - 1, max(0, math.floor((lon + 180.0) / 360.0 * n)))


def tile_y(lat: float, z: int) -> int:
    """The slippy-map row (from the north) of a latitude at zoom z."""
    n = 2**z
    phi = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(phi)) / math.pi) / 2.0 * n
    return min(n - 1, max(0, math.floor(y)))


def tms_row(z: int, y: int) -> int:
    """MBTiles counts rows from the south (TMS)."""
    return 2**z - 1 - y


def plan(box: Box, min_zoom: int = MIN_ZOOM, max_zoom: int = MAX_ZOOM) -> list[TileRange]:
    """The tiles covering the box at each zoom, edge tiles included."""
    return [
        TileRange(
            z, tile_x(box.west, z), tile_x(box.east, z), tile_y(box.north, z), tile_y(box.south, z)
        )
        for z in range(min_zoom, max_zoom + 1)
    ]


def tile_count(ranges: list[TileRange]) -> int:
    return sum(r.count for r in ranges)


def estimate_bytes(tiles: int) -> int:
    """What a package of this many tiles will weigh, roughly (see ESTIMATED_TILE_BYTES)."""
    return tiles * ESTIMATED_TILE_BYTES


def check_box(box: Box) -> Box:
    """The box, rounded, if it can be a package's area; BadArea (a sentence) otherwise."""
    named = {"south": box.south, "west": box.west, "north": box.north, "east": box.east}
    for name, value in named.items():
        if not math.isfinite(value):
            raise BadArea(f"{name} must be a finite number of degrees")
    for name in ("south", "north"):
        if abs(named[name]) > MAX_LATITUDE:
            raise BadArea(
                f"{name} must be between -{MAX_LATITUDE:g} and {MAX_LATITUDE:g} degrees"
                f" (got {named[name]:g}); map tiles end there"
            )
    for name in ("west", "east"):
        if abs(named[name]) > 180:
            raise BadArea(f"{name} must be between -180 and 180 degrees (got {named[name]:g})")
    rounded = box.rounded()
    if rounded.south >= rounded.north:
        raise BadArea(
            f"south ({box.south:g}) must be less than north ({box.north:g}), by at least"
            f" 0.0001 degrees"
        )
    if rounded.west >= rounded.east:
        raise BadArea(
            f"west ({box.west:g}) must be less than east ({box.east:g}), by at least 0.0001 "
            "degrees; an area across the 180th meridian is not supported"
        )
    if rounded.area_km2 > MAX_AREA_KM2:
        raise BadArea(
            f"the area is {rounded.area_km2:,.1f} km², more than the {MAX_AREA_KM2:g} km²"
            " a map package may cover; choose the area around the walk"
        )
    return rounded


# ---- the source -----------------------------------------------------------------------------


def check_source(template: str) -> str:
    """The tile template, if packages may be prepared from it; NoAllowedSource otherwise."""
    template = template.strip()
    if not template:
        raise NoAllowedSource(
            "this server has no map tile source (WALKAUDIT_TILE_URL is empty), so it cannot "
            f"prepare map packages; whoever runs it can set one that allows it: {ALLOWED_SOURCES}"
        )
    parts = urlsplit(template.replace("{s}", "a"))
    has_y = "{y}" in template or "{-y}" in template
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or not has_y
        or any(key not in template for key in ("{z}", "{x}"))
    ):
        raise NoAllowedSource(
            "this server's WALKAUDIT_TILE_URL is not a tile template like "
            "https://tiles.example.se/{z}/{x}/{y}.png, so it cannot prepare map packages; "
            f"whoever runs it can set one from {ALLOWED_SOURCES}"
        )
    host = parts.hostname.lower().rstrip(".")
    if any(host == h or host.endswith("." + h) for h in FORBIDDEN_HOSTS):
        raise NoAllowedSource(
            f"this server's map tiles come from {host}, whose usage policy forbids downloading "
            "map packages for offline use; whoever runs the server can set WALKAUDIT_TILE_URL to "
            f"a source that allows it: {ALLOWED_SOURCES}"
        )
    return template


def tile_url(template: str, z: int, x: int, y: int) -> str:
    """The template filled in ({s} spread over a/b/c, {-y} the TMS row, {r} no retina)."""
    return (
        template.replace("{z}", str(z))
        .replace("{x}", str(x))
        .replace("{-y}", str(tms_row(z, y)))
        .replace("{y}", str(y))
        .replace("{s}", "abc"[(x + y) % 3])
        .replace("{r}", "")
    )


def package_id(box: Box, template: str) -> str:
    """The package's id: the rounded box, the zooms and the source, hashed."""
    key = f"{box.south:.{ROUND}f},{box.west:.{ROUND}f},{box.north:.{ROUND}f},{box.east:.{ROUND}f}"
    key += f"|{MIN_ZOOM}-{MAX_ZOOM}|{template}"
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def image_format(data: bytes) -> str | None:
    """ "png" or "jpg" by the file's signature; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg"
    return None


def user_agent(settings: Settings) -> str:
    try:
        version = metadata.version("walkaudit")
    except metadata.PackageNotFoundError:
        version = "dev"
    return f"walkaudit-server/{version} (offline map packages for safety walks; +{settings.url})"


def source_key(template: str) -> str:
    """The cache's folder for a tile source: a hash of its template."""
    return hashlib.sha256(template.encode()).hexdigest()[:16]


def retry_after_s(value: str | None, now: float | None = None) -> float:
    """How long a 429's Retry-After (seconds or an HTTP date) asks to wait, within 1..MAX_PAUSE_S;
    DEFAULT_PAUSE_S when there is none or it cannot be read."""
    value = (value or "").strip()
    seconds: float = DEFAULT_PAUSE_S
    if value.isdigit():
        seconds = int(value)
    elif value:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - (now or time.time())
        except (TypeError, ValueError):
            seconds = DEFAULT_PAUSE_S
    return min(float(MAX_PAUSE_S), max(1.0, seconds))


# ---- packages -------------------------------------------------------------------------------


@dataclass
class Package:
    """A package's status; changed only under TilePackages' lock."""

    id: str
    box: Box
    tiles: int
    estimated_bytes: int
    max_bytes: int
    attribution: str
    state: State = "preparing"
    done: int = 0  # tiles handled so far: kept, left out, or failed
    missing: int = 0  # tiles left out: the source has none (or none the cache can hold)
    failed: int = 0  # tiles that failed for a reason that passes (429, 5xx, network)
    fetched_bytes: int = 0  # the kept tiles' bytes
    bytes: int | None = None
    reason: str | None = None
    device: str | None = None  # who asked for this preparation (for MAX_PER_DEVICE)

    def as_dict(self) -> dict[str, Any]:
        """The API's PackageStatus."""
        return {
            "id": self.id,
            "state": self.state,
            "tiles": self.tiles,
            "done": self.done,
            "estimated_bytes": self.estimated_bytes,
            "bytes": self.bytes,
            "max_bytes": self.max_bytes,
            "min_zoom": MIN_ZOOM,
            "max_zoom": MAX_ZOOM,
            "bounds": self.box.bounds,
            "attribution": self.attribution,
            "reason": self.reason,
        }


Kind = Literal["kept", "missing", "failed", "full", "stopped"]


@dataclass(frozen=True)
class _Outcome:
    """What became of one tile: kept (in the cache), missing (the source has none, or none the
    cache can hold), failed (429/5xx/network, every attempt), full (the disk), stopped."""

    kind: Kind
    size: int = 0
    note: str = ""  # what went wrong, for the log and a reason
    network: bool = False  # failed on the network, not with an HTTP answer


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes | None = None
    too_large: bool = False
    retry_after: str | None = None


@dataclass
class _Job:
    """One preparation of a package: its tiles and how far they are."""

    package: Package
    template: str
    tiles: list[Tile]
    left_out: set[Tile] = field(default_factory=set)
    in_a_row: int = 0  # tiles failed one after the other
    last_failure: _Outcome | None = None
    problem: str | None = None  # why the package gave up, once it did
    pending: int = 0  # tiles handed to the fetch threads and not back yet
    back: threading.Condition = field(default_factory=threading.Condition)


class NoThread(RuntimeError):
    """The system would not start a thread (it is out of threads or memory)."""


class _Pool:
    """A fixed number of daemon threads running the functions handed to them, in order.

    Threads are started on first use (most servers never prepare a package) and never hold the
    process up; one that would not start is tried again on the next `submit`."""

    def __init__(self, size: int, name: str) -> None:
        self.size = size
        self.name = name
        self._queue: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def submit(self, work: Callable[[], None]) -> None:
        """Run `work` on one of the threads; NoThread if there is none and none will start."""
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self.size:
                thread = threading.Thread(
                    target=self._run, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                try:
                    thread.start()
                except RuntimeError as exc:
                    if not self._threads:
                        raise NoThread(str(exc)) from exc
                    log.warning("map packages: %s: runs on %d threads", exc, len(self._threads))
                    break
                self._threads.append(thread)
            self._queue.put(work)

    def close(self, deadline: float) -> bool:
        """Let the threads end once their queue is done; True if all did by `deadline`."""
        with self._lock:
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def _run(self) -> None:
        while (work := self._queue.get()) is not None:
            try:
                work()
            except BaseException:  # the work handles its own errors: this is a bug, not a stop
                log.exception("map packages: a background task failed")


class TilePackages:
    """The server's map packages: prepared in the background, kept under {data_dir}/tiles."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "tiles"
        self.packages_dir = self.root / "packages"
        self.packages_dir.mkdir(parents=True, exist_ok=True)
        for stale in self.packages_dir.glob("*.part"):  # a preparation a stop cut short
            stale.unlink(missing_ok=True)
        self.max_bytes = settings.tile_package_max_mb * MiB
        self._lock = threading.RLock()
        self._packages: dict[str, Package] = {}
        self._gone: set[str] = set()  # ready packages whose file was removed meanwhile
        self._preparers = _Pool(MAX_PREPARING, f"{THREAD_PREFIX}prepare")
        self._fetchers = _Pool(FETCH_CONCURRENCY, f"{THREAD_PREFIX}fetch")
        self._pause_until = 0.0  # monotonic: no request to the source before (a 429 said so)
        self._stop = threading.Event()
        self._http = httpx.Client(
            headers={"User-Agent": user_agent(settings)},
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=FETCH_CONCURRENCY),
            follow_redirects=True,
        )

    # ---- what the API calls -------------------------------------------------------------

    def request(self, box: Box, device: str | None = None) -> dict[str, Any]:
        """The package for this area: started if new (or failed, or gone stale), else as it is.

        BadArea, NoAllowedSource or PackageTooLarge refuse it before anything is fetched;
        TooManyPackages when `device`, or the server, has as many preparing as it may.
        """
        box = check_box(box)
        template = check_source(self.settings.tile_url)
        tiles = tile_count(plan(box))
        estimate = estimate_bytes(tiles)
        if estimate > self.max_bytes:
            raise PackageTooLarge(
                f"the map package for this area would be about {estimate / MiB:,.1f} MB "
                f"({tiles:,} tiles), more than the {self.max_bytes / MiB:,.0f} MB this server "
                "allows; choose a smaller area around the walk"
            )
        pid = package_id(box, template)
        with self._lock:
            current = self._current(pid)
            if current is not None and current.state == "preparing":
                return current.as_dict()
            if current is not None and current.state == "ready" and self._fresh(pid):
                self._touch(pid)
                return current.as_dict()
            if self._stop.is_set():
                raise NoAllowedSource("the server is stopping; ask for the map package again")
            self._check_room(device)
            package = Package(
                pid,
                box,
                tiles,
                estimate,
                self.max_bytes,
                self.settings.tile_attribution,
                device=device,
            )
            self._packages[pid] = package
            self._gone.discard(pid)
            self._start(package, template)
            return package.as_dict()

    def status(self, pid: str) -> dict[str, Any]:
        """The package's status; UnknownPackage if there is none (any more)."""
        with self._lock:
            package = self._current(pid)
            if package is None and pid in self._gone:
                raise UnknownPackage(
                    f"map package {pid} is no longer on this server (its file was removed); ask "
                    "for the area's package again with POST /v1/tiles/packages"
                )
            if package is None:
                raise UnknownPackage(
                    f"there is no map package {pid} on this server; ask for the area's package "
                    "again with POST /v1/tiles/packages"
                )
            return package.as_dict()

    def open_file(self, pid: str) -> tuple[BinaryIO, os.stat_result]:
        """The package's file, open, and its stat: the ready one, or while the package is prepared
        again, the last ready one (replaced by the new one in one rename). UnknownPackage or
        PackageNotReady when there is none. Marks the file as used (for `sweep`)."""
        status = self.status(pid)
        try:
            opened = open(self._path(pid), "rb")  # noqa: SIM115 - the caller closes it
        except FileNotFoundError:
            opened = None
        if opened is not None:
            return opened, _mark_used(opened)
        if status["state"] == "failed":
            raise PackageNotReady(
                f"map package {pid} failed: {status['reason']} Ask for it "
                "again with POST /v1/tiles/packages"
            )
        if status["state"] == "ready":  # removed between the two looks
            return self.open_file(pid)  # says it is gone
        raise PackageNotReady(
            f"map package {pid} is still being prepared ({status['done']:,} of "
            f"{status['tiles']:,} tiles); ask for its status until it is ready"
        )

    def close(self, timeout_s: float = 3.0) -> None:
        """Stop preparing: no new requests to the source, unfinished packages fail, .part files
        go. Waits at most `timeout_s` for the threads (a request in flight may take longer;
        the threads are daemons and never hold the process up)."""
        self._stop.set()
        deadline = time.monotonic() + timeout_s
        preparers_done = self._preparers.close(deadline)
        if self._fetchers.close(deadline) and preparers_done:
            self._http.close()

    # ---- where things are ---------------------------------------------------------------

    def _path(self, pid: str) -> Path:
        return self.packages_dir / f"{pid}.mbtiles"

    def _part(self, pid: str) -> Path:
        # Named per thread: a package prepared again never shares its file with the last try.
        return self.packages_dir / f"{pid}.{threading.get_ident()}.part"

    def _cache_path(self, template: str, z: int, x: int, y: int) -> Path:
        return self.root / "cache" / source_key(template) / str(z) / str(x) / str(y)

    def _fresh(self, pid: str) -> bool:
        try:
            return time.time() - self._path(pid).stat().st_mtime < PACKAGE_MAX_AGE_S
        except FileNotFoundError:
            return False

    def _touch(self, pid: str) -> None:
        with contextlib.suppress(FileNotFoundError), open(self._path(pid), "rb") as used:
            _mark_used(used)

    def _current(self, pid: str) -> Package | None:
        """The package as it stands (from memory, or from its file after a restart); None if
        there is none, or its file is gone (then noted in `_gone`). Under the lock."""
        package = self._packages.get(pid)
        if package is None:
            package = self._from_disk(pid)
            if package is not None:
                self._packages[pid] = package
            return package
        if package.state == "ready" and not self._path(pid).exists():
            log.warning(
                "map package %s: its file was removed; it is prepared again when asked", pid
            )
            del self._packages[pid]
            self._gone.add(pid)
            return None
        return package

    def _from_disk(self, pid: str) -> Package | None:
        """A package prepared before this process started (its status is in its metadata)."""
        path = self._path(pid)
        if not all(c in "0123456789abcdef" for c in pid) or not path.exists():
            return None
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            west, south, east, north = (float(v) for v in meta["bounds"].split(","))
            size = path.stat().st_size
        except (sqlite3.Error, KeyError, ValueError, OSError) as exc:
            log.warning("map package %s: unreadable, prepared again when asked for: %s", pid, exc)
            return None
        box = Box(south, west, north, east)
        tiles = tile_count(plan(box))
        return Package(
            pid,
            box,
            tiles,
            estimate_bytes(tiles),
            self.max_bytes,
            meta.get("attribution", ""),
            state="ready",
            done=tiles,
            missing=int(meta.get("missing_tiles", 0) or 0),
            bytes=size,
        )

    # ---- starting (under the lock) ------------------------------------------------------

    def _check_room(self, device: str | None) -> None:
        """TooManyPackages if `device`, or the server, may not start another package now."""
        busy = [p for p in self._packages.values() if p.state == "preparing"]
        mine = sum(1 for p in busy if device is not None and p.device == device)
        if mine >= MAX_PER_DEVICE:
            raise TooManyPackages(
                f"this device already has {mine} map packages being prepared, as many as it may "
                f"at once; ask for this one again when one of them is ready (in about "
                f"{BUSY_RETRY_S} seconds)"
            )
        if len(busy) >= MAX_AT_ONCE:
            raise TooManyPackages(
                f"the server is preparing {len(busy)} map packages right now, as many as it "
                f"does at once; ask for this one again in about {BUSY_RETRY_S} seconds"
            )

    def _start(self, package: Package, template: str) -> None:
        """Hand the package to the preparing threads; if none will start, it fails at once."""
        ahead = sum(1 for p in self._packages.values() if p.state == "preparing") - 1
        try:
            self._preparers.submit(functools.partial(self._prepare, package, template))
        except NoThread as exc:
            log.error("map package %s: no thread to prepare it: %s", package.id, exc)
            self._fail(
                package,
                "the server could not start preparing the package (it is short of threads "
                "or memory); ask for it again in a few minutes",
            )
            return
        if ahead >= MAX_PREPARING:
            log.info(
                "map package %s queued: %d packages are prepared before it (%d at once)",
                package.id,
                ahead,
                MAX_PREPARING,
            )

    # ---- preparing (in a preparing thread) ----------------------------------------------

    def _prepare(self, package: Package, template: str) -> None:
        part = self._part(package.id)
        try:
            if not self._stop.is_set() and package.state == "preparing":
                tiles = [t for r in plan(package.box) for t in r.tiles()]
                job = _Job(package, template, tiles)
                self._fetch_all(job)
                self._finish(job, part)
            if self._stop.is_set():
                self._fail(package, "the server stopped while preparing the package; ask again")
        except Exception as exc:
            if _storage_full(exc):
                log.error("map package %s: %s", package.id, exc)
                self._fail(package, STORAGE_FULL)
            elif isinstance(exc, NoThread):
                log.error("map package %s: no thread to fetch its tiles: %s", package.id, exc)
                self._fail(
                    package,
                    "the server could not start fetching the package's tiles (it is short of "
                    "threads or memory); ask for it again in a few minutes",
                )
            else:
                log.exception("map package %s failed", package.id)
                self._fail(
                    package,
                    "preparing the package failed unexpectedly; the reason is in the "
                    "server's log, try again later",
                )
        finally:
            part.unlink(missing_ok=True)

    def _fetch_all(self, job: _Job) -> None:
        """Every tile into the cache (or counted out), FETCH_WINDOW at a time on the shared fetch
        threads; returns once every tile handed out is back."""
        with job.back:
            for tile in job.tiles:
                while job.pending >= FETCH_WINDOW:
                    job.back.wait()
                if job.problem is not None or self._stop.is_set():
                    break
                self._fetchers.submit(functools.partial(self._fetch_one, job, tile))
                job.pending += 1
            while job.pending:
                job.back.wait()

    def _fetch_one(self, job: _Job, tile: Tile) -> None:
        """One tile, in a fetch thread: whatever happens, it is counted and handed back."""
        try:
            if job.problem is not None or self._stop.is_set():
                outcome = _Outcome("stopped")
            else:
                try:
                    outcome = self._tile(job.template, *tile)
                except Exception as exc:  # the cache, mostly: it must not end the thread
                    outcome = _broken(exc)
            self._count(job, tile, outcome)
        finally:
            with job.back:
                job.pending -= 1
                job.back.notify_all()

    def _count(self, job: _Job, tile: Tile, outcome: _Outcome) -> None:
        """Book one tile's outcome; the package gives up (fails at once) when it must."""
        if outcome.kind == "stopped":
            return
        package = job.package
        give_up: str | None = None
        with self._lock:
            package.done += 1
            package.missing += outcome.kind == "missing"
            package.failed += outcome.kind == "failed"
            package.fetched_bytes += outcome.size
            if outcome.kind == "kept":
                job.in_a_row = 0
                if package.fetched_bytes > package.max_bytes:
                    give_up = self._too_large(package, package.fetched_bytes)
            else:
                job.left_out.add(tile)
                if len(job.left_out) <= LOGGED_LEFT_OUT:  # the total is in the "ready" line
                    verb = "left out" if outcome.kind == "missing" else "not fetched"
                    log.info("map package %s: tile %d/%d/%d %s: %s", package.id, *tile, verb,
                             outcome.note)  # fmt: skip
            if outcome.kind == "missing":
                job.in_a_row = 0  # an answer: the source works
            elif outcome.kind == "failed":
                job.in_a_row += 1
                job.last_failure = outcome
                if job.in_a_row >= GIVE_UP_AFTER:
                    give_up = self._source_trouble(job)
            elif outcome.kind == "full":
                give_up = STORAGE_FULL
            if give_up is not None and job.problem is None:
                job.problem = give_up
                self._fail(package, give_up)

    def _finish(self, job: _Job, part: Path) -> None:
        """After the fetching: the package's file, or the reason it has none."""
        package = job.package
        if job.problem is not None or self._stop.is_set():
            return  # failed already, or the caller says the server stopped
        if package.done != len(job.tiles):
            raise RuntimeError(f"{package.done} of {len(job.tiles)} tiles were handled")
        if package.failed:
            self._fail(package, self._source_trouble(job))
            return
        kept = [t for t in job.tiles if t not in job.left_out]
        if not kept:
            self._fail(
                package,
                "the map tile source gave no tile for this area; whoever runs "
                "the server can check WALKAUDIT_TILE_URL",
            )
            return
        started = time.monotonic()
        if not self._build(package, job.template, kept, part):
            return
        size = part.stat().st_size
        if size > package.max_bytes:
            self._fail(package, self._too_large(package, size, whole=True))
            return
        with open(part, "rb") as written:
            os.fsync(written.fileno())
        os.replace(part, self._path(package.id))
        with self._lock:
            package.state, package.bytes, package.reason = "ready", size, None
        log.info(
            "map package %s ready: %d tiles (%d left out), %.1f MB, written in %.1f s",
            package.id,
            package.tiles - package.missing,
            package.missing,
            size / MiB,
            time.monotonic() - started,
        )

    def _fail(self, package: Package, reason: str) -> None:
        """The preparation failed (the first reason counts). A package prepared again because
        it was stale stays ready with its last file."""
        with self._lock:
            if package.state != "preparing":
                return
            package.state, package.reason = "failed", reason
            last = None
            if self._packages.get(package.id) is package:
                last = self._from_disk(package.id)
                if last is not None:
                    self._packages[package.id] = last
        if last is not None:
            log.warning(
                "map package %s: preparing it again failed, its last file stays ready: %s",
                package.id,
                reason,
            )
        else:
            log.warning("map package %s failed: %s", package.id, reason)

    def _source_trouble(self, job: _Job) -> str:
        package = job.package
        last = job.last_failure or _Outcome("failed", note="no answer")
        kept = package.done - package.missing - package.failed
        if last.network:
            return (
                f"the map tile source cannot be reached ({last.note}); the {kept:,} tiles "
                "fetched so far are kept, and asking for the package again continues from them"
            )
        return (
            f"the map tile source is overloaded or failing ({last.note}; {package.failed:,} "
            f"tiles could not be fetched); the {kept:,} tiles fetched so far are kept, and asking "
            "for the package again in a few minutes continues from them"
        )

    @staticmethod
    def _too_large(package: Package, size: int, whole: bool = False) -> str:
        """The reason for a package over the cap: its tiles so far, or its whole file."""
        cap, estimate = package.max_bytes / MiB, package.estimated_bytes / MiB
        if whole:
            return (
                f"the map package for this area came to {size / MiB:,.2f} MB, more than the "
                f"{cap:,.0f} MB this server allows for a package (the estimate was "
                f"{estimate:,.1f} MB); choose a smaller area around the walk"
            )
        return (
            f"the tiles of this area add up to more than the {cap:,.0f} MB this server allows "
            f"for a package ({size / MiB:,.1f} MB before all were fetched; the estimate was "
            f"{estimate:,.1f} MB); choose a smaller area around the walk"
        )

    # ---- one tile (in a fetch thread) ---------------------------------------------------

    def _tile(self, template: str, z: int, x: int, y: int) -> _Outcome:
        """One tile into the cache (unless it is there and fresh), with retries."""
        path = self._cache_path(template, z, x, y)
        try:
            if time.time() - path.stat().st_mtime < CACHE_MAX_AGE_S:
                return _Outcome("kept", path.stat().st_size)
        except OSError:
            pass  # not cached (or the cache cannot be read: writing it says why)
        url = tile_url(template, z, x, y)
        failure = _Outcome("failed", note="no answer")
        for attempt in range(ATTEMPTS):
            # After a 429 the pause is the wait; otherwise back off before trying again.
            if attempt and failure.note != "HTTP 429" and self._stop.wait(_backoff(attempt)):
                return _Outcome("stopped")
            if not self._wait_for_source():
                return _Outcome("stopped")
            try:
                answer = self._get(url)
            except httpx.HTTPError as exc:
                note = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                failure = _Outcome("failed", note=note, network=True)
                continue
            if answer.status == 200 and answer.too_large:
                return _Outcome(
                    "missing",
                    note=f"the answer is larger than {MAX_TILE_BYTES // MiB} MB, too large for "
                    "a map tile",
                )
            if answer.status == 200 and answer.body is not None and image_format(answer.body):
                _write_atomically(path, answer.body)
                return _Outcome("kept", len(answer.body))
            if answer.status == 200:
                return _Outcome("missing", note="the answer is not a PNG or JPEG tile")
            failure = _Outcome("failed", note=f"HTTP {answer.status}")
            if answer.status == 429:
                self._pause(answer.retry_after)
            elif answer.status != 408 and answer.status < 500:
                return _Outcome("missing", note=f"HTTP {answer.status}")  # 404: no such tile
        return failure

    def _get(self, url: str) -> _Answer:
        """The source's answer; the body only for a 200 no larger than MAX_TILE_BYTES."""
        with self._http.stream("GET", url) as answer:
            if answer.status_code != 200:
                return _Answer(answer.status_code, retry_after=answer.headers.get("retry-after"))
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_TILE_BYTES:
                    return _Answer(200, too_large=True)
            return _Answer(200, bytes(body))

    def _pause(self, retry_after: str | None) -> None:
        """A 429: no request to the source, from any package, until its Retry-After is over."""
        seconds = retry_after_s(retry_after)
        with self._lock:
            now = time.monotonic()
            starts = self._pause_until <= now
            self._pause_until = max(self._pause_until, now + seconds)
        if starts:
            log.warning(
                "map packages: the tile source answered 429 (too many requests); no request to it "
                "for %.0f s",
                seconds,
            )

    def _wait_for_source(self) -> bool:
        """Wait out a pause a 429 asked for; False if the server stops meanwhile."""
        while True:
            with self._lock:
                left = self._pause_until - time.monotonic()
            if left <= 0:
                return True
            if self._stop.wait(left):
                return False

    # ---- the file -----------------------------------------------------------------------

    def _build(self, package: Package, template: str, kept: list[Tile], part: Path) -> bool:
        """Write the MBTiles file as `part`; False if the server stopped meanwhile. Tiles that
        vanished from the cache meanwhile are left out and counted."""
        part.unlink(missing_ok=True)  # thread ids are reused: never add to an old file
        box = package.box
        formats: list[str] = []
        db = sqlite3.connect(part)
        try:
            # A tile's last overflow page is half empty on average: 1 KB pages instead of 4 KB
            # make a package of 20 KB tiles 8 % smaller (measured), which the phone downloads.
            db.execute("PRAGMA page_size = 1024")
            # A .part file is thrown away if anything goes wrong: no journal needed.
            db.execute("PRAGMA journal_mode = OFF")
            db.execute("PRAGMA synchronous = OFF")
            db.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
            db.execute(
                "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, "
                "tile_row INTEGER, tile_data BLOB)"
            )
            db.execute(
                "CREATE UNIQUE INDEX tile_index ON tiles (zoom_level, tile_column, tile_row)"
            )
            db.execute("CREATE UNIQUE INDEX name ON metadata (name)")
            db.executemany(
                "INSERT INTO tiles VALUES (?, ?, ?, ?)",
                self._rows(package, template, kept, formats),
            )
            meta = {
                "name": f"walkaudit {','.join(f'{v:g}' for v in box.bounds)}",
                "format": formats[0] if formats else "png",
                "bounds": ",".join(f"{v:.{ROUND}f}" for v in box.bounds),
                "center": f"{(box.west + box.east) / 2:.{ROUND}f},"
                f"{(box.south + box.north) / 2:.{ROUND}f},16",
                "minzoom": str(MIN_ZOOM),
                "maxzoom": str(MAX_ZOOM),
                "attribution": package.attribution,
                "type": "baselayer",
                "version": "1",
                "description": "Offline map of a safety walk's area",
                "missing_tiles": str(package.missing),  # after the rows: vanished ones count
            }
            db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
            db.commit()
        finally:
            db.close()
        return not self._stop.is_set()

    def _rows(
        self, package: Package, template: str, kept: list[Tile], formats: list[str]
    ) -> Iterator[tuple[Any, ...]]:
        """The tiles table's rows, read from the cache one at a time (memory stays flat); the
        first tile's format goes into `formats`."""
        for z, x, y in kept:
            if self._stop.is_set():
                return
            try:
                data = self._cache_path(template, z, x, y).read_bytes()
            except OSError as exc:  # removed from the cache meanwhile (by hand, say)
                if _storage_full(exc):
                    raise
                log.warning(
                    "map package %s: tile %d/%d/%d vanished from the cache, left out: %s",
                    package.id, z, x, y, exc,
                )  # fmt: skip
                with self._lock:
                    package.missing += 1
                continue
            if not formats:
                formats.append(image_format(data) or "png")
            yield z, x, tms_row(z, y), data


def _mark_used(file: BinaryIO) -> os.stat_result:
    """Mark the open package file as used now, for `sweep` (its access time: the modification
    time stays, and so does the ETag); its stat."""
    stat = os.fstat(file.fileno())
    try:
        os.utime(file.fileno(), ns=(time.time_ns(), stat.st_mtime_ns))
    except OSError as exc:  # a file the server may read but not touch: kept the full time
        log.warning("map package %s: cannot mark it used: %s", file.name, exc)
    return stat


def _backoff(attempt: int) -> float:
    return BACKOFF_S * 2 ** (attempt - 1) * random.uniform(1, 1.5)


def _broken(exc: Exception) -> _Outcome:
    """A tile whose handling raised: the disk is full, or it cannot be kept (left out)."""
    if _storage_full(exc):
        return _Outcome("full", note=str(exc))
    return _Outcome(
        "missing", note=f"it cannot be kept in the tile cache ({type(exc).__name__}: {exc})"
    )


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a half-written tile would hold the space it took
        raise


def _storage_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    return isinstance(exc, sqlite3.Error) and "database or disk is full" in str(exc)


# ---- keeping the disk bounded ---------------------------------------------------------------


@dataclass(frozen=True)
class Swept:
    """What a sweep removed."""

    packages: int = 0
    tiles: int = 0
    bytes: int = 0


def sweep(settings: Settings, now: float | None = None) -> Swept:
    """Remove packages not asked for or downloaded for `tile_package_keep_days` (their access
    time, see TilePackages.open_file), cached tiles older than a package would use, and leftovers
    of preparations cut short. Safe while the server prepares packages."""
    root = settings.data_dir / "tiles"
    if not root.is_dir():
        return Swept()  # this server never prepared a package
    now = time.time() if now is None else now
    keep_s = settings.tile_package_keep_days * 86400
    packages, tiles, freed = 0, 0, 0
    for path in (root / "packages").glob("*.mbtiles"):
        size = _remove_if(path, lambda st: now - max(st.st_atime, st.st_mtime) > keep_s)
        packages, freed = packages + (size is not None), freed + (size or 0)
    leftovers = [*(root / "packages").glob("*.part"), *(root / "cache").rglob(".*.tmp")]
    for path in leftovers:  # a stop cut them short (a preparation takes minutes, not a day)
        freed += _remove_if(path, lambda st: now - st.st_mtime > SWEEP_GRACE_S) or 0
    for folder, _, names in os.walk(root / "cache", topdown=False):
        for name in names:
            size = _remove_if(
                Path(folder) / name,
                lambda st: now - st.st_mtime > CACHE_MAX_AGE_S + SWEEP_GRACE_S,
            )
            tiles, freed = tiles + (size is not None), freed + (size or 0)
        if folder != str(root / "cache"):
            with contextlib.suppress(OSError):
                os.rmdir(folder)  # only if empty
    swept = Swept(packages, tiles, freed)
    if packages or tiles:
        log.info(
            "map packages: removed %d packages unused for %g days and %d cached tiles older "
            "than %d days (%.1f MB)",
            packages,
            settings.tile_package_keep_days,
            tiles,
            (CACHE_MAX_AGE_S + SWEEP_GRACE_S) // 86400,
            freed / MiB,
        )
    return swept


def _remove_if(path: Path, old: Callable[[os.stat_result], bool]) -> int | None:
    """Remove the file if `old(its stat)`: its size, or None if it stays (or went already)."""
    try:
        stat = path.stat()
        if not old(stat):
            return None
        path.unlink()
    except FileNotFoundError:
        return None
    return stat.st_size
