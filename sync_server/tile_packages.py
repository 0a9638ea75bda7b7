"""Offline map packages: the tiles of a walk's area at zoom 12–18 in one MBTiles file for a phone.

Phones must not bulk-download from a public tile server (OpenStreetMap's tile usage policy forbids
it), so the server prepares each package from its one configured source, `tile_url`, and refuses
(NoAllowedSource) when that is OpenStreetMap's or empty. It asks politely: at most
FETCH_CONCURRENCY requests at once for the whole server, a User-Agent naming walkaudit-server and
its address, a few retries with backoff on 5xx/429/network errors. Every tile fetched is kept in
an on-disk cache, so an overlapping area, or a package asked for again after a failure, costs the
source only the tiles not yet held.

Preparation runs in a background thread: `request()` answers at once with the package's status,
and the same area (rounded to 4 decimals, ~10 m) with the same source is the same package: a
second request while one prepares joins it, a ready one is served as it is, a failed one is
prepared again. A tile the source does not have (404) or keeps failing on is left out and counted
(`missing`); the package fails only when the source cannot be reached, gives no tile at all, or
the tiles add up to more than the cap. The file is written as `.part` and renamed when complete,
so a file under its final name is always a whole package; tiles go from the cache into SQLite one
at a time, so memory stays flat whatever the package's size.

Layout under {data_dir}/tiles/:
    cache/{source}/{z}/{x}/{y}   tiles as the source sent them (PNG or JPEG); {source} is a hash
                                 of the template, so a new tile_url never serves old tiles
    packages/{id}.mbtiles        ready packages (MBTiles 1.3, tile_row in TMS order)

Errors (TilePackageError, a ServerError; sync_server.api.tiles maps them to HTTP):
    BadArea          the box is no usable area (not finite, out of range, empty, too large) → 422
    PackageTooLarge  the estimated package exceeds tile_package_max_mb                     → 413
    NoAllowedSource  tile_url is empty, no XYZ template, or a source forbidding bulk use   → 503
    UnknownPackage   no package has this id                                                → 404
    PackageNotReady  the file of a package still preparing, or failed                     → 409
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from sync_server.blobs import FULL_ERRNOS
from sync_server.config import MiB, Settings
from sync_server.errors import ServerError

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
FETCH_CONCURRENCY = 4  # requests to the source at once, for the whole server
MAX_PREPARING = 2  # packages prepared at once; more wait their turn (state "preparing")
ATTEMPTS = 3  # per tile, on a network error, 5xx or 429
BACKOFF_S = 0.5  # before the 2nd attempt; doubles, with jitter
UNREACHABLE_AFTER = 4  # tiles in a row whose every attempt failed on the network: source down
LOGGED_LEFT_OUT = 20  # tiles left out that are logged one by one, per package
MAX_TILE_BYTES = 2 * MiB  # a "tile" larger than this is not one
CACHE_MAX_AGE_S = 30 * 86400  # maps change: older tiles are fetched again
PACKAGE_MAX_AGE_S = 30 * 86400  # and a package older than this is prepared again when asked for
ROUND = 4  # decimals of the box that make a package's identity (~10 m)
EARTH_RADIUS_KM = 6371.0088
FORBIDDEN_HOSTS = ("tile.openstreetmap.org",)  # and their subdomains (a.tile…, b.tile…)
ALLOWED_SOURCES = (
    "the deployment's own tile server, the municipality's, or Lantmäteriet's open topographic map"
)

State = Literal["preparing", "ready", "failed"]
Tile = tuple[int, int, int]  # z, x, y (y from the north, as in the source's URLs)


class TilePackageError(ServerError):
    """Base of what map packages refuse."""


class BadArea(TilePackageError):
    """The box cannot be a package's area."""


class PackageTooLarge(TilePackageError):
    """The estimated package is larger than the server's cap."""


class NoAllowedSource(TilePackageError):
    """The server has no tile source that allows preparing packages."""


class UnknownPackage(TilePackageError):
    """No package has this id."""


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
    done: int = 0  # tiles handled so far, kept or left out
    missing: int = 0  # tiles left out: the source has none, or kept failing
    fetched_bytes: int = 0  # the kept tiles' bytes
    bytes: int | None = None
    reason: str | None = None

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


