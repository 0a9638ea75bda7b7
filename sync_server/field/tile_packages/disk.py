"""Where packages and cached tiles are kept, and how the disk stays bounded.

Layout under {data_dir}/tiles/:
    cache/{source}/{z}/{x}/{y}   tiles as the source sent them (PNG or JPEG); {source} is
                                 source_key(tile_url), so a new tile_url never serves old tiles
    packages/{id}.mbtiles        ready packages (MBTiles 1.3, tile_row in TMS order); the file's
                                 access time is when it was last asked for or downloaded

Files appear whole or not at all (`write_atomically`, and a package's `.part` renamed when
complete). `sweep()` runs at start-up and every SWEEP_EVERY_S (see api.field.tiles): it removes
packages not asked for or downloaded for `tile_package_keep_days`, and cached tiles a package would
no longer use (older than CACHE_MAX_AGE_S, plus a day).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sync_server.config import MiB, Settings
from sync_server.core.blobs import FULL_ERRNOS

log = logging.getLogger("walkaudit.server")

CACHE_MAX_AGE_S = 30 * 86400  # maps change: older tiles are fetched again
PACKAGE_MAX_AGE_S = 30 * 86400  # and a package older than this is prepared again when asked for
# The sweep spares a day more than the age above: a tile found fresh a moment ago by a package
# being prepared is still there when the package's file is written.
SWEEP_GRACE_S = 86400
SWEEP_EVERY_S = 6 * 3600  # how often the server sweeps (sync_server.api.field.tiles)
STORAGE_FULL = (
    "the server's disk is full, so the map package cannot be stored; the tiles fetched so far are "
    "kept, and asking for the package again once whoever runs the server has freed space "
    "continues from them"
)


def source_key(template: str) -> str:
    """The cache's folder for a tile source: a hash of its template."""
    return hashlib.sha256(template.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Layout:
    """The paths of one server's packages and cached tiles (see the module's docstring)."""

    root: Path

    @classmethod
    def of(cls, settings: Settings) -> Layout:
        return cls(settings.data_dir / "tiles")

    @property
    def packages(self) -> Path:
        return self.root / "packages"

    @property
    def cache(self) -> Path:
        return self.root / "cache"

    def package(self, pid: str) -> Path:
        return self.packages / f"{pid}.mbtiles"

    def part(self, pid: str) -> Path:
        # Named per thread: a package prepared again never shares its file with the last try.
        return self.packages / f"{pid}.{threading.get_ident()}.part"

    def cached_tile(self, template: str, z: int, x: int, y: int) -> Path:
        return self.cache / source_key(template) / str(z) / str(x) / str(y)


def mark_used(file: BinaryIO) -> os.stat_result:
    """Mark the open package file as used now, for `sweep` (its access time: the modification
    time stays, and so does the ETag); its stat."""
    stat = os.fstat(file.fileno())
    try:
        os.utime(file.fileno(), ns=(time.time_ns(), stat.st_mtime_ns))
    except OSError as exc:  # a file the server may read but not touch: kept the full time
        log.warning("map package %s: cannot mark it used: %s", file.name, exc)
    return stat


def write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)  # a half-written tile would hold the space it took
        raise


def storage_full(exc: BaseException) -> bool:
    """Whether the error says the disk is full (a file write, or SQLite writing a package)."""
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        return True
    return isinstance(exc, sqlite3.Error) and "database or disk is full" in str(exc)


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
    disk = Layout.of(settings)
    if not disk.root.is_dir():
        return Swept()  # this server never prepared a package
    now = time.time() if now is None else now
    keep_s = settings.tile_package_keep_days * 86400
    packages, tiles, freed = 0, 0, 0
    for path in disk.packages.glob("*.mbtiles"):
        size = _remove_if(path, lambda st: now - max(st.st_atime, st.st_mtime) > keep_s)
        packages, freed = packages + (size is not None), freed + (size or 0)
    leftovers = [*disk.packages.glob("*.part"), *disk.cache.rglob(".*.tmp")]
    for path in leftovers:  # a stop cut them short (a preparation takes minutes, not a day)
        freed += _remove_if(path, lambda st: now - st.st_mtime > SWEEP_GRACE_S) or 0
    for folder, _, names in os.walk(disk.cache, topdown=False):
        for name in names:
            size = _remove_if(
                Path(folder) / name,
                lambda st: now - st.st_mtime > CACHE_MAX_AGE_S + SWEEP_GRACE_S,
            )
            tiles, freed = tiles + (size is not None), freed + (size or 0)
        if folder != str(disk.cache):
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