@dataclass(frozen=True)
class _Outcome:
    kind: Literal["kept", "missing", "unreachable", "stopped"]
    size: int = 0
    note: str = ""  # what went wrong, for the log and a reason


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
        self._lock = threading.Lock()
        self._packages: dict[str, Package] = {}
        self._threads: set[threading.Thread] = set()
        self._slots = threading.BoundedSemaphore(FETCH_CONCURRENCY)
        self._preparing = threading.BoundedSemaphore(MAX_PREPARING)
        self._stop = threading.Event()
        self._http = httpx.Client(
            headers={"User-Agent": user_agent(settings)},
            timeout=httpx.Timeout(10.0, connect=5.0),
            limits=httpx.Limits(max_connections=FETCH_CONCURRENCY),
            follow_redirects=True,
        )

    # ---- what the API calls -------------------------------------------------------------

    def request(self, box: Box) -> dict[str, Any]:
        """The package for this area: started if new (or failed, or gone stale), else as it is.

        BadArea, NoAllowedSource or PackageTooLarge refuse it before anything is fetched.
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
            current = self._packages.get(pid) or self._from_disk(pid)
            if current is not None and (
                current.state == "preparing" or (current.state == "ready" and self._fresh(pid))
            ):
                self._packages[pid] = current
                return current.as_dict()
            if self._stop.is_set():
                raise NoAllowedSource("the server is stopping; ask for the map package again")
            package = Package(
                pid, box, tiles, estimate, self.max_bytes, self.settings.tile_attribution
            )
            self._packages[pid] = package
            thread = threading.Thread(
                target=self._prepare,
                args=(package, template),
                name=f"{THREAD_PREFIX}{pid[:8]}",
                daemon=True,  # never holds the process up; close() stops it first
            )
            self._threads.add(thread)
            thread.start()
            return package.as_dict()

    def status(self, pid: str) -> dict[str, Any]:
        """The package's status; UnknownPackage if there is none."""
        with self._lock:
            package = self._packages.get(pid) or self._from_disk(pid)
            if package is None:
                raise UnknownPackage(
                    f"there is no map package {pid} on this server; ask for the area's package "
                    "again with POST /v1/tiles/packages"
                )
            self._packages[pid] = package
            return package.as_dict()

    def file(self, pid: str) -> Path:
        """The ready package's file; UnknownPackage or PackageNotReady otherwise."""
        status = self.status(pid)
        path = self._path(pid)
        if status["state"] == "ready" and path.exists():
            return path
        if status["state"] == "failed":
            raise PackageNotReady(
                f"map package {pid} failed: {status['reason']} Ask for it "
                "again with POST /v1/tiles/packages"
            )
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
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if not any(thread.is_alive() for thread in threads):
            self._http.close()

    # ---- where things are ---------------------------------------------------------------

    def _path(self, pid: str) -> Path:
        return self.packages_dir / f"{pid}.mbtiles"

    def _part(self, pid: str) -> Path:
        # Named per thread: a package prepared again never shares its file with the last try.
        return self.packages_dir / f"{pid}.{threading.get_ident()}.part"

    def _fresh(self, pid: str) -> bool:
        try:
            return time.time() - self._path(pid).stat().st_mtime < PACKAGE_MAX_AGE_S
        except FileNotFoundError:
            return False  # removed by hand: prepared again

    def _from_disk(self, pid: str) -> Package | None:
        """A package prepared before this process started (its status is in its metadata)."""
        path = self._path(pid)
        if not all(c in "0123456789abcdef" for c in pid) or not path.exists():
            return None
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            west, south, east, north = (float(v) for v in meta["bounds"].split(","))
        except (sqlite3.Error, KeyError, ValueError) as exc:
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
            bytes=path.stat().st_size,
        )

    def _cache_path(self, template: str, z: int, x: int, y: int) -> Path:
        source = hashlib.sha256(template.encode()).hexdigest()[:16]
        return self.root / "cache" / source / str(z) / str(x) / str(y)

    # ---- preparing (in the package's thread) --------------------------------------------

    def _prepare(self, package: Package, template: str) -> None:
        try:
            with self._preparing:
                if not self._stop.is_set():
                    self._fetch_and_build(package, template)
            if self._stop.is_set() and package.state == "preparing":
                self._fail(package, "the server stopped while preparing the package; ask again")
        except Exception as exc:
            if _storage_full(exc):
                reason = "the server's storage is full; try again later"
            else:
                reason = (
                    "preparing the package failed unexpectedly; the reason is in the "
                    "server's log, try again later"
                )
            log.exception("map package %s failed", package.id)
            self._fail(package, reason)
        finally:
            self._part(package.id).unlink(missing_ok=True)
            with self._lock:
                self._threads.discard(threading.current_thread())

    def _fetch_and_build(self, package: Package, template: str) -> None:
        started = time.monotonic()
        tiles = [t for r in plan(package.box) for t in r.tiles()]
        left_out, problem = self._fetch_all(package, template, tiles)
        if self._stop.is_set():
            return
        if problem:
            self._fail(package, problem)
            return
        kept = [t for t in tiles if t not in left_out]
        if not kept:
            self._fail(
                package,
                "the map tile source gave no tile for this area; whoever runs "
                "the server can check WALKAUDIT_TILE_URL",
            )
            return
        size = self._build(package, template, kept)
        if size is None:
            return
        with self._lock:
            package.state, package.bytes = "ready", size
        log.info(
            "map package %s ready: %d tiles (%d left out), %.1f MB in %.1f s",
            package.id,
            len(kept),
            package.missing,
            size / MiB,
            time.monotonic() - started,
        )

    def _fail(self, package: Package, reason: str) -> None:
        with self._lock:
            package.state, package.reason = "failed", reason
        log.warning("map package %s failed: %s", package.id, reason)

    def _fetch_all(
        self, package: Package, template: str, tiles: list[Tile]
    ) -> tuple[set[Tile], str | None]:
        """Get every tile into the cache, FETCH_CONCURRENCY at a time: the tiles left out, and
        the reason to give up (None if not)."""
        todo = iter(tiles)
        left_out: set[Tile] = set()
        state = {"unreachable_in_a_row": 0, "problem": None}
        lock = threading.Lock()

        def work() -> None:
            while not self._stop.is_set() and state["problem"] is None:
                with lock:
                    tile = next(todo, None)
                if tile is None:
                    return
                outcome = self._tile(template, *tile)
                with lock:
                    self._count(package, tile, outcome, left_out, state)

        workers = [
            threading.Thread(target=work, name=f"{THREAD_PREFIX}{package.id[:8]}-{n}", daemon=True)
            for n in range(FETCH_CONCURRENCY)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        problem = state["problem"]
        return left_out, problem if isinstance(problem, str) else None

    def _count(
        self,
        package: Package,
        tile: Tile,
        outcome: _Outcome,
        left_out: set[Tile],
        state: dict[str, Any],
    ) -> None:
        """Book one tile's outcome; sets state["problem"] when the package must give up."""
        if outcome.kind == "stopped":
            return
        if outcome.kind == "kept":
            state["unreachable_in_a_row"] = 0
        else:
            left_out.add(tile)
            if len(left_out) <= LOGGED_LEFT_OUT:  # the total is in the "ready" line
                log.info("map package %s: tile %d/%d/%d left out: %s", package.id, *tile,
                         outcome.note)  # fmt: skip
        if outcome.kind == "unreachable":
            state["unreachable_in_a_row"] += 1
            if state["unreachable_in_a_row"] >= UNREACHABLE_AFTER:
                kept = package.done - package.missing
                state["problem"] = (
                    f"the map tile source cannot be reached ({outcome.note}); the {kept:,} tiles "
                    "fetched so far are kept, and asking for the package again continues from them"
                )
        with self._lock:
            package.done += 1
            package.missing += outcome.kind != "kept"
            package.fetched_bytes += outcome.size
            over = package.fetched_bytes > package.max_bytes
        if over and state["problem"] is None:
            state["problem"] = (
                f"the tiles of this area add up to more than the {package.max_bytes / MiB:,.0f} MB "
                f"this server allows for a package (the estimate was "
                f"{package.estimated_bytes / MiB:,.1f} MB); choose a smaller area around the walk"
            )

    def _tile(self, template: str, z: int, x: int, y: int) -> _Outcome:
        """One tile into the cache (unless it is there and fresh), with retries."""
        path = self._cache_path(template, z, x, y)
        try:
            if time.time() - path.stat().st_mtime < CACHE_MAX_AGE_S:
                return _Outcome("kept", path.stat().st_size)
        except FileNotFoundError:
            pass
        url = tile_url(template, z, x, y)
        note, network = "", False
        for attempt in range(ATTEMPTS):
            if attempt and self._stop.wait(BACKOFF_S * 2 ** (attempt - 1) * random.uniform(1, 1.5)):
                return _Outcome("stopped")
            if self._stop.is_set():
                return _Outcome("stopped")
            try:
                with self._slots:
                    status, body = self._get(url)
            except httpx.HTTPError as exc:
                note, network = (
                    (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__),
                    True,
                )
                continue
            if status == 200 and body is not None and image_format(body):
                _write_atomically(path, body)
                return _Outcome("kept", len(body))
            if status == 200:
                return _Outcome("missing", note="the answer is not a PNG or JPEG tile")
            note, network = f"HTTP {status}", False
            if status not in (408, 429) and status < 500:
                return _Outcome("missing", note=note)  # 404: the source has no such tile
        return _Outcome("unreachable" if network else "missing", note=note)

    def _get(self, url: str) -> tuple[int, bytes | None]:
        """The status and body (None when larger than MAX_TILE_BYTES)."""
        with self._http.stream("GET", url) as answer:
            if answer.status_code != 200:
                return answer.status_code, None
            body = bytearray()
            for chunk in answer.iter_bytes():
                body += chunk
                if len(body) > MAX_TILE_BYTES:
                    return answer.status_code, None
            return answer.status_code, bytes(body)

    def _build(self, package: Package, template: str, kept: list[Tile]) -> int | None:
        """Write the MBTiles file (as .part, renamed when whole); its size, or None if stopped."""
        path, part = self._path(package.id), self._part(package.id)
        part.unlink(missing_ok=True)  # thread ids are reused: never add to an old file
        first = self._cache_path(template, *kept[0]).read_bytes()[:16]
        box = package.box
        meta = {
            "name": f"walkaudit {','.join(f'{v:g}' for v in box.bounds)}",
            "format": image_format(first) or "png",
            "bounds": ",".join(f"{v:.{ROUND}f}" for v in box.bounds),
            "center": f"{(box.west + box.east) / 2:.{ROUND}f},"
            f"{(box.south + box.north) / 2:.{ROUND}f},16",
            "minzoom": str(MIN_ZOOM),
            "maxzoom": str(MAX_ZOOM),
            "attribution": package.attribution,
            "type": "baselayer",
            "version": "1",
            "description": "Offline map of a safety walk's area",
            "missing_tiles": str(package.missing),
        }
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
            db.executemany("INSERT INTO metadata VALUES (?, ?)", meta.items())
            db.executemany("INSERT INTO tiles VALUES (?, ?, ?, ?)", self._rows(template, kept))
            db.commit()
        finally:
            db.close()
        if self._stop.is_set():
            return None
        with open(part, "rb") as written:
            os.fsync(written.fileno())
        os.replace(part, path)
        return path.stat().st_size

    def _rows(self, template: str, kept: list[Tile]) -> Iterator[tuple[Any, ...]]:
        """The tiles table's rows, read from the cache one at a time (memory stays flat)."""
        for z, x, y in kept:
            if self._stop.is_set():
                return
            try:
                data = self._cache_path(template, z, x, y).read_bytes()
            except FileNotFoundError:  # removed from the cache by hand meanwhile
                log.warning("map package: tile %d/%d/%d vanished from the cache", z, x, y)
                continue
            yield z, x, tms_row(z, y), data


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _storage_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    return isinstance(exc, sqlite3.Error) and "database or disk is full" in str(exc)
